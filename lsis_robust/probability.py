"""Probability models and the smoothed KL divergence of label smoothing.

K-class probability vectors lie along the last axis of the arrays.  The
smoothing level alpha follows Theorem 1 of Yamasaki and Tanaka: alpha in
[0, 1) or (1, K/(K-1)]; alpha = 1 maps every vector to the uniform one, so
``unsmooth`` and the R-logit model are undefined there, while ``smooth`` and
the SKL divergence (which is identically 0 at alpha = 1, Theorem 1 B3) accept
it.

Equation numbers refer to the paper.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp, softmax, xlogy

from ._smoothing import smoothed, unsmoothed
from ._validation import check_alpha as validate_alpha
from ._validation import check_real

__all__ = [
    "smooth",
    "unsmooth",
    "logit_model",
    "log_logit_model",
    "r_logit_model",
    "r_logit_range",
    "skl_divergence",
    "skl_divergence_logits",
    "squared_distance",
]

# Slack for rounding when checking that a vector lies in s_alpha^{-1}(simplex).
_DOMAIN_TOL = 1e-9


def _as_vectors(a, name: str) -> np.ndarray:
    if isinstance(a, (str, bytes)):
        raise TypeError(f"{name} must be a numeric array, got {type(a).__name__}")
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a numeric array with the K classes on the last axis") from None
    if arr.ndim == 0:
        raise ValueError(f"{name} must have the K >= 2 classes along its last axis, got a scalar")
    if arr.shape[-1] < 2:
        raise ValueError(f"{name} needs K >= 2 classes along its last axis, got K={arr.shape[-1]}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    return arr


def _smoothing_level(alpha, K: int, *, allow_one: bool) -> float:
    if allow_one and check_real(alpha, "alpha", finite=False) == 1.0:
        return 1.0
    return validate_alpha(alpha, K)


def smooth(p, alpha):
    """s_alpha(p) = (1 - alpha) p + alpha / K (eq. 5), componentwise.

    alpha in [0, K/(K-1)] (alpha = 1 gives the uniform vector).
    """
    p = _as_vectors(p, "p")
    K = p.shape[-1]
    alpha = _smoothing_level(alpha, K, allow_one=True)
    return smoothed(p, alpha, K)


def unsmooth(q, alpha):
    """s_alpha^{-1}(q) = (q - alpha / K) / (1 - alpha), alpha in [0, 1) or (1, K/(K-1)]."""
    q = _as_vectors(q, "q")
    K = q.shape[-1]
    alpha = _smoothing_level(alpha, K, allow_one=False)
    return unsmoothed(q, alpha, K)


def _as_logits(g) -> np.ndarray:
    return _as_vectors(g, "g")


def log_softmax(g, axis=-1):
    """log q_L(g) with the largest entry's log1p kept exact.

    scipy's version returns log q_max = -log(1 + tiny) = 0 once the others are
    below 1e-16 of it; here log q_max = -log1p(sum of the rest), so a nearly
    certain class keeps its (small) loss to full relative precision.
    """
    g = np.moveaxis(np.asarray(g, dtype=np.float64), axis, -1)
    top = np.argmax(g, axis=-1)[..., None]
    shifted = g - np.take_along_axis(g, top, axis=-1)
    e = np.exp(shifted)
    np.put_along_axis(e, top, 0.0, axis=-1)
    out = shifted - np.log1p(e.sum(axis=-1, keepdims=True))
    return np.moveaxis(out, -1, axis)


def logit_model(g):
    """The logit (softmax) model q_L(g) of eq. (4); exact for logits of any size."""
    return softmax(_as_logits(g), axis=-1)


def log_logit_model(g):
    """log q_L(g), computed without forming q_L (finite even where q_L underflows)."""
    return log_softmax(_as_logits(g))


def r_logit_model(g, alpha):
    """The roughened-logit model q_RL = s_alpha^{-1}(q_L(g)) of eq. (10).

    Its entries range over the intervals of Theorem 1 B1 and may leave [0, 1].
    """
    g = _as_logits(g)
    return unsmooth(softmax(g, axis=-1), alpha)


def r_logit_range(alpha, n_classes: int) -> tuple[float, float]:
    """Both ends (inf, sup) of an R-logit entry's range (Theorem 1 B1, Fig. 5).

    For alpha in [0, 1): (-alpha / (K (1-alpha)), (K-alpha) / (K (1-alpha)));
    for alpha in (1, K/(K-1)] the two ends swap roles.
    """
    alpha = validate_alpha(alpha, n_classes)
    K = n_classes
    ends = (-alpha / (K * (1 - alpha)), (K - alpha) / (K * (1 - alpha)))
    return (min(ends), max(ends))


def _check_domain(v, sv, name: str, alpha: float) -> None:
    """Require v in s_alpha^{-1}(simplex): entries sum to 1 and s_alpha(v) >= 0."""
    sums = v.sum(axis=-1)
    if not np.all(np.abs(sums - 1) <= _DOMAIN_TOL * v.shape[-1]):
        worst = float(np.max(np.abs(sums - 1)))
        raise ValueError(f"{name} must sum to 1 along the last axis (off by up to {worst:.3g})")
    if alpha != 1 and np.any(sv < -_DOMAIN_TOL):
        raise ValueError(
            f"{name} is outside s_alpha^{{-1}}(simplex) for alpha={alpha:g}: its smoothed entries "
            f"(1-alpha) {name} + alpha/K must be >= 0 (smallest is {float(sv.min()):.3g})"
        )


def skl_divergence(p, q, alpha):
    r"""Smoothed KL divergence D_SKL,alpha(p || q) = sum_k s(p_k) log(s(p_k) / s(q_k)) (eq. 8).

    p and q must lie in s_alpha^{-1}(simplex); alpha in [0, K/(K-1)].
    Returns +inf where s(q_k) = 0 < s(p_k).  For q given by logits, use
    :func:`skl_divergence_logits`, which stays exact for large logits.
    """
    p = _as_vectors(p, "p")
    q = _as_vectors(q, "q")
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(f"p and q must have the same number of classes, got {p.shape[-1]} and {q.shape[-1]}")
    K = p.shape[-1]
    alpha = _smoothing_level(alpha, K, allow_one=True)
    sp = smoothed(p, alpha, K)
    sq = smoothed(q, alpha, K)
    _check_domain(p, sp, "p", alpha)
    _check_domain(q, sq, "q", alpha)
    sp = np.clip(sp, 0.0, None)
    sq = np.clip(sq, 0.0, None)
    with np.errstate(divide="ignore"):
        terms = xlogy(sp, sp) - xlogy(sp, sq)
    # Rounding can leave a sum of exactly-cancelling terms slightly negative.
    return np.maximum(terms.sum(axis=-1), 0.0)


def _log_smoothed_logit(g, alpha: float, K: int):
    """log s_alpha(q_L(g)) without cancellation for any alpha in [0, K/(K-1)]."""
    logq = log_softmax(g, axis=-1)
    if alpha == 0:
        return logq
    if alpha < 1:
        return np.logaddexp(math.log1p(-alpha) + logq, math.log(alpha) - math.log(K))
    if alpha == 1:
        return np.full_like(logq, -math.log(K))
    # s = (alpha/K) (1 - c q) with c = (alpha-1) K / alpha in (0, 1]; write
    # 1 - c q = (1 - c) + c (1 - q) and take log(1 - q_k) from the logits of
    # the other classes, so s stays exact when q_k is within 1e-16 of 1.
    c = (alpha - 1) * K / alpha
    others = np.where(np.eye(K, dtype=bool), -np.inf, g[..., None, :])
    log_1mq = logsumexp(others, axis=-1) - logsumexp(g, axis=-1, keepdims=True)
    log_rest = math.log(c) + log_1mq
    if c < 1:
        log_rest = np.logaddexp(math.log1p(-c), log_rest)
    return math.log(alpha) - math.log(K) + log_rest


def skl_divergence_logits(p, g, alpha, model: str = "logit"):
    """D_SKL,alpha(p || q(g)) with q the logit ('logit') or R-logit ('r_logit') model of logits g.

    Works in log space, so it is exact for logits of any size: for the R-logit
    model s_alpha(q_RL(g)) = q_L(g) cancels analytically (the point of eq. 10).
    """
    if model not in ("logit", "r_logit"):
        raise ValueError(f"model must be 'logit' or 'r_logit', got {model!r}")
    p = _as_vectors(p, "p")
    g = _as_logits(g)
    if p.shape[-1] != g.shape[-1]:
        raise ValueError(f"p and g must have the same number of classes, got {p.shape[-1]} and {g.shape[-1]}")
    K = p.shape[-1]
    alpha = _smoothing_level(alpha, K, allow_one=(model == "logit"))
    sp = smoothed(p, alpha, K)
    _check_domain(p, sp, "p", alpha)
    sp = np.clip(sp, 0.0, None)
    log_sq = log_softmax(g, axis=-1) if model == "r_logit" else _log_smoothed_logit(g, alpha, K)
    with np.errstate(invalid="ignore"):
        terms = xlogy(sp, sp) - np.where(sp > 0, sp * log_sq, 0.0)
    return np.maximum(terms.sum(axis=-1), 0.0)


def squared_distance(p, q):
    """D_SQ(p || q) = ||p - q||^2, the alpha -> 1 limit of Theorem 2 (after rescaling)."""
    p = _as_vectors(p, "p")
    q = _as_vectors(q, "q")
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(f"p and q must have the same number of classes, got {p.shape[-1]} and {q.shape[-1]}")
    return np.sum((p - q) ** 2, axis=-1)
