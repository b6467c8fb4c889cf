"""The deep-network benchmark as one call: plan the runs, train them, write tables, curves and provenance.

:func:`plan_benchmark` validates the settings, resolves the defaults (the
paper's, from :data:`lsis_robust.paper.NN_DEFAULTS` and ``NN_QUICK``), the
device and the workers, and loads the data; nothing is trained or written.
:func:`run_and_write` trains the planned runs and writes the results.  The
split lets a caller (the ``lsis-robust nn`` command) say what is about to
run before the long part starts.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .._validation import check_option, check_out_dir, check_size
from ..paper import NN_DEFAULTS, NN_QUICK
from .data import ImageData
from .methods import Method
from .train import TrainConfig

__all__ = ["BenchmarkOutputs", "BenchmarkPlan", "plan_benchmark", "run_and_write"]


@dataclass(frozen=True)
class BenchmarkPlan:
    """Everything a benchmark run needs, resolved: what :func:`plan_benchmark` returns."""

    dataset: str
    data: ImageData
    methods: list[Method]
    cfg: TrainConfig
    trials: int
    device: object  # torch.device; the workers' device on a dask cluster
    out_dir: Path
    checkpoint_dir: Path
    resume: bool
    quick: bool
    n_jobs: int | None  # worker processes of this machine; None on a dask cluster
    threads: int | None  # each run's thread budget (None: the workers' own default)
    backend: str
    scheduler: str | None

    @property
    def label(self) -> str:
        """The settings as the tables' captions print them."""
        c = self.cfg
        return (f"{self.dataset}, {c.model}, {c.epochs} epochs, {self.trials} trial(s), batch {c.batch_size}, "
                f"lr {c.lr:g}, seed {c.seed}, {self.device.type}" + (" (--quick)" if self.quick else ""))

    def describe(self) -> str:
        """One line: how many runs, where, with how many threads each, and the settings."""
        where = (f"dask cluster {self.scheduler}" if self.n_jobs is None
                 else f"{self.n_jobs} worker process(es)" if self.n_jobs > 1 else "this process")
        return (f"{len(self.methods)} methods x {self.trials} trial(s) in {where}, "
                f"{self.threads or 'default'} thread(s) per run; {self.label}")


@dataclass(frozen=True)
class BenchmarkOutputs:
    """What :func:`run_and_write` computed and wrote: per-run summary, per-epoch history, the result files (CSVs,
    tables' Markdown, curves), the provenance and the training time."""

    out_dir: Path
    runs: pd.DataFrame
    history: pd.DataFrame
    paths: list[Path]
    provenance: Path
    wall_time_s: float


