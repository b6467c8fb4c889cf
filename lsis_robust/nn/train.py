"""Training loop of the deep-network benchmark (paper Section IV, Appendix D).

Protocol: SGD with Nesterov momentum 0.9 and no weight decay, batch 128,
random crop and flip, 150 epochs; learning rate ``lr`` (0.1 by default)
multiplied by 0.1 after 50% and after 75% of the epochs (a step schedule
that scales with ``--epochs``).  After every epoch the test TSR and TTR are
evaluated, and for LSLR the R-logit metrics on the training and test sets.
Per run we keep the epoch of minimum test TSR and, separately, of minimum
test TTR, as the paper does: this selects on the test set, so both numbers
are optimistic estimates of held-out risk.

Randomness after initialisation comes only from two generators per run (the
shuffling order on the CPU, the augmentation on the device), seeded from
(seed, trial) and saved in every checkpoint, so that ``--resume`` continues
with the very numbers an uninterrupted run would use: on the CPU the metrics
are bit-identical.  On CUDA, cuDNN's autotuned kernels are not bitwise
deterministic, so resumed runs agree only to rounding there.

Convergence diagnostic (:func:`convergence`).  The exact training surrogate
risk R_e (training set, no augmentation, float64) is recorded as
``train_tsr`` on the epochs the diagnostic reads: the last
``ceil(0.1 E)`` epochs and the one before them (every epoch for LSLR,
whose training set is evaluated anyway).  Two reference values are derived
from the method's own loss, never assumed: R_untrained, its value at equal
logits (softmax uniform, what training starts near: ln K for LR, LSLR and
MLSLR at every alpha, (K - 1)/K for LSQLR), and R_fit, the lowest value a
logit vector reaches on its own label (a perfect fit: 0 for LR and LSQLR, the
entropy of the smoothed target s_alpha(t) for LSLR and MLSLR).  With
G = R_untrained - R_fit the run reports

* progress = (R_untrained - R_E) / G, the share of that gap closed;
* last_change = (R_{E-w} - R_E) / G over the last w = ceil(0.1 E) epochs;
* at_untrained = progress < 0.05 (TSR still sits at its untrained value);

and is ``converged`` when progress >= PROGRESS_MIN and |last_change| <=
CHANGE_MAX.  Because of the step schedule the last epochs run at lr / 100,
so a flat end alone does not show convergence: a run that stalled far from
the fit (MLSLR near alpha = 1, whose gradient shrinks like (1 - alpha)^2)
fails on progress.
"""
from __future__ import annotations

import contextlib
import functools
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .._validation import check_real, check_seed, check_size
from ..metrics import RiskMeter, RLogitMeter
from ..reporting import atomic_path
from .data import DeviceData
from .methods import Method
from .models import build_model

__all__ = ["TrainConfig", "Trainer", "train_run", "trial_seed", "resolve_device", "check_checkpoint",
           "checkpoint_path", "run_identity", "CHECKPOINT_FORMAT", "convergence", "reference_risks",
           "window_epochs", "PROGRESS_MIN", "CHANGE_MAX", "UNTRAINED_MAX"]

# 2: histories carry train_tsr and the reference risks of the convergence diagnostic.
CHECKPOINT_FORMAT = 2
_RLOGIT_KEYS = ("opder", "oper", "msor", "msor_eq30")
WINDOW = 0.1  # the diagnostic's window: the last 10% of the epochs
PROGRESS_MIN = 0.8
CHANGE_MAX = 0.01
UNTRAINED_MAX = 0.05


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present; ``cuda`` where there is none is an error."""
    if name not in ("auto", "cpu", "cuda"):
        raise ValueError(f"--device must be auto, cpu or cuda, got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was requested but torch finds no CUDA device "
                         f"(torch {torch.__version__}, built with CUDA {torch.version.cuda}); use --device cpu")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a run's numbers (checked again on ``--resume``)."""

    model: str
    epochs: int
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    milestones: tuple = (0.5, 0.75)
    gamma: float = 0.1
    seed: int = 0
    device: str = "cpu"
    amp: bool = False
    channels_last: bool = False
    compile: bool = False
    eval_batch_size: int = 1000

    def __post_init__(self):
        for name in ("epochs", "eval_batch_size"):
            check_size(getattr(self, name), name, 1)
        check_size(self.batch_size, "batch_size", 2, why="batch norm needs two examples")
        for name in ("lr", "momentum", "gamma"):
            check_real(getattr(self, name), name, 0.0, low_open=True)
        check_seed(self.seed)

    def lr_at(self, epoch: int) -> float:
        """Learning rate of 0-based ``epoch``: lr * gamma^(milestones passed)."""
        passed = sum(epoch >= round(m * self.epochs) for m in self.milestones)
        return self.lr * self.gamma ** passed

    def as_dict(self) -> dict:
        d = asdict(self)
        d["milestones"] = list(self.milestones)
        return d


