"""NumPy batch normalization against torch: values, gradients, running statistics, errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnbook.gradcheck import numerical_gradient, rel_error
from cnnbook.numpy import batchnorm2d_backward, batchnorm2d_forward
from cnnbook.numpy import batchnorm as bn_module

ATOL = 1e-10

SHAPES = [
    (4, 3, 5, 6),   # non-square
    (1, 2, 3, 4),   # one image: statistics over its pixels
    (5, 1, 2, 3),   # one channel
    (6, 4, 1, 1),   # 1x1 maps (after global pooling): statistics over the batch
    (2, 3, 1, 7),
]


def make(shape, dtype=np.float64, seed=0, affine=(True, True)):
    """x far from zero mean and unit variance; gamma, beta; running statistics."""
    rng = np.random.default_rng(seed)
    C = shape[1]
    x = (rng.standard_normal(shape) * rng.uniform(0.5, 3, (1, C, 1, 1))
         + rng.uniform(-2, 2, (1, C, 1, 1))).astype(dtype)
    gamma = rng.standard_normal(C).astype(dtype) if affine[0] else None
    beta = rng.standard_normal(C).astype(dtype) if affine[1] else None
    running_mean = rng.standard_normal(C).astype(dtype)
    running_var = rng.uniform(0.5, 2, C).astype(dtype)
    return rng, x, gamma, beta, running_mean, running_var


def torch_batchnorm(x, gamma, beta, running_mean, running_var, train, momentum, eps, dout):
    """Output, gradients (dx, dgamma, dbeta) and updated running statistics from torch."""
    xt = torch.tensor(x, requires_grad=True)
    gt = None if gamma is None else torch.tensor(gamma, requires_grad=True)
    bt = None if beta is None else torch.tensor(beta, requires_grad=True)
    rm = None if running_mean is None else torch.tensor(running_mean)
    rv = None if running_var is None else torch.tensor(running_var)
    out = F.batch_norm(xt, rm, rv, gt, bt, train, momentum, eps)
    out.backward(torch.tensor(dout))
    grads = tuple(None if t is None else t.grad.numpy() for t in (xt, gt, bt))
    stats = (None, None) if rm is None else (rm.numpy(), rv.numpy())
    return out.detach().numpy(), grads, stats


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("affine", [(True, True), (False, True), (True, False), (False, False)],
                         ids=["gamma-beta", "beta", "gamma", "none"])
def test_matches_torch(shape, train, affine):
    rng, x, gamma, beta, rm, rv = make(shape, affine=affine)
    rm_t, rv_t = rm.copy(), rv.copy()
    out, cache = batchnorm2d_forward(x, gamma, beta, train=train, running_mean=rm,
                                     running_var=rv, momentum=0.3, eps=1e-3)
    dout = rng.standard_normal(shape)
    out_t, grads_t, stats_t = torch_batchnorm(x, gamma, beta, rm_t, rv_t, train, 0.3, 1e-3,
                                              dout)
    np.testing.assert_allclose(out, out_t, atol=ATOL, rtol=0)
    np.testing.assert_allclose(rm, stats_t[0], atol=1e-14, rtol=0)
    np.testing.assert_allclose(rv, stats_t[1], atol=1e-14, rtol=0)
    for got, want in zip(batchnorm2d_backward(dout, cache), grads_t):
        if want is None:
            assert got is None
        else:
            np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)


@pytest.mark.parametrize("momentum", [0.1, 0.5, 0.0, 1.0])
def test_running_statistics_follow_nn_batchnorm2d_then_eval(momentum):
    """Several train steps on different batches, then eval: same numbers as BatchNorm2d."""
    rng = np.random.default_rng(1)
    C = 3
    layer = torch.nn.BatchNorm2d(C, momentum=momentum, eps=1e-4).double()
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(rng.standard_normal(C)))
        layer.bias.copy_(torch.from_numpy(rng.standard_normal(C)))
    gamma, beta = layer.weight.detach().numpy().copy(), layer.bias.detach().numpy().copy()
    running_mean, running_var = np.zeros(C), np.ones(C)  # BatchNorm2d's initial values
    layer.train()
    for step in range(5):
        x = rng.standard_normal((4 + step, C, 3, 5)) * (step + 1) + step
        out, _ = batchnorm2d_forward(x, gamma, beta, train=True, running_mean=running_mean,
                                     running_var=running_var, momentum=momentum, eps=1e-4)
        np.testing.assert_allclose(out, layer(torch.from_numpy(x)).detach().numpy(),
                                   atol=ATOL, rtol=0)
        np.testing.assert_allclose(running_mean, layer.running_mean.numpy(), atol=1e-13, rtol=0)
        np.testing.assert_allclose(running_var, layer.running_var.numpy(), atol=1e-13, rtol=0)
    layer.eval()
    x = rng.standard_normal((2, C, 4, 4)) + 3
    out, _ = batchnorm2d_forward(x, gamma, beta, train=False, running_mean=running_mean,
                                 running_var=running_var, momentum=momentum, eps=1e-4)
    np.testing.assert_allclose(out, layer(torch.from_numpy(x)).detach().numpy(),
                               atol=ATOL, rtol=0)


def test_momentum_one_over_k_is_torchs_cumulative_average():
    """torch's momentum=None averages all batches seen; momentum=1/k on batch k does the same."""
    rng = np.random.default_rng(2)
    layer = torch.nn.BatchNorm2d(2, momentum=None).double().train()
    running_mean, running_var = np.zeros(2), np.ones(2)
    for k in range(1, 5):
        x = rng.standard_normal((3, 2, 4, 4)) * k + k
        layer(torch.from_numpy(x))
        batchnorm2d_forward(x, None, None, train=True, running_mean=running_mean,
                            running_var=running_var, momentum=1 / k)
    np.testing.assert_allclose(running_mean, layer.running_mean.numpy(), atol=1e-13, rtol=0)
    np.testing.assert_allclose(running_var, layer.running_var.numpy(), atol=1e-13, rtol=0)
    with pytest.raises(ValueError, match=r"momentum=None .* momentum=1/k"):
        batchnorm2d_forward(x, None, None, train=True, running_mean=running_mean,
                            running_var=running_var, momentum=None)


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_only_the_running_statistics_change_and_only_in_train_mode(train):
    rng, x, gamma, beta, rm, rv = make(SHAPES[0])
    saved = [a.copy() for a in (x, gamma, beta, rm, rv)]
    out, cache = batchnorm2d_forward(x, gamma, beta, train=train, running_mean=rm,
                                     running_var=rv)
    dout = rng.standard_normal(out.shape)
    dout_saved = dout.copy()
    batchnorm2d_backward(dout, cache)
    for a, c in zip((x, gamma, beta), saved):
        np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(dout, dout_saved)
    for a, c in zip((rm, rv), saved[3:]):
        assert (not np.array_equal(a, c)) if train else np.array_equal(a, c)


