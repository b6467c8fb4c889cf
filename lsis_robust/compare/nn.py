"""Criterion ``nn``: the digits deep-net benchmark (CIFAR-10 with ``data_dir`` and a GPU), for a loss with a K-class form."""
from __future__ import annotations

from ..reporting import save_figure
from ._plot import subplots
from .methods import label, new_loss_method, nn_method, style
from .result import Figure, Score, Section, Table

__all__ = ["criterion_nn"]


def criterion_nn(ctx) -> Section:
    title = "Deep network benchmark"
    if ctx.methods[ctx.new].kclass() is None:
        return Section("nn", title, "", notes=[
            (f"Skipped: the loss {ctx.new!r} has no K-class torch form. Give it a `kclass(logits, target, "
             "reduction='mean', **params)` attribute to include the deep-network benchmark.")])
    import torch

    from ..nn.data import load_dataset
    from ..nn.runner import run_benchmark
    from ..nn.train import TrainConfig, resolve_device

    dataset = "cifar10" if ctx.data_dir is not None else "digits"
    device = resolve_device(ctx.device)
    if dataset == "cifar10" and device.type != "cuda":
        raise ValueError("the CIFAR-10 benchmark (--data-dir) needs a GPU (--device cuda); drop --data-dir to run "
                         "the digits benchmark on the CPU")
    model, epochs, trials = ctx.settings[dataset]
    notes, methods, to_spec = [], [], {}
    for spec in ctx.methods:
        loss = ctx.methods[spec]
        m = new_loss_method(label(spec, ctx.new), loss) if spec == ctx.new else nn_method(spec, loss)
        if m is None:
            notes.append(f"{label(spec, ctx.new)}: no K-class form in lsis_robust.nn, not trained.")
        else:
            methods.append(m)
            to_spec[m.name] = spec
    cuda = device.type == "cuda"
    cfg = TrainConfig(model=model, epochs=epochs, seed=ctx.seed, device=device.type, amp=cuda, channels_last=cuda)
    data = load_dataset(dataset, ctx.data_dir)
    runs, history, wall = run_benchmark(data, methods, cfg, trials, device, progress=ctx.progress)
    fig, axes = subplots(1, width=7)
    ax = axes[0, 0]
    curve = history.groupby(["method", "epoch"], sort=False)["test_ttr"].mean().reset_index()
    for i, spec in enumerate(ctx.methods):
        d = curve[curve.method.map(to_spec) == spec]
        if len(d):
            ax.plot(d.epoch, d.test_ttr, label=label(spec, ctx.new), **style(ctx, spec, i))
    ax.set(xlabel="epoch", ylabel="test misclassification rate (TTR)", title=f"{dataset}, {model}")
    ax.legend(fontsize=7)
    save_figure(fig, ctx.figdir / "nn.png", f"Deep-net benchmark: test TTR per epoch on {dataset} ({model}, "
                f"{epochs} epochs, Nesterov SGD, mean of {trials} trial(s), seed {ctx.seed}, the same "
                f"initialisation for every method), device {device.type}.")
    runs = runs.assign(spec=runs.method.map(to_spec))
    g = runs.groupby("spec", sort=False)
    table = runs.drop(columns="spec").assign(method=[label(s, ctx.new) for s in runs.spec])
    return Section("nn", title + f" ({dataset})",
                   f"{dataset} with {model}, {epochs} epochs, {trials} trial(s) per method; K-class forms of the "
                   "losses (softmax over logits).",
                   tables=[Table("nn_runs", "Per-run results: test TTR at its best epoch, final test TTR, throughput.",
                            table)],
                   figures=[Figure("nn.png", "Test misclassification rate per epoch.")],
                   scores=[Score(f"{dataset} test TTR at the best epoch (mean over trials)", "lower",
                            g["test_ttr"].mean().to_dict()),
                           Score(f"{dataset} final-epoch test TTR", "lower",
                            g["final_test_ttr"].mean().to_dict())],
                   notes=notes, wall_s=wall, settings={"torch": torch.__version__, "device": device.type})
