"""Robustness study (Section III-C2, Fig. 4): SoB and TTR under point-mass contamination (27).

A training sample of size n and a test sample of size m are drawn from
F_eps = (1 - eps) F + eps delta_(x_c, y_c) with exact proportions: n - k
nominal rows from (20) and k = round(eps n) copies of (x_c, y_c).  The
nominal rows are drawn once per (beta, trial) and shared by every
contamination point, label and method, so the 2 x 201 problems of one
method are fitted together on one design holding the nominal rows and all
contamination points, each problem giving weight k to its own point and 0
to the others (one :class:`~lsis_robust._linear_loss.LinearMarginLoss`).
The test misclassification rate is exact in the same way:
((m - k_m) * nominal test error + k_m * [point misclassified]) / m.

A grid task is one (beta, method, trial) with all points batched.  Under
the estimator protocol the tasks of one (beta, trial) run in groups of
:data:`METHODS_PER_RUN`, which share the starts that do not depend on the
loss (the ML and trimmed ML fits: a quarter to a third of a bounded loss's
fit); every task's numbers are the same as when it runs alone.
"""
from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_betas, check_option, check_out_dir, check_rate, check_real, check_size
from ..contamination import sample_nominal
from ..paper import DEFAULT_METHODS, ROBUSTNESS_BETAS, ROBUSTNESS_XC2
from ._grid import CacheWarning, Task, code_fingerprint, run_grid
from .common import PROTOCOLS, StudyOutputs, default_out_dir, loss_source_digest, predict_pm, resolve_methods, \
    study_settings

__all__ = ["robustness_grid", "robustness_task", "run_robustness", "summarise_robustness", "population_curves",
           "stored_population_curves", "comparable_other_protocol", "other_protocol_dir", "RobustnessOutputs",
           "run_and_write"]


def _problems(xc2, y_cs):
    """(point index, y_c) of every problem, in output order."""
    return [(j, yc) for yc in y_cs for j in range(len(xc2))]


# Methods of one (beta, trial) fitted in one process under the estimator protocol: enough to share the ML
# starts, few enough that the default grid (3 betas x 8 methods) still gives 6 runs to spread over the workers.
METHODS_PER_RUN = 4


def robustness_task(params, ss):
    """One (beta, method, trial): fit all (x_c, y_c) problems at once; per-problem estimates, SoB and TTR."""
    return _fit_tasks([params], ss)[0]


def _fit_tasks(tasks, ss):
    """:func:`robustness_task` for tasks of one (beta, trial) on the sample that ``ss`` draws, all at once.

    Under the estimator protocol the methods share their loss-free starts (fit_batch_losses); each result
    is the one its task gives alone.
    """
    from ..registry import parse_loss_spec

    params = tasks[0]
    beta = np.asarray(params["beta"], dtype=np.float64)
    losses = [parse_loss_spec(p["method"]) for p in tasks]
    eps, n, m = params["eps"], params["n"], params["m"]
    xc2 = np.asarray(params["xc2"], dtype=np.float64)
    points = np.column_stack([np.ones(xc2.size), xc2])
    probs = _problems(xc2, params["y_cs"])
    P = len(probs)
    k, k_test = int(round(eps * n)), int(round(eps * m))
    data_ss, start_ss = ss.spawn(2)
    rng = np.random.default_rng(data_ss)
    nominal = sample_nominal(n - k, beta, rng)
    test = sample_nominal(m - k_test, beta, rng)
    pidx = np.array([j for j, _ in probs])
    yc = np.array([y for _, y in probs], dtype=np.float64)
    if params["protocol"] == "estimator":
        from ..fitting import fit_batch_losses

        n0 = nominal.n
        X = np.vstack([nominal.X, points])
        Y = np.tile(np.concatenate([nominal.y_pm, np.ones(xc2.size)]), (P, 1))
        W = np.tile(np.concatenate([np.ones(n0), np.zeros(xc2.size)]), (P, 1))
        Y[np.arange(P), n0 + pidx] = yc
        W[np.arange(P), n0 + pidx] = k
        fitted = [(fit.beta, fit.converged) for fit in fit_batch_losses(losses, X, Y, W)]
    else:
        from ._adam import adam_fit
        from .efficiency import paper_starts

        fitted = []
        for loss, p in zip(losses, tasks):
            S = 1 if loss.single_start else p["n_starts"]
            starts = paper_starts(beta, (P,), S, p["start_scale"], np.random.default_rng(start_ss))
            w_nom = np.full((1, nominal.n), 1.0 / n)
            extra = (np.repeat(points[pidx], S, axis=0)[None], np.repeat(yc, S)[None], np.full((1, P * S), k / n))
            b, f = adam_fit(loss, nominal.X[None], nominal.y_pm[None], w_nom, starts.reshape(1, P * S, -1),
                            extra=extra, device=p.get("device"))
            b, f = b.reshape(P, S, -1), f.reshape(P, S)
            fitted.append((b[np.arange(P), np.argmin(f, axis=1)], np.ones(P, dtype=bool)))
    results = []
    for loss, (est, ok) in zip(losses, fitted):
        wrong_nominal = (predict_pm(loss, est @ test.X.T) != test.y_pm).sum(axis=1)
        wrong_point = predict_pm(loss, np.einsum("pd,pd->p", points[pidx], est)) != yc
        ttr = (wrong_nominal + k_test * wrong_point) / m
        results.append({"beta_hat": est, "sob": np.linalg.norm(est - beta, axis=1), "ttr": ttr, "ok": ok})
    return results


