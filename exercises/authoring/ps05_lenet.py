# Authoring source of exercises/source/ps05_lenet/ps05_lenet.ipynb.
# Edit here, then run: python exercises/course.py build

# %% [markdown]
# # Problem set 5: LeNet-5
#
# This problem set goes with **Chapter 5, LeNet-5** of the book. You will build LeNet-5 in
# PyTorch with exactly the layer shapes of the paper, train it on handwritten digits, and
# then run the same network with NumPy layers you wrote yourself.
#
# **How this works.** Write your code where it says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line) and run the test cell after each task: it checks a
# worked example and says what was expected and what came back. Grading runs more tests:
# other shapes and dtypes, the model's output with known weights, and the accuracy of your
# trained network on test digits it has never seen.
#
# **Rules.** Answers that call the book's reference implementations (`cnnbook.numpy`,
# `cnnbook.torch.build`, `cnnbook.torch.fit`) score 0 for that task, and so do NumPy tasks
# (1 and 4) that compute with torch. Do not change the test cells or the signatures.
#
# The data: `cnnbook.data.digits32` gives scikit-learn's 8x8 handwritten digits drawn on
# 32x32 canvases (LeNet-5's input size), with a fixed split into 1,437 training and 360 test
# images. It is installed with the book and needs no download. You train on the training
# images; the test images are kept for grading.

# %%
import numpy as np
import torch
from torch import nn
import torch.nn.functional as F
from cnnbook.data import digits32, random_shift
from cnnbook.exercise_checks import check_close, check_equal, check_shape

torch.set_num_threads(1)  # small convolutions: one thread is as fast, and steadier on a shared machine
x_train, y_train = digits32("train")
print(f"training images {x_train.shape} ({x_train.dtype}), labels {y_train.shape}: 0..9")

# %% [markdown]
# ## 1. A fully connected layer in NumPy (2 points)
#
# `linear_forward(x, w, b)` flattens each example of `x` (shape `(N, d1, d2, ...)`) into a
# vector of `D = d1 * d2 * ...` values and returns `(out, cache)` with
# `out = x_flat @ w.T + b` of shape `(N, M)`. The weights have PyTorch's layout: `w` is
# `(M, D)`, `b` is `(M,)`. Keep the dtype of `x`.
#
# Worked example: `x = [[1, 2]]`, `w = [[1, 0], [1, 1], [0, -1]]`, `b = [0, 1, 2]` give
# `[[1, 4, 0]]`.

# %% solution id=linear_forward
def linear_forward(x, w, b):
    """x: (N, ...) flattened to (N, D); w: (M, D); b: (M,) -> (out (N, M), cache)."""
    ### BEGIN SOLUTION
    x2 = x.reshape(x.shape[0], -1)
    out = x2 @ w.T + b
    return out.astype(x.dtype), (x, w, b)
    ### END SOLUTION

# %% test id=test_linear_forward points=2
import numpy as np
from cnnbook.exercise_checks import check_close

w_demo = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, -1.0]])
check_close(linear_forward(np.array([[1.0, 2.0]]), w_demo, np.array([0.0, 1.0, 2.0]))[0],
            np.array([[1.0, 4.0, 0.0]]), "linear_forward (worked example)")
x4 = np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2)
w4 = np.ones((5, 12), dtype=np.float32)
check_close(linear_forward(x4, w4, np.zeros(5, dtype=np.float32))[0],
            np.repeat(np.array([[66.0], [210.0]], dtype=np.float32), 5, axis=1),
            "linear_forward on a (2, 3, 2, 2) float32 input")
