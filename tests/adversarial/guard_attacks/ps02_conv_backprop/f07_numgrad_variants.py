# %% numerical_gradient
import math
import warnings

def numerical_gradient(f, x, dout, eps=1e-6):
    """Centred differences; warns when x is not float64."""
    if x.dtype != np.float64:
        warnings.warn("numerical gradients are inaccurate below float64")
    g = np.zeros(x.shape, dtype=np.float64)
    for flat_i in range(x.size):
        idx = np.unravel_index(flat_i, x.shape)
        old = x[idx].item()
        x[idx] = old + eps
        a = math.fsum((f(x) * dout).ravel())
        x[idx] = old - eps
        c = math.fsum((f(x) * dout).ravel())
        x[idx] = old
        g[idx] = (a - c) / (2 * eps)
    return g
