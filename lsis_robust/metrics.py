"""Risks and R-logit range metrics of the deep-network experiments (paper Section IV).

* TSR: test surrogate risk, the mean of the per-example surrogate losses.
* TTR: test task risk, the zero-one error of the labelling function; argmax of
  the logits, or argmin for LSLR with alpha > 1 (Corollary 3: the R-logit
  model (eq. 10) divides by 1 - alpha < 0, which reverses the order).
* For LSLR's R-logit model q_RL = (softmax(g) - alpha/K) / (1 - alpha):
  OPDER (eq. 28), the share of examples whose q_RL leaves the simplex;
  OPER (eq. 29), the share of the n K entries outside [0, 1]; and the mean
  size of residual MSoR (eq. 30) in two normalisations, both reported.

MSoR.  Let r_ik = (|q_ik - 1/2| - 1/2)_+ (the distance of q_ik from [0, 1])
and S = sum_i sum_k r_ik.  The paper prints eq. (30) as

    MSoR = OPER / (n x K) * S                        (``msor_eq30``),

i.e. OPER times the mean residual over all n K entries.  Its name, "mean size
of residual", reads more naturally as the mean residual over the entries
that are out of range,

    MSoR = S / (number of out-of-range entries) = S / (OPER n K)   (``msor``),

which is what the printed factor would be with OPER in the denominator.  The
two are tied by ``msor_eq30 = OPER^2 * msor``; both are 0 when no entry is
out of range.  ``msor`` keeps the meaning it had in earlier releases; compare
``msor_eq30`` with the paper's printed Tables III and V.  Since q_RL always
sums to 1, leaving the simplex is the same as some entry being negative.

Every quantity streams over batches with exact counts and float64 sums (no
averaging of per-batch means), so the result does not depend on batch size.
Inputs are array-likes (numpy, or CPU torch tensors).
"""
from __future__ import annotations

import numpy as np

from ._validation import check_alpha as validate_alpha
from .probability import r_logit_model

__all__ = [
    "predict_labels",
    "rlogit",
    "tsr",
    "ttr",
    "opder",
    "oper",
    "msor",
    "msor_eq30",
    "RiskMeter",
    "RLogitMeter",
]


def _logits(logits) -> np.ndarray:
    g = np.asarray(logits, dtype=np.float64)
    if g.ndim != 2 or g.shape[1] < 2:
        raise ValueError(f"logits must have shape (n, K) with K >= 2, got {g.shape}")
    if not np.isfinite(g).all():
        raise ValueError("logits contain NaN or infinite values")
    return g


def _labels(y, n) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"targets must be an integer array of shape ({n},), got {y.dtype} {y.shape}")
    return y


def predict_labels(logits, argmin: bool = False) -> np.ndarray:
    """Labels by argmax of the logits, or argmin (LSLR with alpha > 1)."""
    g = _logits(logits)
    return g.argmin(axis=1) if argmin else g.argmax(axis=1)


def rlogit(logits, alpha: float) -> np.ndarray:
    """R-logit model (eq. 10): (softmax(g) - alpha/K) / (1 - alpha), float64, shape (n, K)."""
    return r_logit_model(_logits(logits), alpha)


def _q(q) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    if q.ndim != 2 or q.size == 0:
        raise ValueError(f"q must have shape (n, K) with n, K >= 1, got {q.shape}")
    if not np.isfinite(q).all():  # NaN compares as in range and would vanish from every count
        raise ValueError("q contains NaN or infinite values")
    return q


def _outside(q):
    return (q < 0) | (q > 1)


def tsr(losses) -> float:
    v = np.asarray(losses, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"losses must be a non-empty 1-d array, got shape {v.shape}")
    return float(v.mean())


def ttr(predictions, targets) -> float:
    p = np.asarray(predictions)
    return float((p != _labels(targets, p.shape[0])).mean())


def opder(q) -> float:
    return float(_outside(_q(q)).any(axis=1).mean())


def oper(q) -> float:
    return float(_outside(_q(q)).mean())


def _residual(q):
    """(|q - 1/2| - 1/2)_+: how far each entry lies outside [0, 1]."""
    return np.maximum(np.abs(q - 0.5) - 0.5, 0.0)


def msor(q) -> float:
    """Mean residual over the out-of-range entries (0 when there are none)."""
    q = _q(q)
    out = _outside(q)
    if not out.any():
        return 0.0
    return float(_residual(q[out]).mean())


def msor_eq30(q) -> float:
    """Eq. (30) as printed: OPER / (n K) times the summed residual = OPER^2 * :func:`msor`."""
    q = _q(q)
    return float(_outside(q).mean() * _residual(q).mean())


class RiskMeter:
    """Streaming TSR and TTR: ``update(losses, logits, targets)`` per batch, then ``result()``."""

    def __init__(self, argmin: bool = False):
        self.argmin = bool(argmin)
        self.n = 0
        self.loss_sum = 0.0
        self.errors = 0

    def update(self, losses, logits, targets) -> None:
        pred = predict_labels(logits, self.argmin)
        y = _labels(targets, pred.shape[0])
        v = np.asarray(losses, dtype=np.float64)
        if v.shape != y.shape:
            raise ValueError(f"losses must have shape {y.shape}, got {v.shape}")
        self.n += y.size
        self.loss_sum += float(v.sum())
        self.errors += int((pred != y).sum())

    def result(self) -> dict:
        if self.n == 0:
            raise ValueError("RiskMeter.result() before any update")
        return {"tsr": self.loss_sum / self.n, "ttr": self.errors / self.n}


class RLogitMeter:
    """Streaming OPDER, OPER and MSoR of LSLR's R-logit model at smoothing level ``alpha``."""

    def __init__(self, alpha: float, n_classes: int):
        self.alpha = validate_alpha(alpha, n_classes)
        self.n_classes = int(n_classes)
        self.n = 0
        self.rows_out = 0
        self.entries_out = 0
        self.residual_sum = 0.0

    def update(self, logits) -> None:
        g = _logits(logits)
        if g.shape[1] != self.n_classes:
            raise ValueError(f"logits have {g.shape[1]} classes, the meter was made for {self.n_classes}")
        q = rlogit(g, self.alpha)
        out = _outside(q)
        self.n += q.shape[0]
        self.rows_out += int(out.any(axis=1).sum())
        self.entries_out += int(out.sum())
        self.residual_sum += float(_residual(q[out]).sum())

    def result(self) -> dict:
        if self.n == 0:
            raise ValueError("RLogitMeter.result() before any update")
        entries = self.n * self.n_classes
        oper = self.entries_out / entries
        return {
            "opder": self.rows_out / self.n,
            "oper": oper,
            "msor": self.residual_sum / self.entries_out if self.entries_out else 0.0,
            "msor_eq30": oper * self.residual_sum / entries,
        }
