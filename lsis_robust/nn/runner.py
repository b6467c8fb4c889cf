"""Run every (method, trial) of the benchmark as an independent task and summarise each run at its selected epochs.

The runs go through the studies' executor (:func:`lsis_robust.studies._grid.map_tasks`):
in this process, in joblib worker processes, or on the workers of a
dask.distributed cluster.  Each run seeds, checkpoints and resumes on its
own, so on the CPU with the same thread count per run its metrics are
bit-identical whatever the number of workers or the backend.  On CUDA each
worker process claims one GPU of its machine (:func:`claim_slot`).
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from .._validation import check_size
from ..studies._grid import check_backend, default_n_jobs, map_tasks
from .data import DeviceData, ImageData
from .methods import Method
from .train import TrainConfig, check_checkpoint, checkpoint_path, run_identity, train_run, trial_seed

__all__ = ["run_benchmark", "summarise_run", "default_workers", "claim_slot", "worker_device", "cluster_device"]

# The slot this worker process holds on its machine: (lock folder, slot number, open lock file).
_SLOT: tuple | None = None


def summarise_run(method: Method, trial: int, seed: int, history: list[dict]) -> dict:
    """Test TSR at its minimum epoch (with the R-logit metrics there), test TTR at its own minimum, and the
    convergence diagnostic of :func:`lsis_robust.nn.train.convergence` (``converged`` and its inputs).

    Both minima are taken over the test set, as in the paper; ties go to the earliest epoch.
    """
    from .train import _RLOGIT_KEYS, convergence

    h = pd.DataFrame(history)
    i_tsr = int(h["test_tsr"].to_numpy().argmin())
    i_ttr = int(h["test_ttr"].to_numpy().argmin())
    row = {"method": method.name, "kind": method.kind, "alpha": method.alpha, "trial": trial, "seed": seed,
           "epochs": len(h), "tsr_epoch": int(h["epoch"].iloc[i_tsr]), "test_tsr": float(h["test_tsr"].iloc[i_tsr]),
           "ttr_epoch": int(h["epoch"].iloc[i_ttr]), "test_ttr": float(h["test_ttr"].iloc[i_ttr]),
           "final_test_ttr": float(h["test_ttr"].iloc[-1]),
           "images_per_s": float(h["images_per_s"].mean()),
           "epoch_time": float((h["train_time"] + h["eval_time"]).mean())}
    row.update(convergence(h))
    if method.has_rlogit:
        for part in ("train", "test"):
            for k in _RLOGIT_KEYS:
                row[f"{part}_{k}"] = float(h[f"{part}_{k}"].iloc[i_tsr])
    return row


def default_workers(device) -> int:
    """Workers a run starts unless told: one per visible GPU on CUDA, else :func:`default_n_jobs` (the usable cores)."""
    if torch.device(device).type == "cuda":
        return max(1, torch.cuda.device_count())
    return default_n_jobs()


def claim_slot(lock_dir=None) -> int:
    """The lowest worker slot of this machine that no live process holds; this process keeps it until it exits.

    Slots are ``flock``-ed files in a machine-local folder, so two workers
    never share a slot, a crashed worker's slot is freed by the kernel, and
    workers of concurrent runs on one machine spread over its GPUs too.
    """
    global _SLOT
    import fcntl

    if lock_dir is None:
        lock_dir = Path(tempfile.gettempdir()) / f"lsis-robust-slots-{os.getuid()}"
    folder = Path(lock_dir)
    if _SLOT is not None and _SLOT[0] == folder:
        return _SLOT[1]
    folder.mkdir(parents=True, exist_ok=True)
    slot = 0
    while True:
        fd = os.open(folder / f"{slot}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            slot += 1
            continue
        if _SLOT is not None:
            os.close(_SLOT[2])
        _SLOT = (folder, slot, fd)
        return slot


def worker_device(device, lock_dir=None) -> torch.device:
    """The device a worker process trains on: its own GPU ``cuda:(slot mod GPUs)`` on CUDA, else ``device``.

    A CUDA device with an explicit index (``cuda:1``) is used as given.
    """
    device = torch.device(device)
    if device.type != "cuda" or device.index is not None:
        return device
    n = torch.cuda.device_count()
    if n < 1:
        raise ValueError("this worker was given a CUDA run but torch finds no CUDA device on it")
    return torch.device("cuda", claim_slot(lock_dir) % n)


def cluster_device(client, name: str) -> torch.device:
    """What ``--device`` means on a dask cluster, whose workers train: ``auto`` is CUDA only if every worker has it."""
    if name not in ("auto", "cpu", "cuda"):
        raise ValueError(f"--device must be auto, cpu or cuda, got {name!r}")
    has_cuda = client.run(torch.cuda.is_available)
    if not has_cuda:
        raise ValueError("the dask cluster has no workers; start some (dask-worker ADDRESS) and rerun")
    without = sorted(w for w, ok in has_cuda.items() if not ok)
    if name == "cuda" and without:
        raise ValueError(f"--device cuda was requested but these dask workers find no CUDA device: {without}")
    if name == "auto" and without and len(without) < len(has_cuda):
        raise ValueError(f"some dask workers have CUDA and these do not: {without}; "
                         "give --device cpu or cuda, or use workers of one kind")
    return torch.device("cpu" if name == "cpu" or without else "cuda")


@contextlib.contextmanager
def _thread_budget(threads):
    """torch, BLAS and OpenMP use ``threads`` threads inside (None: leave them as they are)."""
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(threads):
            yield
    finally:
        torch.set_num_threads(before)


def _run_task(data: ImageData, method: Method, trial: int, cfg: TrainConfig, device, in_worker: bool,
              threads, checkpoint_dir, resume: bool, progress: bool):
    """One (method, trial) run; returns its summary row and its per-epoch history."""
    dev = worker_device(device) if in_worker else torch.device(device)
    if dev.type == "cuda":
        # Per process: a worker does not inherit the flags of the process that started it.
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    t0 = time.perf_counter()
    with _thread_budget(threads):
        trainer = train_run(method, DeviceData(data, dev, channels_last=cfg.channels_last), cfg, trial,
                            checkpoint_dir, resume, progress)
    row = summarise_run(method, trial, trial_seed(cfg.seed, trial), trainer.history)
    return row, trainer.history, {"device": str(dev), "seconds": time.perf_counter() - t0}


def run_benchmark(data: ImageData, methods: list[Method], cfg: TrainConfig, trials: int, device,
                  checkpoint_dir=None, resume: bool = False, progress: bool = False, *, n_jobs: int = 1,
                  backend: str = "joblib", scheduler=None, threads: int | None = None):
    """Train all runs; returns (per-run summary, per-epoch history, wall seconds).

    The runs are tasks of :func:`~lsis_robust.studies._grid.map_tasks`: with
    ``n_jobs`` 1 one after another in this process, else in ``n_jobs`` joblib
    worker processes, or with ``backend='dask'`` on the cluster at
    ``scheduler``.  ``threads`` is each run's thread budget for torch, BLAS
    and OpenMP (None: leave as is).  On CUDA each worker process trains on
    one GPU of its machine.  Rows come back in (trial, method) order however
    the runs finish.  With ``resume``, every existing checkpoint of the
    requested runs is checked against this configuration before any training
    starts; an interrupted parallel run resumes each run where it stopped.
    """
    check_size(trials, "trials", 1)
    if threads is not None:
        check_size(threads, "threads", 1)
    if backend == "joblib" and n_jobs == -1:
        n_jobs = default_n_jobs()
    for m in methods:
        m.check(data.n_classes)
    if resume:
        if checkpoint_dir is None:
            raise ValueError("--resume needs a checkpoint directory")
        fp = data.fingerprint()
        for t in range(trials):
            for m in methods:
                path = checkpoint_path(checkpoint_dir, m, t)
                if path.exists():
                    check_checkpoint(path, run_identity(m, fp, cfg, t))
    runs = [(m, t) for t in range(trials) for m in methods]
    client = check_backend(backend, n_jobs, scheduler)
    in_worker = backend == "dask" or (n_jobs != 1 and len(runs) > 1)
    # Per-epoch bars only where they have a terminal of their own: the serial run.
    calls = [(m, t, cfg, device, in_worker, threads, checkpoint_dir, resume, progress and not in_worker)
             for m, t in runs]
    from tqdm.auto import tqdm

    results = [None] * len(runs)
    t0 = time.perf_counter()
    bar = tqdm(total=len(runs), desc="runs", unit="run", disable=not progress, leave=False)
    try:
        for i, res in map_tasks(_run_task, calls, n_jobs=n_jobs, backend=backend, client=client, shared=(data,)):
            results[i] = res
            bar.update(1)
            if progress:
                row, _, info = res
                bar.write(f"  {row['method']} trial {row['trial']}: test TSR {row['test_tsr']:.4f}, "
                          f"TTR {row['test_ttr']:.4f} ({info['seconds']:.0f} s on {info['device']})", file=sys.stderr)
    finally:
        bar.close()
        if client is not None:
            client.close()
    wall = time.perf_counter() - t0
    rows = [row for row, _, _ in results]
    curves = [{"method": m.name, "kind": m.kind, "alpha": m.alpha, "trial": t, **r}
              for (m, t), (_, history, _) in zip(runs, results) for r in history]
    return pd.DataFrame(rows), pd.DataFrame(curves), wall
