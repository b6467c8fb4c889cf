"""Asymptotic covariance (Theorem 4), relative efficiency (Table I) and influence functions.

Under the nominal model P(Y = +1 | x) = sigma(beta'x) an M-estimator with
margin loss phi has sqrt(n)(beta_hat - beta) -> N(0, C), C = B^-1 A B^-1,

    A = E[ {p phi'(t)^2 + (1-p) phi'(-t)^2} X X' ],
    B = E[ {p phi''(t) + (1-p) phi''(-t)} X X' ],   t = beta'X, p = sigma(t),

provided the loss is Fisher-consistent (the population gradient
E[{p phi'(t) - (1-p) phi'(-t)} X] vanishes at beta; this is checked).  The
influence function of the functional T at (x_c, y_c) is
IF = -B^-1 y_c phi'(y_c beta'x_c) x_c.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit

from .._validation import check_real
from ..losses import LR, LSQLR, MLSLR, MarginLoss
from ..paper import TABLE1_ALPHAS, TABLE1_BETAS
from ..paper import TABLE1_ARE as TABLE1_PRINTED
from ..registry import get_loss, parse_loss_spec
from .design import GaussianDesign, expect, nominal_design

__all__ = [
    "AsymptoticCovariance",
    "resolve_loss",
    "method_label",
    "kink_margins",
    "asymptotic_covariance",
    "closed_form_ab",
    "asymptotic_relative_efficiency",
    "are_table",
    "influence_function",
    "gross_error_sensitivity",
    "TABLE1_BETAS",
    "TABLE1_ALPHAS",
    "TABLE1_PRINTED",
]


def method_label(loss) -> str:
    """Short column/legend label of a loss: its :attr:`~lsis_robust.losses.MarginLoss.label`."""
    return loss.label


def resolve_loss(loss) -> MarginLoss:
    """A loss from a registered name, a spec 'name:param=value', an instance or a user's phi (wrapped)."""
    return parse_loss_spec(loss) if isinstance(loss, str) else get_loss(loss)


def kink_margins(loss) -> np.ndarray:
    """Margins where phi'' jumps (the loss's :meth:`~lsis_robust.losses.MarginLoss.kinks`), as a flat float array.

    The quadrature puts panel edges there.
    """
    return np.asarray(loss.kinks(), dtype=np.float64).ravel()


class _Derivatives:
    """phi' and phi'' of a loss; phi'' by central differences (with a warning) if it is missing."""

    def __init__(self, loss):
        self.loss = loss
        self.numerical = False
        try:
            probe = np.asarray(loss.d2phi(np.array([0.0, 1.0])), dtype=np.float64)
            ok = probe.shape == (2,) and np.all(np.isfinite(probe))
        except (NotImplementedError, AttributeError):
            ok = False
        if not ok:
            warnings.warn(
                f"loss {loss!r} has no analytic phi''; using a central finite difference of phi' "
                "(step 1e-5, error about 1e-10), so integrals and Newton steps are only that accurate",
                stacklevel=3,
            )
            self.numerical = True

    def d1(self, m):
        return self.loss.dphi(m)

    def d2(self, m):
        if not self.numerical:
            return self.loss.d2phi(m)
        h = 1e-5
        return (self.loss.dphi(m + h) - self.loss.dphi(m - h)) / (2 * h)

    def all(self, m):
        """(phi, phi', phi'') at m, in one pass where the loss shares the work."""
        shared = getattr(self.loss, "derivatives", None)
        if shared is not None and not self.numerical:
            return shared(m)
        return self.loss.phi(m), self.d1(m), self.d2(m)


@dataclass
class AsymptoticCovariance:
    """A, B and C = B^-1 A B^-1 of Theorem 4, with the integration error of each."""

    loss: MarginLoss
    beta: np.ndarray
    A: np.ndarray
    B: np.ndarray
    C: np.ndarray
    error: dict = field(default_factory=dict)  # max abs integration error of A, B, C

    @property
    def trace(self) -> float:
        return float(np.trace(self.C))


def _check_design(design):
    if design is None:
        return nominal_design()
    if not isinstance(design, GaussianDesign):
        raise TypeError(f"design must be a GaussianDesign (or None for the paper's design), got {type(design).__name__}")
    return design


def _sandwich(A, B, name):
    try:
        Binv = np.linalg.inv(B)
    except np.linalg.LinAlgError:
        Binv = None
    # Conditioning of the equilibrated B: a large score scale makes B's diagonal spread over many orders
    # of magnitude (1/|beta| for the intercept, 1/|beta|^3 for the slope) without making it singular.
    scale = np.sqrt(np.abs(np.diag(B)))
    if Binv is None or not np.all(np.isfinite(Binv)) or not np.all(scale > 0) \
            or np.linalg.cond(B / np.outer(scale, scale)) > 1e13:
        raise ValueError(f"B = E[phi'' X X'] is singular for {name}: the design does not identify beta "
                         "(a covariate constant or collinear) or the loss is flat at beta")
    return Binv @ A @ Binv


