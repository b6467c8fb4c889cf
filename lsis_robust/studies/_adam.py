"""The paper's fitting protocol: full-batch Adam from many starts, batched and fused with torch.compile.

Section III-B2: Adam with learning rate 0.01, multiplied by 10^(-1/2) every
50 epochs, 150 epochs (one full-batch step per epoch), from the true beta
(LR) or from 30 starts scattered around it, keeping the start with the
lowest objective.  All starts of all problems are one tensor (G, S, d): G
data sets of n rows (trials; the robustness grid has G = 1 shared nominal
sample) and S starts per data set, each start with one optional extra row
of its own (the contamination point of its problem) carrying weight
``extra_w``.  For a loss with a torch form (``loss.torch_binary()``: the
built-in losses, and a user's torch phi with phi' by autodiff) the margin,
phi'(m), the weighted reduction over n and the Adam update are one compiled
kernel; a loss without one (a user's numpy phi, with numerical derivatives)
falls back to eager evaluation of its numpy ``phi`` and ``dphi``.
The same code runs on CUDA when a GPU is present.
"""
from __future__ import annotations

import numpy as np

__all__ = ["adam_fit", "default_device"]

_COMPILED: dict = {}


def default_device():
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _margins(beta, X, y):
    # X is stored (G, d, n) so rows are contiguous; an explicit sum over the (few) coefficients lets the
    # compiler fuse it into the reduction over rows.
    s = beta[:, :, None, 0] * X[:, None, 0, :]
    for j in range(1, beta.shape[-1]):
        s = s + beta[:, :, None, j] * X[:, None, j, :]
    return s * y[:, None, :]


def _make_step(dphi):
    def grad(beta, X, y, w, ex, ey, ew):
        g = dphi(_margins(beta, X, y)) * (w * y)[:, None, :]
        ge = dphi((beta * ex).sum(-1) * ey) * ew * ey
        return torch_stack([(g * X[:, None, j, :]).sum(-1) for j in range(beta.shape[-1])]) + ge[..., None] * ex

    def step(beta, m, v, X, y, w, ex, ey, ew, lr, c1, c2):
        g = grad(beta, X, y, w, ex, ey, ew)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        beta = beta - lr * (m / c1) / ((v / c2).sqrt() + 1e-8)
        return beta, m, v

    return step


def torch_stack(parts):
    import torch

    return torch.stack(parts, dim=-1)


def _make_objective(phi):
    def objective(beta, X, y, w, ex, ey, ew):
        f = (phi(_margins(beta, X, y)) * w[:, None, :]).sum(-1)
        return f + phi((beta * ex).sum(-1) * ey) * ew

    return objective


def _numpy_fns(loss):
    """(phi, dphi) as torch functions for a loss computed in numpy (a registered or user loss).

    phi is a custom autograd function: it runs the loss on detached float64 values and its backward
    uses the loss's own phi' (analytic, or numerical for a user's numpy phi), so a torch objective
    built on it can be differentiated although numpy is not.
    """
    import torch

    def wrap(fn):
        return lambda m: torch.as_tensor(fn(m.detach().cpu().numpy().astype(np.float64)), dtype=m.dtype,
                                         device=m.device)

    dphi = wrap(loss.dphi)

    class _Phi(torch.autograd.Function):
        @staticmethod
        def forward(ctx, m):
            ctx.save_for_backward(m)
            return wrap(loss.phi)(m)

        @staticmethod
        def backward(ctx, grad):
            (m,) = ctx.saved_tensors
            return grad * dphi(m)

    return _Phi.apply, dphi


def _kernels(loss, compiled):
    """(step, objective, fused): compiled kernels for a loss with a torch form, eager ones otherwise."""
    import torch

    key = (repr(loss), compiled)
    if key not in _COMPILED:
        fns = loss.torch_binary()
        if fns is None:
            fns, compiled = _numpy_fns(loss), False
        step, objective = _make_step(fns[1]), _make_objective(fns[0])
        if compiled:
            # Every loss and data shape compiles the same code objects again; dynamo's default limit of
            # 8 entries per code object would silently drop a full study back to eager kernels.
            for name in ("cache_size_limit", "recompile_limit"):
                if hasattr(torch._dynamo.config, name):
                    setattr(torch._dynamo.config, name, max(getattr(torch._dynamo.config, name), 512))
            step = torch.compile(step, dynamic=False)
            objective = torch.compile(objective, dynamic=False)
        _COMPILED[key] = (step, objective, compiled)
    return _COMPILED[key]


def adam_fit(loss, X, y_pm, w, starts, extra=None, *, lr=0.01, epochs=150, decay_every=50, decay=10 ** -0.5,
             device=None, dtype="float32", compiled=True):
    """Run the paper's Adam from ``starts`` (G, S, d); return (beta (G, S, d), objective (G, S)) as float64 numpy.

    X (G, n, d), y_pm (G, n) in {-1, +1} and w (G, n) are the data sets;
    ``extra`` = (x (G, S, d), y (G, S), w (G, S)) adds one row per start.
    Each problem's weights (its rows plus its extra row) must sum to 1.
    """
    import torch

    device = device or default_device()
    tdtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
    X = torch.as_tensor(np.asarray(X), dtype=tdtype, device=device).transpose(1, 2).contiguous()
    y = torch.as_tensor(np.asarray(y_pm), dtype=tdtype, device=device)
    w = torch.as_tensor(np.asarray(w), dtype=tdtype, device=device)
    beta = torch.as_tensor(np.asarray(starts), dtype=tdtype, device=device).clone()
    G, S, d = beta.shape
    if X.shape[0] != G or X.shape[1] != d or y.shape != (G, X.shape[2]) or w.shape != y.shape:
        raise ValueError(f"inconsistent shapes: X {tuple(X.transpose(1, 2).shape)}, y {tuple(y.shape)}, w {tuple(w.shape)}, "
                         f"starts {tuple(beta.shape)}")
    if extra is None:
        ex, ey, ew = torch.zeros_like(beta), torch.ones(G, S, dtype=tdtype, device=device), torch.zeros(
            G, S, dtype=tdtype, device=device)
    else:
        ex, ey, ew = (torch.as_tensor(np.asarray(a), dtype=tdtype, device=device) for a in extra)
    step, objective, fused = _kernels(loss, compiled)
    # Unfused (eager) kernels materialise (G, S, n) arrays, so they run over blocks of starts.
    size = S if fused else max(1, 2 ** 22 // max(G * X.shape[2], 1))
    blocks = [slice(i, i + size) for i in range(0, S, size)]
    m, v = torch.zeros_like(beta), torch.zeros_like(beta)
    f = torch.empty(G, S, dtype=tdtype, device=device)
    one = torch.ones((), dtype=tdtype, device=device)
    with torch.no_grad():
        for t in range(1, epochs + 1):
            rate = lr * decay ** ((t - 1) // decay_every)
            consts = (one * rate, one * (1 - 0.9 ** t), one * (1 - 0.999 ** t))
            for b in blocks:
                beta[:, b], m[:, b], v[:, b] = step(beta[:, b], m[:, b], v[:, b], X, y, w, ex[:, b], ey[:, b],
                                                    ew[:, b], *consts)
        for b in blocks:
            f[:, b] = objective(beta[:, b], X, y, w, ex[:, b], ey[:, b], ew[:, b])
    return beta.double().cpu().numpy(), f.double().cpu().numpy()
