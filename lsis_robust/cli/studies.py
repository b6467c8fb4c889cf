"""``lsis-robust efficiency | robustness | realdata``: the simulation studies and the real-data study."""
from __future__ import annotations

import json
import sys

from .._validation import UsageError, arg_type, check_device, check_list, check_out_dir, float_in, int_at_least, \
    parse_floats, parse_ints, parse_vector, split_list
from ..registry import split_loss_specs


def _betas(text):
    """'0,4;1,2' -> [(0.0, 4.0), (1.0, 2.0)]: finite vectors, none empty or repeated."""
    return check_list([tuple(parse_vector(part)) for part in split_list(text, sep=";")])


def _execution(p):
    p.add_argument("--n-jobs", type=int, default=None,
                   help="parallel jobs for joblib (-1: all cores; default: $LSIS_ROBUST_N_JOBS, else the usable "
                        "cores); results are identical for any number")
    p.add_argument("--backend", default="joblib", choices=("joblib", "dask"), help="'joblib' (default) or 'dask'")
    p.add_argument("--scheduler", default=None, help="dask.distributed scheduler address (with --backend dask)")


def _n_jobs(args):
    """The --n-jobs given, else the one default rule (default_n_jobs; a bad $LSIS_ROBUST_N_JOBS is its error)."""
    from ..studies._grid import default_n_jobs

    if args.n_jobs is None:
        args.n_jobs = default_n_jobs()
    return args.n_jobs


def _common(p, quick_help):
    p.add_argument("--protocol", default="estimator", choices=("estimator", "paper"),
                   help="'estimator' (true minimisers with data-driven starts, default) or 'paper' (Adam, 150 "
                        "epochs, 30 starts around the truth)")
    p.add_argument("--methods", type=arg_type(split_loss_specs), default=None,
                   help="comma-separated loss specs, e.g. 'lr,mlslr:alpha=0.4,lsqlr,by,ch' (any registered loss; "
                        "no empty or repeated item, each parameter once)")
    p.add_argument("--seed", type=int_at_least(0), default=0, help="master seed (default 0)")
    _execution(p)
    p.add_argument("--out", default=None, help="output folder (default results/studies/<study>-<protocol>)")
    p.add_argument("--cache", default=None,
                   help="folder for per-task results; an interrupted sweep resumes from it (default <out>/.cache)")
    p.add_argument("--no-cache", action="store_true", help="do not keep per-task results")
    p.add_argument("--quick", action="store_true", help=quick_help)
    p.add_argument("--n-starts", type=int_at_least(1), default=30,
                   help="paper protocol: starts around the truth (default 30)")
    p.add_argument("--start-scale", type=float_in(0),
                   default=1.0, help="paper protocol: std of the scattered starts around the truth (default 1)")
    p.add_argument("--device", default=None,
                   help="paper protocol: torch device, cpu, cuda or cuda:N (default cuda when present)")
    p.add_argument("--no-progress", action="store_true")


def register(subparsers):
    p = subparsers.add_parser("efficiency", help="efficiency study under the correct model (Fig. 2)")
    _common(p, "2 betas, n in {50, 200}, 10 trials, m = 2000, 3 methods")
    p.add_argument("--betas", type=arg_type(_betas), default=None, help="';'-separated betas, default: Table I's nine")
    p.add_argument("--sizes", type=arg_type(parse_ints, minimum=1), default=None,
                   help="sample sizes, each above the number of coefficients (len(beta) + 1 or more: smaller "
                        "samples are always separated); default 25,50,100,200,400,800")
    p.add_argument("--trials", type=int_at_least(1), default=None, help="trials per cell (default 100, --quick 10)")
    p.add_argument("--m", type=int_at_least(1), default=None, help="test sample size (default 10000, --quick 2000)")
    p.set_defaults(func=run_efficiency_cmd)

    p = subparsers.add_parser("robustness", help="robustness study under point-mass contamination (Fig. 4)")
    _common(p, "beta (0, 4), 21 points x_c2, n = m = 2000, 3 methods")
    p.add_argument("--betas", type=arg_type(_betas), default=None, help="';'-separated betas, default '0,1;0,2;0,4'")
    p.add_argument("--eps", type=float_in(0, 1, open_max=True), default=0.05,
                   help="contamination share in [0, 1) (default 0.05)")
    p.add_argument("--xc2", type=arg_type(parse_floats), default=None,
                   help="x_c2 values, default -10, -9.9, ..., 10")
    p.add_argument("--n", type=int_at_least(2), default=None, help="sample size (default 10000, --quick 2000)")
    p.add_argument("--m", type=int_at_least(1), default=None, help="test sample size (default 10000, --quick 2000)")
    p.add_argument("--trials", type=int_at_least(1), default=1)
    p.add_argument("--no-population", action="store_true", help="skip the exact population curves")
    p.set_defaults(func=run_robustness_cmd)

    p = subparsers.add_parser("realdata", help="coefficients, LOO errors and downweighted observations on real data")
    p.add_argument("--datasets", type=arg_type(split_list), default=None,
                   help="comma-separated data sets (default vaso,foodstamp,leukemia,breast_cancer)")
    p.add_argument("--methods", type=arg_type(split_loss_specs), default=None)
    p.add_argument("--out", default=None, help="output folder (default results/studies/realdata)")
    p.add_argument("--quick", action="store_true",
                   help="vaso and leukemia with LR, MLSLR a=0.8 and CH (unless --datasets/--methods say otherwise)")
    _execution(p)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run_realdata_cmd)


