"""Check the deep-network benchmark on a GPU against the CPU in float64, and time it.

1. Losses: the 20 methods' values and gradients on the device (float32)
   against float64 on the CPU, and finiteness under bf16 autocast with
   logits up to 1e4.
2. One SGD step of ResNet-18 on the device (float32, TF32 off) against the
   same step in float64 on the CPU: loss and parameter update.
3. Timing: a few epochs of the real training loop (bf16 autocast,
   channels_last, data and augmentation on the GPU, optional torch.compile)
   on CIFAR-10 (``--data-dir`` or $LSIS_ROBUST_DATA_DIR) or, without it, on
   random images of CIFAR's shape (the same work per epoch).  Reports images
   per second, epoch time, and the 150-epoch projection.

Writes ``gpu_check.json`` and ``gpu_check.md`` to ``--out`` (default
results/nn); with ``--cpu`` (the test mode, tiny sizes) the files are named
``gpu_check_cpu.*`` so that a GPU record is never overwritten.  Exit status 1
if a check fails.  Takes about 2-4 minutes on one H100:

    python -m lsis_robust.bench.gpu_check [--epochs 3] [--compile] [--data-dir DIR]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ..nn import data as D
from ..nn.methods import PAPER_METHODS, parse_method
from ..nn.models import ResNet18
from ..nn.train import TrainConfig, Trainer
from ..reporting import atomic_write_text, git_commit

LOSS_RTOL = 1e-5   # float32 against float64 on O(1) losses and gradients
STEP_RTOL = 2e-3   # relative error of a float32 ResNet-18 update (cuDNN/BN reductions in float32)


def check_losses(device) -> list[dict]:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x64 = torch.randn(512, 10, generator=g, dtype=torch.float64) * 5
    y = torch.randint(0, 10, (512,), generator=g)
    rows = []
    for name in PAPER_METHODS:
        m = parse_method(name)
        ref_x = x64.clone().requires_grad_(True)
        ref = m.loss(ref_x, y)
        (ref_g,) = torch.autograd.grad(ref, ref_x)
        dx = x64.float().to(device).requires_grad_(True)
        got = m.loss(dx, y.to(device))
        (got_g,) = torch.autograd.grad(got, dx)
        err_v = abs(got.item() - ref.item()) / abs(ref.item())
        err_g = (got_g.double().cpu() - ref_g).norm().item() / ref_g.norm().item()
        w = torch.randn(16, 10, device=device, requires_grad=True)
        feats = torch.randn(256, 16, device=device) * 2500
        with torch.autocast(device.type, dtype=torch.bfloat16):
            big = feats @ w
            loss = m.loss(big, torch.randint(0, 10, (256,), device=device))
        loss.backward()
        finite = bool(torch.isfinite(loss).item() and torch.isfinite(w.grad).all().item())
        rows.append({"method": name, "value_rel_err": err_v, "grad_rel_err": err_g,
                     "max_abs_logit_bf16": float(big.detach().abs().max()), "bf16_finite": finite,
                     "ok": err_v < LOSS_RTOL and err_g < LOSS_RTOL and finite})
    return rows


def check_step(device, size: int, batch: int) -> dict:
    torch.manual_seed(0)
    ref = ResNet18().double()
    net = ResNet18()
    net.load_state_dict(ref.state_dict())
    net = net.float().to(device)
    x = torch.randn(batch, 3, size, size, dtype=torch.float64)
    y = torch.randint(0, 10, (batch,))
    m = parse_method("mlslr-0.4")
    before = {k: v.clone() for k, v in ref.state_dict().items()}
    out = {}
    for label, model, xx, yy in (("ref", ref, x, y), ("dev", net, x.float().to(device), y.to(device))):
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        model.train()
        loss = m.loss(model(xx), yy)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out[label] = (loss.item(), {k: v.detach().double().cpu() for k, v in model.state_dict().items()})
    num = den = 0.0
    for k, p0 in before.items():
        if not p0.is_floating_point():
            continue
        d_ref, d_dev = out["ref"][1][k] - p0, out["dev"][1][k] - p0
        num += (d_dev - d_ref).square().sum().item()
        den += d_ref.square().sum().item()
    loss_err = abs(out["dev"][0] - out["ref"][0]) / abs(out["ref"][0])
    upd_err = (num / den) ** 0.5
    return {"image_size": size, "batch": batch, "loss_rel_err": loss_err, "update_rel_err": upd_err,
            "ok": loss_err < STEP_RTOL and upd_err < STEP_RTOL}


def time_epochs(device, data: D.ImageData, epochs: int, compile_: bool, batch_size: int) -> list[dict]:
    cuda = device.type == "cuda"
    cfg = TrainConfig(model="resnet18", epochs=150, batch_size=batch_size, device=device.type, amp=cuda,
                      channels_last=cuda, compile=compile_)
    dev = D.DeviceData(data, device, channels_last=cfg.channels_last)
    rows = []
    # MLSLR evaluates the test set each epoch; LSLR also the training set (R-logit metrics).
    for name in ("mlslr-0.4", "lslr-0.4"):
        tr = Trainer(parse_method(name), dev, cfg)
        for _ in range(epochs):
            r = tr.run_epoch()
            rows.append({"method": name, "epoch": r["epoch"], "train_time_s": r["train_time"],
                         "eval_time_s": r["eval_time"], "images_per_s": r["images_per_s"],
                         "test_ttr": r["test_ttr"]})
    return rows


def synthetic(n_train: int, n_test: int, size: int) -> D.ImageData:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n_train + n_test, 3, size, size), dtype=np.uint8)
    y = rng.integers(0, 10, n_train + n_test)
    return D.ImageData(f"random-uint8-{size}x{size}", x[:n_train], y[:n_train], x[n_train:], y[n_train:],
                       scale=1 / 255, pad=4, flip=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m lsis_robust.bench.gpu_check", description=__doc__.splitlines()[0])
    p.add_argument("--cpu", action="store_true", help="test mode: run on the CPU with tiny sizes")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs per method (first one is warm-up)")
    p.add_argument("--n-train", type=int, default=None, help="training images (default 50000; 64 with --cpu)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--compile", action="store_true")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--out", type=Path, default=Path("results/nn"))
    args = p.parse_args(argv)
    if args.epochs < 1 or (args.n_train is not None and args.n_train < 2) or args.batch_size < 2:
        p.error("--epochs must be >= 1, --n-train and --batch-size >= 2")
    if not args.cpu and not torch.cuda.is_available():
        p.error("no CUDA device found; pass --cpu to run the same checks on the CPU")
    device = torch.device("cpu" if args.cpu else "cuda")
    if device.type == "cuda":
        # The correctness checks compare float32 with float64: no TF32 there.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    t0 = time.perf_counter()
    losses = check_losses(device)
    step = check_step(device, size=16 if args.cpu else 32, batch=8 if args.cpu else 64)
    t_checks = time.perf_counter() - t0

    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if args.data_dir is not None or D.os.environ.get(D.DATA_ENV):
        data = D.load_cifar10(args.data_dir)
        if args.n_train:
            data = D.ImageData(data.name, data.x_train[:args.n_train], data.y_train[:args.n_train],
                               data.x_test, data.y_test, data.scale, data.pad, data.flip)
    else:
        n = args.n_train or (64 if args.cpu else 50_000)
        data = synthetic(n, 32 if args.cpu else 10_000, 32)
    timing = time_epochs(device, data, args.epochs, args.compile, args.batch_size)
    steady = [r for r in timing if r["epoch"] > 1] or timing
    summary = {}
    for name in ("mlslr-0.4", "lslr-0.4"):
        rs = [r for r in steady if r["method"] == name]
        ep = float(np.mean([r["train_time_s"] + r["eval_time_s"] for r in rs]))
        summary[name] = {"images_per_s": float(np.mean([r["images_per_s"] for r in rs])), "epoch_time_s": ep,
                         "projected_150_epochs_s": 150 * ep}
    ok = all(r["ok"] for r in losses) and step["ok"]
    record = {
        "ok": ok, "device": torch.cuda.get_device_name(0) if device.type == "cuda" else f"cpu ({platform.machine()})",
        "torch": torch.__version__, "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
        "python": platform.python_version(), "git_commit": git_commit(), "cpu_threads": torch.get_num_threads(),
        "mode": "cpu-test" if args.cpu else "gpu", "compile": args.compile, "data": data.name,
        "n_train": int(data.x_train.shape[0]), "n_test": int(data.x_test.shape[0]), "batch_size": args.batch_size,
        "bf16_autocast": device.type == "cuda", "channels_last": device.type == "cuda",
        "checks_seconds": t_checks, "total_seconds": time.perf_counter() - t0,
        "loss_checks": losses, "step_check": step, "timing_epochs": timing, "timing_summary": summary,
    }
    stem = "gpu_check_cpu" if args.cpu else "gpu_check"
    atomic_write_text(args.out / f"{stem}.json", json.dumps(record, indent=2) + "\n")
    worst = max(losses, key=lambda r: max(r["value_rel_err"], r["grad_rel_err"]))
    worst_err = max(worst["value_rel_err"], worst["grad_rel_err"])
    md = [f"# Deep-network benchmark check ({record['mode']})", "",
          f"- device: {record['device']}; torch {record['torch']}, CUDA {record['cuda']}, cuDNN {record['cudnn']}",
          f"- commit: {record['git_commit']}; all checks passed: **{ok}**",
          f"- losses vs CPU float64 (20 methods): worst relative error {worst_err:.2e}"
          f" ({worst['method']}); bf16 autocast with |logits| up to "
          f"{max(r['max_abs_logit_bf16'] for r in losses):.0f} finite: {all(r['bf16_finite'] for r in losses)}",
          f"- ResNet-18 SGD step ({step['batch']} images {step['image_size']}x{step['image_size']}) vs CPU float64: "
          f"loss rel. error {step['loss_rel_err']:.2e}, update rel. error {step['update_rel_err']:.2e}",
          f"- timing on {record['data']} ({record['n_train']} train / {record['n_test']} test images, batch "
          f"{args.batch_size}, bf16 {record['bf16_autocast']}, channels_last {record['channels_last']}, compile "
          f"{args.compile}); first epoch excluded as warm-up when more than one was run:", "",
          "| method | images/s (training) | epoch time s (train + eval) | 150 epochs projected s |",
          "|---|---|---|---|"]
    md += [f"| {k} | {v['images_per_s']:.0f} | {v['epoch_time_s']:.3f} | {v['projected_150_epochs_s']:.0f} |"
           for k, v in summary.items()]
    md += ["", f"Whole check: {record['total_seconds']:.0f} s.", ""]
    atomic_write_text(args.out / f"{stem}.md", "\n".join(md))
    print("\n".join(md))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
