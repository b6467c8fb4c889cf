"""``lsis-robust nn``: the deep-network benchmark (paper Section IV, Appendix D).

The default runs everywhere: scikit-learn's digits with a small CNN on the
CPU.  ``--dataset cifar10`` is the paper's setting (ResNet-18, 150 epochs,
20 trials), meant for a GPU.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .._validation import UsageError, arg_type, check_out_dir, float_in, int_at_least, split_list
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
    import torch

    from ..nn.data import load_dataset
    from ..nn.methods import parse_methods
    from ..nn.runner import cluster_device, default_workers, run_benchmark
    from ..nn.tables import write_results
    from ..nn.train import TrainConfig, resolve_device
    from ..reporting import write_provenance
    from ..studies._grid import check_backend, default_n_jobs

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
    # Connect first, so that an unreachable scheduler fails before the data are loaded.
    client = check_backend(args.backend, 1, args.scheduler)
    if client is None:
        device = resolve_device(args.device)
        n_jobs = args.n_jobs or default_workers(device)
    else:
        try:  # the runs train on the workers, so their devices decide what 'auto' and 'cuda' mean
            device = cluster_device(client, args.device)
        finally:
            client.close()
        n_jobs = 1
    model, epochs, trials, lr = NN_DEFAULTS[args.dataset]
    lr = args.lr or lr
    if args.quick:
        epochs, trials = NN_QUICK[args.dataset]
    epochs = args.epochs or epochs
    trials = args.trials or trials
    out = args.out or Path("results/nn") / (args.dataset + ("-quick" if args.quick else ""))
    ckpt = args.checkpoint_dir or out / "checkpoints"
    if args.resume and not ckpt.is_dir():
        raise ValueError(f"--resume: checkpoint folder {ckpt} does not exist")
    check_out_dir(out)
    check_out_dir(ckpt, "--checkpoint-dir")
    cuda = device.type == "cuda"
    cfg = TrainConfig(model=model, epochs=epochs, batch_size=args.batch_size, lr=lr, seed=args.seed,
                      device=device.type, amp=cuda, channels_last=cuda, compile=args.compile)
    data = load_dataset(args.dataset, args.data_dir, args.download)

    n_jobs = min(n_jobs, len(methods) * trials)  # a worker without a run would only take a share of the cores
    threads = args.threads
    if threads is None and args.dataset == "digits":
        threads = 1
    elif threads is None and client is None:
        threads = max(1, default_n_jobs() // n_jobs)
    label = (f"{args.dataset}, {model}, {epochs} epochs, {trials} trial(s), batch {args.batch_size}, "
             f"lr {lr:g}, seed {args.seed}, {device.type}" + (" (--quick)" if args.quick else ""))
    where = (f"dask cluster {args.scheduler}" if client is not None
             else f"{n_jobs} worker process(es)" if n_jobs > 1 else "this process")
    print(f"lsis-robust nn: {len(methods)} methods x {trials} trial(s) in {where}, "
          f"{threads or 'default'} thread(s) per run; {label}", file=sys.stderr)
    runs, history, wall = run_benchmark(data, methods, cfg, trials, device, ckpt, args.resume,
                                        progress=not args.no_progress, n_jobs=n_jobs, backend=args.backend,
                                        scheduler=args.scheduler, threads=threads)
    written = write_results(runs, history, out, label)
    dev_name = torch.cuda.get_device_name() if cuda and client is None else device.type
    write_provenance(out, "nn", seed=args.seed, command=" ".join(["lsis-robust"] + sys.argv[1:]),
                     dataset=args.dataset, model=model, methods=[m.name for m in methods], trials=trials,
                     train_config=cfg.as_dict(), quick=args.quick, device=dev_name, torch=torch.__version__,
                     cuda=torch.version.cuda, threads=threads, backend=args.backend,
                     n_jobs=n_jobs if client is None else None,
                     wall_time_s=round(wall, 2),
                     images_per_s=round(float(history.images_per_s.mean()), 1),
                     epoch_time_s=round(float((history.train_time + history.eval_time).mean()), 4),
                     test_set_selection="minimum test TSR / minimum test TTR epochs, selected on the test set")
    print(f"lsis-robust nn: {wall:.1f} s; mean {history.images_per_s.mean():.0f} training images/s; "
          f"wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    return 0