def test_eval_cache_does_not_follow_later_updates_of_the_running_statistics():
    """The backward pass of an eval step uses the statistics its forward pass used."""
    rng, x, gamma, beta, rm, rv = make(SHAPES[0])
    out, cache = batchnorm2d_forward(x, gamma, beta, train=False, running_mean=rm,
                                     running_var=rv)
    dout = rng.standard_normal(out.shape)
    want = batchnorm2d_backward(dout, cache)
    batchnorm2d_forward(x + 5, gamma, beta, train=True, running_mean=rm, running_var=rv)
    for got, exp in zip(batchnorm2d_backward(dout, cache), want):
        np.testing.assert_array_equal(got, exp)


def test_train_without_running_statistics():
    """running_mean = running_var = None in train mode: batch statistics, nothing kept."""
    rng, x, gamma, beta, _, _ = make(SHAPES[0])
    out, cache = batchnorm2d_forward(x, gamma, beta, train=True, running_mean=None,
                                     running_var=None)
    dout = rng.standard_normal(out.shape)
    out_t, grads_t, _ = torch_batchnorm(x, gamma, beta, None, None, True, 0.1, 1e-5, dout)
    np.testing.assert_allclose(out, out_t, atol=ATOL, rtol=0)
    for got, want in zip(batchnorm2d_backward(dout, cache), grads_t):
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)


@pytest.mark.parametrize("shape", [SHAPES[0], SHAPES[3]])
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_backward_matches_numerical_gradient(shape, train):
    rng, x, gamma, beta, rm, rv = make(shape)
    stats = {} if train else {"running_mean": rm, "running_var": rv}
    stats = {"running_mean": None, "running_var": None, **stats}

    def f(_):
        return batchnorm2d_forward(x, gamma, beta, train=train, **stats)[0]

    out, cache = batchnorm2d_forward(x, gamma, beta, train=train, **stats)
    dout = rng.standard_normal(out.shape)
    for analytic, arr in zip(batchnorm2d_backward(dout, cache), (x, gamma, beta)):
        assert rel_error(analytic, numerical_gradient(f, arr, dout)) < 1e-7