def plan_benchmark(out_dir=None, *, dataset="digits", quick=False, methods="all", epochs=None, trials=None,
                   batch_size=128, lr=None, seed=0, checkpoint_dir=None, resume=False, device="auto",
                   compile=False, threads=None, n_jobs=None, backend="joblib", scheduler=None, data_dir=None,
                   download=False) -> BenchmarkPlan:
    """Validate and resolve the benchmark's settings and load its data.

    None takes the paper's setting for ``dataset`` (``quick``: 1 trial, few
    epochs); ``out_dir`` defaults to ``results/nn/DATASET[-quick]`` and
    ``checkpoint_dir`` to ``OUT/checkpoints``.  ``n_jobs`` (joblib only)
    defaults to one worker per GPU with CUDA, else the usable cores, and is
    never more than the runs; ``threads`` to 1 for digits (its 8x8
    convolutions are too small to split), else the usable cores shared among
    the workers (the workers' own default on dask).  An unreachable
    ``scheduler`` fails before the data are loaded.
    """
    from ..studies._grid import check_backend, default_n_jobs
    from .data import load_dataset
    from .methods import parse_methods
    from .runner import cluster_device, default_workers
    from .train import resolve_device

    check_option(dataset, "dataset", tuple(NN_DEFAULTS))
    check_size(batch_size, "batch_size", 2, why="batch norm needs two examples per batch")
    if dataset == "digits" and (data_dir is not None or download):
        raise ValueError("data_dir and download apply to the cifar10 dataset only; digits is embedded")
    if isinstance(methods, str):
        methods = parse_methods(methods, n_classes=10)
    if not methods or not all(isinstance(m, Method) for m in methods):
        raise TypeError("methods must be a method list such as 'lr,lslr-0.4' or 'all', or a list of Method")
    methods = list(methods)
    if backend == "dask" and n_jobs is not None:
        raise ValueError("n_jobs applies to backend='joblib'; a dask cluster runs as many runs as it has workers")
    client = check_backend(backend, 1, scheduler)
    if client is None:
        device = resolve_device(device)
        n_jobs = n_jobs or default_workers(device)
    else:
        try:  # the runs train on the workers, so their devices decide what 'auto' and 'cuda' mean
            device = cluster_device(client, device)
        finally:
            client.close()
    model, default_epochs, default_trials, default_lr = NN_DEFAULTS[dataset]
    if quick:
        default_epochs, default_trials = NN_QUICK[dataset]
    epochs, trials, lr = epochs or default_epochs, trials or default_trials, lr or default_lr
    out_dir = Path(out_dir) if out_dir is not None else Path("results/nn") / (dataset + ("-quick" if quick else ""))
    checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else out_dir / "checkpoints"
    if resume and not checkpoint_dir.is_dir():
        raise ValueError(f"--resume: checkpoint folder {checkpoint_dir} does not exist")
    check_out_dir(out_dir)
    check_out_dir(checkpoint_dir, "--checkpoint-dir")
    cuda = device.type == "cuda"
    cfg = TrainConfig(model=model, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=device.type,
                      amp=cuda, channels_last=cuda, compile=compile)
    data = load_dataset(dataset, data_dir, download)
    if client is None:
        n_jobs = min(n_jobs, len(methods) * trials)  # a worker without a run would only take a share of the cores
    else:
        n_jobs = None
    if threads is None and dataset == "digits":
        threads = 1
    elif threads is None and client is None:
        threads = max(1, default_n_jobs() // n_jobs)
    return BenchmarkPlan(dataset=dataset, data=data, methods=methods, cfg=cfg, trials=trials, device=device,
                         out_dir=out_dir, checkpoint_dir=checkpoint_dir, resume=resume, quick=quick, n_jobs=n_jobs,
                         threads=threads, backend=backend, scheduler=scheduler)


def run_and_write(plan: BenchmarkPlan, *, progress=True, command=None) -> BenchmarkOutputs:
    """Train the planned runs, write runs/curves CSVs, Tables II-V, baselines, curves and ``nn.provenance.json``.

    ``command`` is the command line the provenance records (None: none).
    """
    import torch

    from ..reporting import write_provenance
    from .runner import run_benchmark
    from .tables import write_results

    if not isinstance(plan, BenchmarkPlan):
        raise TypeError(f"run_and_write needs the BenchmarkPlan of plan_benchmark, got {type(plan).__name__}")
    on_cluster = plan.n_jobs is None
    runs, history, wall = run_benchmark(plan.data, plan.methods, plan.cfg, plan.trials, plan.device,
                                        plan.checkpoint_dir, plan.resume, progress=progress,
                                        n_jobs=1 if on_cluster else plan.n_jobs, backend=plan.backend,
                                        scheduler=plan.scheduler, threads=plan.threads)
    paths = write_results(runs, history, plan.out_dir, plan.label)
    cuda = plan.device.type == "cuda"
    dev_name = torch.cuda.get_device_name() if cuda and not on_cluster else plan.device.type
    provenance = write_provenance(
        plan.out_dir, "nn", seed=plan.cfg.seed, command=command, dataset=plan.dataset, model=plan.cfg.model,
        methods=[m.name for m in plan.methods], trials=plan.trials, train_config=plan.cfg.as_dict(), quick=plan.quick,
        device=dev_name, torch=torch.__version__, cuda=torch.version.cuda, threads=plan.threads, backend=plan.backend,
        n_jobs=plan.n_jobs, wall_time_s=round(wall, 2), images_per_s=round(float(history.images_per_s.mean()), 1),
        epoch_time_s=round(float((history.train_time + history.eval_time).mean()), 4),
        test_set_selection="minimum test TSR / minimum test TTR epochs, selected on the test set")
    return BenchmarkOutputs(out_dir=plan.out_dir, runs=runs, history=history, paths=paths, provenance=provenance,
                            wall_time_s=wall)
