"""Real-data study: every method on vaso, foodstamp, leukemia and breast cancer.

Per data set and method: the coefficients with sandwich standard errors
(RobustLogisticRegression.summary), the leave-one-out (n <= 200; else
3 x 10-fold cross-validated) misclassification rate, surrogate risk (the method's own loss at the
held-out margin) and log-loss, and the observations each method downweights
(its weight phi'(m) / phi_LR'(m) = psi(v)/v at the full-data fit).

The held-out fits of a method are one batched fit: the design is
shared and each problem gives weight 0 to its held-out rows (one LinearMarginLoss), with the
same starts as the estimator.  Breast-cancer covariates are standardised
(30 features on very different scales).

Each (data set, method) cell is a task of the studies' executor (``run_grid``):
the cells run in parallel over joblib workers or a dask cluster, each with
single-threaded BLAS, so the tables are identical for any number of jobs.
(The batched fit is not split across tasks: how many problems share one
batch changes the rounding of the matrix products.)
"""
from __future__ import annotations

import functools
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_out_dir, check_real
from ..paper import DEFAULT_METHODS, REALDATA_SETS
from ._grid import Task, run_grid
from .common import StudyOutputs, loss_source_digest, predict_pm, resolve_methods, study_settings

__all__ = ["run_and_write", "run_realdata", "realdata_method", "realdata_task"]


_LOO_MAX = 200


def _held_out(n, folds=10, repeats=3, seed=0):
    """Leave-one-out for n <= 200, else 3 x 10-fold cross-validation (fixed seed); (problems, n) bool."""
    if n <= _LOO_MAX:
        return np.eye(n, dtype=bool)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(repeats):
        fold = rng.permutation(n) % folds
        out.extend(fold == f for f in range(folds))
    return np.array(out)


@functools.lru_cache(maxsize=None)  # a worker runs several methods on the same data set
def _load(name):
    from ..datasets import load_dataset, standardise

    ds = load_dataset(name)
    X = ds.X.astype(float)
    if name == "breast_cancer":
        # load_dataset has standardised these covariates already; the study's second pass moves them by rounding
        # only (< 1e-14), and is kept so that the committed realdata tables regenerate byte-identically.
        X = standardise(X)
    return X, np.asarray(ds.y, dtype=int)


def realdata_method(name, spec, X, y):
    """Coefficient rows, LOO metrics and per-observation weights of one method on one data set."""
    from sklearn.exceptions import ConvergenceWarning

    from ..estimators import RobustLogisticRegression
    from ..losses import LR
    from ..fitting import fit_batch

    loss = resolve_methods([spec])[spec]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        est = RobustLogisticRegression(loss=loss).fit(X, y)
    coef = est.summary().reset_index()
    coef.insert(0, "method", spec)
    coef.insert(0, "dataset", name)
    coef["converged"] = est.converged_
    Z = np.column_stack([np.ones(len(y)), np.asarray(X, dtype=float)])
    y_pm = 2.0 * y - 1.0
    n = len(y)
    held = _held_out(n)  # (B, n) bool: rows each problem leaves out
    cv = fit_batch(loss, Z, np.tile(y_pm, (held.shape[0], 1)), (~held).astype(float))
    scores = cv.beta @ Z.T
    margin = (y_pm * scores)[held]
    wrong = predict_pm(loss, scores)[held] != np.broadcast_to(y_pm, held.shape)[held]
    metrics = {"dataset": name, "method": spec, "n": n, "validation": "loo" if n <= _LOO_MAX else "10-fold x3",
               "misclassification": float(wrong.mean()), "surrogate_risk": float(np.mean(loss.phi(margin))),
               "logloss": float(np.mean(LR().phi(margin))), "cv_not_converged": int((~cv.converged).sum()),
               "full_converged": bool(est.converged_), "warnings": len(caught)}
    m_full = y_pm * (Z @ est.params_)
    # Separated fits have margins so large that phi' underflows; the weight's limit is reached long before 500.
    weights = pd.DataFrame({"dataset": name, "method": spec, "obs": np.arange(n), "y": y,
                            "margin": m_full, "weight": loss.weight(np.clip(m_full, -500, 500))})
    return coef, metrics, weights


# A task returns plain arrays (what the executor can send and cache): each table as its columns.
_TABLES = ("coef", "metrics", "weights")


def _to_arrays(prefix, frame):
    cols = list(frame.columns)
    out = {f"{prefix}.columns": np.array(cols, dtype=str)}
    for i, c in enumerate(cols):
        v = frame[c].to_numpy()
        out[f"{prefix}.{i}"] = v.astype(str) if v.dtype == object else v
    return out


def _from_arrays(prefix, res):
    return pd.DataFrame({c: (res[f"{prefix}.{i}"].astype(object) if res[f"{prefix}.{i}"].dtype.kind == "U"
                             else res[f"{prefix}.{i}"]) for i, c in enumerate(res[f"{prefix}.columns"])})


