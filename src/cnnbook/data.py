"""Offline data sets and image transforms (NumPy only; nothing is ever downloaded).

* :func:`digits32`: scikit-learn's 8x8 handwritten digits, upscaled to 24x24 and
  centred on 32x32 canvases (LeNet-5's input size), with a fixed stratified
  train/test split (1,437 / 360).
* :func:`shapes_dataset`: synthetic images of simple shapes with controlled
  translation, rotation and scale, for measuring invariance.
* :func:`translate`, :func:`rotate`, :func:`rescale`: the same transforms applied
  to any batch of images (bilinear, zero outside the image).
* :func:`random_shift`: training-time augmentation by whole-pixel shifts.
* :func:`load_mnist`: a local copy of MNIST, if you have one.

Images are float32 arrays ``(N, 1, H, W)`` with values in ``[0, 1]``; labels are
int64 arrays ``(N,)``. Randomness comes from an explicit
``numpy.random.Generator`` (or an int seed).
"""

from __future__ import annotations

import functools
import importlib.util
import gzip
import numbers
import os
from pathlib import Path

import numpy as np

__all__ = [
    "digits32", "DIGITS32_TEST_SIZE", "shapes_dataset", "SHAPES", "translate", "rotate",
    "rescale", "random_shift", "load_mnist",
]

DIGITS32_TEST_SIZE = 360
_DIGIT_SIZE = 24  # 8x8 digits scaled by 3, leaving a 4-pixel margin on a 32x32 canvas
_CANVAS = 32
_SPLIT_SEED = 0

SHAPES = ("square", "circle", "triangle", "cross")


def _rng(rng, name="rng") -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"{name} must be a numpy.random.Generator or an int seed; "
                    f"got {type(rng).__name__}")


def _check_images(images, name="images") -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"{name} must have 4 dimensions (N, C, H, W); got shape {images.shape}")
    return images


# ---------------------------------------------------------------------------
# digits at 32x32


