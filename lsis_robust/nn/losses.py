"""K-class surrogate losses of the paper in torch: functional forms and modules.

Logits ``g`` have shape (N, K), targets are integer class indices of shape
(N,).  With q = softmax(g), one-hot target t and the smoothing map
s_alpha(t) = (1 - alpha) t + alpha / K (eq. 5), the unreduced losses are

* LR     : -sum_k t_k log q_k                                (eq. 3)
* LSLR   : -sum_k s_alpha(t)_k log q_k                       (eq. 7)
* MLSLR  : -sum_k s_alpha(t)_k log s_alpha(q)_k              (eq. 11)
* LSQLR  :  sum_k (t_k - q_k)^2                              (eq. 12)

alpha must lie in [0, 1) or (1, K/(K-1)] (Theorem 1).  Half-precision logits
(bf16/fp16, e.g. from autocast) are promoted to float32 first, so that the
logs and softmax never run in 8 mantissa bits; float64 stays float64.

For K = 2 and margin m = g_y - g_other, LR, LSLR and MLSLR equal the margin
losses ``phi(m)`` of :mod:`lsis_robust.losses`; eq. (12) counts both squared
residuals, so LSQLR here is 4 times the registry's Savage loss.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import check_alpha as validate_alpha

__all__ = [
    "lr_loss",
    "lslr_loss",
    "mlslr_loss",
    "lsqlr_loss",
    "LRLoss",
    "LSLRLoss",
    "MLSLRLoss",
    "LSQLRLoss",
]

_REDUCTIONS = ("mean", "sum", "none")


def _check(logits, target, reduction):
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError(f"logits must be a floating-point torch.Tensor, got "
                        f"{getattr(logits, 'dtype', type(logits).__name__)}")
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise ValueError(f"logits must have shape (N, K) with K >= 2, got {tuple(logits.shape)}")
    if not isinstance(target, torch.Tensor) or target.dtype not in (torch.int64, torch.int32, torch.uint8,
                                                                      torch.int16, torch.int8):
        raise TypeError(f"target must be an integer torch.Tensor of class indices, got "
                        f"{getattr(target, 'dtype', type(target).__name__)}")
    if target.shape != (logits.shape[0],):
        raise ValueError(f"target must have shape (N,) = ({logits.shape[0]},), got {tuple(target.shape)}")
    if target.device != logits.device:
        raise ValueError(f"target is on {target.device} but logits are on {logits.device}")
    # A range check on an accelerator would synchronise every step; there the
    # gather/one_hot kernels raise their own device-side error instead.
    if target.device.type == "cpu" and target.numel() and (int(target.min()) < 0 or
                                                           int(target.max()) >= logits.shape[1]):
        raise ValueError(f"target values must lie in [0, {logits.shape[1] - 1}], got "
                         f"[{int(target.min())}, {int(target.max())}]")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()
    return logits, target.long()


def _reduce(per_example, reduction):
    if reduction == "mean":
        return per_example.mean()
    if reduction == "sum":
        return per_example.sum()
    return per_example


def _smoothed_weights(target, n_classes, alpha, dtype):
    """s_alpha(t) of eq. (5): (1 - alpha) on the target plus alpha/K everywhere."""
    return F.one_hot(target, n_classes).to(dtype) * (1.0 - alpha) + alpha / n_classes


def lr_loss(logits, target, reduction: str = "mean"):
    """Cross-entropy (LR, eq. 3); see :class:`LRLoss`."""
    logits, target = _check(logits, target, reduction)
    return F.cross_entropy(logits, target, reduction=reduction)


def lslr_loss(logits, target, alpha: float = 0.1, reduction: str = "mean"):
    """Cross-entropy against smoothed targets (LSLR, eq. 7); see :class:`LSLRLoss`."""
    logits, target = _check(logits, target, reduction)
    alpha = validate_alpha(alpha, logits.shape[1])
    w = _smoothed_weights(target, logits.shape[1], alpha, logits.dtype)
    return _reduce(-(w * F.log_softmax(logits, dim=1)).sum(dim=1), reduction)


def _log1m_softmax(logits, log_q):
    """log(1 - q_k) for every k without cancellation.

    For the arg-max class 1 - q_k is the softmax mass of the other classes,
    taken as a masked logsumexp (exact even when q_k rounds to 1).  Every
    other class has q_k <= 1/2, where log1p(-q_k) is accurate; the arg-max
    slot is fed a harmless placeholder so its unused branch has finite gradients.
    """
    top = logits.argmax(dim=1, keepdim=True)
    others = logits.scatter(1, top, float("-inf"))
    log1m_top = torch.logsumexp(others, dim=1, keepdim=True) - torch.logsumexp(logits, dim=1, keepdim=True)
    safe = log_q.scatter(1, top, math.log(0.5))
    return torch.log1p(-safe.exp()).scatter(1, top, log1m_top)


def _log_smoothed_softmax(logits, alpha):
    """log s_alpha(softmax(g)) = log((1 - alpha) q + alpha/K), in log space."""
    k = logits.shape[1]
    log_q = F.log_softmax(logits, dim=1)
    if alpha == 0:
        return log_q
    if alpha < 1:
        return torch.logaddexp(log_q + math.log1p(-alpha), torch.full_like(log_q, math.log(alpha / k)))
    # alpha > 1: (1 - alpha) q + alpha/K = c + (alpha - 1)(1 - q) with
    # c = 1 - alpha (K-1)/K >= 0, a sum of non-negative terms (no cancellation).
    log_rest = _log1m_softmax(logits, log_q) + math.log(alpha - 1)
    c = 1.0 - alpha * (k - 1) / k
    if c <= 0:  # alpha = K/(K-1): c vanishes (up to rounding)
        return log_rest
    return torch.logaddexp(log_rest, torch.full_like(log_rest, math.log(c)))


def mlslr_loss(logits, target, alpha: float = 0.4, reduction: str = "mean"):
    """Modified LSLR (eq. 11): smoothed targets against the smoothed softmax; see :class:`MLSLRLoss`."""
    logits, target = _check(logits, target, reduction)
    alpha = validate_alpha(alpha, logits.shape[1])
    w = _smoothed_weights(target, logits.shape[1], alpha, logits.dtype)
    return _reduce(-(w * _log_smoothed_softmax(logits, alpha)).sum(dim=1), reduction)


def lsqlr_loss(logits, target, reduction: str = "mean"):
    """Squared error between one-hot target and softmax (LSQLR, eq. 12); see :class:`LSQLRLoss`."""
    logits, target = _check(logits, target, reduction)
    resid = F.one_hot(target, logits.shape[1]).to(logits.dtype) - F.softmax(logits, dim=1)
    return _reduce(resid.square().sum(dim=1), reduction)


class _Loss(nn.Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class _SmoothedLoss(_Loss):
    def __init__(self, alpha: float, reduction: str = "mean"):
        super().__init__(reduction)
        # K is unknown until the first call, so only the K-free part of the
        # range is checked here; the functional form checks alpha <= K/(K-1).
        self.alpha = validate_alpha(alpha, 2)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha!r}, reduction={self.reduction!r}"


class LRLoss(_Loss):
    """Logistic regression (cross-entropy) loss.

    Unreduced: l_i = -log softmax(g_i)_{y_i}.  ``reduction``: "mean" (default),
    "sum" or "none".  Shapes: logits (N, K), target (N,) integer; output scalar
    or (N,) for "none".
    """

    def forward(self, logits, target):
        return lr_loss(logits, target, reduction=self.reduction)


class LSLRLoss(_SmoothedLoss):
    """Label-smoothed cross-entropy (LSLR, eq. 7).

    Unreduced: l_i = -sum_k s_alpha(t_i)_k log softmax(g_i)_k with
    s_alpha(t) = (1 - alpha) t + alpha/K; equals
    ``nn.CrossEntropyLoss(label_smoothing=alpha)`` for alpha < 1 and extends it
    to alpha in (1, K/(K-1)].  ``reduction``: "mean", "sum" or "none".
    Shapes: logits (N, K), target (N,) integer.
    """

    def forward(self, logits, target):
        return lslr_loss(logits, target, alpha=self.alpha, reduction=self.reduction)


class MLSLRLoss(_SmoothedLoss):
    """Modified label-smoothed loss (MLSLR, eq. 11).

    Unreduced: l_i = -sum_k s_alpha(t_i)_k log s_alpha(softmax(g_i))_k, which
    keeps the logit model softmax(g) as the probability estimate.  Computed in
    log space (finite for logits of any size).  ``reduction``: "mean", "sum"
    or "none".  Shapes: logits (N, K), target (N,) integer.
    """

    def forward(self, logits, target):
        return mlslr_loss(logits, target, alpha=self.alpha, reduction=self.reduction)


class LSQLRLoss(_Loss):
    """Least-squares logistic regression (LSQLR, eq. 12).

    Unreduced: l_i = sum_k (t_ik - softmax(g_i)_k)^2.  ``reduction``: "mean",
    "sum" or "none".  Shapes: logits (N, K), target (N,) integer.
    """

    def forward(self, logits, target):
        return lsqlr_loss(logits, target, reduction=self.reduction)
