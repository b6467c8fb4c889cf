"""Efficiency study (Section III-B2, Fig. 2): SoB and TTR of each method under the correct model (20).

For every beta and sample size n, ``n_trials`` samples are drawn from (20)
with a test sample of size ``m`` each; every method is fitted to the same
samples (the data are seeded by (beta, n), not by the method).  A grid task
is one (beta, n) cell: its samples are drawn once and every method's trials
are batched into one fit, the methods sharing the work that does not depend
on the loss (the ML start, the separation test, the trimmed start).

Samples that are (quasi-)separated have no finite LR estimate.  Each cell
reports how many trials had separated samples and how many fits did not
reach a finite minimiser; those fits are excluded from the mean and std of
the ``estimator`` protocol (never silently: the counts are columns of the
table).  The ``paper`` protocol always stops at a finite point, so all its
trials count.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_betas, check_option, check_out_dir, check_real, check_size
from ..contamination import sample_nominal
from ..paper import DEFAULT_METHODS, EFFICIENCY_SIZES, TABLE1_BETAS
from ._grid import Task, run_grid
from .common import PROTOCOLS, StudyOutputs, loss_source_digest, predict_pm, resolve_methods, study_settings

__all__ = ["EfficiencyOutputs", "check_sizes", "efficiency_grid", "run_and_write", "run_efficiency",
           "summarise_efficiency"]


def _trial_data(beta, n, m, n_trials, ss):
    """Training (T, n, d), test (T, m, d) data and labels of every trial, one child seed per trial."""
    Xs, ys, Xt, yt = [], [], [], []
    for child in ss.spawn(n_trials):
        rng = np.random.default_rng(child)
        s = sample_nominal(n, beta, rng)
        t = sample_nominal(m, beta, rng)
        Xs.append(s.X), ys.append(s.y_pm), Xt.append(t.X), yt.append(t.y_pm)
    return np.stack(Xs), np.stack(ys), np.stack(Xt), np.stack(yt)


def paper_starts(beta, shape, n_starts, scale, rng):
    """The true beta and n_starts - 1 points scattered around it (normal, std ``scale`` per coordinate)."""
    beta = np.asarray(beta, dtype=np.float64)
    starts = np.broadcast_to(beta, shape + (n_starts, beta.size)).copy()
    starts[..., 1:, :] += scale * rng.standard_normal(shape + (n_starts - 1, beta.size))
    return starts


def efficiency_task(params, ss):
    """One (beta, n) cell: fit all trials with every method; per-method, per-trial SoB, TTR and fit status.

    Each array has the methods (in ``params["methods"]`` order) along its first axis.
    """
    from ..fitting import fit_batch, fit_batch_losses
    from ..losses import LR
    from ..registry import parse_loss_spec

    beta = np.asarray(params["beta"], dtype=np.float64)
    losses = [parse_loss_spec(spec) for spec in params["methods"]]
    data_ss, start_ss = ss.spawn(2)
    X, y, Xt, yt = _trial_data(beta, params["n"], params["m"], params["n_trials"], data_ss)
    T = X.shape[0]
    if params["protocol"] == "estimator":
        fits = fit_batch_losses(losses, X, y, np.ones(y.shape))
        ests = [f.beta for f in fits]
        oks = [f.converged for f in fits]
        seps = [f.lr_separated for f in fits]
    else:
        from ._adam import adam_fit

        sep = fit_batch(LR(), X, y, np.ones(y.shape)).lr_separated
        ests, oks, seps = [], [], [sep] * len(losses)
        for loss in losses:
            n_starts = 1 if loss.single_start else params["n_starts"]
            # Every method draws its starts from the same stream, as when each method was a task of its own.
            starts = paper_starts(beta, (T,), n_starts, params["start_scale"], np.random.default_rng(start_ss))
            b, f = adam_fit(loss, X, y, np.full(y.shape, 1.0 / y.shape[1]), starts, device=params.get("device"))
            ests.append(b[np.arange(T), np.argmin(f, axis=1)])
            oks.append(np.ones(T, dtype=bool))
    est = np.stack(ests)
    sob = np.linalg.norm(est - beta, axis=2)
    ttr = np.stack([np.mean(predict_pm(loss, np.einsum("tmd,td->tm", Xt, e)) != yt, axis=1)
                    for loss, e in zip(losses, ests)])
    return {"sob": sob, "ttr": ttr, "ok": np.stack(oks), "separated": np.stack(seps), "beta_hat": est}


def efficiency_grid(betas=TABLE1_BETAS, sizes=EFFICIENCY_SIZES, methods=DEFAULT_METHODS, n_trials=100, m=10_000,
                    protocol="estimator", n_starts=30, start_scale=1.0, device=None):
    """The validated task list of the efficiency study."""
    check_option(protocol, "protocol", PROTOCOLS)
    betas = check_betas(betas)
    sizes = [check_size(n, "n", 2) for n in sizes]
    if not sizes:
        raise ValueError("the list of sample sizes is empty")
    losses = resolve_methods(methods)
    check_size(n_trials, "n_trials", 1), check_size(m, "m", 1), check_size(n_starts, "n_starts", 1)
    check_real(start_scale, "start_scale", 0.0)
    return [Task(key=(list(b), n), params=dict(beta=list(b), n=n, methods=list(losses), n_trials=n_trials, m=m,
                                                protocol=protocol, n_starts=n_starts, start_scale=float(start_scale),
                                                device=device,
                                                loss_sources=[loss_source_digest(loss) for loss in losses.values()]))
            for b in betas for n in sizes]


def summarise_efficiency(tasks, results) -> pd.DataFrame:
    """Tidy table: one row per (beta, n, method) with mean/std of SoB and TTR and the trial counts."""
    rows = []
    for task, res in zip(tasks, results):
        p = task.params
        for j, spec in enumerate(p["methods"]):
            ok, sob, ttr = res["ok"][j], res["sob"][j], res["ttr"][j]
            rows.append({
                "beta1": p["beta"][0], "beta2": p["beta"][1], "n": p["n"], "method": spec,
                "protocol": p["protocol"], "n_trials": ok.size, "n_separated": int(res["separated"][j].sum()),
                "n_excluded": int((~ok).sum()), "n_used": int(ok.sum()),
                "sob_mean": float(np.mean(sob[ok])) if ok.any() else np.nan,
                "sob_std": float(np.std(sob[ok], ddof=1)) if ok.sum() > 1 else np.nan,
                "ttr_mean": float(np.mean(ttr[ok])) if ok.any() else np.nan,
                "ttr_std": float(np.std(ttr[ok], ddof=1)) if ok.sum() > 1 else np.nan,
            })
    return pd.DataFrame(rows)


def run_efficiency(*, betas=TABLE1_BETAS, sizes=EFFICIENCY_SIZES, methods=DEFAULT_METHODS, n_trials=100, m=10_000,
                   protocol="estimator", n_starts=30, start_scale=1.0, seed=0, n_jobs=1, backend="joblib",
                   scheduler=None, cache_dir=None, progress=True, device=None):
    """Run the efficiency grid; returns (summary DataFrame, wall time in seconds)."""
    tasks = efficiency_grid(betas, sizes, methods, n_trials, m, protocol, n_starts, start_scale, device)
    t0 = time.perf_counter()
    results = run_grid(efficiency_task, tasks, master_seed=seed, n_jobs=n_jobs, backend=backend,
                       scheduler=scheduler, cache_dir=cache_dir, progress=progress, desc=f"efficiency ({protocol})")
    return summarise_efficiency(tasks, results), time.perf_counter() - t0


def check_sizes(betas, sizes):
    """Refuse sample sizes n <= d: such samples can always be separated, so no fit has a finite minimiser."""
    d = max(len(b) for b in betas)
    small = [n for n in sizes if n <= d]
    if small:
        raise ValueError(f"n={small[0]} is too small for {d} coefficients: every sample of n <= {d} points is "
                         f"separated; use sizes >= {d + 1}")


@dataclass(frozen=True)
class EfficiencyOutputs(StudyOutputs):
    """:class:`StudyOutputs` of the efficiency study, with the number of separated samples and the betas left
    without a figure (every fit excluded)."""

    n_separated: int
    unplotted_betas: list[tuple[float, ...]]


def run_and_write(out_dir, *, quick=False, betas=None, sizes=None, methods=None, n_trials=None, m=None,
                  protocol="estimator", n_starts=30, start_scale=1.0, device=None, seed=0, n_jobs=1,
                  backend="joblib", scheduler=None, cache_dir=None, progress=True) -> EfficiencyOutputs:
    """Run the efficiency study and write ``efficiency.{csv,md,tex,png}`` and its provenance in ``out_dir``.

    Settings left None take the paper's (``quick``: the quick preset) from
    :data:`lsis_robust.paper.STUDY_SETTINGS`.  Everything is validated
    before any work.  When every fit of a beta is excluded there is nothing
    to plot: the figure is not drawn (an earlier one is removed, as it would
    show numbers the table does not have) and ``unplotted_betas`` names them.
    """
    from ..reporting import write_provenance, write_table
    from ._grid import check_execution
    from .plots import plot_efficiency

    kw = study_settings("efficiency", quick, betas=betas, sizes=sizes, methods=methods, n_trials=n_trials, m=m)
    kw.update(protocol=protocol, n_starts=n_starts, start_scale=start_scale, device=device)
    check_sizes(kw["betas"], kw["sizes"])
    efficiency_grid(**kw)  # validates everything before any work
    check_execution(backend, n_jobs, scheduler, device)
    out_dir = check_out_dir(out_dir, "out_dir")
    df, wall = run_efficiency(**kw, seed=seed, n_jobs=n_jobs, backend=backend, scheduler=scheduler,
                              cache_dir=cache_dir, progress=progress)
    sep = df.groupby(["beta1", "beta2", "n"])["n_separated"].max().sum()
    caption = (f"Efficiency study, {protocol} protocol: mean and std of SoB ||beta_hat - beta|| and TTR over "
               f"{kw['n_trials']} trials (test size {kw['m']}). n_separated: trials whose sample is "
               f"(quasi-)separated ({sep} in all); n_excluded: fits without a finite minimiser, left out of "
               "mean/std.")
    paths = list(write_table(df, out_dir, "efficiency", caption).values())
    used = df.groupby(["beta1", "beta2"])["n_used"].sum()
    unplotted = [b for b, n_used in used.items() if n_used == 0]
    figure = Path(out_dir) / "efficiency.png"
    if unplotted:
        figure.unlink(missing_ok=True)
    else:
        paths.append(plot_efficiency(df, figure, protocol))
    paths.append(write_provenance(out_dir, "efficiency", seed=seed, protocol=protocol, wall_time_s=round(wall, 3),
                                  grid={k: v for k, v in kw.items() if k != "device"}, backend=backend,
                                  n_jobs=n_jobs))
    return EfficiencyOutputs(out_dir=Path(out_dir), tables={"efficiency": df}, paths=paths, wall_time_s=wall,
                             n_separated=int(sep), unplotted_betas=[tuple(b) for b in unplotted])