def realdata_task(params, ss):
    """One (data set, method) cell as arrays: the three tables of :func:`realdata_method` column by column."""
    name, spec = params["dataset"], params["method"]
    coef, metrics, weights = realdata_method(name, spec, *_load(name))
    frames = (coef, pd.DataFrame([metrics]), weights)
    return {k: v for prefix, frame in zip(_TABLES, frames) for k, v in _to_arrays(prefix, frame).items()}


def realdata_grid(datasets=REALDATA_SETS, methods=DEFAULT_METHODS):
    """The validated task list: one task per (data set, method)."""
    losses = resolve_methods(methods)
    datasets = list(datasets)
    bad = [d for d in datasets if d not in REALDATA_SETS]
    if bad or not datasets:
        raise ValueError(f"unknown or no data sets {bad or datasets}; choose from {REALDATA_SETS}")
    if len(set(datasets)) != len(datasets):
        raise ValueError(f"data sets are repeated: {datasets}")
    return [Task(key=(d, spec), params=dict(dataset=d, method=spec, loss_source=loss_source_digest(loss)))
            for d in datasets for spec, loss in losses.items()]


def run_realdata(datasets=REALDATA_SETS, methods=DEFAULT_METHODS, progress=True, downweight_below=0.5, top=15, *,
                 n_jobs=1, backend="joblib", scheduler=None, cache_dir=None):
    """Returns (coefficients, LOO metrics, downweighted observations) DataFrames and the wall time.

    The tables are identical for any ``n_jobs`` and ``backend``.
    """
    check_real(downweight_below, "downweight_below", 0.0, 1.0, low_open=True)
    tasks = realdata_grid(datasets, methods)
    methods = list(resolve_methods(methods))
    t0 = time.perf_counter()
    results = run_grid(realdata_task, tasks, n_jobs=n_jobs, backend=backend, scheduler=scheduler,
                       cache_dir=cache_dir, progress=progress, desc="real data")
    coef = pd.concat([_from_arrays("coef", r) for r in results], ignore_index=True)
    metrics = pd.concat([_from_arrays("metrics", r) for r in results], ignore_index=True)
    allw = pd.concat([_from_arrays("weights", r) for r in results], ignore_index=True)
    wide = allw.pivot_table(index=["dataset", "obs", "y"], columns="method", values="weight", sort=False)
    wide = wide[methods].reset_index()
    wide["min_weight"] = wide[methods].min(axis=1)
    low = wide[wide["min_weight"] < downweight_below]
    # Weights that agree to 1e-12 are ties, broken by observation number: on separated data many weights are 0
    # up to rounding (6e-189 from one implementation of a loss, exactly 0 from another), and the rows listed
    # must not depend on that rounding.
    low = (low.assign(_tie=low["min_weight"].round(12)).sort_values(["dataset", "_tie", "obs"], kind="stable")
           .drop(columns="_tie").groupby("dataset", sort=False).head(top))
    return coef, metrics, low.reset_index(drop=True), time.perf_counter() - t0


def run_and_write(out_dir, *, quick=False, datasets=None, methods=None, n_jobs=1, backend="joblib", scheduler=None,
                  progress=True) -> StudyOutputs:
    """Run the real-data study and write its three tables and provenance in ``out_dir``.

    Tables ``realdata_coefficients``, ``realdata_loo`` and
    ``realdata_weights`` (CSV, Markdown, LaTeX).  Settings left None take
    the paper's (``quick``: the quick preset) from
    :data:`lsis_robust.paper.STUDY_SETTINGS`.
    """
    from ..reporting import write_provenance, write_table
    from ._grid import check_execution

    kw = study_settings("realdata", quick, datasets=datasets, methods=methods)
    realdata_grid(kw["datasets"], kw["methods"])  # validates everything before any work
    check_execution(backend, n_jobs, scheduler)
    out_dir = Path(check_out_dir(out_dir, "out_dir"))
    coef, metrics, low, wall = run_realdata(kw["datasets"], kw["methods"], progress=progress, n_jobs=n_jobs,
                                            backend=backend, scheduler=scheduler)
    paths = []
    for stem, df, caption in (
            ("realdata_coefficients", coef, ("Coefficients with sandwich standard errors per data set and method "
                                             "(RobustLogisticRegression).")),
            ("realdata_loo", metrics, ("Held-out (leave-one-out for n <= 200, else 3 x 10-fold CV) misclassification "
                                       "rate, surrogate risk (each method's own loss at the held-out margin) and "
                                       "log-loss.")),
            ("realdata_weights", low, ("Observations downweighted (weight psi(v)/v < 0.5 by some method) at the "
                                       "full-data fit; weight 1 = as in maximum likelihood."))):
        paths += write_table(df, out_dir, stem, caption).values()
    paths.append(write_provenance(out_dir, "realdata", protocol="estimator", wall_time_s=round(wall, 3),
                                  datasets=kw["datasets"], methods=kw["methods"], backend=backend, n_jobs=n_jobs))
    return StudyOutputs(out_dir=out_dir, tables={"realdata_coefficients": coef, "realdata_loo": metrics,
                                                 "realdata_weights": low}, paths=paths, wall_time_s=wall)