def _prepare(args, study):
    """Check the execution and output options before any work; returns (out, cache) folders."""
    from ..studies._grid import check_backend

    if args.device is not None:
        if args.protocol != "paper":
            raise UsageError("--device applies to --protocol paper only (the estimator protocol runs on the CPU)")
        check_device(args.device)
    client = check_backend(args.backend, _n_jobs(args), args.scheduler)
    if client is not None:
        client.close()
    out = check_out_dir(args.out or f"results/studies/{study}-{args.protocol}{'-quick' if args.quick else ''}")
    if args.no_cache and args.cache:
        raise UsageError("--cache and --no-cache contradict each other; give one")
    cache = None if args.no_cache else check_out_dir(args.cache, "--cache") if args.cache else out / ".cache"
    return out, cache


def run_efficiency_cmd(args):
    from ..paper import STUDY_SETTINGS
    from ..reporting import write_provenance, write_table
    from ..studies.efficiency import efficiency_grid, run_efficiency
    from ..studies.plots import plot_efficiency

    grid = STUDY_SETTINGS["quick" if args.quick else "full"]["efficiency"]
    kw = dict(betas=args.betas or grid["betas"], sizes=args.sizes or grid["sizes"],
              methods=args.methods or grid["methods"], n_trials=args.trials or grid["n_trials"], m=args.m or grid["m"],
              protocol=args.protocol, n_starts=args.n_starts, start_scale=args.start_scale, device=args.device)
    # n <= d points can always be separated, so no fit would have a finite minimiser (and nothing to plot).
    d = max(len(b) for b in kw["betas"])
    small = [n for n in kw["sizes"] if n <= d]
    if small:
        raise UsageError(f"argument --sizes: n={small[0]} is too small for {d} coefficients: every sample of "
                         f"n <= {d} points is separated; use sizes >= {d + 1}")
    efficiency_grid(**kw)  # validates everything before any work
    out, cache = _prepare(args, "efficiency")
    df, wall = run_efficiency(**kw, seed=args.seed, n_jobs=args.n_jobs, backend=args.backend,
                              scheduler=args.scheduler, cache_dir=cache, progress=not args.no_progress)
    sep = df.groupby(["beta1", "beta2", "n"])["n_separated"].max().sum()
    caption = (f"Efficiency study, {args.protocol} protocol: mean and std of SoB ||beta_hat - beta|| and TTR over "
               f"{kw['n_trials']} trials (test size {kw['m']}). n_separated: trials whose sample is "
               f"(quasi-)separated ({sep} in all); n_excluded: fits without a finite minimiser, left out of "
               "mean/std.")
    write_table(df, out, "efficiency", caption)
    empty = df.groupby(["beta1", "beta2"])["n_used"].sum()
    empty = [b for b, used in empty.items() if used == 0]
    if empty:
        print(f"warning: no figure: every fit for beta {', '.join(str(tuple(b)) for b in empty)} was excluded "
              "(no finite minimiser); use larger --sizes or more --trials", file=sys.stderr)
        # an earlier run's figure beside this run's table would show numbers the table does not have
        (out / "efficiency.png").unlink(missing_ok=True)
    else:
        plot_efficiency(df, out / "efficiency.png", args.protocol)
    write_provenance(out, "efficiency", seed=args.seed, protocol=args.protocol, wall_time_s=round(wall, 3),
                     grid={k: v for k, v in kw.items() if k != "device"}, backend=args.backend, n_jobs=args.n_jobs)
    print(f"efficiency ({args.protocol}): {len(df)} cells in {wall:.1f} s; {sep} separated samples -> {out}")
    return 0


