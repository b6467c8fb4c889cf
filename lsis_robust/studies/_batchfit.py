"""The ``estimator`` protocol batched over problems: RobustLogisticRegression's fit, many problems at once.

:func:`fit_batch` follows ``RobustLogisticRegression._fit_design`` with
``n_starts=0`` step by step (ML fit from zero; for non-convex losses also a
trimmed-ML start and a continuation start; the start with the lowest
objective among the converged ones wins; the ray check flags problems with
no finite minimiser), but each step is one batched Newton call over all
problems instead of one ``fit`` per problem.  Problems are independent in
every Newton iteration, so the estimates equal the per-problem estimator's
up to floating-point rounding of the (differently ordered) sums.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._linear_loss import LinearMarginLoss
from .._solver import newton_minimize
from ..estimators import _RAY, _continuation_path
from ..losses import LR

__all__ = ["SharedDesignLoss", "BatchFit", "fit_batch", "problem_for"]


class SharedDesignLoss(LinearMarginLoss):
    """One design X (n, d) shared by B problems whose labels and weights (B, n) differ.

    The robustness grid puts the nominal rows and every contamination point
    in one design; problem b gives weight only to its own point, so the
    nominal rows are stored once for all problems.
    """

    def __init__(self, loss, X, y, w):
        super().__init__(loss, X, y, w)
        if self.y.ndim != 2 or self.w.shape != self.y.shape or self.y.shape[1] != self.X.shape[0]:
            raise ValueError("SharedDesignLoss needs X (n, d) with labels and weights of shape (B, n)")
        d = self.X.shape[1]
        self._xx = (self.X[:, :, None] * self.X[:, None, :]).reshape(-1, d * d)

    def take(self, idx):
        sub = object.__new__(SharedDesignLoss)
        sub.loss, sub.shared, sub.X, sub._xx = self.loss, True, self.X, self._xx
        sub.y, sub.w = self.y[idx], self.w[idx]
        return sub

    def _weighted_gram(self, coef):
        d = self.X.shape[1]
        return (coef @ self._xx).reshape(-1, d, d)


def problem_for(loss, X, y_pm, w):
    """The batched problem: SharedDesignLoss for X (n, d) with (B, n) labels, else LinearMarginLoss on (B, n, d)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 2:
        return SharedDesignLoss(loss, X, y_pm, w)
    return LinearMarginLoss(loss, X, y_pm, w)


@dataclass
class BatchFit:
    beta: np.ndarray  # (B, d)
    objective: np.ndarray  # (B,)
    converged: np.ndarray  # (B,) Newton converged and a finite minimiser exists
    separated: np.ndarray  # (B,) the objective keeps falling along the estimate's ray (no finite minimiser)
    lr_separated: np.ndarray  # (B,) the sample is (quasi-)separated for LR


def _ray_limit_below(problem, loss, beta, objective):
    """Batched RobustLogisticRegression._check_ray: True where phi's limit along t*beta undercuts the objective."""
    m = problem.margins(beta)
    scale = np.abs(m).max(axis=1, keepdims=True)
    limit_margin = np.where(np.abs(m) <= 1e-12 * scale, 0.0, np.sign(m) * _RAY)
    limit = np.sum(problem.w * loss.phi(limit_margin), axis=1)
    return (scale[:, 0] > 0) & (limit < objective - 1e-9 * np.maximum(1.0, np.abs(objective)))


def _trimmed_weights(lr_problem, beta_ml, w):
    """Per problem: drop the 10% (by weight) worst-fitted rows, as RobustLogisticRegression's trimmed start."""
    m = lr_problem.margins(beta_ml)
    order = np.argsort(m, axis=1, kind="stable")
    ms = np.take_along_axis(m, order, axis=1)
    cw = np.cumsum(np.take_along_axis(w, order, axis=1), axis=1)
    pos = np.minimum(np.sum(cw < 0.1 * w.sum(axis=1, keepdims=True), axis=1), m.shape[1] - 1)
    cut = ms[np.arange(m.shape[0]), pos]
    keep = w * (m > cut[:, None])
    ok = (keep.sum(axis=1) > 0) & (np.count_nonzero(keep, axis=1) > lr_problem.n_features)
    return keep, ok


def fit_batch(loss, X, y_pm, w, *, tol=1e-8, max_iter=100) -> BatchFit:
    """Minimise ``loss`` on B problems at once with RobustLogisticRegression's starts (``n_starts=0``).

    X is (n, d) shared with labels/weights (B, n), or (B, n, d); weights are
    raw (e.g. counts); rows of weight zero do not count.
    """
    y_pm = np.asarray(y_pm, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if y_pm.ndim != 2 or w.shape != y_pm.shape:
        raise ValueError(f"labels and weights must both have shape (B, n); got {y_pm.shape} and {w.shape}")
    if np.any(w < 0) or not np.all(w.sum(axis=1) > 0):
        raise ValueError("weights must be non-negative with a positive sum in every problem")
    B = y_pm.shape[0]
    lr_problem = problem_for(LR(), X, y_pm, w)
    d = lr_problem.n_features
    lr_fit = newton_minimize(lr_problem, np.zeros((B, d)), tol=tol, max_iter=max_iter)
    beta_ml = lr_fit.beta
    # Complete separation can drive the LR objective to exactly 0, where the ray test sees no gap;
    # an ML iterate that classifies every weighted row correctly reveals it directly.
    correct = (lr_problem.margins(beta_ml) > 0) | (w == 0)
    lr_sep = _ray_limit_below(lr_problem, LR(), beta_ml, lr_fit.objective) | correct.all(axis=1)
    if isinstance(loss, LR):
        return BatchFit(beta_ml, lr_fit.objective, lr_fit.converged & ~lr_sep, lr_sep, lr_sep)
    problem = problem_for(loss, X, y_pm, w)
    starts = [beta_ml]
    available = [np.ones(B, dtype=bool)]
    if not loss.convex:
        keep, ok = _trimmed_weights(lr_problem, beta_ml, w)
        trimmed = beta_ml.copy()
        if ok.any():
            idx = np.flatnonzero(ok)
            sub_w = np.where(ok[:, None], keep, w)  # rows without a trimmed start keep a valid weight vector
            trimmed[idx] = newton_minimize(problem_for(LR(), X, y_pm, sub_w).take(idx), beta_ml[idx],
                                           tol=tol, max_iter=max_iter).beta
        starts.append(trimmed)
        available.append(ok)
        path = _continuation_path(loss)
        if path:
            beta = beta_ml
            for step_loss in path:
                beta = newton_minimize(problem_for(step_loss, X, y_pm, w), beta, tol=max(tol, 1e-4),
                                       max_iter=max_iter).beta
            starts.append(beta)
            available.append(np.ones(B, dtype=bool))
    fits = [newton_minimize(problem, s, tol=tol, max_iter=max_iter) for s in starts]
    obj = np.stack([np.where(a, f.objective, np.inf) for f, a in zip(fits, available)], axis=1)
    conv = np.stack([f.converged & a for f, a in zip(fits, available)], axis=1)
    # The estimator's rule: converged starts first, then the lowest objective, then the earliest start.
    best = np.array([np.lexsort((obj[b], ~conv[b]))[0] for b in range(B)])
    rows = np.arange(B)
    beta = np.stack([f.beta for f in fits], axis=1)[rows, best]
    objective, converged = obj[rows, best], conv[rows, best]
    sep = _ray_limit_below(problem, loss, beta, objective)
    return BatchFit(beta, objective, converged & ~sep, sep, lr_sep)
