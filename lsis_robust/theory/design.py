"""Covariate designs and the error-controlled quadrature behind the theory engine.

Every population quantity of the engine is an expectation over X of a
function of at most two scores, the score s_b = b'X of the parameter being
evaluated and the score s_t = beta'X of the true parameter (which fixes
P(Y = +1 | X) = sigma(s_t)), times 1, X or XX'.  For a Gaussian design X ~
N(mu, Sigma) the pair (s_b, s_t) is a linear function of r <= 2 independent
standard normals w, and X given w is Gaussian with a mean linear in w and a
fixed covariance V, so

    E[h(s_b, s_t) X X'] = E[h m(w) m(w)'] + E[h] V,   m(w) = E[X | w],

is an r-dimensional integral whatever the dimension of X.  The integrals use
composite Gauss-Legendre panels on [-10, 10] per axis (the standard normal
mass beyond is below 1e-22), with panel edges at the points where the
integrand has a kink or jump (where s_b crosses a loss's kink margins or 0),
graded geometrically towards the zeros of the scores (so that a score
with a huge coefficient, a near-step sigma(a w), is still resolved),
and are refined by doubling the number of panels until two successive
levels agree to the requested tolerance; the difference of the last two
levels is reported as the integration error.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["GaussianDesign", "nominal_design", "IntegrationError", "Moments"]

_HALF_WIDTH = 10.0  # standard normal tail beyond 10 is < 1e-22
# Largest score scale the engine is checked for (tests/test_theory_validation.py compares it with mpmath
# quadrature up to here): sd(beta'X) <= 1e6, and |E beta'X| <= 230 so that A ~ e^{-3|t|} (LSQLR, MLSLR)
# and the covariance ~ e^{|t|} stay normal float64 numbers.
MAX_SCORE_SD = 1e6
MAX_SCORE_MEAN = 230.0
_ORDER = 20
_BASE_PANELS = {1: 16, 2: 6}
_MAX_LEVEL = {1: 7, 2: 4}


class IntegrationError(ValueError):
    """A population integral did not reach the requested accuracy."""


def _as_matrix(a, name, shape=None):
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numeric") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    return arr


class GaussianDesign:
    """Covariates X ~ N(mean, cov) in R^d; cov may be singular (an intercept has variance 0).

    Use :meth:`with_intercept` for x = (1, z), z ~ N(mean_z, cov_z), and
    :func:`nominal_design` for the paper's design (20): x = (1, x2), x2 ~ N(0, 1).
    """

    def __init__(self, mean, cov, name: str | None = None):
        mean = _as_matrix(mean, "mean")
        if mean.ndim != 1 or mean.size < 1:
            raise ValueError(f"mean must be a non-empty vector, got shape {mean.shape}")
        d = mean.size
        cov = _as_matrix(cov, "cov", (d, d))
        if not np.allclose(cov, cov.T, rtol=1e-12, atol=1e-14):
            raise ValueError("cov must be symmetric")
        lam, U = np.linalg.eigh(cov)
        scale = max(1.0, float(np.max(np.abs(lam))))
        if lam.min() < -1e-10 * scale:
            raise ValueError(f"cov must be positive semi-definite (smallest eigenvalue {lam.min():.3g})")
        keep = lam > 1e-12 * scale
        self.mean = mean
        self.cov = cov
        self.dim = d
        # X = mean + M z with z ~ N(0, I_k), k = rank(cov).
        self._M = U[:, keep] * np.sqrt(lam[keep])
        self.name = name or f"Gaussian design in R^{d}"

    @classmethod
    def with_intercept(cls, mean, cov, name: str | None = None) -> GaussianDesign:
        """x = (1, z) with z ~ N(mean, cov)."""
        mean = _as_matrix(mean, "mean")
        if mean.ndim != 1:
            raise ValueError(f"mean must be a vector, got shape {mean.shape}")
        k = mean.size
        cov = _as_matrix(cov, "cov", (k, k))
        full_cov = np.zeros((k + 1, k + 1))
        full_cov[1:, 1:] = cov
        return cls(np.r_[1.0, mean], full_cov, name=name or f"x = (1, z), z ~ N(mean, cov) in R^{k}")

    def __repr__(self) -> str:
        return f"GaussianDesign(mean={self.mean.tolist()}, cov={self.cov.tolist()})"

    def check_beta(self, beta, name: str = "beta") -> np.ndarray:
        beta = _as_matrix(beta, name)
        if beta.ndim != 1 or beta.size != self.dim:
            raise ValueError(
                f"{name} must be a vector of length {self.dim} (one entry per covariate of the design, "
                f"intercept included), got shape {beta.shape}"
            )
        a = self._M.T @ beta
        top = float(np.abs(a).max(initial=0.0))
        sd = top * float(np.linalg.norm(a / top)) if top > 0 else 0.0  # scaled: beta = 1e300 must not overflow
        mean = float(self.mean @ beta)
        if not (sd <= MAX_SCORE_SD and abs(mean) <= MAX_SCORE_MEAN):
            raise ValueError(
                f"{name}={beta.tolist()} is outside the range the theory engine computes correctly: the score "
                f"{name}'x has mean {mean:.3g} and standard deviation {sd:.3g} under {self.name}, and both must be "
                f"finite with |mean| <= {MAX_SCORE_MEAN:g} and sd <= {MAX_SCORE_SD:g}"
            )
        return beta

    def frame(self, b, beta) -> _Frame:
        return _Frame(self, b, beta)


@functools.lru_cache(maxsize=1)
def nominal_design() -> GaussianDesign:
    """The paper's nominal design (20): x = (1, x2), x2 ~ N(0, 1)."""
    return GaussianDesign.with_intercept([0.0], [[1.0]], name="paper design (20): x = (1, x2), x2 ~ N(0, 1)")