def _interpolation_matrix(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` matrix of linear interpolation with pixel centres aligned.

    Output pixel ``o`` samples input position ``(o + 0.5) * n_in / n_out - 0.5``,
    clamped to the image, as ``torch.nn.functional.interpolate(...,
    mode="bilinear", align_corners=False)`` does.
    """
    pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = pos - lo
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), lo] += 1 - frac
    m[np.arange(n_out), hi] += frac
    return m


def _stratified_test_mask(labels: np.ndarray, test_size: int, seed: int) -> np.ndarray:
    """Boolean mask choosing ``test_size`` items, each class in proportion to its size."""
    classes, counts = np.unique(labels, return_counts=True)
    share = counts * test_size / len(labels)
    take = np.floor(share).astype(int)
    # largest remainders get the items that floor rounding left over
    take[np.argsort(-(share - take), kind="stable")[: test_size - take.sum()]] += 1
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(labels), dtype=bool)
    for cls, k in zip(classes, take):
        idx = np.flatnonzero(labels == cls)
        mask[rng.permutation(idx)[:k]] = True
    return mask


def _bundled_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits ``(1797, 8, 8)`` and labels, read from the file it ships.

    Reading ``sklearn/datasets/data/digits.csv.gz`` directly gives exactly
    ``load_digits()`` without importing scikit-learn (seconds on a cold start).
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("digits32 needs scikit-learn's bundled digits: "
                                  "pip install scikit-learn")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"
    table = np.loadtxt(path, delimiter=",")
    return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)


@functools.lru_cache(maxsize=2)
def _digits32_all(interpolation: str):
    digits_8x8, labels = _bundled_digits()  # bundled with scikit-learn: no download
    small = digits_8x8 / 16.0  # (1797, 8, 8), values 0..16 -> [0, 1]
    if interpolation == "bilinear":
        m = _interpolation_matrix(8, _DIGIT_SIZE)
        big = np.einsum("oi,nij,pj->nop", m, small, m)
    else:  # nearest: every pixel becomes a 3x3 block
        scale = _DIGIT_SIZE // 8
        big = small.repeat(scale, axis=1).repeat(scale, axis=2)
    images = np.zeros((len(small), 1, _CANVAS, _CANVAS), dtype=np.float32)
    off = (_CANVAS - _DIGIT_SIZE) // 2
    images[:, 0, off:off + _DIGIT_SIZE, off:off + _DIGIT_SIZE] = big
    test = _stratified_test_mask(labels, DIGITS32_TEST_SIZE, _SPLIT_SEED)
    for a in (images, labels, test):
        a.setflags(write=False)
    return images, labels, test


def digits32(split: str = "train", interpolation: str = "bilinear"):
    """scikit-learn's handwritten digits on 32x32 canvases: ``(images, labels)``.

    The 1,797 8x8 images (values 0..16) are scaled to ``[0, 1]``, upscaled 3x to
    24x24 (``interpolation="bilinear"``, or ``"nearest"`` for 3x3 blocks) and
    placed in the middle of a 32x32 black canvas, as MNIST's digits sit inside
    LeNet-5's 32x32 input. ``split`` is ``"train"`` (1,437 images), ``"test"``
    (360) or ``"all"`` (1,797, in scikit-learn's order). The split is stratified
    by class and fixed: the same images on every machine and every call.

    Returns float32 ``(N, 1, 32, 32)`` images in ``[0, 1]`` and int64 ``(N,)``
    labels 0..9 (fresh arrays: changing them changes no later call).
    """
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError(f"interpolation must be 'bilinear' or 'nearest'; got {interpolation!r}")
    images, labels, test = _digits32_all(interpolation)
    if split == "all":
        keep = slice(None)
    elif split == "train":
        keep = ~test
    elif split == "test":
        keep = test
    else:
        raise ValueError(f"split must be 'train', 'test' or 'all'; got {split!r}")
    return images[keep].copy(), labels[keep].copy()


# ---------------------------------------------------------------------------
# synthetic shapes


def _inside(shape: str, p: np.ndarray, q: np.ndarray, r: float) -> np.ndarray:
    """Whether points ``(p, q)`` (x right, y up, shape centred at 0) lie in the shape."""
    if shape == "square":
        return np.maximum(np.abs(p), np.abs(q)) <= 0.8 * r
    if shape == "circle":
        return p * p + q * q <= r * r
    if shape == "triangle":  # equilateral, pointing up, centroid at 0, circumradius 1.1 r
        inradius = 0.55 * r
        inside = q >= -inradius
        for angle in (np.pi / 6, 5 * np.pi / 6):  # outward normals of the two slanted sides
            inside &= p * np.cos(angle) + q * np.sin(angle) <= inradius
        return inside
    if shape == "cross":
        a, b = np.abs(p), np.abs(q)
        return ((a <= r) & (b <= r / 3)) | ((b <= r) & (a <= r / 3))
    raise ValueError(f"unknown shape {shape!r}; shapes are {SHAPES}")


def _render(shape, dx, dy, rotation, scale, size, supersample=4):
    """Anti-aliased images ``(n, size, size)`` of one shape under the given transforms."""
    n = len(dx)
    r = 0.28 * size  # the shape's radius at scale 1 (about 9 pixels on 32x32)
    sub = (np.arange(supersample) + 0.5) / supersample - 0.5
    coords = (np.arange(size)[:, None] + sub[None, :]).ravel() - (size - 1) / 2  # (size*ss,)
    out = np.empty((n, size, size), dtype=np.float32)
    for start in range(0, n, 64):
        sl = slice(start, start + 64)
        x = coords[None, None, :] - dx[sl, None, None]   # columns, right is +
        y = -(coords[None, :, None] - dy[sl, None, None])  # rows, up is +
        theta = np.deg2rad(rotation[sl])[:, None, None]
        s = scale[sl][:, None, None]
        # undo the rotation (counter-clockwise on screen) and the scaling
        p = (np.cos(theta) * x + np.sin(theta) * y) / s
        q = (-np.sin(theta) * x + np.cos(theta) * y) / s
        hit = _inside(shape, p, q, r).astype(np.float32)
        m = hit.shape[0]
        out[sl] = hit.reshape(m, size, supersample, size, supersample).mean(axis=(2, 4))
    return out


def shapes_dataset(n: int, rng, max_shift: int = 0, max_rotation: float = 0,
                   scale_range=(1.0, 1.0), size: int = 32, shapes=SHAPES):
    """Images of simple filled shapes with random translation, rotation and scale.

    Returns ``(images, labels, params)``: float32 ``(n, 1, size, size)`` in
    ``[0, 1]`` (white shape, anti-aliased edges, black background), int64 labels
    indexing ``shapes`` (default :data:`SHAPES`: square, circle, triangle, cross;
    balanced up to one image) and ``params``, a dict of ``(n,)`` arrays:
    ``"dx"``, ``"dy"`` (whole-pixel shifts, right and down, uniform in
    ``-max_shift..max_shift``), ``"rotation"`` (degrees counter-clockwise, uniform
    in ``[-max_rotation, max_rotation]``) and ``"scale"`` (uniform in
    ``scale_range``). With the defaults every shape is centred, upright, with a
    radius of about 0.28 ``size``; large shifts or scales push parts off the canvas.
    ``rng`` (``numpy.random.Generator`` or int seed) draws everything.
    """
    rng = _rng(rng)
    if not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"n must be a non-negative int; got {n!r}")
    if not isinstance(max_shift, numbers.Integral) or max_shift < 0:
        raise ValueError(f"max_shift must be a non-negative int (pixels); got {max_shift!r}")
    if max_rotation < 0:
        raise ValueError(f"max_rotation must be non-negative (degrees); got {max_rotation!r}")
    lo, hi = scale_range
    if not 0 < lo <= hi:
        raise ValueError(f"scale_range must be (low, high) with 0 < low <= high; "
                         f"got {scale_range!r}")
    if not isinstance(size, numbers.Integral) or size < 8:
        raise ValueError(f"size must be an int of at least 8; got {size!r}")
    for shape in shapes:
        _inside(shape, np.zeros(1), np.zeros(1), 1.0)  # unknown names raise here
    labels = rng.permutation(np.arange(n) % len(shapes)).astype(np.int64)
    params = {
        "dx": rng.integers(-max_shift, max_shift + 1, n),
        "dy": rng.integers(-max_shift, max_shift + 1, n),
        "rotation": rng.uniform(-max_rotation, max_rotation, n),
        "scale": rng.uniform(lo, hi, n),
    }
    images = np.zeros((n, 1, size, size), dtype=np.float32)
    for k, shape in enumerate(shapes):
        idx = np.flatnonzero(labels == k)
        if len(idx):
            images[idx, 0] = _render(shape, *(params[key][idx].astype(float)
                                              for key in ("dx", "dy", "rotation", "scale")),
                                     size)
    return images, labels, params


# ---------------------------------------------------------------------------
# transforms


def _sample(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bilinear samples of every image at ``(rows, cols)`` (arrays of the output's H, W).

    Positions outside the image read zeros; a whole-number position reads the
    pixel exactly.
    """
    n, c, h, w = images.shape
    padded = np.zeros((n, c, h + 2, w + 2), dtype=np.float32)
    padded[:, :, 1:-1, 1:-1] = images
    # +1 for the border of zeros; clip so far-away positions read the zero border
    r = np.clip(rows + 1, 0, h + 1)
    q = np.clip(cols + 1, 0, w + 1)
    r0 = np.minimum(np.floor(r).astype(int), h)
    q0 = np.minimum(np.floor(q).astype(int), w)
    fr = (r - r0).astype(np.float32)
    fq = (q - q0).astype(np.float32)
    top = padded[:, :, r0, q0] * (1 - fq) + padded[:, :, r0, q0 + 1] * fq
    bottom = padded[:, :, r0 + 1, q0] * (1 - fq) + padded[:, :, r0 + 1, q0 + 1] * fq
    return (top * (1 - fr) + bottom * fr).astype(np.float32)


def _affine(images, matrix, shift=(0.0, 0.0)):
    """Output pixel ``o`` (row, col about the centre) reads input ``matrix @ o - shift``."""
    images = _check_images(images)
    h, w = images.shape[2:]
    centre = np.array([(h - 1) / 2, (w - 1) / 2])
    grid = np.stack(np.meshgrid(np.arange(h), np.arange(w), indexing="ij"), -1) - centre
    src = grid @ np.asarray(matrix, dtype=float).T + centre - np.asarray(shift, dtype=float)
    whole = np.round(src)
    src = np.where(np.abs(src - whole) < 1e-9, whole, src)  # cos(90 deg) is 6e-17, not 0
    return _sample(images, src[..., 0], src[..., 1])


def translate(images, dx: float, dy: float) -> np.ndarray:
    """Move every image ``dx`` pixels right and ``dy`` pixels down; zeros fill the gap.

    ``images: (N, C, H, W)``. Whole-pixel shifts are exact; fractional ones are
    bilinear.
    """
    return _affine(images, np.eye(2), (dy, dx))


def rotate(images, degrees: float) -> np.ndarray:
    """Rotate every image counter-clockwise (as displayed) about its centre.

    ``images: (N, C, H, W)``; bilinear, zeros where the rotated image does not
    reach. ``rotate(x, 90)`` equals ``np.rot90(x, axes=(2, 3))`` for square images.
    """
    t = np.deg2rad(degrees)
    c, s = np.cos(t), np.sin(t)
    # output (row, col) reads input rotated back: rows point down, so the signs of a
    # counter-clockwise turn on screen are those of a clockwise one in (row, col)
    return _affine(images, [[c, s], [-s, c]])


def rescale(images, factor: float) -> np.ndarray:
    """Zoom every image by ``factor`` about its centre, keeping its size.

    ``factor > 1`` enlarges (the border is cropped), ``factor < 1`` shrinks (zeros
    around). Bilinear sampling without smoothing: strong shrinking aliases.
    """
    if not factor > 0:
        raise ValueError(f"factor must be positive; got {factor!r}")
    return _affine(images, np.eye(2) / factor)


def random_shift(images, rng, max_shift: int = 2) -> np.ndarray:
    """Shift each image by its own random whole-pixel ``(dy, dx)`` in ``-max_shift..max_shift``.

    ``images: (N, C, H, W)``; zeros fill the gap. The signature fits
    :func:`cnnbook.numpy.fit`'s ``augment(x, rng)``; ``rng`` is a Generator or an
    int seed. The torch twin is :func:`cnnbook.torch.random_shift`.
    """
    images = _check_images(images)
    rng = _rng(rng)
    if not isinstance(max_shift, numbers.Integral) or max_shift < 0:
        raise ValueError(f"max_shift must be a non-negative int; got {max_shift!r}")
    if max_shift == 0:
        return images.copy()
    n, c, h, w = images.shape
    s = int(max_shift)
    padded = np.pad(images, ((0, 0), (0, 0), (s, s), (s, s)))
    off = rng.integers(0, 2 * s + 1, size=(2, n))
    rows = off[0][:, None] + np.arange(h)
    cols = off[1][:, None] + np.arange(w)
    return padded[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]


# ---------------------------------------------------------------------------
# MNIST from a local copy

_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_MNIST_HELP = (
    "cnnbook never downloads MNIST. Pass load_mnist(path=...) or set the environment "
    "variable CNNBOOK_MNIST to either a folder holding train-images-idx3-ubyte, "
    "train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each may "
    "end in .gz), or an .npz file with arrays x_train, y_train, x_test, y_test (the layout "
    "of Keras's mnist.npz). digits32() is an offline stand-in."
)


def _read_idx(path: Path, magic: int) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise ValueError(f"{path} is not an IDX file of the expected kind: magic number "
                         f"{found:#010x}, wanted {magic:#010x}")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header says {dims} but holds {body.size} values")
    return body.reshape(dims)


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"),
                 stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"MNIST file {stem}[.gz] not found in {folder}. {_MNIST_HELP}")


def load_mnist(path=None, split: str = "train", pad: int = 0):
    """MNIST from a local copy: ``(images, labels)``; raises ``FileNotFoundError`` without one.

    ``path`` (default: the ``CNNBOOK_MNIST`` environment variable) is a folder of
    the four IDX files (optionally gzipped) or an ``.npz`` with ``x_train``,
    ``y_train``, ``x_test``, ``y_test``. ``split``: ``"train"`` (60,000) or
    ``"test"`` (10,000). Returns float32 ``(N, 1, 28 + 2*pad, 28 + 2*pad)`` in
    ``[0, 1]`` (``pad=2`` gives LeNet-5's 32x32) and int64 labels. Nothing is
    downloaded.
    """
    if split not in _MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
    if not isinstance(pad, numbers.Integral) or pad < 0:
        raise ValueError(f"pad must be a non-negative int; got {pad!r}")
    if path is None:
        path = os.environ.get("CNNBOOK_MNIST")
        if not path:
            raise FileNotFoundError(f"no MNIST location given. {_MNIST_HELP}")
    path = Path(path).expanduser()
    if path.is_file():
        with np.load(path) as archive:
            key = "train" if split == "train" else "test"
            missing = [k for k in (f"x_{key}", f"y_{key}") if k not in archive.files]
            if missing:
                raise ValueError(f"{path} lacks arrays {missing}; it has {archive.files}")
            images, labels = archive[f"x_{key}"], archive[f"y_{key}"]
    elif path.is_dir():
        image_stem, label_stem = _MNIST_FILES[split]
        images = _read_idx(_find(path, image_stem), 0x00000803)
        labels = _read_idx(_find(path, label_stem), 0x00000801)
    else:
        raise FileNotFoundError(f"{path} does not exist. {_MNIST_HELP}")
    if images.ndim != 3 or len(images) != len(labels):
        raise ValueError(f"MNIST images must be (N, H, W) with N labels; got {images.shape} "
                         f"and {np.shape(labels)}")
    images = images.astype(np.float32)
    if images.max(initial=0) > 1:
        images /= 255.0
    images = images[:, None]
    if pad:
        images = np.pad(images, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    return images, np.asarray(labels, dtype=np.int64)
