"""Speed ratios of issues 2 and 13, measured in one run on the same data.

* CH and BY fits (``RobustLogisticRegression(loss="ch"/"by")``, defaults) against
  R's robustbase ``glmrob(method="BY")``, whose objective is CH's (the reference of
  both; ``scripts/bench_robustbase.R``), on a set of shapes: clean, 5%
  point-contaminated and 10% leverage-contaminated samples, n = 10^3, 10^4, 10^5
  and d = 1, 2, 5, 10 covariates (an intercept is fitted besides).  Each shape is
  timed against robustbase right after our fits, and the worst and the median
  ratio robustbase / ours are reported at n = 10^4 and over all shapes.  The R
  part is optional: without ``Rscript`` and robustbase
  (``apt-get install r-cran-robustbase``), or with ``--no-r``, only our times
  are reported.
* the LR fit (n = 10^5, d = 20) against statsmodels ``Logit(...).fit()``;
* peak memory of the n = 10^5 fits against the size of the data (O(n d)).

``--quick`` (for CI and the tests) times n = 10^3 and d = 1, 2 once, without the
last two parts.

Usage: python -m lsis_robust.bench.foundation [--repeats 5] [--r-repeats 3] [--quick] [--no-r] [--json OUT]
           [--sizes 1000 10000 100000] [--dims 1 2 5 10] [--samples clean point leverage]
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
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import int_at_least
from ..contamination import LeverageOutliers, PointMass, sample_mvn_logistic
from ..estimators import RobustLogisticRegression
from . import repository_path

SAMPLES = ("clean", "point", "leverage")
SIZES = (1_000, 10_000, 100_000)
DIMS = (1, 2, 5, 10)
LOSSES = ("ch", "by")
TARGET_N = 10_000  # the size at which issue 13 sets its targets


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


def shape_sample(kind, n, d, seed=0):
    """(X (n, d) without the intercept, y in {0, 1}) of one benchmark shape.

    The clean sample is the logistic model with x ~ N(0, I_d), intercept 0 and slopes of total size 2.
    ``point``: 5% of the rows moved to one point 3 units out along the slopes' direction, labelled 0 (its
    model probability of 1 is 0.9975); ``leverage``: 10% of the rows moved to distance 10 in random
    directions, each with the label the model finds less likely there.
    """
    if kind not in SAMPLES:
        raise ValueError(f"sample kind {kind!r} is unknown; use one of {SAMPLES}")
    rng = np.random.default_rng(seed)
    beta = np.concatenate([[0.0], np.full(d, 2 / np.sqrt(d))])
    sample = sample_mvn_logistic(n, beta, rng=rng)
    if kind == "point":
        sample = PointMass(0.05, np.concatenate([[1.0], 1.5 * beta[1:]]), -1)(sample, rng)
    elif kind == "leverage":
        sample = LeverageOutliers(0.10, beta, distance=10.0)(sample, rng)
    return sample.X[:, 1:], np.asarray(sample.y, dtype=int)


def robustbase_seconds(X, y, repeats):
    """(median seconds of robustbase's glmrob BY fit, None) or (None, why it was not timed)."""
    if shutil.which("Rscript") is None:
        return None, "Rscript not found (apt-get install r-cran-robustbase)"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        pd.DataFrame({**{f"x{j + 1}": X[:, j] for j in range(X.shape[1])}, "y": y}).to_csv(path, index=False)
        script = repository_path("scripts", "bench_robustbase.R")
        out = subprocess.run(["Rscript", str(script), str(path), str(repeats)], capture_output=True, text=True)
    if out.returncode != 0:
        return None, f"Rscript failed: {out.stderr.strip()[-300:]}"
    values = dict(line.split() for line in out.stdout.strip().splitlines())
    return float(values["robustbase_BY_seconds"]), None


def shape_table(samples, sizes, dims, repeats, r_repeats, use_r):
    """One row per shape and loss: our median fit time, robustbase's, and their ratio (NaN without R)."""
    rows = []
    why = "not timed (--no-r)"
    for n in sizes:
        for d in dims:
            for kind in samples:
                X, y = shape_sample(kind, n, d)
                # CH and BY alternate, so that a burst of load on a shared machine does not land on one of them.
                fits = {loss: (lambda loss=loss: _fit_quietly(loss, X, y)) for loss in LOSSES}
                times = interleaved_median_times(fits, repeats)
                rb = None
                if use_r:
                    rb, why = robustbase_seconds(X, y, r_repeats)
                for loss, t in times.items():
                    rows.append({"sample": kind, "n": n, "d": d, "loss": loss, "fit [s]": t,
                                 "robustbase [s]": np.nan if rb is None else rb,
                                 "ratio": np.nan if rb is None else rb / t})
    return pd.DataFrame(rows), (None if rows and not np.isnan(rows[0]["ratio"]) else why)


def _fit_quietly(loss, X, y):
    with warnings.catch_warnings():  # a contaminated shape may warn; what is timed is the fit
        warnings.simplefilter("ignore")
        return RobustLogisticRegression(loss=loss).fit(X, y)


def ratio_summary(table):
    """Worst and median ratio, at n = 10^4 and over all shapes, per loss and for both."""
    out = {}
    for where, part in (("n=1e4", table[table["n"] == TARGET_N]), ("all", table)):
        for loss, sub in [("ch+by", part), *part.groupby("loss", sort=False)]:
            ratios = sub["ratio"].dropna()
            if ratios.size:
                out[f"{loss} {where}"] = {"worst": float(ratios.min()), "median": float(ratios.median()),
                                          "shapes": int(ratios.size)}
    return out


def foundation_rows(repeats):
    """The LR fit against statsmodels and the peak memory of the n = 10^5 fits (issue 2)."""
    import statsmodels.api as sm  # here, not at the top: the asv suite imports this module for its shapes

    rows = {}
    X, y = logistic_data(100_000, 20, np.linspace(0.5, -0.5, 20), seed=1)
    exog = sm.add_constant(X)
    t_sm = median_time(lambda: sm.Logit(y, exog).fit(disp=0), repeats)
    t_lr = median_time(lambda: RobustLogisticRegression().fit(X, y), repeats)
    rows["statsmodels Logit n=1e5 d=20 [s]"] = t_sm
    rows["lr fit n=1e5 d=20 [s]"] = t_lr
    rows["statsmodels / lr fit"] = t_sm / t_lr
    for loss in ("lr", "ch"):
        tracemalloc.start()
        RobustLogisticRegression(loss=loss).fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rows[f"peak memory {loss} fit n=1e5 d=20 / size of X"] = peak / X.nbytes
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m lsis_robust.bench.foundation", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int_at_least(1), default=5,
                        help="timed fits per shape and loss (after a warm-up)")
    parser.add_argument("--r-repeats", type=int_at_least(1), default=3, help="timed robustbase fits per shape")
    parser.add_argument("--quick", action="store_true", help="n = 1000, d = 1, 2, one repeat, shapes only")
    parser.add_argument("--no-r", action="store_true", help="do not time robustbase")
    parser.add_argument("--sizes", type=int_at_least(50), nargs="+")
    parser.add_argument("--dims", type=int_at_least(1), nargs="+")
    parser.add_argument("--samples", nargs="+", choices=SAMPLES)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    sizes = args.sizes or ((1_000,) if args.quick else SIZES)
    dims = args.dims or ((1, 2) if args.quick else DIMS)
    repeats = 1 if args.quick else args.repeats
    table, why = shape_table(args.samples or SAMPLES, sizes, dims, repeats, 1 if args.quick else args.r_repeats,
                             not args.no_r)
    summary = ratio_summary(table)
    with pd.option_context("display.width", 200, "display.max_rows", None):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if why:
        print(f"robustbase: {why}")
    for key, s in summary.items():
        print(f"ratio robustbase / {key}: worst {s['worst']:.1f}x, median {s['median']:.1f}x ({s['shapes']} shapes)")
    rows = {} if args.quick else foundation_rows(args.repeats)
    width = max(map(len, rows), default=0)
    for key, value in rows.items():
        print(f"{key:<{width}}  {value:.4g}")
    if args.json:
        shapes = table.astype(object).where(table.notna(), None)  # null, not NaN: strict JSON
        args.json.write_text(json.dumps({"shapes": shapes.to_dict(orient="records"), "ratios": summary,
                                         "robustbase": why or "timed", **rows}, indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
