#!/usr/bin/env python
"""Speed ratios of issue 2, measured in one run on the same data.

* CH and BY fits (n = 10^4, d = 2) against R's robustbase ``glmrob(method="BY")``
  (needs ``Rscript`` with robustbase: ``apt-get install r-cran-robustbase``);
* the LR fit (n = 10^5, d = 20) against statsmodels ``Logit(...).fit()``;
* peak memory of the n = 10^5 fits against the size of the data (O(n d)).

Usage: python scripts/bench_foundation.py [--repeats 7] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm

from lsis_robust import RobustLogisticRegression

ROOT = Path(__file__).resolve().parent.parent


def median_time(fn, repeats):
    fn()  # warm-up: imports and caches are not what is being compared
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def interleaved_median_times(fns, repeats):
    """Median seconds per call of each function, the functions called in turn in every round."""
    for fn in fns.values():
        fn()  # warm-up
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(t)) for name, t in times.items()}


def logistic_data(n, d, beta, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d - 1))
    y = (rng.random(n) < 1 / (1 + np.exp(-(beta[0] + X @ beta[1:])))).astype(int)
    return X, y


def robustbase_seconds(X, y, repeats):
    if shutil.which("Rscript") is None:
        return None, "Rscript not found (apt-get install r-cran-robustbase)"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        pd.DataFrame({**{f"x{j + 1}": X[:, j] for j in range(X.shape[1])}, "y": y}).to_csv(path, index=False)
        out = subprocess.run(["Rscript", str(ROOT / "scripts" / "bench_robustbase.R"), str(path), str(repeats)],
                             capture_output=True, text=True)
    if out.returncode != 0:
        return None, f"Rscript failed: {out.stderr.strip()[-300:]}"
    values = dict(line.split() for line in out.stdout.strip().splitlines())
    return float(values["robustbase_BY_seconds"]), None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    rows = {}

    X, y = logistic_data(10_000, 2, np.array([0.0, 2.0]), seed=0)
    rb, why = robustbase_seconds(X, y, args.repeats)
    # CH and BY fits alternate, so that a burst of load on a shared machine does not land on one of them only.
    fits = {loss: (lambda loss=loss: RobustLogisticRegression(loss=loss).fit(X, y)) for loss in ("ch", "by")}
    times = interleaved_median_times(fits, args.repeats)
    for loss, t in times.items():
        rows[f"{loss} fit n=1e4 d=2 [s]"] = t
        if rb is not None:
            rows[f"robustbase glmrob BY / {loss} fit"] = rb / t
    rows["robustbase glmrob BY n=1e4 d=2 [s]"] = rb if rb is not None else why

    X, y = logistic_data(100_000, 20, np.linspace(0.5, -0.5, 20), seed=1)
    exog = sm.add_constant(X)
    t_sm = median_time(lambda: sm.Logit(y, exog).fit(disp=0), args.repeats)
    t_lr = median_time(lambda: RobustLogisticRegression().fit(X, y), args.repeats)
    rows["statsmodels Logit n=1e5 d=20 [s]"] = t_sm
    rows["lr fit n=1e5 d=20 [s]"] = t_lr
    rows["statsmodels / lr fit"] = t_sm / t_lr

    for loss in ("lr", "ch"):
        tracemalloc.start()
        RobustLogisticRegression(loss=loss).fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rows[f"peak memory {loss} fit n=1e5 d=20 / size of X"] = peak / X.nbytes

    width = max(map(len, rows))
    for key, value in rows.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {shown}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
