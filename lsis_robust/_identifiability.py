"""Which coefficients a logistic-type fit can estimate: aliased columns and separation.

Two facts about the design, checked once per ``RobustLogisticRegression.fit``
on the rows of positive weight (a row of weight zero does not exist for the
objective, so it neither identifies nor separates anything):

1. **Aliasing** (R's ``glm``): column j is aliased when it lies in the span of
   the kept columns before it, so that its coefficient is not identified.  The
   test is sequential, in the columns' order, with classical Gram-Schmidt and
   one re-orthogonalisation: column j is aliased when the norm of its residual
   after projection on the kept earlier columns is at most ``ALIAS_TOL`` times
   its own norm.  That is the rule of R's LINPACK routine ``dqrdc2`` (tolerance
   1e-7 in ``glm.fit``), which also keeps the earlier column of a collinear
   pair; being relative to each column's own norm, it does not depend on the
   columns' units (``X[:, j] * 1e-12`` is not aliased).
2. **Separation** (Konis 2007, as R's ``detectseparation``): a direction
   delta != 0 with y_i x_i'delta >= 0 for every row.  It is found by the
   linear program

       maximise sum_i y_i x_i'delta  s.t.  y_i x_i'delta >= 0,  -1 <= delta_j <= 1,

   solved by HiGHS on the non-aliased columns scaled to unit maximum
   magnitude (so the answer does not depend on units).  A positive optimum
   means (quasi-)complete separation.  The program is re-solved with the
   objective restricted to the rows not yet separated until its optimum is 0;
   then ``rows`` holds every row that some direction separates and the
   remaining ("overlap") rows have y_i x_i'delta = 0 for every recession
   direction.  Those directions span the whole null space of the overlap
   rows' design (the sum of the separating directions found is strictly
   positive on every separated row, so it is an interior point of the cone
   relative to that null space), and a coefficient is reported infinite
   exactly when some vector of that null space moves it.  This is the set of
   coefficients whose estimate can diverge; the single-LP rule of
   ``detectseparation`` (the sign pattern of one optimal vertex) can miss some
   of them, because a vertex may have a zero where another direction does not.

Which losses care is a property of phi, not of its name
(:func:`infimum_side`): when phi approaches its infimum only as the margin
goes to +inf (LR, LSQLR, MLSLR, BY, CH) no finite minimiser exists on
separated data, because moving along delta lowers the loss of every separated
row towards that infimum and leaves the others unchanged.  Losses that grow
for large margins (LSLR with alpha > 0) keep a finite minimiser.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from .losses import LR

__all__ = ["AliasedColumnsWarning", "ALIAS_TOL", "SEPARATION_TOL", "Separation", "aliased_columns",
           "infimum_side", "find_separation", "no_separation_certified"]

ALIAS_TOL = 1e-7
# A row counts as separated when delta moves its margin by more than this, on columns scaled to unit maximum
# magnitude with delta in the unit box; HiGHS' own feasibility tolerance is 1e-7.
SEPARATION_TOL = 1e-6
# phi(+-1e4) is phi's limit at +-inf to double precision (as in fitting.RAY_MARGIN).
_FAR = 1e4
# Beyond margins of about 15 a bounded loss is within rounding of its limit; there dphi's sign decides.
_NEAR = np.concatenate([-np.geomspace(_FAR, 1e-3, 120), [0.0], np.geomspace(1e-3, 15.0, 60)])
_TAIL = np.geomspace(15.0, 30.0, 20)
# Columns whose maximum magnitudes lie in this range have weighted Gram matrices in their own units far from
# overflow and underflow (see _raw_products_safe).
_SAFE_SCALE = (1e-100, 1e100)
# Elements per block of rows of the certificate's weighted Gram matrix: 1 MiB of temporary, BLAS-sized products.
_BLOCK = 2**17


class AliasedColumnsWarning(UserWarning):
    """Columns of the design lie in the span of earlier ones; their coefficients are fixed at 0."""


@dataclass
class Separation:
    """A (quasi-)complete separation found by :func:`find_separation`.

    direction : (d,) a recession direction in the design's units (zero at aliased columns once expanded).
    infinite : (d,) bool, the coefficients whose estimate can diverge.
    rows : (n,) bool, the rows that some direction separates (all False at zero weight).
    """

    direction: np.ndarray
    infinite: np.ndarray
    rows: np.ndarray


def aliased_columns(Z, w, tol=ALIAS_TOL):
    """Boolean mask of the columns of ``Z`` that lie in the span of earlier kept columns (rows with w > 0)."""
    Z = np.asarray(Z, dtype=np.float64)
    pos = np.asarray(w) > 0
    Zp = Z if pos.all() else Z[pos]  # a view when every row counts: the design may be large
    n, d = Zp.shape
    if _clearly_full_rank(Zp.T @ Zp):
        return np.zeros(d, dtype=bool)
    scale = np.abs(Zp).max(axis=0)
    zero = scale == 0.0
    # unit maximum magnitude: no overflow or underflow in the norms; row-major whatever Z's layout, as the loop
    # has always run (BLAS's rounding depends on the layout)
    Zs = np.divide(Zp, np.where(zero, 1.0, scale), order="C")
    aliased = zero.copy()
    Q = np.empty((n, d))
    k = 0
    for j in np.flatnonzero(~zero):
        col = Zs[:, j]
        res = col - Q[:, :k] @ (Q[:, :k].T @ col)
        res -= Q[:, :k] @ (Q[:, :k].T @ res)  # the second pass makes classical Gram-Schmidt as exact as QR
        r = np.linalg.norm(res)
        if r <= tol * np.linalg.norm(col):
            aliased[j] = True
        else:
            Q[:, k] = res / r
            k += 1
    return aliased


def _raw_products_safe(scale):
    """Whether sums of products of columns with these maximum magnitudes stay exact to rounding in float64.

    Then products like ``Z' diag(lam) Z`` may be formed in the columns' own units and scaled afterwards,
    without a scaled copy of the design: no product overflows, and what underflows is below 1e-100 of the
    scaled entries' unit.
    """
    return bool(np.all((scale >= _SAFE_SCALE[0]) & (scale <= _SAFE_SCALE[1])))


def _clearly_full_rank(gram):
    """A cheap sufficient test on the Gram matrix of the columns in their own units: every column's relative
    residual on the earlier ones exceeds 1e-4.

    Those residuals are the diagonal of the Cholesky factor of the Gram matrix scaled to unit diagonal;
    the rounding error of a product in a squared residual is about d n eps of the squared norms, far below
    1e-8, so a pass here is a pass of the exact sequential test with tolerance 1e-7.  That holds in any
    units while the squared norms stay in [1e-200, 1e200]: no product overflows, and what underflows is
    below 1e-100 of the scaled entries.  Anything else (zero columns included) goes to the Gram-Schmidt loop.
    """
    sq = np.diag(gram)
    if not (np.all(np.isfinite(gram)) and np.all((sq >= 1e-200) & (sq <= 1e200))):
        return False
    norms = np.sqrt(sq)
    try:
        chol = np.linalg.cholesky(gram / np.outer(norms, norms))
    except np.linalg.LinAlgError:
        return False
    return bool(np.all(np.diag(chol) ** 2 > 1e-8))


def infimum_side(loss):
    """+1 (-1) when phi approaches its infimum only as the margin goes to +inf (-inf), else 0.

    Then separated data (labels reversed for -1) have no finite minimiser.  Checked on a grid: phi above
    its limit at every margin up to 15 on that side, and strictly monotone in the tail beyond.
    """
    for side in (1, -1):
        limit = float(np.asarray(loss.phi(np.array([side * _FAR])), dtype=np.float64)[0])
        near = np.asarray(loss.phi(side * _NEAR), dtype=np.float64)
        tail = side * np.asarray(loss.dphi(side * _TAIL), dtype=np.float64)
        if np.isfinite(limit) and np.all(near > limit) and np.all(tail < 0):
            return side
    return 0


def _no_separation_certificate(Zp, sign, scale, lam):
    """Whether positive multipliers lam' with sum_i lam'_i a_i = 0 exist near ``lam`` (Stiemke's theorem).

    The rows are a_i = sign_i z_i / scale (``scale`` the columns' maximum magnitudes), used through
    products with ``Zp`` so that the n x d matrix A is never formed.  Such multipliers prove that no
    direction separates any row.  The fitted loss supplies lam at its stationary point
    (lam_i = -w_i phi'(m_i) sums the rows to the gradient, about 0); the smallest correction in lam's
    metric that removes the residual is lam_i (1 - a_i'u) with u the weighted least-squares solution
    of A u = 1.  Accepted only with every lam_i at least 1e-8 of the largest, a weighted Gram matrix
    A' diag(lam) A of condition number at most 1e12 (so that u is accurate to far better than the
    margin of the test) and every correction at most half of lam_i.
    """
    if not np.all(np.isfinite(lam)) or lam.min(initial=np.inf) < 1e-8 * lam.max(initial=0.0) or lam.max() <= 0:
        return False
    lam = lam / lam.max()
    # A' diag(lam) A = S^-1 Z' diag(lam) Z S^-1 (sign_i^2 = 1), A' lam = S^-1 Z' (sign lam), A u = sign Z S^-1 u;
    # the rows weighted by sqrt(lam) in blocks, so that no n x d temporary exists and BLAS sees a symmetric
    # product B'B (half the work of a general one)
    root = np.sqrt(lam)
    rows = max(1, _BLOCK // Zp.shape[1])
    gram = 0.0
    for i in range(0, len(lam), rows):
        block = Zp[i:i + rows] * root[i:i + rows, None]
        gram += block.T @ block
    gram /= np.outer(scale, scale)
    if np.linalg.cond(gram) > 1e12:  # u's rounding error could then be of the size of the test below
        return False
    u = np.linalg.solve(gram, (Zp.T @ (sign * lam)) / scale)
    return bool(np.all(np.abs(Zp @ (u / scale)) <= 0.5))


def _positive_rows(Z, y_pm, w, side):
    """Rows of positive weight (views when every row counts), their signs side y_i, the columns' maximum
    magnitudes (two reductions instead of a copy of |Z|), and the rows' mask."""
    Z, y_pm = np.asarray(Z, dtype=np.float64), np.asarray(y_pm, dtype=np.float64)
    pos = np.asarray(w, dtype=np.float64) > 0
    Zp, yp = (Z, y_pm) if pos.all() else (Z[pos], y_pm[pos])
    return Zp, side * yp, np.maximum(Zp.max(axis=0), -Zp.min(axis=0)), pos


def no_separation_certified(Z, y_pm, w, side, beta, loss=None, beta_ml=None):
    """Whether the stationarity of LR at its own fit ``beta_ml``, of ``loss`` at ``beta`` or, failing those, of LR
    at ``beta``'s margins proves that no direction separates any row of labels ``side * y_pm`` on ``Z``
    (:func:`_no_separation_certificate`).

    The answer is whether any of them does, so they are tried cheapest first.  LR's multipliers at the ML fit
    ``beta_ml`` (fitted to the labels ``y_pm``) are positive and sum the rows to about 0, and they cost one
    logistic evaluation, a fraction of a robust loss's phi'.  Failing them (an ML fit far from stationary), a
    loss with phi' < 0 everywhere (CH) certifies at its own estimate; one whose phi' vanishes on some margins
    (BY's for |m| < 0.46 at c = 0.5) cannot.  Stiemke's system sum_i lam_i a_i = 0 is the same for a_i and
    -a_i, so one certificate serves both signs of the labels.  The rows are scaled to unit maximum magnitude,
    so ``Z`` may be given in any column units, with ``beta`` and ``beta_ml`` in the same units.
    """
    Zp, sign, scale, pos = _positive_rows(Z, y_pm, w, side)
    if not _raw_products_safe(scale):
        return False
    w = np.asarray(w, dtype=np.float64)
    wp = w if pos.all() else w[pos]
    wp = wp / wp.max()

    def margins():  # at beta, of the reversed labels when side = -1
        return sign * (Zp @ beta)

    candidates = []
    if beta_ml is not None:  # LR's multipliers sigma(-y z'beta_ml): the sign of the labels is y's, not side's
        candidates.append(lambda: wp * LR().link(-side * sign * (Zp @ beta_ml)))
    if loss is not None:
        candidates.append(lambda: -side * wp * np.asarray(loss.dphi(side * margins()), dtype=np.float64))
    candidates.append(lambda: wp * LR().link(-margins()))
    return any(_no_separation_certificate(Zp, sign, scale, lam()) for lam in candidates)


def find_separation(Z, y_pm, w, side=1, beta=None, loss=None):
    """The :class:`Separation` of labels ``side * y_pm`` on design ``Z``, or None when there is none.

    ``Z`` must have no aliased columns.  With an estimate ``beta`` of ``loss`` the linear program is
    skipped when :func:`no_separation_certified`.
    """
    if beta is not None and no_separation_certified(Z, y_pm, w, side, beta, loss):
        return None
    Zp, sign, scale, pos = _positive_rows(Z, y_pm, w, side)
    # rows a_i = side y_i z_i, columns scaled to unit maximum magnitude; row-major, as the program has always
    # been given it (BLAS's rounding depends on the layout)
    A = np.multiply(sign[:, None], Zp, order="C")
    A /= scale
    n, d = A.shape
    separated = np.zeros(n, dtype=bool)
    direction = np.zeros(d)
    while not separated.all():
        res = linprog(-A[~separated].sum(axis=0), A_ub=-A, b_ub=np.zeros(n), bounds=(-1.0, 1.0), method="highs")
        if res.status != 0:  # the program is feasible (delta = 0) and bounded (the box): never expected
            raise RuntimeError(f"the separation linear program failed: {res.message}")
        if -res.fun <= SEPARATION_TOL:
            break
        new = A @ res.x > SEPARATION_TOL
        if not np.any(new & ~separated):
            break
        separated |= new
        direction += res.x
    if not separated.any():
        return None
    overlap = A[~separated]
    if overlap.shape[0]:
        # the full V only when the null space is larger than the rows can show; never an n x n U
        _, s, vt = np.linalg.svd(overlap, full_matrices=overlap.shape[0] < d)
        rank = int(np.sum(s > ALIAS_TOL * s[0])) if s.size else 0
        null = vt[rank:]
    else:
        null = np.eye(d)
    infinite = np.abs(null).max(axis=0, initial=0.0) > ALIAS_TOL
    rows = np.zeros(pos.size, dtype=bool)
    rows[np.flatnonzero(pos)[separated]] = True
    return Separation(direction=direction / scale, infinite=infinite, rows=rows)
