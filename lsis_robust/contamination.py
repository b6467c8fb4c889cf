"""Seeded, composable data generators and contaminations for binary logistic models.

A :class:`Sample` holds a design ``X`` (intercept column first), labels ``y``
in {0, 1} and a boolean mask ``contaminated`` of the rows a contamination
changed.  Samplers draw clean data:

* :func:`sample_nominal`: the paper's nominal distribution (20): x = (1, z),
  z ~ N(0, I), P(Y = 1 | x) = sigma(beta'x);
* :func:`sample_mvn_logistic`: the same logistic model with z ~ N(mean, cov).

Contaminations are small objects called as ``c(sample, rng)``; they return a
new sample (the input is never modified) with ``contaminated`` OR-ed in, so
they compose with :class:`Compose`:

* :class:`PointMass`: the point-mass contamination (27) at (x_c, y_c);
* :class:`LabelFlip`: random label flips;
* :class:`AdversarialFlip`: flips of the most confidently classified rows;
* :class:`LeverageOutliers`: covariates moved far out with the wrong label.

Every rate-based contamination has ``mode="exact"`` (exactly round(rate n)
rows, chosen at random) or ``mode="bernoulli"`` (each row independently with
probability ``rate``).
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from ._validation import check_beta, check_option, check_rate, check_real, check_size, check_vector

__all__ = [
    "Sample",
    "sample_nominal",
    "sample_mvn_logistic",
    "PointMass",
    "LabelFlip",
    "AdversarialFlip",
    "LeverageOutliers",
    "Compose",
    "contaminate",
]

_MODES = ("exact", "bernoulli")


@dataclass(frozen=True)
class Sample:
    X: np.ndarray  # (n, d), intercept column first
    y: np.ndarray  # (n,) in {0, 1}
    contaminated: np.ndarray = field(default=None)  # (n,) bool

    def __post_init__(self):
        X = np.asarray(self.X, dtype=np.float64)
        y = np.asarray(self.y)
        if X.ndim != 2 or y.shape != (X.shape[0],):
            raise ValueError(f"Sample needs X of shape (n, d) and y of shape (n,), got {X.shape} and {y.shape}")
        if not np.isin(y, (0, 1)).all():
            raise ValueError("Sample labels y must be 0 or 1")
        mask = np.zeros(X.shape[0], dtype=bool) if self.contaminated is None else np.asarray(self.contaminated, bool)
        if mask.shape != y.shape:
            raise ValueError(f"contaminated mask has shape {mask.shape}, expected {y.shape}")
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y.astype(np.int64))
        object.__setattr__(self, "contaminated", mask)

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def y_pm(self) -> np.ndarray:
        return 2.0 * self.y - 1.0


def _rng(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy Generator, SeedSequence, integer seed or None, got {type(rng).__name__}")


def _labels(X, beta, rng) -> np.ndarray:
    p = 0.5 * (1.0 + np.tanh(0.5 * (X @ beta)))  # sigma(s) without overflow
    return (rng.random(X.shape[0]) < p).astype(np.int64)


def sample_nominal(n, beta, rng=None) -> Sample:
    """n draws from the nominal distribution (20): x = (1, z), z ~ N(0, I_{d-1}), P(Y=1|x) = sigma(beta'x)."""
    n = check_size(n, minimum=1)
    beta = check_beta(beta)
    rng = _rng(rng)
    X = np.column_stack([np.ones(n), rng.standard_normal((n, beta.size - 1))])
    return Sample(X, _labels(X, beta, rng))


def sample_mvn_logistic(n, beta, mean=None, cov=None, rng=None) -> Sample:
    """n draws of x = (1, z), z ~ N(mean, cov), from the logistic model with coefficients beta."""
    n = check_size(n, minimum=1)
    beta = check_beta(beta)
    rng = _rng(rng)
    k = beta.size - 1
    mean = np.zeros(k) if mean is None else np.asarray(mean, dtype=np.float64)
    cov = np.eye(k) if cov is None else np.asarray(cov, dtype=np.float64)
    if mean.shape != (k,) or cov.shape != (k, k):
        raise ValueError(f"mean must have shape ({k},) and cov ({k}, {k}) for beta of length {k + 1}; "
                         f"got {mean.shape} and {cov.shape}")
    if not np.allclose(cov, cov.T) or np.linalg.eigvalsh(cov).min() < -1e-12:
        raise ValueError("cov must be a symmetric positive semi-definite matrix")
    Z = rng.multivariate_normal(mean, cov, size=n, method="eigh")
    X = np.column_stack([np.ones(n), Z])
    return Sample(X, _labels(X, beta, rng))


def _pick_rows(n, rate, mode, rng, candidates=None):
    """Rows to contaminate: exactly round(rate n) at random, or each with probability rate."""
    if mode == "exact":
        k = int(round(rate * n))
        pool = np.arange(n) if candidates is None else candidates
        return np.sort(rng.choice(pool, size=min(k, pool.size), replace=False))
    hit = rng.random(n) < rate
    return np.flatnonzero(hit)


def _count(n, rate, mode, rng):
    return int(round(rate * n)) if mode == "exact" else int(rng.binomial(n, rate))


class _Contamination:
    def __call__(self, sample: Sample, rng=None) -> Sample:
        if not isinstance(sample, Sample):
            raise TypeError(f"contaminations apply to a Sample, got {type(sample).__name__}")
        return self._apply(sample, _rng(rng))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class PointMass(_Contamination):
    """Point-mass contamination (27): a share eps of the rows is replaced by (x_c, y_c), y_c in {-1, +1}.

    ``x_c`` includes the intercept entry (the paper's x_c = (1, x_c2)).
    """

    def __init__(self, eps, x_c, y_c, mode="exact"):
        self.eps = check_rate(eps)
        x_c = check_vector(x_c, "x_c", what=" (intercept entry first)")
        if y_c not in (-1, 1):
            raise ValueError(f"y_c={y_c!r} is invalid; the contaminating label is -1 or +1")
        self.x_c, self.y_c, self.mode = x_c, int(y_c), check_option(mode, "mode", _MODES)

    def _apply(self, sample, rng):
        if self.x_c.size != sample.X.shape[1]:
            raise ValueError(f"x_c has {self.x_c.size} entries but the design has {sample.X.shape[1]} columns")
        rows = _pick_rows(sample.n, self.eps, self.mode, rng)
        X, y, mask = sample.X.copy(), sample.y.copy(), sample.contaminated.copy()
        X[rows] = self.x_c
        y[rows] = (self.y_c + 1) // 2
        mask[rows] = True
        return Sample(X, y, mask)


class LabelFlip(_Contamination):
    """Flip the labels of a random share ``rate`` of the rows."""

    def __init__(self, rate, mode="exact"):
        self.rate, self.mode = check_rate(rate, "rate"), check_option(mode, "mode", _MODES)

    def _apply(self, sample, rng):
        rows = _pick_rows(sample.n, self.rate, self.mode, rng)
        y, mask = sample.y.copy(), sample.contaminated.copy()
        y[rows] = 1 - y[rows]
        mask[rows] = True
        return Sample(sample.X, y, mask)


class AdversarialFlip(_Contamination):
    """Flip the labels of the rows that ``beta`` classifies most confidently and correctly first.

    Rows are ranked by the margin y_pm x'beta, largest first (ties broken at
    random); the top round(rate n) rows (exact) or Binomial(n, rate) rows
    (bernoulli) are flipped.
    """

    def __init__(self, rate, beta, mode="exact"):
        self.rate, self.beta, self.mode = check_rate(rate, "rate"), check_beta(beta), check_option(mode, "mode", _MODES)

    def _apply(self, sample, rng):
        if self.beta.size != sample.X.shape[1]:
            raise ValueError(f"beta has {self.beta.size} entries but the design has {sample.X.shape[1]} columns")
        k = _count(sample.n, self.rate, self.mode, rng)
        margin = sample.y_pm * (sample.X @ self.beta)
        order = np.lexsort((rng.random(sample.n), -margin))
        rows = np.sort(order[:k])
        y, mask = sample.y.copy(), sample.contaminated.copy()
        y[rows] = 1 - y[rows]
        mask[rows] = True
        return Sample(sample.X, y, mask)


class LeverageOutliers(_Contamination):
    """Move a share ``rate`` of the rows far out in covariate space and give them the wrong label.

    The non-intercept covariates of a chosen row become ``distance`` times a
    random unit direction; its label is the one that ``beta`` finds less
    likely there (label 0 where beta'x > 0, else 1), so each outlier is
    both high-leverage and misclassified.
    """

    def __init__(self, rate, beta, distance=10.0, mode="exact"):
        self.rate, self.beta, self.mode = check_rate(rate, "rate"), check_beta(beta), check_option(mode, "mode", _MODES)
        self.distance = check_real(distance, "distance", 0.0, low_open=True)

    def _apply(self, sample, rng):
        d = sample.X.shape[1]
        if self.beta.size != d or d < 2:
            raise ValueError(f"beta has {self.beta.size} entries but the design has {d} columns (need >= 2)")
        rows = _pick_rows(sample.n, self.rate, self.mode, rng)
        u = rng.standard_normal((rows.size, d - 1))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        X, y, mask = sample.X.copy(), sample.y.copy(), sample.contaminated.copy()
        X[rows, 1:] = self.distance * u
        y[rows] = (X[rows] @ self.beta <= 0).astype(np.int64)
        mask[rows] = True
        return Sample(X, y, mask)


class Compose(_Contamination):
    """Apply contaminations in order, each with its own child of the generator's seed."""

    def __init__(self, steps):
        steps = list(steps)
        if not steps or not all(callable(s) for s in steps):
            raise ValueError("Compose needs a non-empty list of contaminations")
        self.steps = steps

    def _apply(self, sample, rng):
        for step, child in zip(self.steps, rng.spawn(len(self.steps))):
            sample = step(sample, child)
        return sample


def contaminate(sample: Sample, contaminations, seed=None) -> Sample:
    """Apply one contamination or a list of them to ``sample``, seeded by ``seed``."""
    steps = contaminations if isinstance(contaminations, (list, tuple)) else [contaminations]
    return Compose(steps)(sample, _rng(seed))
