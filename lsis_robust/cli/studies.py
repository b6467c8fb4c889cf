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
    p.add_argument("--compare-with", default=None, metavar="DIR",
                   help="the other protocol's output folder, overlaid in robustness_protocols.png when run on the "
                        "same samples (default: the other protocol's default folder when --out is the default; "
                        "none otherwise)")
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
    """Check the option-level rules and the output folders before any work; returns (out, cache) folders."""
    from ..studies.common import default_out_dir

    if args.device is not None:
        if args.protocol != "paper":
            raise UsageError("--device applies to --protocol paper only (the estimator protocol runs on the CPU)")
        check_device(args.device)
    _n_jobs(args)
    out = check_out_dir(args.out or default_out_dir(study, args.protocol, args.quick))
    if args.no_cache and args.cache:
        raise UsageError("--cache and --no-cache contradict each other; give one")
    cache = None if args.no_cache else check_out_dir(args.cache, "--cache") if args.cache else out / ".cache"
    return out, cache


def _execution_kw(args):
    return {"n_jobs": args.n_jobs, "backend": args.backend, "scheduler": args.scheduler,
            "progress": not args.no_progress}


def run_efficiency_cmd(args):
    from ..studies.common import study_settings
    from ..studies.efficiency import check_sizes, run_and_write

    given = {"betas": args.betas, "sizes": args.sizes, "methods": args.methods, "n_trials": args.trials, "m": args.m}
    settings = study_settings("efficiency", args.quick, **given)
    try:
        check_sizes(settings["betas"], settings["sizes"])
    except ValueError as exc:
        raise UsageError(f"argument --sizes: {exc}") from None
    out, cache = _prepare(args, "efficiency")
    res = run_and_write(out, quick=args.quick, **given, protocol=args.protocol, n_starts=args.n_starts,
                        start_scale=args.start_scale, device=args.device, seed=args.seed, cache_dir=cache,
                        **_execution_kw(args))
    if res.unplotted_betas:
        print(f"warning: no figure: every fit for beta {', '.join(map(str, res.unplotted_betas))} was excluded "
              "(no finite minimiser); use larger --sizes or more --trials", file=sys.stderr)
    print(f"efficiency ({args.protocol}): {len(res.tables['efficiency'])} cells in {res.wall_time_s:.1f} s; "
          f"{res.n_separated} separated samples -> {out}")
    return 0


def run_robustness_cmd(args):
    from ..studies.robustness import run_and_write

    out, cache = _prepare(args, "robustness")
    res = run_and_write(out, quick=args.quick, betas=args.betas, methods=args.methods, eps=args.eps, xc2=args.xc2,
                        n=args.n, m=args.m, n_trials=args.trials, protocol=args.protocol, n_starts=args.n_starts,
                        start_scale=args.start_scale, device=args.device, population=not args.no_population,
                        compare_with=args.compare_with, seed=args.seed, cache_dir=cache, **_execution_kw(args))
    print(f"robustness ({args.protocol}): {len(res.tables['robustness'])} rows in {res.wall_time_s:.1f} s; "
          f"population curves: {'yes' if res.population else 'not available'} -> {out}")
    return 0


def run_realdata_cmd(args):
    from ..paper import REALDATA_SETS
    from ..studies.common import default_out_dir
    from ..studies.realdata import run_and_write

    if args.datasets is not None:
        try:
            check_list(args.datasets, allowed=REALDATA_SETS)
        except ValueError as exc:
            raise UsageError(f"argument --datasets: {exc}") from None
    _n_jobs(args)
    out = check_out_dir(args.out or default_out_dir("realdata", quick=args.quick))
    res = run_and_write(out, quick=args.quick, datasets=args.datasets, methods=args.methods, **_execution_kw(args))
    print(json.dumps({"out": str(out), "wall_time_s": round(res.wall_time_s, 1)}))
    return 0