@functools.lru_cache(maxsize=None)
def _legendre(order: int):
    return np.polynomial.legendre.leggauss(order)


def _rule_1d(level: int, base_panels: int, breaks) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes and N(0, 1)-density weights on [-10, 10].

    The base panels (uniform, plus edges at ``breaks``) are each split into
    2^level equal parts, so that every panel, graded ones included, is
    refined from one level to the next and the level difference is an
    honest error estimate.
    """
    edges = np.linspace(-_HALF_WIDTH, _HALF_WIDTH, base_panels + 1)
    breaks = np.asarray(breaks, dtype=np.float64)
    breaks = breaks[np.abs(breaks) < _HALF_WIDTH]
    if breaks.size:
        edges = np.unique(np.concatenate([edges, breaks]))
    k = 2 ** level
    frac = np.arange(k) / k
    edges = np.append((edges[:-1, None] + np.diff(edges)[:, None] * frac).ravel(), edges[-1])
    x, w = _legendre(_ORDER)
    mid = 0.5 * (edges[1:] + edges[:-1])
    half = 0.5 * (edges[1:] - edges[:-1])
    nodes = (mid[:, None] + half[:, None] * x).ravel()
    weights = (half[:, None] * w).ravel() * np.exp(-0.5 * nodes * nodes) / math.sqrt(2 * math.pi)
    return nodes, weights


@functools.lru_cache(maxsize=None)
def _uniform_rule(level: int, base_panels: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_rule_1d` without breaks: the same for every parameter, so made once (read-only)."""
    nodes, weights = _rule_1d(level, base_panels, [])
    nodes.flags.writeable = weights.flags.writeable = False
    return nodes, weights


def _graded(centre: float, width: float, base_width: float) -> np.ndarray:
    """Panel edges at centre +- width 2^j, up to the base panel width.

    A score with a large coefficient makes the integrand change on a scale
    far below any uniform panel (sigma(a w) for a = 1e6); geometric grading
    around the score's zero resolves every scale with a few panels.
    """
    if width >= base_width:
        return np.array([centre])
    steps = width * 2.0 ** np.arange(0, math.ceil(math.log2(base_width / width)))
    return np.concatenate(([centre], centre - steps, centre + steps))


@dataclass
class Moments:
    """E[h], E[h X], E[h X X'] for each row h of an integrand."""

    m0: np.ndarray  # (k,)
    m1: np.ndarray  # (k, d)
    m2: np.ndarray  # (k, d, d)

    def __sub__(self, other: Moments) -> Moments:
        return Moments(self.m0 - other.m0, self.m1 - other.m1, self.m2 - other.m2)

    def max_abs(self) -> np.ndarray:
        """Largest absolute entry of each row over its three moments."""
        return np.maximum(np.abs(self.m0), np.maximum(np.abs(self.m1).max(axis=1),
                                                      np.abs(self.m2).max(axis=(1, 2))))


