"""Run every (method, trial) of the benchmark and summarise each run at its selected epochs."""
from __future__ import annotations

import time

import pandas as pd

from .data import DeviceData, ImageData
from .methods import Method
from .train import TrainConfig, check_checkpoint, checkpoint_path, run_identity, train_run, trial_seed

__all__ = ["run_benchmark", "summarise_run"]


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


def run_benchmark(data: ImageData, methods: list[Method], cfg: TrainConfig, trials: int, device,
                  checkpoint_dir=None, resume: bool = False, progress: bool = False):
    """Train all runs; returns (per-run summary, per-epoch history, wall seconds).

    With ``resume``, every existing checkpoint of the requested runs is
    checked against this configuration before any training starts.
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be a positive integer, got {trials!r}")
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
    dev = DeviceData(data, device, channels_last=cfg.channels_last)
    rows, curves = [], []
    t0 = time.perf_counter()
    for t in range(trials):
        for m in methods:
            trainer = train_run(m, dev, cfg, t, checkpoint_dir, resume, progress)
            rows.append(summarise_run(m, t, trial_seed(cfg.seed, t), trainer.history))
            curves += [{"method": m.name, "kind": m.kind, "alpha": m.alpha, "trial": t, **r} for r in trainer.history]
    return pd.DataFrame(rows), pd.DataFrame(curves), time.perf_counter() - t0
