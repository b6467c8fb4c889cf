"""``lsis-robust compare``: a new loss against the baselines on every criterion, in one report."""
from __future__ import annotations

import sys
from pathlib import Path

from .._validation import UniqueList, UsageError, arg_type, check_device, check_out_dir, int_at_least, split_list
from ..registry import import_user_module, split_loss_specs


def register(subparsers) -> None:
    from ..compare import CRITERIA, DEFAULT_BASELINES

    p = subparsers.add_parser(
        "compare", help="compare a new loss with LR, LSLR, MLSLR, LSQLR, BY and CH in one report",
        description="Run asymptotic efficiency (Table I), influence functions, the robustness, efficiency and "
                    "real-data studies and (when the loss has a K-class form) the digits deep-net benchmark for a "
                    "new loss and the baselines with the same seeds, and write report.html (self-contained) and "
                    "report.md.")
    p.add_argument("--loss", required=True,
                   help="the new loss: a registered NAME[:param=value,...], or an import path "
                        "package.module:object or path/to/file.py:object (optionally :param=value,...)")
    p.add_argument("--baselines", default=",".join(DEFAULT_BASELINES),
                   help="comma-separated loss specs, no empty or repeated item "
                        f"(default {','.join(DEFAULT_BASELINES)})")
    p.add_argument("--import", dest="imports", action=UniqueList, append=True, default=[], metavar="MODULE",
                   help="import MODULE first, so that its @register_loss losses can be named (repeatable)")
    p.add_argument("--quick", action="store_true", help="small grids: under 2 minutes on 2 cores without deep nets")
    p.add_argument("--criteria", type=arg_type(split_list, allowed=CRITERIA), default=list(CRITERIA),
                   help=f"comma-separated subset of {','.join(CRITERIA)} (default all)")
    p.add_argument("--out", type=Path, default=None, help="report folder (default results/compare/LOSS[-quick])")
    p.add_argument("--seed", type=int_at_least(0), default=0, help="master seed, the same for every method (default 0)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="folder with CIFAR-10: run the deep-net benchmark on CIFAR-10 (needs a GPU) instead of digits")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="device of the deep nets")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..compare import run_compare, write_report

    for mod in args.imports:
        try:
            import_user_module(mod)
        except ValueError as exc:
            raise ValueError(f"--import {mod}: {exc}") from None
    try:  # after the imports, which may register the losses named here
        baselines = split_loss_specs(args.baselines)
    except ValueError as exc:
        raise UsageError(f"argument --baselines: {exc}") from None
    if args.device != "auto":
        check_device(args.device)
    if args.out is not None:
        check_out_dir(args.out)
    comp = run_compare(args.loss, baselines, quick=args.quick, criteria=args.criteria, out=args.out,
                       seed=args.seed, data_dir=args.data_dir, device=args.device, progress=not args.no_progress)
    paths = write_report(comp, command=" ".join(["lsis-robust", "compare"] + sys.argv[2:]))
    print(f"lsis-robust compare: {comp.wall_s:.1f} s; report: {paths['html']} and {paths['md']}", file=sys.stderr)
    return 0