def _ab_batch(losses, beta, design, rtol=1e-11):
    """A, B (and their coarse-level copies) for several losses in one integration."""
    derivs = [_Derivatives(loss) for loss in losses]
    margins = np.unique(np.concatenate([kink_margins(loss) for loss in losses] + [np.zeros(0)]))
    margins = np.unique(np.r_[margins, -margins])

    def integrand(t, _):
        p, q = expit(t), expit(-t)
        rows = []
        for d in derivs:
            d1p, d1m = d.d1(t), d.d1(-t)
            rows += [p * d1p**2 + q * d1m**2, p * d.d2(t) + q * d.d2(-t), p * d1p - q * d1m]
        return np.array(rows)

    fine, coarse_m, _ = expect(design, beta, beta, integrand, margins, rtol=rtol)
    out = []
    for i, loss in enumerate(losses):
        A, B, grad = fine.m2[3 * i], fine.m2[3 * i + 1], fine.m1[3 * i + 2]
        scale = max(1.0, float(np.abs(B).max()))
        if np.linalg.norm(grad) > 1e-8 * scale:
            raise ValueError(
                f"{loss!r} is not Fisher-consistent for the logistic model at beta={beta.tolist()}: its "
                f"population gradient there is {np.round(grad, 8).tolist()}, so beta_hat does not converge "
                "to beta (LSLR, for one, estimates the R-logit model); use contaminated_functional(loss, "
                "beta, eps=0) for its limit"
            )
        C = _sandwich(A, B, repr(loss))
        Ac, Bc = coarse_m.m2[3 * i], coarse_m.m2[3 * i + 1]
        Cc = _sandwich(Ac, Bc, repr(loss))
        out.append(AsymptoticCovariance(
            loss, beta, A, B, C,
            error={"A": float(np.abs(A - Ac).max()), "B": float(np.abs(B - Bc).max()),
                   "C": float(np.abs(C - Cc).max()), "trace_C_coarse": float(np.trace(Cc))},
        ))
    return out


def asymptotic_covariance(loss, beta, design=None) -> AsymptoticCovariance:
    """A, B and C = B^-1 A B^-1 (Theorem 4) for a Fisher-consistent margin loss.

    ``loss``: a registered name, 'name:param=value' spec or loss instance;
    ``beta``: the true parameter, one entry per covariate of ``design``
    (intercept included); ``design``: a :class:`GaussianDesign`, default the
    paper's design (20).  The ``error`` dict holds the estimated integration
    error (difference between the two finest quadrature levels).
    """
    design = _check_design(design)
    beta = design.check_beta(beta)
    return _ab_batch([resolve_loss(loss)], beta, design)[0]


def closed_form_ab(loss, beta, design=None) -> tuple[np.ndarray, np.ndarray]:
    """A and B from the closed forms (18) for LR, MLSLR and LSQLR, in this package's scaling.

    With p = sigma(t), q = 1 - p, u = p - alpha (p - 1/2), u- = q + alpha (p - 1/2):
    LR: A = B = E[p q XX'];  MLSLR: A = (1-alpha)^4 E[p^3 q^3 / (u u-)^2 XX'],
    B = (1-alpha)^2 E[p^2 q^2 / (u u-) XX'];  LSQLR: A = E[p^3 q^3 XX'], B = E[p^2 q^2 XX'].
    The (1-alpha) powers come from this package's phi (eq. 11 without
    rescaling) and cancel in C.
    """
    design = _check_design(design)
    beta = design.check_beta(beta)
    loss = resolve_loss(loss)
    if isinstance(loss, MLSLR):
        al = loss.alpha
        if al > 1:
            raise ValueError("the closed forms (18) are stated for alpha in [0, 1)")
    elif isinstance(loss, LSQLR):
        al = None
    elif isinstance(loss, LR):
        al = 0.0
    else:
        raise ValueError(f"closed forms (18) exist for lr, mlslr and lsqlr only, not {loss!r}")

    def integrand(t, _):
        p, q = expit(t), expit(-t)
        pq = np.exp(-np.logaddexp(0, t) - np.logaddexp(0, -t))
        if al is None:
            return np.array([pq**3, pq**2])
        u, um = p - al * (p - 0.5), q + al * (p - 0.5)
        return np.array([(1 - al) ** 4 * pq**3 / (u * um) ** 2, (1 - al) ** 2 * pq**2 / (u * um)])

    m, _, _ = expect(design, beta, beta, integrand)
    return m.m2[0], m.m2[1]