def run_robustness_cmd(args):
    from ..paper import STUDY_SETTINGS
    from ..reporting import write_provenance, write_table
    from ..studies.plots import plot_robustness
    from ..studies.robustness import comparable_other_protocol, robustness_grid, run_robustness, \
        stored_population_curves

    grid = STUDY_SETTINGS["quick" if args.quick else "full"]["robustness"]
    kw = dict(betas=args.betas or grid["betas"], methods=args.methods or grid["methods"], eps=args.eps,
              xc2=args.xc2 or grid["xc2"], n=args.n or grid["n"], m=args.m or grid["m"],
              n_trials=args.trials, protocol=args.protocol, n_starts=args.n_starts, start_scale=args.start_scale,
              device=args.device)
    robustness_grid(**kw)
    out, cache = _prepare(args, "robustness")
    df, wall = run_robustness(**kw, seed=args.seed, n_jobs=args.n_jobs, backend=args.backend,
                              scheduler=args.scheduler, cache_dir=cache, progress=not args.no_progress)
    write_table(df, out, "robustness", f"Robustness study, {args.protocol} protocol: SoB and TTR under point-mass "
                f"contamination eps={kw['eps']}, n={kw['n']}, m={kw['m']}, {kw['n_trials']} trial(s).")
    pop = stored_population_curves(out, kw["betas"], kw["methods"], kw["eps"], kw["xc2"],
                                   compute=not args.no_population, n_jobs=args.n_jobs,
                                   progress=not args.no_progress)
    other = comparable_other_protocol(out, args.protocol, kw, args.seed)
    plot_robustness(df, pop, out, args.protocol, other_csv=other)
    write_provenance(out, "robustness", seed=args.seed, protocol=args.protocol, wall_time_s=round(wall, 3),
                     grid={k: (v if k != "xc2" else [min(v), max(v), len(v)]) for k, v in kw.items() if k != "device"},
                     backend=args.backend, n_jobs=args.n_jobs, population_curves=pop is not None,
                     compared_with=None if other is None else str(other))
    print(f"robustness ({args.protocol}): {len(df)} rows in {wall:.1f} s; population curves: "
          f"{'yes' if pop is not None else 'not available'} -> {out}")
    return 0


def run_realdata_cmd(args):
    from ..paper import REALDATA_SETS, STUDY_SETTINGS
    from ..reporting import write_provenance, write_table
    from ..studies._grid import check_backend
    from ..studies.common import resolve_methods
    from ..studies.realdata import run_realdata

    grid = STUDY_SETTINGS["quick" if args.quick else "full"]["realdata"]
    datasets = args.datasets or grid["datasets"]
    try:
        check_list(datasets, allowed=REALDATA_SETS)
    except ValueError as exc:
        raise UsageError(f"argument --datasets: {exc}") from None
    methods = args.methods or grid["methods"]
    resolve_methods(methods)
    n_jobs = _n_jobs(args)
    client = check_backend(args.backend, n_jobs, args.scheduler)  # an unreachable scheduler fails before any work
    if client is not None:
        client.close()
    out = check_out_dir(args.out or f"results/studies/realdata{'-quick' if args.quick else ''}")
    coef, metrics, low, wall = run_realdata(datasets, methods, progress=not args.no_progress, n_jobs=n_jobs,
                                            backend=args.backend, scheduler=args.scheduler)
    write_table(coef, out, "realdata_coefficients", "Coefficients with sandwich standard errors per data set and "
                "method (RobustLogisticRegression).")
    write_table(metrics, out, "realdata_loo", "Held-out (leave-one-out for n <= 200, else 3 x 10-fold CV) misclassification rate, surrogate risk (each method's "
                "own loss at the held-out margin) and log-loss.")
    write_table(low, out, "realdata_weights", "Observations downweighted (weight psi(v)/v < 0.5 by some method) at "
                "the full-data fit; weight 1 = as in maximum likelihood.")
    write_provenance(out, "realdata", protocol="estimator", wall_time_s=round(wall, 3), datasets=datasets,
                     methods=methods, backend=args.backend, n_jobs=n_jobs)
    print(json.dumps({"out": str(out), "wall_time_s": round(wall, 1)}))
    return 0
