"""Offline data: digits at 32x32, synthetic shapes, transforms, MNIST from local files."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from cnnbook import data


@pytest.fixture(scope="module")
def digits():
    return data.digits32("train"), data.digits32("test")


def test_digits32_shapes_types_and_range(digits):
    (x, y), (xt, yt) = digits
    assert x.shape == (1437, 1, 32, 32) and xt.shape == (360, 1, 32, 32)
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert 0.0 == x.min() and x.max() == 1.0
    assert set(np.unique(y)) == set(range(10)) == set(np.unique(yt))
    # the 24x24 digit sits in the middle: a 4-pixel black margin all round
    for images in (x, xt):
        assert images[:, :, :4].max() == 0 and images[:, :, 28:].max() == 0
        assert images[:, :, :, :4].max() == 0 and images[:, :, :, 28:].max() == 0


def test_digits32_split_is_fixed_stratified_and_disjoint(digits):
    (x, y), (xt, yt) = digits
    all_x, all_y = data.digits32("all")
    assert len(all_x) == 1797
    # each class contributes about 20% of its images to the test set
    counts, test_counts = np.bincount(all_y), np.bincount(yt)
    assert np.all(np.abs(test_counts - counts * 360 / 1797) < 1)
    # the split is a partition of the 1,797 images (matched by content)
    key = {img.tobytes(): i for i, img in enumerate(all_x)}
    train_idx = {key[img.tobytes()] for img in x}
    test_idx = {key[img.tobytes()] for img in xt}
    assert len(train_idx | test_idx) >= 1797 - 5  # a handful of digits are exact duplicates
    again = data.digits32("test")
    assert np.array_equal(again[0], xt) and np.array_equal(again[1], yt)
    xt[:] = 0  # callers get copies
    assert data.digits32("test")[0].max() == 1.0


def test_digits32_upscaling():
    from sklearn.datasets import load_digits

    small = load_digits().images[0] / 16
    near, _ = data.digits32("all", interpolation="nearest")
    assert np.allclose(near[0, 0, 4:28, 4:28], np.kron(small, np.ones((3, 3))))
    smooth, _ = data.digits32("all")
    # bilinear keeps the mean brightness of every 3x3 block close to the pixel it came from
    blocks = smooth[0, 0, 4:28, 4:28].reshape(8, 3, 8, 3).mean(axis=(1, 3))
    assert np.abs(blocks - small).max() < 0.35
    assert np.abs(smooth[0, 0, 4:28, 4:28].mean() - small.mean()) < 0.02
    with pytest.raises(ValueError, match="split"):
        data.digits32("validation")
    with pytest.raises(ValueError, match="interpolation"):
        data.digits32("train", interpolation="cubic")


def test_shapes_dataset_centred_by_default():
    images, labels, params = data.shapes_dataset(40, np.random.default_rng(0))
    assert images.shape == (40, 1, 32, 32) and images.dtype == np.float32
    assert labels.dtype == np.int64 and np.bincount(labels).tolist() == [10] * 4
    assert 0 <= images.min() and images.max() <= 1
    assert set(params) == {"dx", "dy", "rotation", "scale"}
    assert not params["dx"].any() and not params["rotation"].any()
    assert np.all(params["scale"] == 1)
    # centred: the centre of mass is the image centre, and the same shape looks the same
    rows = np.arange(32)[:, None]
    mass = images[:, 0].sum(axis=(1, 2))
    centre_r = (images[:, 0] * rows).sum(axis=(1, 2)) / mass
    centre_c = (images[:, 0] * rows.T).sum(axis=(1, 2)) / mass
    assert np.abs(centre_c - 15.5).max() < 0.01
    assert np.abs(centre_r - 15.5).max() < 2  # a triangle's centroid is its centre
    for k in range(4):
        same = images[labels == k]
        assert np.abs(same - same[0]).max() == 0
    # the four shapes differ
    firsts = [images[labels == k][0] for k in range(4)]
    assert min(np.abs(a - b).sum() for i, a in enumerate(firsts) for b in firsts[i + 1:]) > 20


def test_shapes_dataset_transforms_follow_params():
    rng = np.random.default_rng(1)
    images, labels, params = data.shapes_dataset(200, rng, max_shift=3, max_rotation=40,
                                                 scale_range=(0.6, 1.2))
    assert params["dx"].min() >= -3 and params["dx"].max() <= 3
    assert len(np.unique(params["dx"])) == 7
    assert np.abs(params["rotation"]).max() <= 40 and params["scale"].min() >= 0.6
    # a circle's centre of mass moves with (dx, dy)
    mass = images[:, 0].sum(axis=(1, 2))
    cols = (images[:, 0] * np.arange(32)[None, None, :]).sum(axis=(1, 2)) / mass
    circles = labels == data.SHAPES.index("circle")
    np.testing.assert_allclose(cols[circles], 15.5 + params["dx"][circles], atol=0.05)
    # bigger scale, more ink
    ink = mass[circles] / params["scale"][circles] ** 2
    assert ink.std() / ink.mean() < 0.05
    # the same seed gives the same data set
    again = data.shapes_dataset(200, np.random.default_rng(1), max_shift=3, max_rotation=40,
                                scale_range=(0.6, 1.2))
    assert np.array_equal(again[0], images)


def test_shapes_dataset_rejects_bad_arguments():
    with pytest.raises(ValueError, match="max_shift"):
        data.shapes_dataset(4, 0, max_shift=-1)
    with pytest.raises(ValueError, match="scale_range"):
        data.shapes_dataset(4, 0, scale_range=(1.2, 0.8))
    with pytest.raises(ValueError, match="unknown shape"):
        data.shapes_dataset(4, 0, shapes=("hexagon",))
    with pytest.raises(TypeError, match="rng"):
        data.shapes_dataset(4, "seed")


def test_translate_rotate_rescale():
    rng = np.random.default_rng(0)
    x = rng.random((3, 2, 9, 9)).astype(np.float32)
    moved = data.translate(x, 2, -1)  # 2 right, 1 up
    assert np.array_equal(moved[:, :, :8, 2:], x[:, :, 1:, :7])
    assert not moved[:, :, 8].any() and not moved[:, :, :, :2].any()
    assert np.array_equal(data.rotate(x, 90), np.rot90(x, axes=(2, 3)))
    np.testing.assert_allclose(data.rotate(x, 360), x, atol=1e-6)
    # a smooth blob survives a rotation and its inverse (bilinear blurs a little)
    r, c = np.mgrid[:17, :17] - 8.0
    blob = np.exp(-((r - 2) ** 2 + (c + 1) ** 2) / 8)[None, None].astype(np.float32)
    np.testing.assert_allclose(data.rotate(data.rotate(blob, 30), -30), blob, atol=0.1)
    # counter-clockwise: the blob 2 below and 1 left of the centre goes 1 below, 2 right
    turned = data.rotate(blob, 90)
    assert np.unravel_index(turned[0, 0].argmax(), (17, 17)) == (8 + 1, 8 + 2)
    assert np.array_equal(data.rescale(x, 1.0), x)
    # a centred square scaled by 2 covers twice the width
    img = np.zeros((1, 1, 33, 33), np.float32)
    img[0, 0, 12:21, 12:21] = 1
    big = data.rescale(img, 2.0)
    assert big[0, 0, 16].sum() == pytest.approx(18, abs=1.5)
    assert data.rescale(img, 0.5)[0, 0, 16].sum() == pytest.approx(4.5, abs=1)
    half = data.translate(img, 0.5, 0)
    assert half.sum() == pytest.approx(img.sum())
    with pytest.raises(ValueError, match="4 dimensions"):
        data.rotate(x[0], 10)
    with pytest.raises(ValueError, match="factor"):
        data.rescale(x, 0)


def test_random_shift_numpy():
    x = np.zeros((50, 1, 9, 9), np.float32)
    x[:, 0, 4, 4] = 1
    out = data.random_shift(x, np.random.default_rng(0), max_shift=2)
    r, c = np.unravel_index(out[:, 0].reshape(50, -1).argmax(1), (9, 9))
    assert out.sum() == 50 and r.min() >= 2 and r.max() <= 6 and c.min() >= 2 and c.max() <= 6
    assert len(set(zip(r, c))) > 10
    assert np.array_equal(out, data.random_shift(x, 0, max_shift=2))  # an int seed works too
    assert np.array_equal(data.random_shift(x, 3, max_shift=0), x)


def _write_idx(path, array, magic, compress):
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist_from_idx_files(tmp_path, monkeypatch, compress):
    rng = np.random.default_rng(0)
    images = {s: rng.integers(0, 256, (n, 28, 28)) for s, n in (("train", 5), ("t10k", 3))}
    labels = {s: rng.integers(0, 10, len(images[s])) for s in images}
    for s in images:
        _write_idx(tmp_path / f"{s}-images-idx3-ubyte", images[s], 0x803, compress)
        _write_idx(tmp_path / f"{s}-labels-idx1-ubyte", labels[s], 0x801, compress)
    x, y = data.load_mnist(tmp_path, "train")
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(x[:, 0] * 255, images["train"], atol=1e-3)
    assert np.array_equal(y, labels["train"])
    monkeypatch.setenv("CNNBOOK_MNIST", str(tmp_path))
    xt, yt = data.load_mnist(split="test", pad=2)
    assert xt.shape == (3, 1, 32, 32) and not xt[:, :, :2].any()
    assert np.array_equal(yt, labels["t10k"])


def test_load_mnist_from_npz(tmp_path):
    arrays = {k: np.zeros((4, 28, 28), np.uint8) if k.startswith("x") else np.arange(4)
              for k in ("x_train", "y_train", "x_test", "y_test")}
    arrays["x_train"][:, 3, 3] = 255
    np.savez(tmp_path / "mnist.npz", **arrays)
    x, y = data.load_mnist(tmp_path / "mnist.npz")
    assert x.shape == (4, 1, 28, 28) and x.max() == 1.0 and y.tolist() == [0, 1, 2, 3]


def test_load_mnist_says_how_to_provide_it(tmp_path, monkeypatch):
    monkeypatch.delenv("CNNBOOK_MNIST", raising=False)
    with pytest.raises(FileNotFoundError, match="CNNBOOK_MNIST.*never downloads|never downloads"):
        data.load_mnist()
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        data.load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.load_mnist(tmp_path / "nowhere")
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(struct.pack(">I", 0x801) + struct.pack(">I", 0))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, 0))
    with pytest.raises(ValueError, match="magic"):
        data.load_mnist(tmp_path)


def test_data_module_does_not_need_torch():
    import subprocess
    import sys

    code = ("import sys; import cnnbook.data as d; d.shapes_dataset(4, 0); "
            "d.rotate(d.translate(__import__('numpy').zeros((1, 1, 4, 4)), 1, 1), 10); "
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
