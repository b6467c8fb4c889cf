"""Fitting a margin loss to many linear-model problems at once: the package's public fitting API.

:func:`fit_batch` minimises one loss on B problems (starts, trials,
contaminated samples, cross-validation folds) in one batched Newton run;
:func:`fit_batch_losses` fits several losses to the same problems and shares
the work that depends on the data alone.  ``RobustLogisticRegression.fit``
is ``fit_batch`` on one problem; the simulation studies, the real-data study
and the comparison harness call it on thousands.  Every problem gets the
same start strategy:

1. the ML fit from zero, which also reveals separation;
2. convex losses other than LR: one start at zero (Newton then stays in the
   row space of the design, the minimum-norm solution when it is rank
   deficient);
3. non-convex losses: the ML fit, a trimmed ML fit (LR refitted without the
   10% by weight worst-fitted rows, a start that outliers have not pulled; on
   small data it can be separable, and its diverging direction is then the
   ray along which a bounded loss falls), a continuation path from LR over
   the smoothing level, and optional random starts around the ML fit;
4. the estimate: among converged starts the lowest objective (then the
   earliest start); a minimiser at infinity (separation, or a bounded loss
   whose objective keeps falling along the estimate's ray) is flagged.

Each start is minimised by :class:`lsis_robust._solver.NewtonSolver`, on the
objective of :class:`lsis_robust._linear_loss.LinearMarginLoss`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._linear_loss import LinearMarginLoss
from ._solver import newton_minimize
from ._validation import check_real, check_size
from .losses import LR

__all__ = ["BatchFit", "fit_batch", "fit_batch_losses", "ray_limit", "continuation_path", "falls_with_margin"]

RAY_MARGIN = 1e4  # phi(+-1e4) is phi's limit at +-inf to double precision
# Starts need not be minimisers to many digits: Newton on the loss itself refines them. The ML fit is
# the estimate only for LR; for other losses it is a start and stops at this precision too.
START_TOL = 1e-3
# Far from a minimum a bounded loss is flat and its quadratic model overshoots: a non-convex loss moves at
# most this share of the coefficients' size (at least 1) per Newton step.
RELATIVE_STEP = 0.5


def ray_limit(problem, beta, margins=None):
    """The limit of each problem's objective along the ray through its coefficients.

    Parameters
    ----------
    problem : LinearMarginLoss
        The B objectives.
    beta : ndarray of shape (B, d)
        One direction per problem.
    margins : ndarray of shape (B, n), optional
        ``problem.margins(beta)`` when the caller has them.

    Returns
    -------
    ndarray of shape (B,)
        lim_{t -> inf} f_b(t beta_b), from phi at the margins' limits -inf, 0 and +inf.  A limit at or
        below the objective at ``beta`` means no finite minimiser lies along that ray.
    """
    m = problem.margins(beta) if margins is None else margins
    size = np.abs(m)
    # Every limiting margin is -inf, 0 or +inf: phi is needed at three points, not at every row.
    phi_at_side = np.asarray(problem.loss.phi(np.array([-RAY_MARGIN, 0.0, RAY_MARGIN])), dtype=np.float64)
    phi_limit = np.where(m > 0, phi_at_side[2], phi_at_side[0])
    phi_limit[size <= 1e-12 * size.max(axis=-1, keepdims=True)] = phi_at_side[1]
    return np.sum(problem.w * phi_limit, axis=-1)


def kth_smallest(values, k):
    """The ``k``-th smallest (from 0) of the 1-d array ``values``: ``np.partition(values, k)[k]``, about twice
    as fast at n = 1e4 (numpy's selection takes some 12 ns a value).

    Floyd and Rivest's sampling: in a strided sample of about 2 n^(2/3) values, the two ranked 3 standard
    deviations (of a sample rank) either side of k's place almost always bracket the answer, and only the
    values between them (about 10% at n = 1e4) are selected from.  Where the bracket misses (ties, NaN, an
    order with a pattern) every value is, so the answer is always the exact order statistic.
    """
    n = values.size
    if n < 4096:  # below, the sampling costs about what it saves
        return np.partition(values, k)[k]
    sample = values[::int(n ** (1 / 3)) // 2]
    place = k * sample.size // n
    reach = int(1.5 * np.sqrt(sample.size)) + 2  # 3 standard deviations of a sample rank, at most sqrt(s) / 2
    low_rank, high_rank = max(place - reach, 0), min(place + reach, sample.size - 1)
    bracket = np.partition(sample, (low_rank, high_rank))
    low, high = bracket[low_rank], bracket[high_rank]
    below = np.count_nonzero(values < low)
    between = values[(values >= low) & (values <= high)]
    if below <= k < below + between.size:
        return np.partition(between, k - below)[k - below]
    return np.partition(values, k)[k]


_POSITIVE_MARGINS = np.geomspace(1e-3, 30.0, 60)


def falls_with_margin(loss):
    """Whether phi falls with the margin (phi' < 0 on margins 1e-3 ... 30), so that separated data drive the
    minimiser to infinity; the estimator's separation message and :func:`fit_batch`'s ``separated`` use it."""
    return bool(np.all(loss.dphi(_POSITIVE_MARGINS) < 0))


def continuation_path(loss):
    """Losses between LR and ``loss`` to follow from the ML fit (the loss's own path), or []."""
    return loss.continuation_path()


def _trimmed_weights(m, w, n_features):
    """Per problem: drop the 10% (by weight) of rows with the lowest ML margins ``m``; ``ok`` where more rows
    than ``n_features`` remain."""
    n = m.shape[1]
    if np.all(w == w[:, :1]):
        # Equal weights: the cut is an order statistic, found by selection instead of a sort; the
        # cumulative weight of the k + 1 lowest rows is below 10% for 10 (k + 1) < n, i.e. (n - 1) // 10 rows.
        pos = (n - 1) // 10
        cut = np.array([kth_smallest(row, pos) for row in m])
    else:
        order = np.argsort(m, axis=1, kind="stable")
        ms = np.take_along_axis(m, order, axis=1)
        cw = np.cumsum(np.take_along_axis(w, order, axis=1), axis=1)
        pos = np.minimum(np.sum(cw < 0.1 * w.sum(axis=1, keepdims=True), axis=1), n - 1)
        cut = ms[np.arange(m.shape[0]), pos]
    keep = w * (m > cut[:, None])
    ok = (keep.sum(axis=1) > 0) & (np.count_nonzero(keep, axis=1) > n_features)
    return keep, ok


@dataclass
class BatchFit:
    """What :func:`fit_batch` found for each of B problems.

    Every array has the problems along its first axis.  ``converged`` is the
    flag to trust: Newton converged at the chosen start *and* a finite
    minimiser exists.  ``problem`` and ``hessian`` are what inference at the
    estimate needs (the estimator's sandwich and model-based covariances).
    """

    beta: np.ndarray  # (B, d)
    objective: np.ndarray  # (B,)
    converged: np.ndarray  # (B,) Newton converged and a finite minimiser exists
    newton_converged: np.ndarray  # (B,) Newton's own convergence at the chosen start
    grad_max: np.ndarray  # (B,)
    n_iter: np.ndarray  # (B,) iterations of the ML fit plus those of the chosen start
    start: list  # (B,) name of the chosen start
    separated: np.ndarray  # (B,) no finite minimiser: separation, or the objective falls along the ray
    lr_separated: np.ndarray  # (B,) the sample is (quasi-)separated for LR
    ray_objective_limit: np.ndarray  # (B,) the objective's limit along the estimate's ray
    problem: LinearMarginLoss  # the minimised objective, for inference at the estimate
    hessian: np.ndarray  # (B, d, d) the objective's Hessian at the estimate
    beta_ml: np.ndarray = None  # (B, d) the ML fit, the first start (its LR multipliers certify non-separation)


def _check_options(tol, max_iter, n_random=0, rng=None):
    check_real(tol, "tol", 0, low_open=True)
    check_size(max_iter, "max_iter", 1)
    check_size(n_random, "n_random", 0)
    if n_random and not isinstance(rng, (np.random.Generator, np.random.RandomState)):
        raise TypeError(f"n_random={n_random} random starts need rng, a numpy Generator or RandomState; "
                        f"got {type(rng).__name__}")


def _check_problems(y_pm, w):
    y_pm = np.asarray(y_pm, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if y_pm.ndim != 2 or w.shape != y_pm.shape:
        raise ValueError(f"labels and weights must both have shape (B, n); got {y_pm.shape} and {w.shape}")
    if np.any(w < 0) or not np.all(w.sum(axis=1) > 0):
        raise ValueError("weights must be non-negative with a positive sum in every problem")
    return y_pm, w


class _MLStart:
    """The ML fit from zero and what follows from it alone: the same for every loss fitted to the problems.

    ``final``: the ML fit is LR's estimate (to ``tol``), not a start (to START_TOL). The trimmed ML start
    is made on first use, by the first non-convex loss that needs it, and then reused.
    """

    def __init__(self, X, y_pm, w, tol, max_iter, final):
        self.w, self.tol, self.max_iter = w, tol, max_iter
        self.problem = LinearMarginLoss(LR(), X, y_pm, w)
        B, d = y_pm.shape[0], self.problem.n_features
        lr_tol, lr_xtol = (tol, 1e-9) if final else (max(tol, START_TOL), START_TOL)
        self.fit = newton_minimize(self.problem, np.zeros((B, d)), tol=lr_tol, xtol=lr_xtol, max_iter=max_iter)
        beta_ml = self.fit.beta
        self.margins = self.problem.margins(beta_ml)  # the separation tests and the trimmed start read them
        # Complete separation can drive the LR objective to exactly 0, where the ray test sees no gap; an ML
        # iterate that classifies every weighted row correctly reveals it directly.
        correct = ((self.margins > 0) | (w == 0)).all(axis=1)
        limit = ray_limit(self.problem, beta_ml, self.margins)
        self.separated = (limit < self.fit.objective * (1 - 1e-9)) | correct
        self._trimmed = None

    def trimmed(self):
        """The trimmed ML start and where it exists (see the module docstring)."""
        if self._trimmed is None:
            beta_ml, w = self.fit.beta, self.w
            keep, ok = _trimmed_weights(self.margins, w, self.problem.n_features)
            trimmed = beta_ml.copy()
            if ok.any():
                idx = np.flatnonzero(ok)
                sub_w = np.where(ok[:, None], keep, w)  # problems without a trimmed start keep a valid weight vector
                trimmed[idx] = newton_minimize(self.problem.with_loss(LR(), sub_w).take(idx), beta_ml[idx],
                                               tol=max(self.tol, START_TOL), xtol=START_TOL,
                                               max_iter=self.max_iter).beta
            self._trimmed = trimmed, ok
        return self._trimmed


def fit_batch(loss, X, y_pm, w, *, tol=1e-8, max_iter=100, n_random=0, rng=None) -> BatchFit:
    """Minimise ``loss`` on B problems at once with the estimator's starts.

    Problem b minimises sum_i w_bi phi(y_bi x_bi' beta) / sum_i w_bi over beta.
    No intercept is added and no column is scaled: pass the design the
    objective should see, with columns of order 1 (the solver's tolerances
    are absolute in the coefficients' units; the estimator scales its design
    and transforms back).

    Parameters
    ----------
    loss : MarginLoss
        The per-sample loss phi of the margin.
    X : array-like of shape (n, d) or (B, n, d)
        The design, shared by every problem or one per problem.
    y_pm : array-like of shape (B, n)
        Labels in {-1, +1}.
    w : array-like of shape (B, n)
        Raw non-negative weights (frequencies, counts, 0/1 masks), with a
        positive sum in every problem; they are normalised to sum to 1.
    tol : float, default=1e-8
        Convergence tolerance on the largest absolute gradient entry.
    max_iter : int, default=100
        Newton iterations per start.
    n_random : int, default=0
        Random starts added for non-convex losses: the ML fit plus three
        model-based standard errors times standard normal draws.
    rng : numpy.random.Generator or numpy.random.RandomState, optional
        The random starts' draws; needed when ``n_random > 0``.

    Returns
    -------
    BatchFit
        The estimate of every problem, with the start it came from and the
        flags for non-convergence and minimisers at infinity.

    Raises
    ------
    ValueError
        If labels and weights are not both (B, n), a weight is negative, a
        problem's weights sum to 0, or ``tol``, ``max_iter`` or ``n_random``
        is out of range.
    TypeError
        If ``tol``, ``max_iter`` or ``n_random`` is not a number of the right
        kind, or random starts are asked for without a random generator.

    See Also
    --------
    fit_batch_losses : Several losses on the same problems.
    RobustLogisticRegression : The estimator, for one data set.

    Notes
    -----
    The starts are those of the module docstring.  The ML fit is LR's
    estimate (made to ``tol``); for every other loss it is a start, made to a
    looser tolerance, and Newton on ``loss`` refines it.  A start that
    reaches a minimiser found from an earlier start stops there.
    """
    _check_options(tol, max_iter, n_random, rng)
    y_pm, w = _check_problems(y_pm, w)
    return _fit_batch(loss, _MLStart(X, y_pm, w, tol, max_iter, isinstance(loss, LR)), tol, max_iter, n_random, rng)


def fit_batch_losses(losses, X, y_pm, w, *, tol=1e-8, max_iter=100) -> list:
    """``[fit_batch(loss, X, y_pm, w) for loss in losses]``, identical to it, with the loss-free work done once.

    The ML start, the separation test and the trimmed start depend on the data alone, so the losses other
    than LR share them (LR's own estimate is the ML fit to the final tolerance, made separately).

    Parameters
    ----------
    losses : sequence of MarginLoss
        The losses to fit, each to every problem.
    X, y_pm, w, tol, max_iter
        As in :func:`fit_batch` (no random starts).

    Returns
    -------
    list of BatchFit
        One per loss, in the order of ``losses``, equal to ``fit_batch``'s result bit for bit.
    """
    _check_options(tol, max_iter)
    y_pm, w = _check_problems(y_pm, w)
    shared = {}

    def ml(final):
        if final not in shared:
            shared[final] = _MLStart(X, y_pm, w, tol, max_iter, final)
        return shared[final]

    return [_fit_batch(loss, ml(isinstance(loss, LR)), tol, max_iter, 0, None) for loss in losses]


def _fit_batch(loss, ml, tol, max_iter, n_random, rng) -> BatchFit:
    lr_problem, lr_fit, lr_sep = ml.problem, ml.fit, ml.separated
    B, d = lr_fit.beta.shape
    if isinstance(loss, LR):
        problem, fits, names, available = lr_problem, [lr_fit], ["ml"], [np.ones(B, dtype=bool)]
        extra_iter = np.zeros(B, dtype=int)
    else:
        problem = lr_problem.with_loss(loss)
        starts, names, available = _starts(loss, ml, n_random, rng)
        fits = []
        known = np.full((B, d), np.nan)
        step_rel = None if loss.convex else RELATIVE_STEP
        for s, a in zip(starts, available):
            # A start that reaches a minimiser found from an earlier start adds nothing: stop it there.
            fit = newton_minimize(problem, s, tol=tol, max_iter=max_iter, known=known, max_step_rel=step_rel)
            fit.converged &= ~fit.merged
            fits.append(fit)
            found = fit.converged & a & np.isnan(known[:, 0])
            known[found] = fit.beta[found]
        extra_iter = lr_fit.n_iter
    obj = np.stack([np.where(a, f.objective, np.inf) for f, a in zip(fits, available)], axis=1)
    conv = np.stack([f.converged & a for f, a in zip(fits, available)], axis=1)
    best = np.array([np.lexsort((obj[b], ~conv[b]))[0] for b in range(B)])
    rows = np.arange(B)
    pick = lambda attr: np.stack([getattr(f, attr) for f in fits], axis=1)[rows, best]  # noqa: E731
    beta, objective, newton_conv = pick("beta"), obj[rows, best], conv[rows, best]
    limit = ray_limit(problem, beta)
    # The limit at or below the objective: a better point lies further out along the ray, or the estimate
    # already sits where the objective has flattened to its limit (Newton stops there on a vanishing
    # gradient, at coefficients of arbitrary size). Either way no finite minimiser was found.
    at_infinity = (limit <= objective + 1e-9 * np.abs(objective)) & np.any(beta != 0, axis=1)
    falls = lr_sep.any() and falls_with_margin(loss)  # evaluates the loss: asked only of separated samples
    separated = (lr_sep & falls) | at_infinity
    return BatchFit(beta=beta, objective=objective, converged=newton_conv & ~separated, newton_converged=newton_conv,
                    grad_max=pick("grad_max"), n_iter=extra_iter + pick("n_iter"), start=[names[i] for i in best],
                    separated=separated, lr_separated=lr_sep, ray_objective_limit=limit, problem=problem,
                    hessian=pick("hessian"), beta_ml=lr_fit.beta)


def _starts(loss, ml, n_random, rng):
    beta_ml, lr_problem, w, tol, max_iter = ml.fit.beta, ml.problem, ml.w, ml.tol, ml.max_iter
    B, d = beta_ml.shape
    everywhere = np.ones(B, dtype=bool)
    if loss.convex:
        return [np.zeros((B, d))], ["zero"], [everywhere]
    starts, names, available = [beta_ml], ["ml"], [everywhere]
    trimmed, ok = ml.trimmed()
    starts.append(trimmed)
    names.append("trimmed-ml")
    available.append(ok)
    path = continuation_path(loss)
    if path:
        beta = beta_ml
        for step_loss in path:
            beta = newton_minimize(lr_problem.with_loss(step_loss), beta, tol=max(tol, START_TOL), xtol=START_TOL,
                                   max_iter=max_iter).beta
        starts.append(beta)
        names.append("continuation")
        available.append(everywhere)
    if n_random:
        cov = lr_problem.model_based(beta_ml, w.sum(axis=1), LR().link)
        scale = 3 * np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 1e-12, None))
        for k in range(n_random):
            starts.append(beta_ml + scale * rng.standard_normal((B, d)))
            names.append(f"random-{k}")
            available.append(everywhere)
    return starts, names, available