class _Frame:
    """Scores s_b = cb + ab'w, s_t = ct + at'w over r <= 2 standard normals w."""

    def __init__(self, design: GaussianDesign, b, beta):
        self.design = design
        M = design._M
        a_b, a_t = M.T @ b, M.T @ beta
        basis = []
        for a in (a_b, a_t):
            v = a - sum((q @ a) * q for q in basis)
            norm = np.linalg.norm(v)
            if norm > 1e-12 * max(1.0, np.linalg.norm(a)):
                basis.append(v / norm)
        Q = np.array(basis).reshape(len(basis), M.shape[1])
        self.r = len(basis)
        self.cb, self.ct = float(design.mean @ b), float(design.mean @ beta)
        self.ab, self.at = Q @ a_b, Q @ a_t
        self.G = M @ Q.T  # E[X | w] = mean + G w
        self.V = M @ (np.eye(M.shape[1]) - Q.T @ Q) @ M.T

    def nodes(self, level: int, b_margins) -> tuple[np.ndarray, np.ndarray]:
        """Quadrature nodes w (n, r) and weights; panel edges where s_b hits b_margins."""
        if self.r == 0:
            return np.zeros((1, 0)), np.ones(1)
        n = _BASE_PANELS[self.r]
        base_width = 2 * _HALF_WIDTH / n
        breaks1 = []
        if abs(self.ab[0]) > 0:
            breaks1 = (np.asarray(b_margins, dtype=np.float64) - self.cb) / self.ab[0]
            breaks1 = np.concatenate((breaks1, _graded(-self.cb / self.ab[0], 1 / abs(self.ab[0]), base_width)))
        if self.r == 1:
            if abs(self.at[0]) > 0:
                breaks1 = np.concatenate((breaks1, _graded(-self.ct / self.at[0], 1 / abs(self.at[0]), base_width)))
            w, wt = _rule_1d(level, n, breaks1)
            return w[:, None], wt
        w1, wt1 = _rule_1d(level, n, breaks1)
        w2, wt2 = _uniform_rule(level, n)
        W = np.stack(np.meshgrid(w1, w2, indexing="ij"), axis=-1).reshape(-1, 2)
        return W, np.outer(wt1, wt2).ravel()

    def moments(self, integrand, level: int, b_margins, with_tail: bool = False):
        W, wt = self.nodes(level, b_margins)
        s_b = self.cb + W @ self.ab
        s_t = self.ct + W @ self.at
        H = np.atleast_2d(integrand(s_b, s_t))
        if not np.all(np.isfinite(H)):
            raise IntegrationError("the integrand is not finite at some quadrature node "
                                   "(the loss or its derivatives overflow for this design and parameter)")
        X = self.design.mean + W @ self.G.T
        Hw = H * wt
        m0 = Hw.sum(axis=1)
        m1 = Hw @ X
        m2 = np.einsum("kn,ni,nj->kij", Hw, X, X) + m0[:, None, None] * self.V
        moments = Moments(m0, m1, m2)
        if not with_tail:
            return moments
        # The rule ignores the normal mass beyond |w| = 10. It is negligible unless the integrand grows
        # towards the edge as fast as the density falls (a score whose zero lies far out, where all the
        # mass of a near-step sigma sits): estimate it as integrand x density x (1 + |X|)^2 at the
        # outermost nodes, one unit of width beyond.
        if self.r == 0:
            return moments, np.zeros(H.shape[0])
        edge = np.abs(W).max(axis=1) >= np.abs(W).max() - 1e-9
        dens = np.exp(-0.5 * (W[edge] ** 2).sum(axis=1)) / (2 * math.pi) ** (self.r / 2)
        size = (1.0 + np.abs(X[edge]).max(axis=1)) ** 2 + float(np.abs(self.V).max())
        return moments, (np.abs(H[:, edge]) * dens * size).max(axis=1)


def moments_at(design: GaussianDesign, b, beta, integrand, b_margins=(), level: int = 0) -> Moments:
    """Moments at one quadrature level, without an error estimate (for inner solver iterations)."""
    return design.frame(b, beta).moments(integrand, level, b_margins)


def expect(design: GaussianDesign, b, beta, integrand, b_margins=(), *, rtol=1e-11, atol=1e-13,
           level: int | None = None):
    """Moments of integrand(s_b, s_t) with error control.

    Returns (fine, coarse, level): the moments at the two last levels (the
    finer is the answer; derived quantities computed from both give their
    integration error) and the coarse level.  With ``level`` given, that level
    and the next are computed once and no refinement is attempted (the caller
    checks the error).
    """
    frame = design.frame(b, beta)
    if frame.r == 0:
        m = frame.moments(integrand, 0, b_margins)
        return m, m, 0
    start = 0 if level is None else level
    stop = _MAX_LEVEL[frame.r] if level is None else level
    coarse, tail = frame.moments(integrand, start, b_margins, with_tail=True)
    if np.any(tail > atol + rtol * coarse.max_abs()):
        raise IntegrationError(
            f"the population integral over {design.name} has mass beyond 10 standard deviations of the "
            f"design (the score's zero or peak lies too far out for parameters {np.round(b, 6).tolist()} and "
            f"{np.round(beta, 6).tolist()}); reduce the intercept relative to the slopes"
        )
    for lev in range(start, stop + 1):
        fine = frame.moments(integrand, lev + 1, b_margins)
        err = (fine - coarse).max_abs()
        if level is not None or np.all(err <= atol + rtol * fine.max_abs()):
            return fine, coarse, lev
        coarse = fine
    raise IntegrationError(
        f"the population integral over {design.name} did not converge: after "
        f"{2 ** (stop + 1)} subdivisions of each base panel the estimated error is still "
        f"{float(err.max()):.3g} (tolerance {atol:g} + {rtol:g} x magnitude); the integrand is "
        "too sharp or not integrable for this parameter"
    )