def _method_losses(alphas, extra):
    losses = [LR()] + [MLSLR(a) for a in alphas] + [LSQLR()] + [resolve_loss(e) for e in extra]
    return losses


def asymptotic_relative_efficiency(loss, beta, design=None, return_error: bool = False):
    """ARE = tr(C_LR) / tr(C) (Table I); with ``return_error`` also its integration error."""
    design = _check_design(design)
    beta = design.check_beta(beta)
    lr, other = _ab_batch([LR(), resolve_loss(loss)], beta, design)
    value = lr.trace / other.trace
    err = abs(value - lr.error["trace_C_coarse"] / other.error["trace_C_coarse"])
    return (value, err) if return_error else value


def are_table(betas=None, alphas=TABLE1_ALPHAS, extra_losses=("by", "ch"), design=None):
    """Table I (ARE of MLSLR for each alpha, LSQLR, plus extra losses) as two DataFrames.

    Returns (values, errors): rows are the betas, columns the methods; errors
    holds the estimated integration error of each ARE.
    """
    import pandas as pd

    design = _check_design(design)
    betas = TABLE1_BETAS if betas is None else betas
    alphas = tuple(check_real(a, "alpha", finite=False) for a in alphas)
    for a in alphas:
        if not 0 <= a < 1:
            raise ValueError(f"Table I alphas must lie in [0, 1), got {a}")
    if not alphas:
        raise ValueError("alphas is empty: give at least one MLSLR alpha in [0, 1)")
    betas = list(betas)
    if not betas:
        raise ValueError("betas is empty: give at least one beta")
    losses = _method_losses(alphas, extra_losses)
    names = [method_label(loss) for loss in losses[1:]]
    vals, errs, index = [], [], []
    for beta in betas:
        beta = design.check_beta(beta)
        res = _ab_batch(losses, beta, design)
        lr = res[0]
        row = [lr.trace / r.trace for r in res[1:]]
        coarse = [lr.error["trace_C_coarse"] / r.error["trace_C_coarse"] for r in res[1:]]
        vals.append(row)
        errs.append(np.abs(np.array(row) - np.array(coarse)))
        index.append("(" + ", ".join(f"{v:g}" for v in beta) + ")")
    idx = pd.Index(index, name="beta")
    return pd.DataFrame(vals, index=idx, columns=names), pd.DataFrame(errs, index=idx, columns=names)


def influence_function(loss, beta, x_c, y_c, design=None, B=None):
    """IF(x_c, y_c) = -B^-1 y_c phi'(y_c beta'x_c) x_c at the nominal model.

    ``x_c``: the full covariate vector (intercept included), shape (d,) or
    (n, d); ``y_c``: +1 or -1 (scalar or one per point).  Returns shape (d,)
    or (n, d).  ``B`` may be passed to reuse a computed
    :func:`asymptotic_covariance`.
    """
    design = _check_design(design)
    beta = design.check_beta(beta)
    loss = resolve_loss(loss)
    x = np.asarray(x_c, dtype=np.float64)
    single = x.ndim == 1
    x = np.atleast_2d(x)
    if x.ndim != 2 or x.shape[1] != design.dim or not np.all(np.isfinite(x)):
        raise ValueError(f"x_c must be finite with {design.dim} entries per point (intercept included), "
                         f"got shape {np.shape(x_c)}")
    y = _check_labels(y_c, x.shape[0])
    if B is None:
        B = asymptotic_covariance(loss, beta, design).B
    grad = (y * loss.dphi(y * (x @ beta)))[:, None] * x
    out = -np.linalg.solve(B, grad.T).T
    return out[0] if single else out


def _check_labels(y_c, n):
    y = np.asarray(y_c, dtype=np.float64)
    if y.ndim > 1 or (y.ndim == 1 and y.size != n):
        raise ValueError(f"y_c must be +1/-1, a scalar or one label per contamination point, got shape {y.shape}")
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError(f"y_c must be +1 or -1 (labels in margin form), got {np.unique(y).tolist()}")
    return np.broadcast_to(y, (n,)).astype(np.float64)


def gross_error_sensitivity(loss, beta, x_c, design=None):
    """sup ||IF(x_c, y_c)|| over the given contamination points and both labels.

    Returns (value, x_c at the sup, y_c at the sup).  For unbounded-influence
    losses (LR) the value grows with the range of ``x_c``.
    """
    design = _check_design(design)
    beta = design.check_beta(beta)
    x = np.atleast_2d(np.asarray(x_c, dtype=np.float64))
    B = asymptotic_covariance(loss, beta, design).B
    best = (-1.0, None, None)
    for y in (1.0, -1.0):
        norms = np.linalg.norm(influence_function(loss, beta, x, y, design, B=B), axis=1)
        i = int(np.argmax(norms))
        if norms[i] > best[0]:
            best = (float(norms[i]), x[i].copy(), y)
    return best