def robustness_grid(betas=ROBUSTNESS_BETAS, methods=DEFAULT_METHODS, eps=0.05, xc2=ROBUSTNESS_XC2, y_cs=(1, -1),
                    n=10_000, m=10_000, n_trials=1, protocol="estimator", n_starts=30, start_scale=1.0, device=None):
    check_option(protocol, "protocol", PROTOCOLS)
    betas = check_betas(betas)
    losses = resolve_methods(methods)
    eps = check_rate(eps)
    check_size(n, "n", 2), check_size(m, "m", 1), check_size(n_trials, "n_trials", 1)
    check_size(n_starts, "n_starts", 1), check_real(start_scale, "start_scale", 0.0)
    if int(round(eps * n)) >= n:
        raise ValueError(f"eps={eps} leaves no nominal rows in a sample of n={n}")
    xc2 = [float(v) for v in np.asarray(xc2, dtype=np.float64).ravel()]
    if not xc2 or not np.all(np.isfinite(xc2)):
        raise ValueError("the grid of x_c2 values is empty or not finite")
    y_cs = [int(v) for v in y_cs]
    if not y_cs or any(v not in (-1, 1) for v in y_cs) or len(set(y_cs)) != len(y_cs):
        raise ValueError(f"y_cs={y_cs!r} is invalid; use a non-empty subset of (+1, -1)")
    if any(len(b) != 2 for b in betas):
        raise ValueError("the robustness study uses x_c = (1, x_c2): every beta must have 2 entries")
    return [Task(key=(list(b), spec, t), seed_key=(list(b), t),
                 params=dict(beta=list(b), method=spec, trial=t, eps=eps, xc2=xc2, y_cs=y_cs, n=n, m=m,
                             protocol=protocol, n_starts=n_starts, start_scale=float(start_scale), device=device,
                             loss_source=loss_source_digest(loss)))
            for b in betas for spec, loss in losses.items() for t in range(n_trials)]


def _runs(tasks):
    """The grid's tasks grouped into runs of one (beta, trial) that share their starts: [(run, its tasks)]."""
    groups = {}
    for task in tasks:
        groups.setdefault(json.dumps(list(task.seed_key)), []).append(task)
    runs = []
    for members in groups.values():
        size = METHODS_PER_RUN if members[0].params["protocol"] == "estimator" else 1
        for i in range(0, len(members), size):
            part = members[i:i + size]
            first = part[0].params
            runs.append((Task(key=(first["beta"], [t.params["method"] for t in part], first["trial"]),
                              seed_key=part[0].seed_key, params={"tasks": [t.params for t in part]}), part))
    return runs


def robustness_run(params, ss):
    """The tasks of one run (see :func:`_runs`) on their shared sample: each task's results under ``j/``."""
    return {f"{j}/{name}": value for j, res in enumerate(_fit_tasks(params["tasks"], ss)) for name, value in res.items()}


