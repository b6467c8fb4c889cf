"""``lsis-robust nn``: the deep-network benchmark (paper Section IV, Appendix D).

The default runs everywhere: scikit-learn's digits with a small CNN on the
CPU.  ``--dataset cifar10`` is the paper's setting (ResNet-18, 150 epochs,
20 trials), meant for a GPU.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .._validation import UsageError, arg_type, float_in, int_at_least, split_list
from ..paper import NN_DEFAULTS, NN_QUICK


def _methods(text):
    """'all' or a comma list without empty or repeated items (each method is parsed when torch is loaded)."""
    return text.strip() if text.strip().lower() == "all" else ",".join(split_list(text))


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "nn", help="deep-network benchmark: LR, LSLR, MLSLR, LSQLR (Tables II-V)",
        description="Train networks with LR, LSLR, MLSLR and LSQLR and write Tables II-V, baselines and "
                    "learning curves. Default: digits (8x8, embedded) with a small CNN on the CPU, "
                    f"{NN_DEFAULTS['digits'][1]} epochs, {NN_DEFAULTS['digits'][2]} trials. cifar10: ResNet-18, "
                    f"{NN_DEFAULTS['cifar10'][1]} epochs, {NN_DEFAULTS['cifar10'][2]} trials (use a GPU). Schedule: "
                    "Nesterov SGD, momentum 0.9, no weight decay, lr x0.1 after 50%% and 75%% of the epochs.")
    p.add_argument("--dataset", choices=sorted(NN_DEFAULTS), default="digits")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="folder with cifar-10-python.tar.gz or cifar-10-batches-py/ (default: $LSIS_ROBUST_DATA_DIR)")
    p.add_argument("--download", action="store_true", help="download the CIFAR-10 archive into --data-dir if missing")
    p.add_argument("--quick", action="store_true",
                   help=f"1 trial, {NN_QUICK['digits'][0]} epochs (digits) or {NN_QUICK['cifar10'][0]} (cifar10); "
                        "results go to OUT-quick")
    p.add_argument("--epochs", type=int_at_least(1), default=None)
    p.add_argument("--trials", type=int_at_least(1), default=None)
    p.add_argument("--methods", type=arg_type(_methods), default="all",
                   help="comma-separated, e.g. 'lr,lslr-0.4,mlslr-0.4,lslr-9.2/9,lsqlr', or 'all' (20 methods)")
    p.add_argument("--batch-size", type=int_at_least(1), default=128)
    p.add_argument("--lr", type=float_in(0, open_min=True), default=None,
                   help=f"initial learning rate (default {NN_DEFAULTS['digits'][3]:g} digits, {NN_DEFAULTS['cifar10'][3]:g} cifar10)")
    p.add_argument("--seed", type=int_at_least(0), default=0)
    p.add_argument("--out", type=Path, default=None, help="results folder (default results/nn/DATASET[-quick])")
    p.add_argument("--checkpoint-dir", type=Path, default=None, help="default OUT/checkpoints")
    p.add_argument("--resume", action="store_true", help="continue the runs saved in --checkpoint-dir")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--compile", action="store_true", help="torch.compile the training forward/backward")
    p.add_argument("--threads", type=int_at_least(1), default=None,
                   help="CPU threads of each run for torch, BLAS and OpenMP (default: 1 for digits, whose 8x8 "
                        "convolutions are too small to split; for cifar10 the usable cores shared among the "
                        "workers, and the workers' own default on dask)")
    p.add_argument("--n-jobs", type=int_at_least(1), default=None,
                   help="runs trained at once, each in its own process (default: one per GPU with CUDA, else "
                        "the usable cores, or $LSIS_ROBUST_N_JOBS); with 1 thread per run the CPU metrics are "
                        "identical for any count")
    p.add_argument("--backend", default="joblib", choices=("joblib", "dask"),
                   help="'joblib' (processes on this machine, default) or 'dask' (the workers of --scheduler)")
    p.add_argument("--scheduler", default=None, help="dask.distributed scheduler address (with --backend dask)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars, no line per finished run")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..nn.benchmark import plan_benchmark, run_and_write
    from ..nn.methods import parse_methods

    if args.batch_size < 2:
        raise UsageError("argument --batch-size: must be at least 2 (batch norm needs two examples per batch)")
    if args.dataset == "digits" and (args.data_dir is not None or args.download):
        raise UsageError("--data-dir/--download apply to --dataset cifar10 only; digits is embedded")
    try:
        methods = parse_methods(args.methods, n_classes=10)
    except ValueError as exc:
        raise UsageError(f"argument --methods: {exc}") from None
    if args.backend == "dask" and args.n_jobs is not None:
        raise UsageError("--n-jobs applies to --backend joblib; a dask cluster runs as many runs as it has workers")
    plan = plan_benchmark(args.out, dataset=args.dataset, quick=args.quick, methods=methods, epochs=args.epochs,
                          trials=args.trials, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                          checkpoint_dir=args.checkpoint_dir, resume=args.resume, device=args.device,
                          compile=args.compile, threads=args.threads, n_jobs=args.n_jobs, backend=args.backend,
                          scheduler=args.scheduler, data_dir=args.data_dir, download=args.download)
    print(f"lsis-robust nn: {plan.describe()}", file=sys.stderr)
    res = run_and_write(plan, progress=not args.no_progress, command=" ".join(["lsis-robust"] + sys.argv[1:]))
    print(f"lsis-robust nn: {res.wall_time_s:.1f} s; mean {res.history.images_per_s.mean():.0f} training images/s; "
          f"wrote {', '.join(str(p) for p in res.paths)}", file=sys.stderr)
    return 0