print("linear_forward: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps05 as _hidden
_hidden.linear_forward(linear_forward)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. LeNet-5 in PyTorch (3 points)
#
# Build LeNet-5 for a `(N, 1, 32, 32)` input, in the modern reading (ReLU activations and
# 2x2 max pooling, which train faster than the paper's scaled tanh and trainable
# subsampling):
#
# | layer | what | output |
# | --- | --- | --- |
# | C1 | convolution, 6 filters 5x5, then ReLU | 6 x 28 x 28 |
# | S2 | max pooling 2x2, stride 2 | 6 x 14 x 14 |
# | C3 | convolution, 16 filters 5x5 (all 6 input maps), then ReLU | 16 x 10 x 10 |
# | S4 | max pooling 2x2, stride 2 | 16 x 5 x 5 |
# | C5 | convolution, 120 filters 5x5, then ReLU (or: flatten, then a linear layer 400 -> 120) | 120 x 1 x 1 |
# | F6 | linear 120 -> 84, then ReLU | 84 |
# | output | linear 84 -> `num_classes` (no activation: these are the scores) | `num_classes` |
#
# All layers have biases. With 10 classes the network has 61,706 parameters.
#
# Start every convolution and linear layer from He's initialization, as the networks of
# Chapter 5 do: weights drawn by `nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")`
# (normal, variance `2 / fan_in`), biases set to zero (`nn.init.zeros_`). PyTorch's default
# is smaller: the scores start almost equal, and training can stall for an epoch or two
# before it suddenly moves, sometimes too fast. (Graded: a hidden test measures the spread
# of a fresh model's weights.)
#
# The layers are prescribed, their names and containers are yours: the hidden tests find
# each weight by its shape, load known values through `load_state_dict` and compare the
# scores with LeNet-5's.

# %% solution id=lenet5
class LeNet5(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        ### BEGIN SOLUTION
        self.c1 = nn.Conv2d(1, 6, 5)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.f6 = nn.Linear(120, 84)
        self.out = nn.Linear(84, num_classes)
        for layer in (self.c1, self.c3, self.c5, self.f6, self.out):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c3(x)), 2)
        x = F.relu(self.c5(x)).flatten(1)
        x = F.relu(self.f6(x))
        return self.out(x)
        ### END SOLUTION

# %% test id=test_lenet5 points=3
import torch
from cnnbook.exercise_checks import check_equal, check_shape

model = LeNet5()
check_equal(sum(p.numel() for p in model.parameters()), 61706, "parameters of LeNet5()")
with torch.no_grad():
    check_shape(model(torch.zeros(2, 1, 32, 32)), (2, 10), "LeNet5() on a (2, 1, 32, 32) batch")
    check_shape(LeNet5(num_classes=3)(torch.zeros(1, 1, 32, 32)), (1, 3), "LeNet5(num_classes=3) on one image")
