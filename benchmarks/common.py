"""Shared pieces of the asv suite: an empty base class, seeded cached data and skips."""
from __future__ import annotations

import functools
import runpy
from pathlib import Path

import numpy as np

# asv imports this package from the working tree's benchmarks/ (the benchmark_dir of asv.conf.json), never
# from a copy or from the installed project, so the repository's other folders sit next to it.
REPO_ROOT = Path(__file__).resolve().parent.parent


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


@functools.lru_cache(maxsize=None)
def robustbase_refs() -> dict:
    """R robustbase's stored fits (``REFS`` of tests/results/robustbase_refs.py).

    Read from the test folder rather than copied here, so that regenerating
    that file with its R script updates the tests and the tracked numbers
    together.  It is plain literals, so runpy needs neither tests/ on the path
    nor the package.
    """
    return runpy.run_path(str(REPO_ROOT / "tests" / "results" / "robustbase_refs.py"))["REFS"]


@functools.lru_cache(maxsize=None)
def robustbase_data(name: str):
    """(X without intercept, y in {0, 1}) of a data set that robustbase was fitted on.

    The real data sets come from the package's loaders (which read
    ``datasets/``); ``synthetic`` is the CSV that the reference script wrote.
    """
    if name == "synthetic":
        import pandas as pd

        df = pd.read_csv(REPO_ROOT / robustbase_refs()[name]["csv"])
        return df[["x1"]].to_numpy(dtype=float), df["y"].to_numpy(dtype=int)
    from lsis_robust.datasets import load_dataset

    data = load_dataset(name)
    return data.X.to_numpy(dtype=float), np.asarray(data.y, dtype=int)
