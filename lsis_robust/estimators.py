"""Robust logistic regression: minimise any registered margin loss, with sandwich inference."""
from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, check_random_state, validate_data

from ._identifiability import (AliasedColumnsWarning, Separation, aliased_columns, find_separation, infimum_side,
                               no_separation_certified)
from .fitting import falls_with_margin, fit_batch, kth_smallest
from .losses import LR, MarginLoss
from .registry import get_loss
from .reporting import ReportTable

__all__ = ["RobustLogisticRegression", "mcd_weights", "AliasedColumnsWarning"]

# The estimator fits on columns divided by their typical magnitude: the median (lower middle value) of a
# column's non-zero |values|.  It is robust (a few leverage points do not shrink the bulk of the column,
# which would make the stopping rule lax for exactly the rows a robust loss keeps) and never 0 for a
# sparse or binary column.  Accepted: typical magnitudes in SCALE_RANGE, values at most SPREAD_LIMIT times
# the typical magnitude.  Inside, the back-transformed coefficients (gamma_j / s_j), their variances
# (scaled ones / s_j^2, about 1/n times up to 1e+-200) and the squares of the scaled values (at most 1e200)
# stay inside the normal float64 range with room to spare; near 1e+-150 they leave it, and standard errors
# would come out as 0 or inf, so beyond the limits the fit is refused instead of silently wrong.
SCALE_RANGE = (1e-100, 1e100)
SPREAD_LIMIT = 1e100
_BLAS_CONTROLLER = []  # threadpoolctl's view of the loaded BLAS, found once (it scans the loaded libraries)


def _single_blas_thread():
    """A context in which BLAS runs on one thread."""
    if not _BLAS_CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _BLAS_CONTROLLER.append(ThreadpoolController())
    return _BLAS_CONTROLLER[0].limit(limits=1, user_api="blas")