def trial_seed(seed: int, trial: int) -> int:
    """Seed of one trial, shared by every method so that methods see the same initialisation."""
    return int(np.random.SeedSequence([seed, trial]).generate_state(1)[0])


def window_epochs(epochs: int) -> int:
    """w = ceil(0.1 E): the diagnostic compares the training TSR of epochs E - w and E."""
    return max(1, math.ceil(WINDOW * epochs - 1e-9))


@functools.lru_cache(maxsize=256)  # every trial of a method needs the same two numbers (~0.2 s to find)
def reference_risks(method, n_classes: int) -> tuple[float, float]:
    """(R_untrained, R_fit) of ``method.loss`` with ``n_classes`` classes, derived from the loss itself.

    R_untrained is the loss at equal logits.  R_fit is the lowest loss of one
    logit vector on its label (by symmetry the same for every label),
    minimised numerically over logits in [-40, 40] (e^-80 is below float64's
    resolution of a loss near 0) from three starts: equal logits and the
    label's logit at +-40.  Works for any method with a torch ``loss``,
    including a user's loss in ``lsis-robust compare``.
    """
    from scipy.optimize import minimize

    k = int(n_classes)
    y = torch.zeros(1, dtype=torch.int64)

    def f(g):
        t = torch.tensor(g, dtype=torch.float64).reshape(1, k).requires_grad_(True)
        v = method.loss(t, y)
        v.backward()
        grad = t.grad.numpy().ravel()
        if not (torch.isfinite(v) and np.isfinite(grad).all()):
            return float("inf"), np.zeros(k)
        return float(v.detach()), grad.astype(np.float64)

    untrained = f(np.zeros(k))[0]
    if not math.isfinite(untrained):
        raise ValueError(f"method {method.name!r}: its loss is not finite at equal logits, so the convergence "
                         "diagnostic has no untrained value")
    fit = untrained
    bound = 40.0
    for start in (np.zeros(k), bound * np.eye(k)[0], -bound * np.eye(k)[0]):
        r = minimize(f, start, jac=True, method="L-BFGS-B", bounds=[(-bound, bound)] * k,
                     options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 1000})
        if math.isfinite(r.fun):
            fit = min(fit, float(r.fun))
    return untrained, fit


def convergence(history) -> dict:
    """The convergence diagnostic of one run from its per-epoch rows (see the module docstring).

    Needs ``epoch``, ``tsr_untrained`` and ``tsr_fit``, and ``train_tsr`` on
    the epochs where the training set was evaluated (absent or NaN elsewhere);
    a run whose window epochs were not evaluated (cut short) gets NaN and
    ``converged = False``.
    """
    h = pd.DataFrame(history)
    if len(h) == 0:
        raise ValueError("convergence() needs at least one epoch of history")
    last = int(h["epoch"].iloc[-1])
    w = window_epochs(last)
    untrained, fit = float(h["tsr_untrained"].iloc[-1]), float(h["tsr_fit"].iloc[-1])
    by_epoch = {}
    if "train_tsr" in h:
        evaluated = h.dropna(subset=["train_tsr"])
        by_epoch = dict(zip(evaluated["epoch"].astype(int), evaluated["train_tsr"].astype(float)))
    by_epoch[0] = untrained  # before the first step the risk is taken as its untrained value
    end, start = by_epoch.get(last, math.nan), by_epoch.get(last - w, math.nan)
    gap = untrained - fit
    if not gap > 0:  # a loss whose minimum is at equal logits: no progress can be measured
        progress = change = math.nan
    else:
        progress, change = (untrained - end) / gap, (start - end) / gap
    at_untrained = not progress >= UNTRAINED_MAX
    converged = bool(progress >= PROGRESS_MIN and abs(change) <= CHANGE_MAX)
    return {"train_tsr": end, "tsr_untrained": untrained, "tsr_fit": fit, "train_progress": progress,
            "train_last_change": change, "window_epochs": w, "at_untrained": bool(at_untrained),
            "converged": converged}


