"""Training loops: LeNet-5 learns the 32x32 digits, in torch and in pure NumPy.

The accuracy thresholds were checked on three seeds each (torch: 98.3-98.9%
after 20 epochs; NumPy: 97.5-98.3%); the tests run one fixed seed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cnnbook import architectures, data
from cnnbook.torch import History, build, evaluate, fit, random_shift

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.fixture(scope="module")
def digits():
    return data.digits32("train"), data.digits32("test")


@pytest.mark.slow
def test_torch_lenet5_reaches_98_percent(digits):
    train, test = digits
    model = build(architectures.lenet5("relu"), generator=0)
    history = fit(model, train, test, epochs=20, lr=0.05, seed=0, device="cpu",
                  augment=random_shift, progress=False)
    assert history.epochs == 20
    assert history.test_acc[-1] >= 0.98, str(history)
    assert history.train_acc[-1] > 0.97
    assert history.loss[-1] < history.loss[0] / 5
    assert evaluate(model, test).accuracy == pytest.approx(history.test_acc[-1])


@pytest.mark.slow
def test_numpy_lenet5_reaches_97_percent(digits):
    from cnnbook import numpy as cnp

    (x, y), (xt, yt) = digits
    rng = np.random.default_rng(0)
    model = cnp.build(architectures.lenet5("relu"), rng)
    lr, epochs = 0.02, 20
    optimizer = cnp.SGD(model, lr, momentum=0.9)
    for epoch in range(epochs):
        # the same half-cosine decay as cnnbook.torch.fit, stepped per epoch
        optimizer.lr = lr * 0.5 * (1 + math.cos(math.pi * epoch / epochs))
        cnp.train_epoch(model, optimizer, x, y, 32, rng, augment=data.random_shift)
    loss, accuracy = cnp.evaluate(model, xt, yt)
    assert accuracy >= 0.97, (loss, accuracy)


def _small(n=96):
    (x, y), (xt, yt) = data.digits32("train"), data.digits32("test")
    return (x[:n], y[:n]), (xt[:n], yt[:n])


def test_fit_is_seeded_and_leaves_the_global_generator_alone():
    train, test = _small()
    arch = architectures.lenet5("relu")
    state = torch.get_rng_state()
    runs = [fit(build(arch, generator=1), train, test, epochs=2, seed=5, device="cpu",
                augment=random_shift, progress=False) for _ in range(2)]
    assert torch.equal(torch.get_rng_state(), state)
    assert runs[0].loss == runs[1].loss and runs[0].test_acc == runs[1].test_acc
    other = fit(build(arch, generator=1), train, test, epochs=2, seed=6, device="cpu",
                progress=False)
    assert other.loss != runs[0].loss


def test_history_fields_and_table():
    train, test = _small(64)
    history = fit(build(architectures.lenet5("classic"), generator=0), train, test, epochs=3,
                  batch_size=16, schedule="constant", device="cpu", progress=False)
    assert isinstance(history, History)
    assert len(history.loss) == len(history.train_acc) == len(history.test_acc) == 3
    assert len(history.test_loss) == len(history.seconds) == 3
    assert all(0 <= a <= 1 for a in history.train_acc + history.test_acc)
    assert history.device.startswith("cpu")
    assert len(str(history).splitlines()) == 4
    no_test = fit(build(architectures.lenet5("classic")), train, epochs=1, device="cpu",
                  progress=False)
    assert no_test.test_acc == [] and len(no_test.loss) == 1


def test_history_plot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = History(loss=[2.0, 1.0], train_acc=[0.3, 0.6], test_loss=[1.5, 1.1],
                      test_acc=[0.4, 0.5], seconds=[0.1, 0.1])
    fig = history.plot()
    assert len(fig.axes) == 2 and len(fig.axes[1].lines) == 2
    plt.close(fig)


def test_fit_rejects_bad_arguments():
    train, _ = _small(8)
    model = build(architectures.lenet5("relu"))
    with pytest.raises(ValueError, match="schedule"):
        fit(model, train, epochs=1, schedule="linear", progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        fit(model, train, epochs=1, batch_size=0, progress=False)
    with pytest.raises(ValueError, match="labels"):
        fit(model, (train[0], train[1][:3]), epochs=1, progress=False)
    with pytest.raises(TypeError, match="pair"):
        fit(model, train[0], epochs=1, progress=False)


def test_evaluate_restores_the_mode_and_uses_the_main_output():
    arch = architectures.googlenet(aux=True, num_classes=10)
    model = build(arch, generator=0)
    model.train()
    x = torch.rand(2, 3, 224, 224)
    result = evaluate(model, (x, torch.tensor([1, 2])))
    assert model.training
    assert 0 <= result.accuracy <= 1 and result.loss > 0


def test_aux_heads_add_to_the_training_loss():
    from cnnbook.spec import Architecture, AuxHead, Conv, Flatten, Linear, ReLU

    arch = Architecture("tiny aux", (1, 8, 8), (
        Conv(4, 3), ReLU(), AuxHead((Flatten(), Linear(10)), name="aux1"),
        Flatten(), Linear(10)))
    x = torch.rand(16, 1, 8, 8)
    y = torch.randint(0, 10, (16,))
    base = fit(build(arch, generator=0), (x, y), epochs=1, batch_size=16, device="cpu",
               progress=False, aux_weight=0.0, schedule="constant")
    model = build(arch, generator=0)
    history = fit(model, (x, y), epochs=1, batch_size=16, device="cpu", progress=False,
                  aux_weight=0.3, schedule="constant")
    # the recorded loss is the main output's, identical before the first step
    assert history.loss == base.loss
    # but the update differs, because the aux head's gradient reaches conv1
    other = build(arch, generator=0)
    fit(other, (x, y), epochs=1, batch_size=16, device="cpu", progress=False,
        aux_weight=0.0, schedule="constant")
    assert not torch.equal(model.conv1.weight, other.conv1.weight)


def test_random_shift_moves_each_image_by_at_most_max_shift():
    x = torch.zeros(64, 1, 9, 9)
    x[:, 0, 4, 4] = 1.0
    out = random_shift(x, torch.Generator().manual_seed(0), max_shift=2)
    assert out.shape == x.shape
    where = out[:, 0].flatten(1).argmax(1)
    rows, cols = where // 9, where % 9
    assert out.sum().item() == 64  # the pixel never falls off a 9x9 image
    assert rows.min() >= 2 and rows.max() <= 6 and cols.min() >= 2 and cols.max() <= 6
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 10  # shifts vary per image
    same = random_shift(x, torch.Generator().manual_seed(0), max_shift=2)
    assert torch.equal(out, same)
    assert torch.equal(random_shift(x, max_shift=0), x)
    with pytest.raises(ValueError, match="4 dimensions"):
        random_shift(x[0])


@pytest.mark.gpu
@requires_cuda
def test_training_step_on_cuda_matches_cpu():
    train, test = _small(64)
    arch = architectures.lenet5("relu")
    results = {}
    for device in ("cpu", "cuda"):
        for book in (False, True):
            model = build(arch, use_book_ops=book, generator=0)
            history = fit(model, train, test, epochs=2, seed=0, device=device,
                          augment=random_shift, progress=False, schedule="constant")
            results[device, book] = history
            assert next(model.parameters()).device.type == device
    assert results["cuda", True].device.startswith("cuda")
    for key, history in results.items():
        assert history.loss == pytest.approx(results["cpu", False].loss, rel=1e-3), key