def _column_scales(Z, w, first, names):
    """Typical magnitude of each column of the design from ``first`` on (1 before it and for zero columns).

    The weighted median counts each row by its weight, as if it were repeated (scikit-learn's
    sample-weight contract; rows of weight 0 do not count); with equal weights it is a selection, not a sort.
    """
    scales = np.ones(Z.shape[1])
    positive = w > 0
    every_row = positive.all()
    counted_w = w if every_row else w[positive]
    equal = np.all(counted_w == counted_w[0])
    for j in range(first, Z.shape[1]):
        magnitude = np.abs(Z[:, j])  # one column at a time, so that no n x d temporary exists
        if every_row and magnitude.min() > 0:
            values, weights = magnitude, w
        else:
            counted = (magnitude > 0) & positive
            values, weights = magnitude[counted], w[counted]
        if values.size == 0:
            continue  # nothing to scale; identifiability is checked elsewhere
        top = values.max()
        if equal:  # the lower middle value: a value of the column, no sum to overflow
            scales[j] = kth_smallest(values, (values.size - 1) // 2)
        else:
            order = np.argsort(values)
            cum = np.cumsum(weights[order])
            scales[j] = values[order[np.searchsorted(cum, 0.5 * cum[-1])]]
        label = repr(names[j - first]) if names else str(j - first)
        if not SCALE_RANGE[0] <= scales[j] <= SCALE_RANGE[1]:
            raise ValueError(
                f"column {label} of X has typical magnitude (median non-zero |value|) {scales[j]:.3g}; fits are "
                f"exact only for typical magnitudes in [{SCALE_RANGE[0]:g}, {SCALE_RANGE[1]:g}] (beyond, the "
                "coefficients' variances leave the float64 range): express the column in other units")
        if top > SPREAD_LIMIT * scales[j]:
            raise ValueError(
                f"column {label} of X has a value {top:.3g}, more than {SPREAD_LIMIT:g} times its typical "
                f"magnitude {scales[j]:.3g} (median non-zero |value|): its square leaves the float64 range; "
                "transform or remove it")
    return scales


def mcd_weights(X, random_state=None, quantile=0.975):
    """Croux-Haesbroeck hard-rejection weights from a minimum covariance determinant fit.

    The MCD (scikit-learn's ``MinCovDet``) is fitted on the non-binary columns
    of ``X``; rows whose squared robust distance exceeds the ``quantile`` of
    the chi-square distribution (degrees of freedom = number of those
    columns) get weight 0, the others 1.  Binary columns are left out because
    the MCD degenerates on them (as robustbase's covMcd does).
    """
    from sklearn.covariance import MinCovDet

    X = np.asarray(X, dtype=np.float64)
    continuous = [j for j in range(X.shape[1]) if np.unique(X[:, j]).size > 2]
    if not continuous:
        raise ValueError("weights='mcd' needs at least one non-binary covariate; all columns have at most two values")
    Z = X[:, continuous]
    mcd = MinCovDet(random_state=random_state).fit(Z)
    d2 = mcd.mahalanobis(Z)
    return (d2 <= stats.chi2.ppf(quantile, len(continuous))).astype(np.float64)


class RobustLogisticRegression(ClassifierMixin, BaseEstimator):
    """Binary logistic regression fitted by minimising a surrogate margin loss.

    Parameters
    ----------
    loss : str or MarginLoss, default="lr"
        A registered loss name (see :func:`lsis_robust.available_losses`):
        ``lr``, ``lslr``, ``mlslr``, ``lsqlr``, ``by``, ``ch`` or a user's, or
        a loss instance.
    alpha : float, optional
        Smoothing level of ``lslr``/``mlslr`` (in [0, 1) or (1, 2]).
    c : float, optional
        Tuning constant of ``by``/``ch`` (> 0; default 0.5).
    fit_intercept : bool, default=True
    weights : {None, "mcd"}, default=None
        ``"mcd"`` multiplies the loss of each observation by the hard-rejection
        leverage weight of Croux and Haesbroeck (see :func:`mcd_weights`).
    n_starts : int, default=0
        Random starts (the ML fit perturbed by three model-based standard
        errors, seeded by ``random_state``) added to the deterministic starts
        that every non-convex loss gets: the maximum-likelihood fit, a
        trimmed maximum-likelihood fit, and a continuation path from LR.
        On contaminated samples the deterministic starts miss a lower
        minimum of CH in about 1.5% of cases, of MLSLR (alpha = 0.4) in
        about 3% and of BY (c = 0.5, whose objective is flat wherever
        v > c) in about 11%; ``n_starts=10`` brings BY to about 1%
        (``python -m lsis_robust.bench.starts``).
    tol : float, default=1e-8
        Convergence when the largest absolute entry of the gradient of the
        mean loss, taken with respect to the coefficients of the columns
        divided by their typical magnitude (d f / d beta_j divided by the
        median non-zero |x_j| over the rows with positive weight; the
        intercept's column is 1 already), is at most ``tol`` and the Newton
        step no longer moves them.  The rule, and so the estimate, do not
        depend on the units of X: rescaling a column by s divides its
        coefficient by s and changes nothing else.  Columns whose typical
        magnitude lies outside [1e-100, 1e100], or with a value more than
        1e100 times it, are refused with a ``ValueError`` (see
        :data:`SCALE_RANGE`).
    max_iter : int, default=100
    cov_type : {"sandwich", "model"}, default="sandwich"
        ``"sandwich"``: M^-1 Q M^-1 / n at the estimate (robust, equal to
        statsmodels' HC0 for LR).  ``"model"``: the same with expectations
        over Y given x under the fitted model, which is the inverse Fisher
        information for LR (statsmodels' default).
    random_state : int, RandomState or None
        Seeds the random starts and the MCD.

    Notes
    -----
    Before fitting, columns of the design (intercept first) that lie in the
    span of earlier columns on the rows of positive weight are *aliased*, as
    in R's ``glm`` (relative tolerance 1e-7, the earlier column of a collinear
    pair is kept): an :class:`AliasedColumnsWarning` names them, the fit uses
    the other columns, and their coefficients are 0 with NaN standard errors.

    BLAS runs on one thread during a fit (threadpoolctl), as in the studies'
    tasks: the numbers then do not depend on the machine's core count, and a
    direct fit equals the same fit inside a study bit for bit.

    After fitting, losses whose phi approaches its infimum only as the margin
    grows (LR, LSQLR, MLSLR, BY and CH among the built-in ones; a property of
    phi, not of the name) are checked for (quasi-)complete separation by
    Konis's linear program (:mod:`lsis_robust._identifiability`).  Separated
    data then have no finite minimiser, bounded losses included: moving along
    the separating direction lowers the loss of every separated row towards the
    infimum and leaves the others unchanged.  Newton stops where phi' has
    underflowed (coefficients of 14-24 on the issue's example) and would report
    convergence; instead a :class:`~sklearn.exceptions.ConvergenceWarning`
    names the infinite coefficients, ``converged_`` is False and their
    standard errors are inf (z and p NaN).  The other coefficients are the
    limits of the fit on the rows the direction leaves on its hyperplane.
    LSLR with alpha > 0 grows for large margins and keeps a finite minimiser on
    separated data.  A bounded loss can also have no finite minimiser without
    separation (its objective flattening along the estimate's ray, MLSLR on
    vaso); that case keeps its own warning and ``converged_ = False``.

    Attributes
    ----------
    coef_ : ndarray (1, n_features)
    intercept_ : ndarray (1,)
    classes_ : ndarray (2,)
    loss_ : MarginLoss
    objective_ : float
        The minimised (weighted) mean loss.
    converged_ : bool
    n_iter_ : int
        Newton iterations along the path to the estimate: those of the ML
        fit (the first start) plus those from the chosen start.
    covariance_ : ndarray (n_params, n_params)
        Covariance of (intercept, coef), intercept first when fitted.
    weights_ : ndarray (n_samples,)
        Observation weights used (sample_weight times MCD weights).
    aliased_ : ndarray of bool (n_params,)
        Aliased coefficients (fixed at 0), intercept first when fitted.
    separation_ : Separation or None
        None unless separated data leave this loss without a finite minimiser;
        then ``direction`` (a separating direction over the coefficients),
        ``infinite`` (bool mask of the coefficients that diverge) and ``rows``
        (bool mask of the separated rows).
    """

    # scikit-learn checks these when fit starts (``_fit_context``).  alpha and c are only typed here: which
    # values are allowed is the loss's business (Theorem 1's [0, 1) or (1, 2] for alpha, C_RANGE for c).
    _parameter_constraints = {
        "loss": [str, callable, HasMethods(["phi"])],  # a registered name, a loss object or a user's phi
        "alpha": [Real, None],
        "c": [Real, None],
        "fit_intercept": ["boolean"],
        "weights": [StrOptions({"mcd"}), None],
        "n_starts": [Interval(Integral, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "cov_type": [StrOptions({"sandwich", "model"})],
        "random_state": ["random_state"],
    }

    def __init__(self, loss="lr", alpha=None, c=None, fit_intercept=True, weights=None, n_starts=0, tol=1e-8,
                 max_iter=100, cov_type="sandwich", random_state=None):
        self.loss = loss
        self.alpha = alpha
        self.c = c
        self.fit_intercept = fit_intercept
        self.weights = weights
        self.n_starts = n_starts
        self.tol = tol
        self.max_iter = max_iter
        self.cov_type = cov_type
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    # ------------------------------------------------------------ validation
    def _resolve_loss(self) -> MarginLoss:
        params = {k: v for k, v in (("alpha", self.alpha), ("c", self.c)) if v is not None}
        if isinstance(self.loss, str):
            return get_loss(self.loss, **params)
        if params:
            raise ValueError("alpha and c apply to a loss given by name; pass them to the loss instance instead")
        return get_loss(self.loss)

    def _check_params(self):
        """What the constraints cannot say: a loss class is callable but unbound, and a bool is an Integral."""
        if isinstance(self.loss, type):  # fitting would fail deep inside
            raise TypeError(f"loss={self.loss.__name__} is a class; pass a loss name or an instance, e.g. "
                            f"{self.loss.__name__}() or get_loss(name, ...)")
        for name in ("n_starts", "tol", "max_iter"):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name}={value!r} is a bool; {name} must be a number")

    def _design(self, X):
        """The design in X's units: X itself, or a column-major copy with the intercept's column first."""
        if not self.fit_intercept:
            return X
        Z = np.empty((X.shape[0], X.shape[1] + 1), order="F")  # the solver's layout, see _fit_design
        Z[:, 0] = 1.0
        Z[:, 1:] = X
        return Z

    # ------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model; y holds exactly two classes (any labels)."""
        # One BLAS thread: the study tasks have always fitted under threadpool_limits(1), so a fit gives their
        # numbers bit for bit on any machine (a threaded product sums in an order that depends on the thread
        # count), and at a fit's sizes the threads cost more than they save
        # (``python -m lsis_robust.bench.foundation``).
        with _single_blas_thread():
            self._check_params()
            loss = self._resolve_loss()
            feature_names = list(X.columns) if isinstance(X, pd.DataFrame) else None
            X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=False, ensure_min_samples=2)
            labels = pd.unique(y)  # hashing, not np.unique's full sort of y
            # Two integer-valued numeric labels are binary targets by sklearn's own rules; anything else gets
            # its check and messages (it costs more than a fit's ML start).
            integral = y.dtype.kind in "biu" or (y.dtype.kind == "f" and np.all(labels == np.round(labels)))
            if not (labels.size == 2 and integral):
                check_classification_targets(y)
            self.classes_ = np.sort(labels)
            if self.classes_.size != 2:
                kind = type_of_target(y)
                raise ValueError(
                    f"Only binary classification is supported: y needs exactly 2 classes, "
                    f"got {self.classes_.size} class{'es' if self.classes_.size != 1 else ''} ({kind} target)"
                )
            if sample_weight is None:  # every row once: nothing for _check_sample_weight to check
                sw = np.ones(X.shape[0])
            else:
                sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
            if self.weights == "mcd":
                sw = sw * mcd_weights(X, random_state=self.random_state)
            if not np.any(sw > 0):
                raise ValueError("all observation weights are zero; at least one must be positive")
            self.loss_ = loss
            self.feature_names_ = feature_names
            self.weights_ = sw
            y_pm = np.where(y == self.classes_[1], 1.0, -1.0)
            Z = self._design(X)
            scales = _column_scales(Z, sw, int(self.fit_intercept), feature_names)
            aliased = self._check_aliasing(Z, sw)
            if aliased.any():  # a boolean index copies even when it keeps every column
                Z, scales = Z[:, ~aliased], scales[~aliased]
            side = infimum_side(loss)
            # Z is scaled in place unless it is the user's own array; X still has the design in its units.
            beta, cov, ray, certified = self._fit_design(Z, y_pm, sw, scales, side, in_place=Z is not X)
            del Z  # scaled now, not the design in X's units: not to be used, nor kept alive through the checks
            self._finish_identification(X, y_pm, sw, aliased, beta, cov, ray, side, certified)
            return self

    def _check_aliasing(self, Z, sw):
        """Mask of the design's aliased columns (see :mod:`lsis_robust._identifiability`), with its warning."""
        aliased = aliased_columns(Z, sw)
        if not aliased.any():
            return aliased
        names = np.array(self._param_names())
        if aliased.all():
            raise ValueError(f"no coefficient can be estimated: every column ({', '.join(names)}) is zero on the "
                             "rows of positive weight")
        warnings.warn(
            f"{aliased.sum()} coefficient(s) not defined because of singularities: {', '.join(names[aliased])} "
            f"{'lies' if aliased.sum() == 1 else 'lie'} in the span of the earlier columns on the rows of "
            "positive weight (R's glm rule, relative tolerance 1e-7); "
            f"{'it is' if aliased.sum() == 1 else 'they are'} fixed at 0, with NaN standard errors, and the "
            "other coefficients are fitted without them", AliasedColumnsWarning, stacklevel=3)
        return aliased

    def _finish_identification(self, X, y_pm, sw, aliased, beta, cov, ray, side, certified):
        """Separation check on the fitted (non-aliased) design, then coefficients and covariance over all terms.

        ``_fit_design`` fitted the coefficients ``beta`` and covariance ``cov`` of the kept columns, found
        ``ray`` along the estimate's direction and whether the fit's stationarity ``certified`` that no row
        is separated.
        """
        separated, lr_separated, ray_objective_limit = ray
        loss = self.loss_
        kept = ~aliased
        sep = None
        if side and not certified:  # the linear program, on the design in X's units (rebuilt: rarely needed)
            Z = self._design(X)
            sep = find_separation(Z[:, kept] if aliased.any() else Z, y_pm, sw, side)
        p = aliased.size
        if aliased.any():  # aliased coefficients are 0, with NaN (co)variances
            beta, kept_beta = np.zeros(p), beta
            beta[kept] = kept_beta
            cov, kept_cov = np.full((p, p), np.nan), cov
            cov[np.ix_(kept, kept)] = kept_cov
        self.separation_ = None
        if sep is not None:
            infinite = np.zeros(p, dtype=bool)
            infinite[kept] = sep.infinite
            direction = np.zeros(p)
            direction[kept] = sep.direction
            self.separation_ = Separation(direction=direction, infinite=infinite, rows=sep.rows)
            cov[infinite, :] = np.nan
            cov[:, infinite] = np.nan
            cov[infinite, infinite] = np.inf
            self.converged_ = False
            names = np.array(self._param_names())[infinite]
            labels = "reversed labels " if side < 0 else ""
            warnings.warn(
                f"{loss!r}: the data are (quasi-)separated ({labels}{sep.rows.sum()} of "
                f"{np.count_nonzero(sw)} weighted rows), and this loss approaches its infimum only as the "
                f"margins grow, so no finite minimiser exists: {', '.join(names)} "
                f"{'is' if names.size == 1 else 'are'} infinite. The returned values are finite but arbitrary "
                "in size, and their standard errors are inf (z and p undefined)", ConvergenceWarning, stacklevel=3)
        elif separated:
            if lr_separated and falls_with_margin(loss):
                reason = ("the data are (quasi-)separated, and this loss decreases in the margin; no finite "
                          "minimiser exists")
            else:
                reason = (f"the objective decreases towards {ray_objective_limit:.6g} (it is "
                          f"{self.objective_:.6g} at the estimate) as the coefficients grow along the estimate's "
                          "direction (separation for this loss); the starts found no finite minimiser (more "
                          "starts, n_starts, may)")
            warnings.warn(f"{loss!r}: {reason}, and the coefficients returned are finite but arbitrary in size",
                          ConvergenceWarning, stacklevel=3)
        self.aliased_ = aliased
        self._set_coef(beta)
        self.covariance_ = cov

    def _fit_design(self, Z, y_pm, sw, scales, side, in_place):
        """Fit on ``Z`` (overwritten when ``in_place``).

        Returns the coefficients and their covariance in the units of the design before scaling, the ray facts
        and the separation certificate.
        """
        loss = self.loss_
        tol, max_iter = float(self.tol), int(self.max_iter)
        # Rows of weight 0 do not enter the objective: dropped, their values cannot overflow its Hessian.
        rows = sw > 0
        if not rows.all():
            Z, y_pm, sw = Z[rows], y_pm[rows], sw[rows]
            in_place = True  # a fresh copy
        # The solver's stopping rule and step caps are absolute; on columns of unit typical magnitude
        # (``scales``, see _column_scales) they are scale-free, and Newton's iterates (and so the minimiser
        # found) are the same in any units.
        # BLAS sums in an order that depends on the memory layout; the solver has always run on a column-major
        # design when every row counts (the layout of ``Z[:, kept]`` and of ``_design``) and a row-major one
        # otherwise (``Z[rows]``), and keeping that keeps every coefficient bit-identical.
        if in_place:
            Z /= scales
        else:
            Z = np.divide(Z, scales, order="F")
        fit = fit_batch(loss, Z, y_pm[None], sw[None], tol=tol, max_iter=max_iter, n_random=self.n_starts,
                        rng=check_random_state(self.random_state))
        beta = fit.beta[0] / scales
        self.n_iter_ = int(fit.n_iter[0])
        self.objective_ = float(fit.objective[0])
        self.converged_ = bool(fit.converged[0])
        self.start_ = fit.start[0]
        if not fit.newton_converged[0] and not fit.separated[0]:  # diverging is explained by separation below
            warnings.warn(
                f"{loss!r}: Newton did not reach |gradient| <= {tol:g} (on the rescaled columns, see tol) "
                f"within {max_iter} iterations (largest entry {fit.grad_max[0]:.3g}); the estimate may not be "
                "the minimiser",
                ConvergenceWarning, stacklevel=3)
        n_eff = sw.sum()
        if self.cov_type == "sandwich":
            cov = fit.problem.sandwich(fit.beta, n_eff, hessian=fit.hessian)[0]
        else:
            cov = fit.problem.model_based(fit.beta, n_eff, loss.link)[0]
        cov /= np.outer(scales, scales)  # Cov(beta) = S^-1 Cov(gamma) S^-1
        # The certificate is scale-free: checked here, on the scaled design, which nothing keeps alive after.
        # The ML fit (the first start) gives it LR's multipliers, its cheapest proof and the one BY relies on.
        certified = bool(side) and no_separation_certified(Z, y_pm, sw, side, fit.beta[0], loss, fit.beta_ml[0])
        return beta, cov, (fit.separated[0], fit.lr_separated[0], fit.ray_objective_limit[0]), certified

    def _set_coef(self, beta):
        if self.fit_intercept:
            self.intercept_ = np.array([beta[0]])
            self.coef_ = beta[1:][None, :]
        else:
            self.intercept_ = np.zeros(1)
            self.coef_ = beta[None, :]

    # ------------------------------------------------------------ prediction
    def _scores(self, X):
        """The linear scores x'beta + intercept in the loss's own orientation."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_[0] + self.intercept_[0]

    def decision_function(self, X):
        """Confidence of ``classes_[1]``, shape (n_samples,): positive exactly where :meth:`predict` says so.

        The score x'beta + intercept, negated for a loss that labels by arg
        min (``loss.labels_by_argmin``: LSLR with alpha in (1, 2], Corollary
        3), whose score falls as P(Y = +1 | x) rises; scikit-learn's scorers
        (ROC AUC, ...) read it as a confidence of the second class.
        """
        s = self._scores(X)
        return -s if self.loss_.labels_by_argmin else s

    def predict(self, X):
        """Class labels: by the sign of :meth:`decision_function` (of the score, reversed for LSLR with alpha > 1)."""
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]

    def predict_proba(self, X, model="logit"):
        """Class probabilities, columns in the order of ``classes_``; their argmax is :meth:`predict`.

        ``model="logit"`` (eq. 4) for every loss, of :meth:`decision_function`:
        sigma(s) of the score s, or sigma(-s) for a loss that labels by arg
        min (LSLR with alpha in (1, 2], Corollary 3).  At alpha = 2 LSLR is LR
        with the labels flipped, its estimate is -beta_LR, and sigma(-s) is
        exactly LR's probability.  ``model="r-logit"`` (eq. 10) for LSLR, whose
        values can leave [0, 1] (Theorem 1), returned as they are; for
        alpha > 1 it falls as s rises, so its argmax is :meth:`predict` too.
        """
        if model not in ("logit", "r-logit"):
            raise ValueError(f"model={model!r} is invalid; use 'logit' or 'r-logit'")
        if model == "r-logit":
            if not self.loss_.has_r_logit:
                raise ValueError(f"the R-logit model belongs to LSLR; this estimator was fitted with {self.loss_!r}")
            p1 = self.loss_.link(self._scores(X))
            return np.column_stack([1 - p1, p1])
        t = self.decision_function(X)
        # sigma(-t) directly, not 1 - sigma(t): the small probability keeps its digits
        return np.column_stack([LR().link(-t), LR().link(t)])

    def predict_log_proba(self, X):
        """log of :meth:`predict_proba` (logit model), as scikit-learn's classifiers define it.

        Computed as log sigma(+-t) = -log(1 + e^(-+t)) directly, so it stays finite (about -|t|) where the
        probability itself underflows to 0.
        """
        t = self.decision_function(X)
        return -np.column_stack([np.logaddexp(0.0, t), np.logaddexp(0.0, -t)])

    # ------------------------------------------------------------ inference
    @property
    def params_(self):
        check_is_fitted(self)
        return np.concatenate([self.intercept_, self.coef_[0]]) if self.fit_intercept else self.coef_[0].copy()

    def _param_names(self):
        names = self.feature_names_ or [f"x{j + 1}" for j in range(self.n_features_in_)]
        return (["const"] if self.fit_intercept else []) + [str(n) for n in names]

    def summary(self, level=0.95) -> pd.DataFrame:
        """Coefficient table: estimate, std. error, z, p-value and a Wald interval per term.

        Aliased terms (``aliased`` column True) have NaN everywhere but their fixed 0; infinite terms of
        separated data have an infinite standard error, NaN z and p, and the interval (-inf, inf).
        """
        check_is_fitted(self)
        if not 0 < level < 1:
            raise ValueError(f"level={level!r} must lie in (0, 1)")
        est = self.params_
        se = np.sqrt(np.clip(np.diag(self.covariance_), 0, None))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(np.isfinite(se), est / se, np.nan)
        p = 2 * stats.norm.sf(np.abs(z))
        q = stats.norm.ppf(0.5 + level / 2)
        lo, hi = f"[{(1 - level) / 2:.3g}", f"{0.5 + level / 2:.3g}]"
        return pd.DataFrame({"coef": est, "std err": se, "z": z, "P>|z|": p, lo: est - q * se, hi: est + q * se,
                             "aliased": self.aliased_},
                            index=pd.Index(self._param_names(), name="term"))

    def summary_text(self) -> str:
        """A printable summary in the spirit of statsmodels."""
        table = self.summary()
        head = [
            f"Robust logistic regression: {self.loss_!r}",
            f"Observations: {np.count_nonzero(self.weights_)}   weights: {self.weights or 'none'}   "
            f"covariance: {self.cov_type}",
            f"Objective (mean loss): {self.objective_:.8g}   converged: {self.converged_}   "
            f"iterations: {self.n_iter_}   start: {self.start_}",
        ]
        if self.aliased_.any():  # R's wording
            head.append(f"Coefficients: ({self.aliased_.sum()} not defined because of singularities)")
        if self.separation_ is not None:
            infinite = np.array(self._param_names())[self.separation_.infinite]
            head.append(f"Separation: no finite estimate of {', '.join(infinite)} (std err inf)")
        width = max(len(h) for h in head)
        body = ReportTable(table, float_format="{:.4f}", na_rep="NaN", index=True).as_text()
        width = max(width, max(len(line) for line in body.splitlines()))
        return "\n".join(["=" * width, *head, "-" * width, body, "=" * width])