class Trainer:
    """One (method, trial) run: model, optimiser, generators and history."""

    def __init__(self, method: Method, data: DeviceData, cfg: TrainConfig, trial: int = 0):
        self.method = method.check(data.data.n_classes)
        self.data, self.cfg, self.trial = data, cfg, trial
        self.device = data.device
        seed = trial_seed(cfg.seed, trial)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = build_model(cfg.model, data.data.n_classes, data.data.in_channels)
        self.model = model.to(self.device)
        if cfg.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.train_model = torch.compile(self.model) if cfg.compile else self.model
        self.opt = torch.optim.SGD(self.model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=True,
                                   weight_decay=0.0)
        self.shuffle_gen = torch.Generator().manual_seed(seed + 1)
        self.aug_gen = torch.Generator(device=self.device).manual_seed(seed + 2)
        self.epoch = 0
        self.history: list[dict] = []
        self.tsr_untrained, self.tsr_fit = reference_risks(self.method, data.data.n_classes)

    def _autocast(self):
        if self.cfg.amp:
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def step(self, x, y):
        """One SGD step; returns the (detached) batch loss and the number of errors, on the device."""
        with self._autocast():
            out = self.train_model(x)
        loss = self.method.loss(out, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        pred = out.argmin(1) if self.method.argmin_labels else out.argmax(1)
        return loss.detach(), (pred != y).sum()

    def train_epoch(self, progress: bool = False) -> dict:
        cfg, n = self.cfg, self.data.x_train.shape[0]
        lr = cfg.lr_at(self.epoch)
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.model.train()
        perm = torch.randperm(n, generator=self.shuffle_gen).to(self.device)
        starts = list(range(0, n, cfg.batch_size))
        if n - starts[-1] < 2 and len(starts) > 1:  # batch norm cannot train on a single example
            starts.pop()
        loss_sum = torch.zeros((), device=self.device, dtype=torch.float64)
        errors = torch.zeros((), device=self.device, dtype=torch.int64)
        seen = 0
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=len(starts), desc=f"{self.method.name} t{self.trial} ep {self.epoch + 1}/{cfg.epochs}",
                       leave=False, unit="batch")
        self._sync()
        t0 = time.perf_counter()
        for i, s in enumerate(starts):
            idx = perm[s:s + cfg.batch_size]
            x, y = self.data.train_batch(idx, self.aug_gen)
            loss, err = self.step(x, y)
            loss_sum += loss.double() * idx.numel()
            errors += err
            seen += idx.numel()
            if bar is not None:
                bar.update()
                if i % 10 == 9 or i == len(starts) - 1:  # each postfix read synchronises the device
                    bar.set_postfix(loss=f"{loss_sum.item() / seen:.4f}", err=f"{errors.item() / seen:.4f}")
        self._sync()
        train_time = time.perf_counter() - t0
        if bar is not None:
            bar.close()
        return {"lr": lr, "train_loss": float(loss_sum) / seen, "train_err": int(errors) / seen,
                "train_time": train_time, "images_per_s": seen / train_time}

    def _sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    @torch.no_grad()
    def evaluate(self, part: str, rlogit: bool) -> dict:
        """Exact TSR/TTR (and R-logit metrics) of ``part`` without augmentation, losses in float64."""
        self.model.eval()
        chunks, ys = [], []
        with self._autocast():
            for x, y in self.data.batches(part, self.cfg.eval_batch_size):
                chunks.append(self.model(x).float())
                ys.append(y)
        logits, targets = torch.cat(chunks).cpu().double(), torch.cat(ys).cpu()
        risk = RiskMeter(argmin=self.method.argmin_labels)
        rl = RLogitMeter(self.method.alpha, self.data.data.n_classes) if rlogit else None
        for s in range(0, logits.shape[0], self.cfg.eval_batch_size):
            g, y = logits[s:s + self.cfg.eval_batch_size], targets[s:s + self.cfg.eval_batch_size]
            risk.update(self.method.loss(g, y, reduction="none").numpy(), g.numpy(), y.numpy())
            if rl is not None:
                rl.update(g.numpy())
        out = risk.result()
        if rl is not None:
            out.update(rl.result())
        return out

    def run_epoch(self, progress: bool = False) -> dict:
        row = {"epoch": self.epoch + 1}
        row.update(self.train_epoch(progress))
        t0 = time.perf_counter()
        test = self.evaluate("test", self.method.has_rlogit)
        row.update({f"test_{k}": v for k, v in test.items()})
        # The training set is evaluated where the diagnostic reads it (the
        # last w + 1 epochs) and, for LSLR, every epoch for its R-logit metrics.
        if self.method.has_rlogit or row["epoch"] >= self.cfg.epochs - window_epochs(self.cfg.epochs):
            train = self.evaluate("train", self.method.has_rlogit)
            row.update({f"train_{k}": v for k, v in train.items()})
        row.update(tsr_untrained=self.tsr_untrained, tsr_fit=self.tsr_fit)
        row["eval_time"] = time.perf_counter() - t0
        self.epoch += 1
        self.history.append(row)
        return row

    # -- checkpoints ---------------------------------------------------------------------------------------
    def identity(self) -> dict:
        return run_identity(self.method, self.data.data.fingerprint(), self.cfg, self.trial)

    def save(self, path: Path, complete: bool = False) -> None:
        state = {"identity": self.identity(), "epoch": self.epoch, "history": self.history, "complete": complete}
        if not complete:
            # A finished run keeps only its metrics: 280 ResNet-18 runs with
            # weights and momenta would need about 25 GB.
            state.update(model=self.model.state_dict(), optimizer=self.opt.state_dict(),
                         shuffle_rng=self.shuffle_gen.get_state(), aug_rng=self.aug_gen.get_state())
        with atomic_path(path) as tmp:
            torch.save(state, tmp)

    def load(self, state: dict) -> None:
        self.epoch = state["epoch"]
        self.history = list(state["history"])
        if state["complete"]:
            return
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        self.shuffle_gen.set_state(state["shuffle_rng"])
        self.aug_gen.set_state(state["aug_rng"])


