"""Realistic bugs in problem set 5 (LeNet-5)."""

from .corpus import Mutant, blanks, wrapper

ASSIGNMENT = "ps05_lenet"

#: The training cell takes seconds: it only runs for the tests that need it.
SKIP = ("train_run",)
NEEDS = {"test_lenet_accuracy": ("train_run",)}

TRAINING = ("test_lenet_accuracy",)
LIN = "x, w, b"
SGD = "p, grad, v, lr, momentum=0.9, weight_decay=5e-4"
TRAIN = "model, x, y, epochs=5, lr=0.02, batch_size=32, seed=0"
NUMPY = "x, params"

MUTANTS = [
    # linear_forward
    Mutant("linear: weights transposed (x @ w)", "linear_forward",
           [("out = x2 @ w.T + b", "out = x2 @ w + b")]),
    Mutant("linear: bias forgotten", "linear_forward", [("out = x2 @ w.T + b", "out = x2 @ w.T")]),
    Mutant("linear: input not flattened", "linear_forward",
           [("x2 = x.reshape(x.shape[0], -1)", "x2 = x")]),
    Mutant("linear: float64 output for float32 input", "linear_forward",
           [("out.astype(x.dtype)", "out.astype(np.float64)")]),
    Mutant("linear: computed with torch", "linear_forward", source='''
def linear_forward(x, w, b):
    out = torch.from_numpy(x.reshape(len(x), -1)) @ torch.from_numpy(w).T + torch.from_numpy(b)
    return out.numpy(), (x, w, b)
'''),
    wrapper("linear: calls the library's reference", "linear_forward", "linear_forward", LIN,
            "import cnnbook.numpy\nreturn cnnbook.numpy.linear_forward(x, w, b)"),
    wrapper("linear: returns out only", "linear_forward", "linear_forward", LIN,
            "return _student_linear_forward(x, w, b)[0]"),
    wrapper("linear: float32 whatever the input", "linear_forward", "linear_forward", LIN,
            "out, cache = _student_linear_forward(x, w, b)\nreturn out.astype(np.float32), cache"),
    wrapper("linear: drops the batch axis of one example", "linear_forward", "linear_forward", LIN,
            "out, cache = _student_linear_forward(x, w, b)\n"
            "return (out[0] if len(x) == 1 else out), cache"),
    wrapper("linear: every example computed like the first", "linear_forward", "linear_forward",
            LIN, "out, cache = _student_linear_forward(x[:1], w, b)\n"
                 "return np.repeat(out, len(x), axis=0), cache"),
    wrapper("linear: centres x in place after use", "linear_forward", "linear_forward", LIN,
            "result = _student_linear_forward(x, w, b)\nx -= x.mean()\nreturn result"),
    wrapper("linear: transposes w in place", "linear_forward", "linear_forward", LIN,
            "result = _student_linear_forward(x, w, b)\nw[...] = w[::-1].copy()\nreturn result"),
    wrapper("linear: clears b in place after use", "linear_forward", "linear_forward", LIN,
            "result = _student_linear_forward(x, w, b)\nb[:] = 0\nreturn result"),
    # LeNet5
    Mutant("LeNet: F6 with 100 units", "lenet5",
           [("nn.Linear(120, 84)", "nn.Linear(120, 100)"), ("nn.Linear(84, num_classes)", "nn.Linear(100, num_classes)")]),
    Mutant("LeNet: C1 padded to keep 32x32 (the 28x28 MNIST habit)", "lenet5",
           [("nn.Conv2d(1, 6, 5)", "nn.Conv2d(1, 6, 5, padding=2)")]),
    Mutant("LeNet: no ReLU after C5", "lenet5",
           [("x = F.relu(self.c5(x)).flatten(1)", "x = self.c5(x).flatten(1)")]),
    Mutant("LeNet: average pooling", "lenet5",
           [("x = F.max_pool2d(F.relu(self.c1(x)), 2)", "x = F.avg_pool2d(F.relu(self.c1(x)), 2)"),
            ("x = F.max_pool2d(F.relu(self.c3(x)), 2)", "x = F.avg_pool2d(F.relu(self.c3(x)), 2)")]),
    Mutant("LeNet: F6 with 100 units, trained", "lenet5",
           [("nn.Linear(120, 84)", "nn.Linear(120, 100)"), ("nn.Linear(84, num_classes)", "nn.Linear(100, num_classes)")],
           tests=TRAINING),
    Mutant("LeNet: num_classes ignored", "lenet5",
           [("nn.Linear(84, num_classes)", "nn.Linear(84, 10)")]),
    Mutant("LeNet: ReLU on the output scores", "lenet5",
           [("return self.out(x)", "return F.relu(self.out(x))")]),
    Mutant("LeNet: PyTorch's default initialization kept", "lenet5",
           [("            nn.init.kaiming_normal_(layer.weight, nonlinearity=\"relu\")\n"
             "            nn.init.zeros_(layer.bias)\n", "            pass\n")], subtle=True),
    Mutant("LeNet: built by the library", "lenet5", source='''
class LeNet5(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        from cnnbook.architectures import lenet5
        from cnnbook.torch import build
        self.net = build(lenet5("relu"))

    def forward(self, x):
        return self.net(x)
'''),
    wrapper("LeNet: default of 100 classes", "lenet5", "LeNet5", "class",
            "def __init__(self, num_classes=100):\n    super().__init__(num_classes)"),
    wrapper("LeNet: a single image's scores squeezed", "lenet5", "LeNet5", "class",
            "def forward(self, x):\n    out = super().forward(x)\n"
            "    return out[0] if len(x) == 1 else out"),
    wrapper("LeNet: every image scored like the first", "lenet5", "LeNet5", "class",
            "def forward(self, x):\n    return super().forward(x[:1]).repeat(len(x), 1)"),
    # sgd_step
    Mutant("SGD step: weight decay subtracted", "sgd_step",
           [("(grad + weight_decay * p)", "(grad - weight_decay * p)")]),
    Mutant("SGD step: momentum forgotten", "sgd_step", [("momentum * v + ", "")]),
    Mutant("SGD step: the velocity updated in place", "sgd_step",
           [("v_new = momentum * v + (grad + weight_decay * p)",
             "v_new = v.mul_(momentum).add_(grad + weight_decay * p)")], subtle=True),
    Mutant("SGD step: the parameter updated in place", "sgd_step",
           [("return p - lr * v_new, v_new", "return p.sub_(lr * v_new), v_new")]),
    Mutant("SGD step: weight decay added to grad in place", "sgd_step",
           [("v_new = momentum * v + (grad + weight_decay * p)",
             "v_new = momentum * v + grad.add_(weight_decay * p)")], subtle=True),
    Mutant("SGD step: the learning rate forgotten", "sgd_step",
           [("return p - lr * v_new, v_new", "return p - v_new, v_new")]),
    wrapper("SGD step: lr fixed at 0.02", "sgd_step", "sgd_step", SGD,
            "return _student_sgd_step(p, grad, v, 0.02, momentum, weight_decay)"),
    wrapper("SGD step: returns only the new p", "sgd_step", "sgd_step", SGD,
            "return _student_sgd_step(p, grad, v, lr, momentum, weight_decay)[0]"),
    wrapper("SGD step: default momentum 0", "sgd_step", "sgd_step",
            "p, grad, v, lr, momentum=0.0, weight_decay=5e-4",
            "return _student_sgd_step(p, grad, v, lr, momentum, weight_decay)"),
    wrapper("SGD step: float32 whatever the input", "sgd_step", "sgd_step", SGD,
            "p2, v2 = _student_sgd_step(p, grad, v, lr, momentum, weight_decay)\n"
            "return p2.float(), v2.float()"),
    wrapper("SGD step: float64 for float32 input", "sgd_step", "sgd_step", SGD,
            "p2, v2 = _student_sgd_step(p, grad, v, lr, momentum, weight_decay)\n"
            "return p2.double(), v2.double()"),
    wrapper("SGD step: the library's NumPy optimizer", "sgd_step", "sgd_step", SGD,
            "from cnnbook.numpy import SGD as NumpySGD\n"
            "pn, g = p.numpy().copy(), grad.numpy().copy()\n"
            "opt = NumpySGD([(pn, g)], lr, momentum, weight_decay)\n"
            "opt.velocity[0][...] = v.numpy()\nopt.step()\n"
            "return torch.from_numpy(pn), torch.from_numpy(opt.velocity[0])"),
    # learning_rate
    Mutant("schedule: integer division", "learning_rate",
           [("return lr * (1 - step / total_steps)", "return lr * (1 - step // total_steps)")]),
    Mutant("schedule: counts from 1", "learning_rate",
           [("return lr * (1 - step / total_steps)", "return lr * (1 - (step + 1) / total_steps)")]),
    wrapper("schedule: lr fixed at 0.02", "learning_rate", "learning_rate",
            "step, total_steps, lr=0.02", "return _student_learning_rate(step, total_steps)"),
    wrapper("schedule: default lr 0.01", "learning_rate", "learning_rate",
            "step, total_steps, lr=0.01", "return _student_learning_rate(step, total_steps, lr)"),
    wrapper("schedule: returns a one-element list", "learning_rate", "learning_rate",
            "step, total_steps, lr=0.02",
            "return [_student_learning_rate(step, total_steps, lr)]"),
    # train_lenet
    Mutant("training: the schedule unused", "train_lenet",
           [("lr_t = learning_rate(len(losses), steps, lr)", "lr_t = lr")], subtle=True),
    Mutant("training: gradients never zeroed", "train_lenet",
           [("            model.zero_grad()\n", "")]),
    Mutant("training: parameters rebound, not updated in place", "train_lenet",
           [("p.copy_(p_new)", "p = p_new")]),
    Mutant("training: momentum switched off", "train_lenet",
           [("sgd_step(p, p.grad, velocity[i], lr_t)", "sgd_step(p, p.grad, velocity[i], lr_t, momentum=0.0)")],
           subtle=True),
    Mutant("training: lr ignored", "train_lenet",
           [("lr_t = learning_rate(len(losses), steps, lr)", "lr_t = learning_rate(len(losses), steps)")],
           subtle=True),
    Mutant("training: epochs hard-coded", "train_lenet",
           [("for epoch in range(epochs):", "for epoch in range(5):")]),
    Mutant("training: the schedule counts epochs, not steps", "train_lenet",
           [("lr_t = learning_rate(len(losses), steps, lr)", "lr_t = learning_rate(epoch, epochs, lr)")],
           subtle=True),
    Mutant("training: trains a copy of the model", "train_lenet",
           [("    rng = np.random.default_rng(seed)\n",
             "    import copy\n    model = copy.deepcopy(model)\n    rng = np.random.default_rng(seed)\n")]),
    wrapper("training: returns the mean loss", "train_lenet", "train_lenet", TRAIN,
            "return float(np.mean(_student_train_lenet(model, x, y, epochs, lr, batch_size, seed)))"),
    wrapper("training: the library's fit", "train_lenet", "train_lenet", TRAIN,
            "from cnnbook.torch import fit\nfit(model, x, y, epochs=epochs, lr=lr)\n"
            "return _student_train_lenet(model, x, y, epochs, lr, batch_size, seed)"),
    Mutant("training: labels not shuffled with the images", "train_lenet",
           [("loss = F.cross_entropy(model(shifted[idx]), y[idx])",
             "loss = F.cross_entropy(model(shifted[idx]), y[start:start + batch_size])")],
           tests=TRAINING),
    Mutant("training: learning rate 100 times too large", "train_lenet",
           [("def train_lenet(model, x, y, epochs=5, lr=0.02,", "def train_lenet(model, x, y, epochs=5, lr=2.0,")],
           tests=TRAINING),
    # lenet_numpy_forward
    Mutant("NumPy LeNet: no ReLU after F6", "lenet_numpy_forward",
           [("h = relu(linear_forward(h, w6, b6)[0])", "h = linear_forward(h, w6, b6)[0]")]),
    Mutant("NumPy LeNet: flattened channels-last", "lenet_numpy_forward",
           [("h = relu(linear_forward(h, w5.reshape", "h = relu(linear_forward(h.transpose(0, 2, 3, 1), w5.reshape")]),
    Mutant("NumPy LeNet: pooling with stride 1", "lenet_numpy_forward",
           [("h = maxpool2d_forward(relu(conv2d_forward(x, w1, b1)[0]), 2)[0]",
             "h = maxpool2d_forward(relu(conv2d_forward(x, w1, b1)[0]), 2, 1)[0]")]),
    Mutant("NumPy LeNet: ReLU on the output scores", "lenet_numpy_forward",
           [("return linear_forward(h, w7, b7)[0]", "return relu(linear_forward(h, w7, b7)[0])")]),
    Mutant("NumPy LeNet: C3's bias forgotten", "lenet_numpy_forward",
           [("conv2d_forward(h, w3, b3)", "conv2d_forward(h, w3, 0 * b3)")]),
    Mutant("NumPy LeNet: C5 always run as a convolution", "lenet_numpy_forward",
           [("h = relu(linear_forward(h, w5.reshape(w5.shape[0], -1), b5)[0])",
             "h = relu(conv2d_forward(h, w5, b5)[0]).reshape(len(h), -1)")]),
    Mutant("NumPy LeNet: reshapes C5's weight in place", "lenet_numpy_forward",
           [("h = relu(linear_forward(h, w5.reshape(w5.shape[0], -1), b5)[0])",
             "w5.shape = (w5.shape[0], -1)\n    h = relu(linear_forward(h, w5, b5)[0])")],
           subtle=True),
    Mutant("NumPy LeNet: calls the library's layers", "lenet_numpy_forward",
           [("    w1, b1, w3, b3, w5, b5, w6, b6, w7, b7 = params\n",
             "    w1, b1, w3, b3, w5, b5, w6, b6, w7, b7 = params\n"
             "    from cnnbook.numpy import conv2d_forward\n")]),
    wrapper("NumPy LeNet: returns (scores, None)", "lenet_numpy_forward", "lenet_numpy_forward",
            NUMPY, "return _student_lenet_numpy_forward(x, params), None"),
    wrapper("NumPy LeNet: float32 whatever the input", "lenet_numpy_forward",
            "lenet_numpy_forward", NUMPY,
            "return _student_lenet_numpy_forward(x, params).astype(np.float32)"),
    wrapper("NumPy LeNet: float64 for float32 input", "lenet_numpy_forward",
            "lenet_numpy_forward", NUMPY,
            "return _student_lenet_numpy_forward(x, params).astype(np.float64)"),
    wrapper("NumPy LeNet: a single image's scores squeezed", "lenet_numpy_forward",
            "lenet_numpy_forward", NUMPY,
            "out = _student_lenet_numpy_forward(x, params)\nreturn out[0] if len(x) == 1 else out"),
    wrapper("NumPy LeNet: every image scored like the first", "lenet_numpy_forward",
            "lenet_numpy_forward", NUMPY,
            "return np.repeat(_student_lenet_numpy_forward(x[:1], params), len(x), axis=0)"),
    wrapper("NumPy LeNet: centres x in place after use", "lenet_numpy_forward",
            "lenet_numpy_forward", NUMPY,
            "out = _student_lenet_numpy_forward(x, params)\nx -= x.mean()\nreturn out"),
]

MUTANTS += blanks(ASSIGNMENT, ["linear_forward", "LeNet5", "sgd_step", "learning_rate",
                               "train_lenet", "lenet_numpy_forward"])