def summarise_robustness(tasks, results) -> pd.DataFrame:
    """One row per (beta, method, y_c, x_c2): mean and std of SoB and TTR over trials, the trial counts.

    As in the efficiency study, fits that did not reach a finite minimiser
    are left out of the means and stds (one diverging fit would dominate
    them) and counted in ``n_excluded``; ``n_used`` trials remain.
    """
    frames = []
    for task, res in zip(tasks, results):
        p = task.params
        probs = _problems(p["xc2"], p["y_cs"])
        ok = np.asarray(res["ok"], dtype=bool)

        def used(v):
            return np.where(ok, v, np.nan)

        frames.append(pd.DataFrame({
            "beta1": p["beta"][0], "beta2": p["beta"][1], "method": p["method"], "protocol": p["protocol"],
            "eps": p["eps"], "y_c": [y for _, y in probs], "x_c2": [p["xc2"][j] for j, _ in probs],
            "trial": p["trial"], "b1": used(res["beta_hat"][:, 0]), "b2": used(res["beta_hat"][:, 1]),
            "sob": used(res["sob"]), "ttr": used(res["ttr"]), "ok": ok}))
    long = pd.concat(frames, ignore_index=True)
    keys = ["beta1", "beta2", "method", "protocol", "eps", "y_c", "x_c2"]
    g = long.groupby(keys, sort=False)
    # pandas' mean and std skip the NaNs of excluded fits; std needs two used trials, as in the efficiency study.
    out = g.agg(n_trials=("ok", "size"), n_excluded=("ok", lambda s: int((~s).sum())),
                n_used=("ok", "sum"), b1=("b1", "mean"), b2=("b2", "mean"), sob_mean=("sob", "mean"),
                sob_std=("sob", "std"), ttr_mean=("ttr", "mean"), ttr_std=("ttr", "std")).reset_index()
    out["n_used"] = out["n_used"].astype(int)
    return out


