"""Shared pieces of the asv suite: an empty base class, seeded cached data and skips."""
from __future__ import annotations

import functools

import numpy as np


class Benchmark:
    """Base class of every benchmark (kept empty, as in numpy/scipy's suites)."""


def skip(reason: str):
    """Skip the calling benchmark: asv treats NotImplementedError in setup as 'skipped'."""
    raise NotImplementedError(reason)


@functools.lru_cache(maxsize=None)
def logistic_data(n: int, d: int, seed: int = 0, beta_scale: float = 1.0):
    """Seeded logistic-model data: X (n, d) with an intercept column first, y in {0, 1}."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.standard_normal((n, d - 1))]) if d > 1 else np.ones((n, 1))
    beta = beta_scale * np.linspace(0.5, -0.5, d)
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ beta))).astype(float)
    return X, y, beta