def test_train_gradient_has_no_component_along_the_mean_or_xhat():
    """From the closed form: per channel, dx sums to zero and is orthogonal to xhat.

    (Orthogonal exactly as eps -> 0: sum dx * xhat = gamma s dgamma eps / (var + eps).)
    """
    rng, x, gamma, beta, rm, rv = make(SHAPES[0])
    out, cache = batchnorm2d_forward(x, gamma, beta, train=True, running_mean=rm,
                                     running_var=rv, eps=1e-12)
    dx, _, _ = batchnorm2d_backward(rng.standard_normal(out.shape), cache)
    xhat = (out - beta[:, None, None]) / gamma[:, None, None]
    np.testing.assert_allclose(dx.sum(axis=(0, 2, 3)), 0, atol=1e-9)
    np.testing.assert_allclose((dx * xhat).sum(axis=(0, 2, 3)), 0, atol=1e-9)
    np.testing.assert_allclose(xhat.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(xhat.var(axis=(0, 2, 3)), 1, atol=1e-10)


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_float32_stays_float32(train):
    rng, x, gamma, beta, rm, rv = make((8, 5, 9, 7), dtype=np.float32)
    rm_t, rv_t = rm.copy(), rv.copy()
    out, cache = batchnorm2d_forward(x, gamma, beta, train=train, running_mean=rm,
                                     running_var=rv)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    grads = batchnorm2d_backward(dout, cache)
    assert out.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    assert rm.dtype == rv.dtype == np.float32
    out_t, grads_t, stats_t = torch_batchnorm(x, gamma, beta, rm_t, rv_t, train, 0.1, 1e-5,
                                              dout)
    np.testing.assert_allclose(out, out_t, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(rm, stats_t[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rv, stats_t[1], rtol=1e-5, atol=1e-6)
    for got, want in zip(grads, grads_t):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("chunk_bytes", [1, 1000])
def test_chunks_give_the_same_numbers(monkeypatch, chunk_bytes):
    rng, x, gamma, beta, rm, rv = make((7, 3, 6, 5))
    dout = rng.standard_normal(x.shape)
    results = []
    for patch in (False, True):
        if patch:
            monkeypatch.setattr(bn_module, "CHUNK_BYTES", chunk_bytes)
        for train in (True, False):
            out, cache = batchnorm2d_forward(x, gamma, beta, train=train,
                                             running_mean=rm.copy(), running_var=rv.copy())
            results.append((out, *batchnorm2d_backward(dout, cache)))
    for got, want in zip(results[2:], results[:2]):
        for a, c in zip(got, want):
            np.testing.assert_allclose(a, c, atol=1e-12, rtol=0)


def test_non_contiguous_input():
    rng, x, gamma, beta, rm, rv = make(SHAPES[0])
    view = np.asfortranarray(x)
    out, cache = batchnorm2d_forward(view, gamma, beta, train=True, running_mean=rm.copy(),
                                     running_var=rv.copy())
    ref, ref_cache = batchnorm2d_forward(x, gamma, beta, train=True, running_mean=rm.copy(),
                                         running_var=rv.copy())
    np.testing.assert_allclose(out, ref, atol=1e-12, rtol=0)
    dout = rng.standard_normal(x.shape)
    for a, c in zip(batchnorm2d_backward(dout, cache), batchnorm2d_backward(dout, ref_cache)):
        np.testing.assert_allclose(a, c, atol=1e-12, rtol=0)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(1, 4), h=st.integers(1, 5), w=st.integers(1, 5),
       train=st.booleans(), momentum=st.floats(0, 1), eps=st.floats(1e-6, 1e-1),
       seed=st.integers(0, 2**16))
def test_property_matches_torch(n, c, h, w, train, momentum, eps, seed):
    if train and n * h * w < 2:
        n = 2  # one value per channel has no variance (an error, tested below)
    rng, x, gamma, beta, rm, rv = make((n, c, h, w), seed=seed)
    rm_t, rv_t = rm.copy(), rv.copy()
    out, cache = batchnorm2d_forward(x, gamma, beta, train=train, running_mean=rm,
                                     running_var=rv, momentum=momentum, eps=eps)
    dout = rng.standard_normal(out.shape)
    out_t, grads_t, stats_t = torch_batchnorm(x, gamma, beta, rm_t, rv_t, train, momentum, eps,
                                              dout)
    np.testing.assert_allclose(out, out_t, atol=1e-9, rtol=0)
    np.testing.assert_allclose(rm, stats_t[0], atol=1e-13, rtol=0)
    np.testing.assert_allclose(rv, stats_t[1], atol=1e-13, rtol=0)
    for got, want in zip(batchnorm2d_backward(dout, cache), grads_t):
        np.testing.assert_allclose(got, want, atol=1e-8, rtol=0)


# -- errors -------------------------------------------------------------------------------

X = np.zeros((2, 3, 4, 4))
V = np.zeros(3)
OK = {"train": True, "running_mean": np.zeros(3), "running_var": np.ones(3)}


@pytest.mark.parametrize("args, kwargs, exc, words", [
    ((np.zeros((3, 4, 4)), V, V), {}, ValueError, ["x", "4 dimensions", "(3, 4, 4)"]),
    ((X.astype(int), V, V), {}, TypeError, ["x", "floating", "int"]),
    ((X, np.zeros(4), V), {}, ValueError, ["gamma", "(3,)", "(4,)"]),
    ((X, V, np.zeros((3, 1))), {}, ValueError, ["beta", "1 dimensions", "(3, 1)"]),
    ((X, V.astype(np.float32), V), {}, TypeError, ["gamma", "dtype", "float64"]),
    ((X, V, [0.0, 0.0, 0.0]), {}, TypeError, ["beta", "numpy array", "list"]),
    ((X, V, V), {"train": 1}, TypeError, ["train", "True or False", "1"]),
    ((X, V, V), {"running_mean": np.zeros(2)}, ValueError, ["running_mean", "(3,)", "(2,)"]),
    ((X, V, V), {"running_var": np.ones(3, np.float32)}, TypeError,
     ["running_var", "dtype", "float64", "float32"]),
    ((X, V, V), {"running_var": None}, ValueError, ["running_mean", "running_var", "both"]),
    ((X, V, V), {"train": False, "running_mean": None, "running_var": None}, ValueError,
     ["eval", "running_mean", "None"]),
    ((X, V, V), {"momentum": 1.5}, ValueError, ["momentum", "[0, 1]", "1.5"]),
    ((X, V, V), {"momentum": "0.1"}, ValueError, ["momentum", "'0.1'"]),
    ((X, V, V), {"momentum": None}, ValueError, ["momentum=None", "cumulative"]),
    ((X, V, V), {"eps": 0}, ValueError, ["eps", "positive", "0"]),
    ((X, V, V), {"eps": -1e-5}, ValueError, ["eps", "-1e-05"]),
    ((np.zeros((1, 3, 1, 1)), V, V), {}, ValueError,
     ["more than one value per channel", "(1, 3, 1, 1)"]),
])
def test_bad_input_raises_naming_the_argument(args, kwargs, exc, words):
    with pytest.raises(exc) as info:
        batchnorm2d_forward(*args, **{**OK, **kwargs})
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_read_only_running_statistics_are_refused_in_train_mode_only():
    frozen = np.zeros(3)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="running_mean must be writeable"):
        batchnorm2d_forward(X, V, V, train=True, running_mean=frozen, running_var=np.ones(3))
    out, _ = batchnorm2d_forward(np.ones((1, 3, 1, 1)), V + 1, V, train=False,
                                 running_mean=frozen, running_var=np.ones(3))
    np.testing.assert_allclose(out, 1 / np.sqrt(1 + 1e-5))


def test_one_value_per_channel_is_fine_in_eval_mode():
    out, cache = batchnorm2d_forward(np.full((1, 3, 1, 1), 2.0), None, None, train=False,
                                     running_mean=np.ones(3), running_var=np.full(3, 4.0),
                                     eps=1e-12)
    np.testing.assert_allclose(out, 0.5)
    dx, dgamma, dbeta = batchnorm2d_backward(np.ones((1, 3, 1, 1)), cache)
    np.testing.assert_allclose(dx, 0.5)
    assert dgamma is None and dbeta is None


def test_backward_checks_dout_shape():
    _, cache = batchnorm2d_forward(X, V, V, **OK)
    with pytest.raises(ValueError, match=r"dout .*\(2, 3, 4, 4\).*\(2, 3, 4, 5\)"):
        batchnorm2d_backward(np.zeros((2, 3, 4, 5)), cache)
