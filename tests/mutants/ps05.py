"""Realistic bugs in problem set 5 (LeNet-5)."""

from .corpus import Mutant

ASSIGNMENT = "ps05_lenet"

#: The training cell takes seconds: it only runs for the tests that need it.
SKIP = ("train_run",)
NEEDS = {"test_lenet_accuracy": ("train_run",)}

TRAINING = ("test_lenet_accuracy",)

MUTANTS = [
    # linear_forward
    Mutant("linear: weights transposed (x @ w)", "linear_forward",
           [("out = x2 @ w.T + b", "out = x2 @ w + b")]),
    Mutant("linear: bias forgotten", "linear_forward", [("out = x2 @ w.T + b", "out = x2 @ w.T")]),
    Mutant("linear: input not flattened", "linear_forward",
           [("x2 = x.reshape(x.shape[0], -1)", "x2 = x")]),
    Mutant("linear: float64 output for float32 input", "linear_forward",
           [("out.astype(x.dtype)", "out.astype(np.float64)")]),
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
    Mutant("LeNet: num_classes ignored", "lenet5",
           [("nn.Linear(84, num_classes)", "nn.Linear(84, 10)")]),
    Mutant("LeNet: ReLU on the output scores", "lenet5",
           [("return self.out(x)", "return F.relu(self.out(x))")]),
    # training
    Mutant("training: labels not shuffled with the images", "train_lenet",
           [("loss = F.cross_entropy(model(shifted[idx]), y[idx])",
             "loss = F.cross_entropy(model(shifted[idx]), y[start:start + batch_size])")],
           tests=TRAINING),
    Mutant("training: gradients never zeroed", "train_lenet",
           [("            model.zero_grad()\n", "")], tests=TRAINING),
    Mutant("training: learning rate 100 times too large", "train_lenet",
           [("epochs=5, lr=0.02,", "epochs=5, lr=2.0,")], tests=TRAINING),
    Mutant("training: the step goes up the gradient", "train_lenet",
           [("p.sub_(lr_t * v)", "p.add_(lr_t * v)")], tests=TRAINING),
    Mutant("training: parameters rebound, not updated in place", "train_lenet",
           [("p.sub_(lr_t * v)", "p = p - lr_t * v")], tests=TRAINING),
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
]