print("LeNet5: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps05 as _hidden
_hidden.lenet5(LeNet5)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Training (2 + 1 + 2 + 4 points)
#
# You will train with mini-batch SGD, momentum 0.9 and weight decay 5e-4, and a learning rate
# that falls linearly to 0: first the update of one parameter and the schedule, each a
# function of its own, then the training loop that uses them.
#
# ### 3a. One SGD step (2 points)
#
# `sgd_step(p, grad, v, lr, momentum=0.9, weight_decay=5e-4)` gets a parameter tensor `p`,
# its gradient `grad` and its velocity `v` (all of the same shape and dtype) and returns the
# pair `(p_new, v_new)`:
#
#     v_new = momentum * v + (grad + weight_decay * p)     weight decay adds weight_decay * p to the gradient
#     p_new = p - lr * v_new
#
# Return **new** tensors of `p`'s shape and dtype, and change none of the arguments (the
# training loop copies `p_new` into the parameter itself).
#
# Worked example: `p = [1, -2]`, `grad = [0.5, 0.5]`, `v = [1, 0]`, `lr = 0.1`,
# `momentum = 0.5`, `weight_decay = 0.1` give `v_new = [1.1, 0.3]` and `p_new = [0.89, -2.03]`.

# %% solution id=sgd_step
def sgd_step(p, grad, v, lr, momentum=0.9, weight_decay=5e-4):
    """One SGD step with momentum and weight decay: (new p, new v); changes nothing."""
    ### BEGIN SOLUTION
    v_new = momentum * v + (grad + weight_decay * p)
    return p - lr * v_new, v_new
    ### END SOLUTION

# %% test id=test_sgd_step points=2
import torch
from cnnbook.exercise_checks import check_close

p_demo = torch.tensor([1.0, -2.0], dtype=torch.float64)
v_demo = torch.tensor([1.0, 0.0], dtype=torch.float64)
p_new, v_new = sgd_step(p_demo, torch.tensor([0.5, 0.5], dtype=torch.float64), v_demo, 0.1,
                        momentum=0.5, weight_decay=0.1)
check_close(v_new, torch.tensor([1.1, 0.3], dtype=torch.float64), "sgd_step: v_new")
check_close(p_new, torch.tensor([0.89, -2.03], dtype=torch.float64), "sgd_step: p_new")
check_close(p_demo, torch.tensor([1.0, -2.0], dtype=torch.float64), "sgd_step: p after the call (unchanged)")
print("sgd_step: the worked example passes")
### BEGIN HIDDEN TESTS
from autograder.checks import ps05 as _hidden
_hidden.sgd_step(sgd_step)
### END HIDDEN TESTS

# %% [markdown]
# ### 3b. The learning-rate schedule (1 point)
#
# `learning_rate(step, total_steps, lr=0.02)` is the learning rate of step `step`
# (counting from 0) of a run of `total_steps` steps: `lr * (1 - step / total_steps)`, which
# falls linearly from `lr` to 0.
#
# Worked example: `learning_rate(0, 100)` is `0.02`, `learning_rate(25, 100, lr=0.1)` is `0.075`.

# %% solution id=learning_rate
def learning_rate(step, total_steps, lr=0.02):
    """The learning rate of step `step` of `total_steps`: lr * (1 - step / total_steps)."""
    ### BEGIN SOLUTION
    return lr * (1 - step / total_steps)
    ### END SOLUTION

# %% test id=test_learning_rate points=1
from cnnbook.exercise_checks import check_close

check_close(learning_rate(0, 100), 0.02, "learning_rate(0, 100)")
check_close(learning_rate(25, 100, lr=0.1), 0.075, "learning_rate(25, 100, lr=0.1)")
print("learning_rate: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps05 as _hidden
_hidden.learning_rate(learning_rate)
### END HIDDEN TESTS

# %% [markdown]
# ### 3c. The training loop (2 + 4 points)
#
# Write `train_lenet(model, x, y, ...)`: train `model` in place on the images `x` (a float32
# array `(N, 1, 32, 32)`) and labels `y` (ints `0..9`) with the cross-entropy loss
# (`F.cross_entropy` takes the raw scores), and return the list of mini-batch losses (one
# number per mini-batch). What works here (about 96% of the test digits right, in a few
# seconds):
#
# * `epochs` passes over the data in mini-batches of `batch_size` (the last one may be
#   smaller), a fresh random order every epoch (shuffle the images and their labels
#   **together**);
# * every epoch, each image shifted by its own random offset of up to 1 pixel:
#   `random_shift(x, rng, 1)` from `cnnbook.data`, with `rng = np.random.default_rng(seed)`;
# * for each mini-batch: zero the gradients (`model.zero_grad()`), compute the loss,
#   `loss.backward()`, then, under `torch.no_grad()`, update every parameter `p` with your
#   `sgd_step` (a velocity per parameter, zeros at the start) at the learning rate
#   `learning_rate(t, T, lr)`, where `t` counts the steps already taken and `T` is the number
#   of steps of the whole run, and copy the result into the parameter: `p.copy_(p_new)` (a new
#   tensor assigned to the name `p` leaves the model unchanged).
#
# This is exactly the update of `torch.optim.SGD(model.parameters(), lr, momentum=0.9,
# weight_decay=5e-4)` with a `LambdaLR` schedule stepped after every batch (you may use them
# instead; the first optimizer of a session also costs a second or two of imports).
#
# It is graded twice. A hidden test (2 points) trains a LeNet5 with known weights for a few
# steps on blank images of one class (so that the order of the batches and the shifts cannot
# matter) and compares every loss with the prescribed update's. The next cell trains
# `trained_lenet`, which must classify at least **92%** of the test digits (which you do not
# have) correctly (4 points). (Grading runs your notebook again: keep the training to a few
# seconds.)

# %% solution id=train_lenet
def train_lenet(model, x, y, epochs=5, lr=0.02, batch_size=32, seed=0):
    """Train model in place; returns the list of mini-batch losses."""
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    y = torch.as_tensor(y, dtype=torch.long)
    params = list(model.parameters())
    velocity = [torch.zeros_like(p) for p in params]
    steps = epochs * -(-len(x) // batch_size)
    model.train()
    losses = []
    for epoch in range(epochs):
        shifted = torch.as_tensor(random_shift(x, rng, 1), dtype=torch.float32)
        order = torch.randperm(len(x), generator=g)
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            model.zero_grad()
            loss = F.cross_entropy(model(shifted[idx]), y[idx])
            loss.backward()
            lr_t = learning_rate(len(losses), steps, lr)
            with torch.no_grad():
                for i, p in enumerate(params):
                    p_new, velocity[i] = sgd_step(p, p.grad, velocity[i], lr_t)
                    p.copy_(p_new)
            losses.append(loss.item())
    return losses
    ### END SOLUTION

# %% test id=test_train_lenet points=2
import numpy as np
import torch
from cnnbook.exercise_checks import check_equal, check_true

torch.manual_seed(2)
small = LeNet5()
before = [p.detach().clone() for p in small.parameters()]
small_losses = train_lenet(small, x_train[:40], y_train[:40], epochs=2, batch_size=16)
check_equal(len(small_losses), 6, "number of losses of 2 epochs over 40 images in batches of 16")
check_true(all(np.isfinite(small_losses)), f"train_lenet: the losses are not all finite: {small_losses}")
check_true(any(not torch.equal(a, b) for a, b in zip(before, small.parameters())),
           "train_lenet: the model's parameters did not change (update them in place: p.copy_(p_new))")
print(f"train_lenet: 6 losses, from {small_losses[0]:.3f} to {small_losses[-1]:.3f}")
### BEGIN HIDDEN TESTS
from autograder.checks import ps05 as _hidden
_hidden.train_lenet(LeNet5, train_lenet)
### END HIDDEN TESTS

# %% id=train_run
torch.manual_seed(0)
trained_lenet = LeNet5()
losses = train_lenet(trained_lenet, x_train, y_train)
print(f"{len(losses)} mini-batches; mean loss of the last 20: {np.mean(losses[-20:]):.3f}")

# %% test id=test_lenet_accuracy points=4
import numpy as np
import torch
from cnnbook.data import digits32
from cnnbook.exercise_checks import check_at_least

images, labels = digits32("train")
trained_lenet.eval()
with torch.no_grad():
    scores = trained_lenet(torch.as_tensor(images))
accuracy = float((scores.argmax(dim=1).numpy() == labels).mean())
print(f"accuracy on the training digits: {accuracy:.2%} (on the graded test digits: a few points less)")
check_at_least(accuracy, 0.96, "accuracy of trained_lenet on the training digits")
### BEGIN HIDDEN TESTS
from autograder.checks import ps05 as _hidden
_hidden.lenet_accuracy(trained_lenet)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. LeNet-5 with your own NumPy layers (3 points)
#
# Run the same network in NumPy. Paste your `conv2d_forward` (problem set 1) and
# `maxpool2d_forward` (problem set 3) below, then write `lenet_numpy_forward(x, params)`.
# `params` is the list of the ten weight and bias arrays in PyTorch's order
# (`[p.detach().numpy() for p in model.parameters()]` for the model above): C1's weight and
# bias, C3's, C5's, F6's and the output layer's. C5's weight is `(120, 16, 5, 5)` (a
# convolution) or `(120, 400)` (a linear layer): either way, C5 is a linear layer on the
# flattened S4 output, so `w.reshape(120, -1)` handles both. Use ReLU (`np.maximum(v, 0)`)
# and 2x2 max pooling as in your `LeNet5`. Return the scores `(N, 10)` with the dtype of `x`.

# %% solution id=numpy_layers
def conv2d_forward(x, w, b, stride=1, padding=0):
    """Your vectorized convolution from problem set 1: (out, cache)."""
    ### BEGIN SOLUTION
    F_, C, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (KH, KW), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    out = out + b[None, :, None, None]
    return np.ascontiguousarray(out, dtype=x.dtype), (x, w, b, stride, padding)
    ### END SOLUTION


def maxpool2d_forward(x, kernel_size, stride=None, padding=0):
    """Your max pooling from problem set 3: (out, cache)."""
    ### BEGIN SOLUTION
    k = kernel_size
    s = k if stride is None else stride
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)),
                constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    return windows.max(axis=(4, 5)).astype(x.dtype), (x, k, s, padding)
    ### END SOLUTION

# %% solution id=lenet_numpy_forward
def lenet_numpy_forward(x, params):
    """LeNet-5 scores (N, 10) for x: (N, 1, 32, 32), with the ten arrays of params."""
    ### BEGIN SOLUTION
    w1, b1, w3, b3, w5, b5, w6, b6, w7, b7 = params
    relu = lambda v: np.maximum(v, 0)
    h = maxpool2d_forward(relu(conv2d_forward(x, w1, b1)[0]), 2)[0]
    h = maxpool2d_forward(relu(conv2d_forward(h, w3, b3)[0]), 2)[0]
    h = relu(linear_forward(h, w5.reshape(w5.shape[0], -1), b5)[0])
    h = relu(linear_forward(h, w6, b6)[0])
    return linear_forward(h, w7, b7)[0]
    ### END SOLUTION

# %% test id=test_lenet_numpy_forward points=3
import numpy as np
import torch
from cnnbook.exercise_checks import check_close

torch.manual_seed(1)
reference_model = LeNet5().eval()
params = [p.detach().numpy() for p in reference_model.parameters()]
x_demo = np.random.default_rng(0).normal(size=(3, 1, 32, 32)).astype(np.float32)
with torch.no_grad():
    expected = reference_model(torch.from_numpy(x_demo)).numpy()
check_close(lenet_numpy_forward(x_demo, params), expected,
            "lenet_numpy_forward compared with your LeNet5", atol=1e-5, rtol=1e-4)
print("lenet_numpy_forward agrees with your PyTorch LeNet5")
### BEGIN HIDDEN TESTS
from autograder.checks import ps05 as _hidden
_hidden.lenet_numpy_forward(lenet_numpy_forward)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Written answers
#
# **Question 1 (2 points).** Where are LeNet-5's 61,706 parameters? Give the count of each
# layer, and explain why C5 is called a convolutional layer although, on a 32x32 input, it is
# exactly a fully connected layer. When does the difference matter?

# %% [markdown] answer id=written_lenet_params points=2
# C1: 6 * 1 * 25 + 6 = 156; C3: 16 * 6 * 25 + 16 = 2,416; C5: 120 * 16 * 25 + 120 = 48,120;
# F6: 84 * 120 + 84 = 10,164; output: 10 * 84 + 10 = 850; S2 and S4 have none here. Total
# 61,706: 78% in C5. C5's 5x5 filters see the whole 5x5 S4 map, so each of its 120 outputs is a
# weighted sum of all 400 inputs: a fully connected layer. It is a convolution because it would
# slide if the input were larger: on a bigger image C5 produces a map of 120-vectors, one per
# 32x32 window, and the network stays valid; a flatten + linear layer would fail (or need a
# different weight shape).

# %% [markdown]
# **Question 2 (1 point).** Why does a random shift of the training images by up to 1 pixel
# help, when the convolutions are already translation equivariant?

# %% [markdown] answer id=written_augmentation points=1
# Equivariance holds for the convolutions, not for the whole network: the pooling layers are
# only equivariant to shifts by multiples of their stride (4 pixels after S4), and C5/F6 see
# absolute positions in the 5x5 map. A digit drawn 1 pixel off produces different C5 inputs,
# so the network must learn to map them to the same class; the shifts supply those examples
# (and the test digits are not all centred the same way).