def population_curves(betas, methods, eps, xc2, y_cs=(1, -1), n_jobs=1, progress=True):
    """Exact T(F_eps) curves from the theory engine; the sweeps of every beta, method and label share the
    ``n_jobs`` processes."""
    from ..theory.contamination import contamination_grids

    losses = resolve_methods(methods)
    points = np.column_stack([np.ones(len(xc2)), np.asarray(xc2, dtype=np.float64)])
    grids = contamination_grids(list(losses.values()), [np.asarray(b) for b in betas], eps, points,
                                y_cs=tuple(y_cs), n_jobs=n_jobs, progress=progress)
    frames = []
    for b, df in zip(betas, grids):
        labels = {i: spec for i, spec in enumerate(losses)}
        # contamination_grids orders rows by (loss, y_c, point), the order of its task list.
        per_loss = len(y_cs) * len(xc2)
        df["method"] = [labels[i // per_loss] for i in range(len(df))]
        df["beta1"], df["beta2"], df["eps"] = b[0], b[1], eps
        frames.append(df[["beta1", "beta2", "method", "eps", "y_c", "x_c2", "b1", "b2", "sob", "ttr"]])
    return pd.concat(frames, ignore_index=True)


def run_robustness(*, betas=ROBUSTNESS_BETAS, methods=DEFAULT_METHODS, eps=0.05, xc2=ROBUSTNESS_XC2, y_cs=(1, -1),
                   n=10_000, m=10_000, n_trials=1, protocol="estimator", n_starts=30, start_scale=1.0, seed=0,
                   n_jobs=1, backend="joblib", scheduler=None, cache_dir=None, progress=True, device=None):
    """Run the robustness grid; returns (summary DataFrame, wall time in seconds)."""
    tasks = robustness_grid(betas, methods, eps, xc2, y_cs, n, m, n_trials, protocol, n_starts, start_scale, device)
    runs = _runs(tasks)
    t0 = time.perf_counter()
    run_results = run_grid(robustness_run, [run for run, _ in runs], master_seed=seed, n_jobs=n_jobs,
                           backend=backend, scheduler=scheduler, cache_dir=cache_dir, progress=progress,
                           desc=f"robustness ({protocol})")
    per_task = {}
    for (_, members), res in zip(runs, run_results):
        for j, task in enumerate(members):
            per_task[id(task)] = {name[len(f"{j}/"):]: v for name, v in res.items() if name.startswith(f"{j}/")}
    results = [per_task[id(task)] for task in tasks]
    return summarise_robustness(tasks, results), time.perf_counter() - t0


_POPULATION = "population"
_POPULATION_COLUMNS = ["beta1", "beta2", "method", "eps", "y_c", "x_c2", "b1", "b2", "sob", "ttr"]


def _population_record(out_dir, key):
    """The population table stored in ``out_dir`` if it was computed for ``key``, else (None, why not)."""
    csv = out_dir / f"{_POPULATION}.csv"
    meta = out_dir / f"{_POPULATION}.provenance.json"
    if not meta.exists():
        return None, f"has no record of the inputs it was computed for ({meta.name} is missing)"
    try:
        record = json.loads(meta.read_text())
        stored_key, digest = record["key"], record["csv_sha256"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"has an unreadable record {meta.name} ({exc})"
    if stored_key != key:
        changed = sorted(k for k in set(key) | set(stored_key) if key.get(k) != stored_key.get(k))
        return None, f"was computed for other inputs (differing: {', '.join(changed)})"
    data = csv.read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        return None, f"does not match the checksum recorded in {meta.name} (edited, copied or truncated)"
    try:
        pop = pd.read_csv(csv)
    except (ValueError, pd.errors.ParserError) as exc:
        return None, f"cannot be read ({exc})"
    if list(pop.columns) != _POPULATION_COLUMNS:
        return None, f"has columns {list(pop.columns)}, expected {_POPULATION_COLUMNS}"
    return pop, None


def stored_population_curves(out_dir, betas, methods, eps, xc2, y_cs=(1, -1), compute=True, n_jobs=1,
                             progress=True):
    """:func:`population_curves` kept in ``out_dir/population.*`` and reused only for the same inputs.

    The table is stored with a record (``population.provenance.json``) of
    every input (betas, methods, eps, x_c2 grid, y_c labels), the package's
    code fingerprint and the CSV's checksum.  A stored table that fails any
    of these checks is removed with a :class:`CacheWarning` naming it, so it
    is never shown beside results it does not belong to; it is recomputed
    when ``compute`` (otherwise None is returned and a valid table is left
    in place).
    """
    from ..reporting import write_provenance, write_table

    out_dir = Path(out_dir)
    key = json.loads(json.dumps({
        "betas": [list(map(float, b)) for b in betas], "methods": list(resolve_methods(methods)),
        "eps": float(eps), "xc2": [float(v) for v in xc2], "y_cs": [int(v) for v in y_cs],
        "code": code_fingerprint()}))
    csv = out_dir / f"{_POPULATION}.csv"
    if csv.exists():
        pop, why = _population_record(out_dir, key)
        if why is None:
            return pop if compute else None
        warnings.warn(f"{csv} {why}; it is removed" + (" and recomputed" if compute else ""), CacheWarning,
                      stacklevel=2)
        for ext in ("csv", "md", "tex", "provenance.json"):
            (out_dir / f"{_POPULATION}.{ext}").unlink(missing_ok=True)
    if not compute:
        return None
    pop = population_curves(betas, methods, eps, xc2, y_cs, n_jobs=n_jobs, progress=progress)
    if pop is not None:
        paths = write_table(pop, out_dir, _POPULATION, "Exact population T(F_eps), SoB and TTR (theory engine).")
        write_provenance(out_dir, _POPULATION, key=key,
                         csv_sha256=hashlib.sha256(paths["csv"].read_bytes()).hexdigest())
    return pop


def other_protocol_dir(out_dir, protocol, quick=False):
    """The folder of the other protocol's results that ``out_dir``'s comparison figure draws, or None.

    The rule is explicit: the default folders of the two protocols
    (:func:`~lsis_robust.studies.common.default_out_dir`, quick or not) pair
    with each other; any other folder pairs with none, unless the caller
    names one (``run_and_write(compare_with=...)``, ``--compare-with``).
    """
    check_option(protocol, "protocol", PROTOCOLS)
    if Path(out_dir).resolve() != default_out_dir("robustness", protocol, quick).resolve():
        return None
    return default_out_dir("robustness", "paper" if protocol == "estimator" else "estimator", quick)


def comparable_other_protocol(out_dir, protocol, grid, seed, other_dir):
    """The other protocol's ``robustness.csv`` in ``other_dir`` if it was run on the same samples, else None.

    Its provenance must show the same eps, n, m, trials and seed: otherwise
    its curves belong to other samples and would be drawn as if comparable,
    so they are left out with a :class:`CacheWarning`.  ``other_dir`` None,
    ``out_dir`` itself or a folder without ``robustness.csv`` gives None.
    """
    other_protocol = "paper" if protocol == "estimator" else "estimator"
    if other_dir is None or Path(other_dir).resolve() == Path(out_dir).resolve():
        return None
    other = Path(other_dir)
    csv, meta = other / "robustness.csv", other / "robustness.provenance.json"
    if not csv.exists():
        return None
    ours = {"eps": grid["eps"], "n": grid["n"], "m": grid["m"], "n_trials": grid["n_trials"], "seed": seed}
    try:
        record = json.loads(meta.read_text())
        theirs = {k: record["grid"][k] for k in ours if k != "seed"} | {"seed": record["seed"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        why = f"has no readable provenance ({exc})"
    else:
        changed = [f"{k}={theirs[k]!r} (this run: {ours[k]!r})" for k in ours if theirs[k] != ours[k]]
        if not changed:
            return csv
        why = "was run on other samples: " + ", ".join(changed)
    warnings.warn(f"{csv} {why}; the {other_protocol} protocol is left out of the comparison figure", CacheWarning,
                  stacklevel=2)
    return None


@dataclass(frozen=True)
class RobustnessOutputs(StudyOutputs):
    """:class:`StudyOutputs` of the robustness study: whether the population curves were drawn, and the other
    protocol's table the comparison figure overlays (None: not overlaid)."""

    population: bool
    compared_with: Path | None


def run_and_write(out_dir, *, quick=False, betas=None, methods=None, eps=0.05, xc2=None, n=None, m=None,
                  n_trials=1, protocol="estimator", n_starts=30, start_scale=1.0, device=None, population=True,
                  compare_with=None, seed=0, n_jobs=1, backend="joblib", scheduler=None, cache_dir=None,
                  progress=True) -> RobustnessOutputs:
    """Run the robustness study and write its table, figures and provenance in ``out_dir``.

    Writes ``robustness.{csv,md,tex}``, ``robustness.png``, the protocol
    comparison ``robustness_protocols.png`` and, unless ``population`` is
    False, the exact population curves (:func:`stored_population_curves`).
    Settings left None take the paper's (``quick``: the quick preset) from
    :data:`lsis_robust.paper.STUDY_SETTINGS`.  The comparison figure
    overlays the other protocol's results found in ``compare_with``
    (default: :func:`other_protocol_dir`) when they were run on the same
    samples (:func:`comparable_other_protocol`).
    """
    from ..reporting import write_provenance, write_table
    from ._grid import check_execution
    from .plots import plot_robustness

    kw = study_settings("robustness", quick, betas=betas, methods=methods, xc2=xc2, n=n, m=m)
    kw = {k: kw[k] for k in ("betas", "methods")} | {"eps": eps} | {k: kw[k] for k in ("xc2", "n", "m")}
    kw.update(n_trials=n_trials, protocol=protocol, n_starts=n_starts, start_scale=start_scale, device=device)
    robustness_grid(**kw)  # validates everything before any work
    check_execution(backend, n_jobs, scheduler, device)
    out_dir = Path(check_out_dir(out_dir, "out_dir"))
    if compare_with is None:
        other_dir = other_protocol_dir(out_dir, protocol, quick)
    else:  # a folder named on purpose must hold what it is named for; a default one may be absent
        other_dir = Path(compare_with)
        if not (other_dir / "robustness.csv").is_file():
            raise ValueError(f"compare_with {other_dir} holds no robustness.csv: run the other protocol's study "
                             "with that --out first, or leave compare_with out")
    df, wall = run_robustness(**kw, seed=seed, n_jobs=n_jobs, backend=backend, scheduler=scheduler,
                              cache_dir=cache_dir, progress=progress)
    paths = list(write_table(df, out_dir, "robustness", f"Robustness study, {protocol} protocol: SoB and TTR under "
                             f"point-mass contamination eps={kw['eps']}, n={kw['n']}, m={kw['m']}, "
                             f"{kw['n_trials']} trial(s).").values())
    pop = stored_population_curves(out_dir, kw["betas"], kw["methods"], kw["eps"], kw["xc2"], compute=population,
                                   n_jobs=n_jobs, progress=progress)
    other = comparable_other_protocol(out_dir, protocol, kw, seed, other_dir)
    paths += plot_robustness(df, pop, out_dir, protocol, other_csv=other)
    paths.append(write_provenance(
        out_dir, "robustness", seed=seed, protocol=protocol, wall_time_s=round(wall, 3),
        grid={k: (v if k != "xc2" else [min(v), max(v), len(v)]) for k, v in kw.items() if k != "device"},
        backend=backend, n_jobs=n_jobs, population_curves=pop is not None,
        compared_with=None if other is None else str(other)))
    tables = {"robustness": df} | ({} if pop is None else {"population": pop})
    return RobustnessOutputs(out_dir=out_dir, tables=tables, paths=paths, wall_time_s=wall,
                             population=pop is not None, compared_with=other)