def run_identity(method: Method, data_fingerprint: dict, cfg: TrainConfig, trial: int) -> dict:
    """What a checkpoint must match to be resumed by a run."""
    return {"format": CHECKPOINT_FORMAT, "train": cfg.as_dict(), "method": method.name, "kind": method.kind,
            "alpha": method.alpha, "trial": trial, "data": data_fingerprint}


def _differences(theirs, ours, prefix=""):
    if isinstance(theirs, dict) and isinstance(ours, dict):
        out = []
        for k in sorted(set(theirs) | set(ours)):
            out += _differences(theirs.get(k), ours.get(k), f"{prefix}{k}.")
        return out
    return [] if theirs == ours else [f"{prefix.rstrip('.')}: checkpoint has {theirs!r}, this run has {ours!r}"]


def check_checkpoint(path: Path, identity: dict) -> dict:
    """Load ``path`` and refuse (ValueError) if it was written by another configuration."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for unreadable files
        raise ValueError(f"cannot read checkpoint {path}: {exc}; delete it to start that run afresh") from None
    if not isinstance(state, dict) or "identity" not in state:
        raise ValueError(f"{path} is not a checkpoint of lsis-robust nn; delete it or choose another --checkpoint-dir")
    diff = _differences(state["identity"], identity)
    if diff:
        raise ValueError(f"refusing to resume from {path}: it was written by another configuration ("
                         + "; ".join(diff) + "). Rerun with the same options, or without --resume / with "
                         "another --checkpoint-dir to start afresh")
    return state


def checkpoint_path(checkpoint_dir, method: Method, trial: int) -> Path:
    return Path(checkpoint_dir) / f"{method.name.replace('/', '_')}-trial{trial}.pt"


def train_run(method: Method, data: DeviceData, cfg: TrainConfig, trial: int = 0, checkpoint_dir=None,
              resume: bool = False, progress: bool = False, stop_after: int | None = None) -> Trainer:
    """Train one run for ``cfg.epochs`` epochs, checkpointing after each epoch.

    ``stop_after`` ends the run after that many epochs in total (as an
    interruption would) and is how the resume tests cut a run short.
    """
    trainer = Trainer(method, data, cfg, trial)
    path = checkpoint_path(checkpoint_dir, method, trial) if checkpoint_dir is not None else None
    if resume and path is not None and path.exists():
        trainer.load(check_checkpoint(path, trainer.identity()))
    last = cfg.epochs if stop_after is None else min(stop_after, cfg.epochs)
    while trainer.epoch < last:
        trainer.run_epoch(progress)
        if path is not None:
            trainer.save(path, complete=trainer.epoch == cfg.epochs)
    return trainer
