"""Compare a new binary loss with the baselines on every criterion of the suite, in one report.

Each criterion is one function ``criterion_*(ctx) -> Section`` over the same
methods (the new loss first, then the baselines) and the same seeds:

* ``are``        asymptotic relative efficiency on the Table I designs (theory engine);
* ``influence``  influence function along x_c = (1, x_c2) and gross-error sensitivity;
* ``robustness`` the point-contamination study (SoB and TTR against x_c2, Fig. 4 style);
* ``efficiency`` the correct-model study (SoB and TTR against n, Fig. 2 style);
* ``realdata``   held-out (leave-one-out or cross-validated) misclassification and log-loss on real data;
* ``nn``         the digits deep-net benchmark (CIFAR-10 with ``data_dir`` and a GPU), run only
  when the new loss has a K-class torch form ``kclass``.

A criterion that does not apply to a method (LSLR is not Fisher-consistent
for the logit model, so it has no ARE; BY and CH have no K-class form) gets
an empty cell and a note, never a made-up number.  :func:`write_report`
writes a self-contained HTML page (figures embedded as base64 PNG), its
Markdown twin, every table as CSV/Markdown/LaTeX, the figures as PNG and the
provenance (versions, commit, seeds, settings, wall times).
"""
from __future__ import annotations

import base64
import html
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .registry import parse_loss_spec
from .reporting import atomic_write_text, provenance, save_figure, write_table

__all__ = ["CRITERIA", "DEFAULT_BASELINES", "SETTINGS", "Section", "Comparison", "resolve_new_loss",
           "run_compare", "write_report", "summary_table"]

CRITERIA = ("are", "influence", "robustness", "efficiency", "realdata", "nn")
DEFAULT_BASELINES = ("lr", "lslr:alpha=0.4", "mlslr:alpha=0.4", "lsqlr", "by", "ch")
_TABLE1_BETAS = [(float(b1), float(b2)) for b1 in (0, 1, 2) for b2 in (1, 2, 4)]

# --quick keeps every criterion but shrinks its grid; the full settings are the studies' paper-size grids.
SETTINGS = {
    "quick": {
        "are": {"betas": _TABLE1_BETAS},
        "influence": {"betas": [(0.0, 2.0)], "xc2": np.linspace(-10, 10, 81)},
        "robustness": {"betas": [(0.0, 2.0)], "xc2": np.arange(-10, 10.5, 1.0), "eps": 0.05, "n": 2000,
                       "m": 2000, "n_trials": 1},
        "efficiency": {"betas": [(0.0, 2.0)], "sizes": (50, 200), "n_trials": 20, "m": 2000},
        "realdata": {"datasets": ("vaso", "foodstamp", "leukemia")},
        "nn": {"digits": ("small_cnn", 8, 1), "cifar10": ("resnet18", 2, 1)},
    },
    "full": {
        "are": {"betas": _TABLE1_BETAS},
        "influence": {"betas": [(0.0, 1.0), (0.0, 2.0), (0.0, 4.0)], "xc2": np.linspace(-10, 10, 201)},
        "robustness": {"betas": [(0.0, 1.0), (0.0, 2.0), (0.0, 4.0)], "xc2": np.round(np.arange(-100, 101) / 10, 1),
                       "eps": 0.05, "n": 10_000, "m": 10_000, "n_trials": 1},
        "efficiency": {"betas": _TABLE1_BETAS, "sizes": (25, 50, 100, 200, 400, 800), "n_trials": 100,
                       "m": 10_000},
        "realdata": {"datasets": ("vaso", "foodstamp", "leukemia", "breast_cancer")},
        "nn": {"digits": ("small_cnn", 30, 3), "cifar10": ("resnet18", 150, 20)},
    },
}
_NEW_COLOR = "darkorange"


@dataclass
class Section:
    """What one criterion contributes to the report."""

    key: str
    title: str
    description: str
    tables: list = field(default_factory=list)  # (stem, caption, DataFrame)
    figures: list = field(default_factory=list)  # (file name, caption)
    scores: list = field(default_factory=list)  # {"metric", "better": "higher"/"lower", "values": {spec: float}}
    notes: list = field(default_factory=list)
    wall_s: float = 0.0
    settings: dict = field(default_factory=dict)


@dataclass
class Comparison:
    new: str
    methods: dict  # spec -> MarginLoss, the new loss first
    sections: list
    settings_name: str
    seed: int
    out: Path
    wall_s: float = 0.0
    info: dict = field(default_factory=dict)


@dataclass
class _Context:
    new: str
    methods: dict
    settings: dict
    seed: int
    figdir: Path
    progress: bool
    data_dir: Path | None
    device: str


def resolve_new_loss(spec: str) -> str:
    """The registry spec of the new loss: ``name[:p=v,...]`` or ``package.module:object[:p=v,...]``.

    An import path (a module part with a dot or ending in .py, or an object
    part without '=') is imported and registered under the object's name.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("--loss needs a loss: a registered name such as 'mlslr:alpha=0.4', or an import path "
                         "'package.module:object' / 'file.py:object' (optionally ':param=value,...')")
    parts = spec.strip().split(":")
    if len(parts) >= 2 and ("=" not in parts[1]):
        from .registry import register_object

        if len(parts) > 3:
            raise ValueError(f"cannot read --loss {spec!r}: expected 'package.module:object[:param=value,...]'")
        name = register_object(":".join(parts[:2]))
        spec = name + (":" + parts[2] if len(parts) == 3 else "")
    parse_loss_spec(spec)  # builds and validates it now, before any study starts
    return spec


def _label(spec, new):
    from .studies.common import method_label

    if spec == new:
        return f"{spec} (new)"
    return method_label(spec)


def _style(ctx, spec, i):
    from .studies.common import method_color

    if spec == ctx.new:
        return {"color": _NEW_COLOR, "lw": 2.6, "zorder": 5}
    return {"color": method_color(spec, i), "lw": 1.3}


def _figure(ncols, nrows=1, width=5.2, height=3.8):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows + 0.6), squeeze=False)
    return fig, axes


def _beta_str(b):
    return "(" + ", ".join(f"{v:g}" for v in b) + ")"


# ----------------------------------------------------------------------------------- criteria


def criterion_shapes(ctx) -> Section:
    """phi' and the ML-relative weight of every method: what the numbers below come from."""
    m = np.linspace(-8, 8, 801)
    fig, axes = _figure(2)
    for i, (spec, loss) in enumerate(ctx.methods.items()):
        d1 = np.asarray(loss.dphi(m))
        # Scaled by the largest value, not the value at m = 0: BY with c = 0.5 has phi'(0) = 0.
        axes[0, 0].plot(m, d1 / np.max(np.abs(d1)), label=_label(spec, ctx.new), **_style(ctx, spec, i))
        with np.errstate(all="ignore"):
            w = np.asarray(loss.weight(m))
        axes[0, 1].plot(m, w / np.nanmax(np.abs(w)), **_style(ctx, spec, i))
    axes[0, 0].set(xlabel="margin m = y x'beta", ylabel="phi'(m) / max |phi'|", title="Slope of the loss")
    axes[0, 1].set(xlabel="margin m = y x'beta", ylabel="weight phi'(m)/phi_LR'(m) / max weight",
                   title="Weight relative to maximum likelihood")
    axes[0, 0].legend(fontsize=7)
    name = "shapes.png"
    save_figure(fig, ctx.figdir / name, "Loss shapes on m in [-8, 8]: slope phi'(m) and observation weight "
                "psi(v)/v = phi'(m)/phi_LR'(m), each scaled by its largest absolute value; a weight near 0 means the "
                "loss ignores the observation (bounded influence).")
    return Section("shapes", "Loss shapes", "Slope and observation weight of every method as functions of the "
                   "margin.", figures=[(name, "Slope phi'(m) and weight phi'(m)/phi_LR'(m) of every method.")])


def criterion_are(ctx) -> Section:
    """ARE = tr(C_LR) / tr(C) at each Table I beta; methods the theory rejects get a note."""
    from .theory import asymptotic_relative_efficiency

    betas = ctx.settings["betas"]
    values, notes = {}, []
    for spec, loss in ctx.methods.items():
        try:
            values[spec] = [asymptotic_relative_efficiency(loss, b) for b in betas]
        except ValueError as exc:
            notes.append(f"{_label(spec, ctx.new)}: no ARE ({exc})")
    table = pd.DataFrame({_label(s, ctx.new): v for s, v in values.items()},
                         index=pd.Index([_beta_str(b) for b in betas], name="beta")).reset_index()
    fig, axes = _figure(1, width=7)
    ax = axes[0, 0]
    x = np.arange(len(betas))
    for i, (spec, v) in enumerate(values.items()):
        ax.plot(x, v, marker="o", label=_label(spec, ctx.new), **_style(ctx, spec, i))
    ax.set_xticks(x, [_beta_str(b) for b in betas], rotation=30, fontsize=8)
    ax.set(xlabel="true beta (Table I design: x2 ~ N(0, 1))", ylabel="ARE = tr(C_LR) / tr(C)",
           title="Asymptotic relative efficiency")
    ax.legend(fontsize=7)
    save_figure(fig, ctx.figdir / "are.png", "Asymptotic relative efficiency against LR (Theorem 4 sandwich, "
                "error-controlled quadrature) on the nine Table I designs; higher is better, LR = 1.")
    scores = [{"metric": "mean ARE over the Table I designs", "better": "higher",
               "values": {s: float(np.mean(v)) for s, v in values.items()}},
              {"metric": "worst ARE over the Table I designs", "better": "higher",
               "values": {s: float(np.min(v)) for s, v in values.items()}}]
    return Section("are", "Asymptotic relative efficiency (Table I)",
                   "Efficiency under the correct logistic model: ratio of the traces of the asymptotic covariances "
                   "of LR and the method.",
                   tables=[("are", "ARE = tr(C_LR)/tr(C) per Table I design (rows) and method (columns).", table)],
                   figures=[("are.png", "ARE on the Table I designs.")], scores=scores, notes=notes)


def criterion_influence(ctx) -> Section:
    """||IF(x_c, y_c)|| along x_c = (1, x_c2) for both labels, and the GES over that path."""
    from .theory import asymptotic_covariance, influence_function

    s = ctx.settings
    xc2 = np.asarray(s["xc2"], dtype=np.float64)
    pts = np.column_stack([np.ones(xc2.size), xc2])
    rows, ges, notes = [], {}, []
    for b in s["betas"]:
        for spec, loss in ctx.methods.items():
            try:
                B = asymptotic_covariance(loss, b).B
            except ValueError as exc:
                if b == s["betas"][0]:
                    notes.append(f"{_label(spec, ctx.new)}: no influence function ({exc})")
                continue
            for yc in (1.0, -1.0):
                norms = np.linalg.norm(influence_function(loss, b, pts, yc, B=B), axis=1)
                rows += [{"beta": _beta_str(b), "method": _label(spec, ctx.new), "spec": spec, "y_c": yc,
                          "x_c2": x, "if_norm": v} for x, v in zip(xc2, norms)]
    long = pd.DataFrame(rows)
    per_beta = long.groupby(["beta", "spec"], sort=False)["if_norm"].max().reset_index()
    ges = per_beta.groupby("spec", sort=False)["if_norm"].max().to_dict()
    ges_table = per_beta.assign(method=[_label(x, ctx.new) for x in per_beta.spec]).pivot_table(
        index="beta", columns="method", values="if_norm", sort=False).reset_index()
    b0 = _beta_str(s["betas"][0])
    fig, axes = _figure(2)
    for j, yc in enumerate((1.0, -1.0)):
        ax = axes[0, j]
        for i, spec in enumerate(ctx.methods):
            d = long[(long.beta == b0) & (long.spec == spec) & (long.y_c == yc)]
            if len(d):
                ax.plot(d.x_c2, d.if_norm, label=_label(spec, ctx.new), **_style(ctx, spec, i))
        ax.set(xlabel="contamination point x_c2 (x_c = (1, x_c2))", ylabel="||IF(x_c, y_c)||", yscale="log",
               title=f"Influence function, beta = {b0}, y_c = {yc:+g}")
    axes[0, 0].legend(fontsize=7)
    save_figure(fig, ctx.figdir / "influence.png", f"Norm of the influence function IF = -B^-1 y_c phi'(y_c "
                f"beta'x_c) x_c at beta = {b0} along x_c = (1, x_c2), for y_c = +1 and -1; bounded losses level "
                "off, LR grows without bound.")
    lo, hi = float(xc2.min()), float(xc2.max())
    return Section("influence", "Influence function and gross-error sensitivity",
                   "Infinitesimal robustness under the nominal model: the influence of a point mass at (x_c, y_c).",
                   tables=[("ges", f"Gross-error sensitivity: sup ||IF|| over x_c2 in [{lo:g}, {hi:g}] and y_c = "
                            "+-1, per beta (rows) and method (columns).", ges_table),
                           ("influence", "||IF(x_c, y_c)|| per beta, method, label and x_c2.",
                            long.drop(columns="spec"))],
                   figures=[("influence.png", f"Influence function norm at beta = {b0}.")],
                   scores=[{"metric": f"gross-error sensitivity (sup over x_c2 in [{lo:g}, {hi:g}], worst beta)",
                            "better": "lower", "values": ges}], notes=notes)


def criterion_robustness(ctx) -> Section:
    from .studies.robustness import run_robustness

    s = ctx.settings
    df, wall = run_robustness(betas=s["betas"], methods=list(ctx.methods), eps=s["eps"], xc2=s["xc2"], n=s["n"],
                              m=s["m"], n_trials=s["n_trials"], seed=ctx.seed, progress=ctx.progress)
    g = df.groupby(["beta1", "beta2", "method"], sort=False)
    worst = g[["sob_mean", "ttr_mean"]].max().groupby("method", sort=False).mean()
    mean = g[["sob_mean", "ttr_mean"]].mean().groupby("method", sort=False).mean()
    b = s["betas"][0]
    fig, axes = _figure(2, 2)
    for j, yc in enumerate((1, -1)):
        for i, spec in enumerate(ctx.methods):
            d = df[(df.beta1 == b[0]) & (df.beta2 == b[1]) & (df.method == spec) & (df.y_c == yc)]
            axes[0, j].plot(d.x_c2, d.sob_mean, label=_label(spec, ctx.new), **_style(ctx, spec, i))
            axes[1, j].plot(d.x_c2, d.ttr_mean, **_style(ctx, spec, i))
        axes[0, j].set(xlabel="contamination point x_c2", ylabel="SoB ||beta_hat - beta||",
                       title=f"beta = {_beta_str(b)}, y_c = {yc:+d}")
        axes[1, j].set(xlabel="contamination point x_c2", ylabel="test misclassification rate (TTR)")
    axes[0, 0].legend(fontsize=7)
    save_figure(fig, ctx.figdir / "robustness.png", f"Robustness study: size of bias and test misclassification "
                f"rate of each method's estimate on n = {s['n']} rows with a fraction eps = {s['eps']:g} at "
                f"(1, x_c2), beta = {_beta_str(b)}, mean of {s['n_trials']} trial(s), seed {ctx.seed}.")
    table = df.assign(method=[_label(x, ctx.new) for x in df.method])
    # The study leaves fits without a finite minimiser out of each cell's mean; say how many, per method.
    excluded = df.groupby("method", sort=False)["n_excluded"].sum()
    notes = [f"{_label(spec, ctx.new)}: {k} of {int(df[df.method == spec].n_trials.sum())} fits did not reach a "
             "finite minimiser and are excluded from the means (counts per cell in the table)."
             for spec, k in excluded.items() if k]
    return Section("robustness", "Robustness study (point contamination, Fig. 4)",
                   f"Every method fitted (Newton, the estimator protocol) to the same contaminated samples: "
                   f"eps = {s['eps']:g}, n = m = {s['n']}, {len(s['xc2'])} contamination points x_c2, both labels.",
                   tables=[("robustness", "Robustness study: mean SoB and TTR per beta, method, y_c and x_c2.",
                            table)],
                   figures=[("robustness.png", "SoB and TTR against the contamination point.")],
                   scores=[{"metric": "worst-case SoB under contamination (max over x_c, y_c)", "better": "lower",
                            "values": worst["sob_mean"].to_dict()},
                           {"metric": "mean SoB under contamination", "better": "lower",
                            "values": mean["sob_mean"].to_dict()},
                           {"metric": "worst-case TTR under contamination", "better": "lower",
                            "values": worst["ttr_mean"].to_dict()}],
                   notes=notes, wall_s=wall)


def criterion_efficiency(ctx) -> Section:
    from .studies.efficiency import run_efficiency

    s = ctx.settings
    df, wall = run_efficiency(betas=s["betas"], sizes=s["sizes"], methods=list(ctx.methods), n_trials=s["n_trials"],
                              m=s["m"], seed=ctx.seed, progress=ctx.progress)
    betas = s["betas"]
    ncols = min(3, len(betas))
    show = betas[:ncols]
    fig, axes = _figure(ncols)
    for j, b in enumerate(show):
        for i, spec in enumerate(ctx.methods):
            d = df[(df.beta1 == b[0]) & (df.beta2 == b[1]) & (df.method == spec)]
            axes[0, j].plot(d.n, d.sob_mean, marker="o", label=_label(spec, ctx.new), **_style(ctx, spec, i))
        axes[0, j].set(xscale="log", yscale="log", xlabel="sample size n", ylabel="mean SoB ||beta_hat - beta||",
                       title=f"beta = {_beta_str(b)}")
    axes[0, 0].legend(fontsize=7)
    save_figure(fig, ctx.figdir / "efficiency.png", f"Efficiency study: mean size of bias over {s['n_trials']} "
                f"samples of the correct model per n (fits that did not reach a finite minimiser excluded and "
                f"counted in the table), seed {ctx.seed}.")
    g = df.groupby("method", sort=False)
    table = df.assign(method=[_label(x, ctx.new) for x in df.method])
    return Section("efficiency", "Efficiency study (correct model, Fig. 2)",
                   f"Every method fitted to the same {s['n_trials']} samples per (beta, n) drawn from the logistic "
                   f"model; test sets of m = {s['m']}.",
                   tables=[("efficiency", "Efficiency study: mean/std SoB and TTR per beta, n and method, with "
                            "separated and excluded trial counts.", table)],
                   figures=[("efficiency.png", "Mean SoB against the sample size.")],
                   scores=[{"metric": f"mean SoB under the correct model at n = {max(s['sizes'])} (mean over beta)",
                            "better": "lower",
                            "values": df[df.n == max(s["sizes"])].groupby("method")["sob_mean"].mean().to_dict()},
                           {"metric": "mean TTR under the correct model (over beta, n)", "better": "lower",
                            "values": g["ttr_mean"].mean().to_dict()}],
                   wall_s=wall)


def criterion_realdata(ctx) -> Section:
    from .studies.realdata import run_realdata

    s = ctx.settings
    coef, metrics, low, wall = run_realdata(datasets=s["datasets"], methods=list(ctx.methods),
                                            progress=ctx.progress)
    fig, axes = _figure(2)
    sets = list(s["datasets"])
    width = 0.8 / len(ctx.methods)
    for i, spec in enumerate(ctx.methods):
        d = metrics.set_index("dataset").loc[sets]
        d = d[d.method == spec]
        st = _style(ctx, spec, i)
        x = np.arange(len(sets)) + (i - len(ctx.methods) / 2 + 0.5) * width
        axes[0, 0].bar(x, d.misclassification, width, color=st["color"], label=_label(spec, ctx.new),
                       edgecolor="black" if spec == ctx.new else None)
        axes[0, 1].bar(x, d.logloss, width, color=st["color"], edgecolor="black" if spec == ctx.new else None)
    for ax, lab in ((axes[0, 0], "held-out misclassification rate"), (axes[0, 1], "held-out log-loss")):
        ax.set_xticks(np.arange(len(sets)), sets)
        ax.set(xlabel="data set", ylabel=lab)
    axes[0, 0].legend(fontsize=7)
    save_figure(fig, ctx.figdir / "realdata.png", "Real data: held-out misclassification rate and log-loss "
                "(leave-one-out, or 3 x 10-fold cross-validation on large sets; logistic-model probabilities from "
                "each method's coefficients) per data set and method.")
    g = metrics.groupby("method", sort=False)
    lab = {x: _label(x, ctx.new) for x in ctx.methods}
    return Section("realdata", "Real data (held-out prediction)",
                   f"Every method on {', '.join(sets)}: coefficients with sandwich standard errors, leave-one-out "
                   "(or cross-validated) metrics and the observations each method downweights.",
                   tables=[("realdata_loo", "Held-out metrics per data set and method (the validation column says LOO or CV).",
                            metrics.assign(method=metrics.method.map(lab))),
                           ("realdata_coef", "Coefficients and sandwich standard errors.",
                            coef.assign(method=coef.method.map(lab))),
                           ("realdata_downweighted", "Observations that some method weights below 0.5 (weight "
                            "phi'(m)/phi_LR'(m) at the full-data fit), per data set.",
                            low.rename(columns=lab))],
                   figures=[("realdata.png", "Held-out misclassification and log-loss.")],
                   scores=[{"metric": "mean held-out misclassification over data sets", "better": "lower",
                            "values": g["misclassification"].mean().to_dict()},
                           {"metric": "mean held-out log-loss over data sets", "better": "lower",
                            "values": g["logloss"].mean().to_dict()}],
                   wall_s=wall)


@dataclass(frozen=True)
class _KClassMethod:
    """The new loss as a deep-net method: what :mod:`lsis_robust.nn.train` needs of a Method."""

    name: str
    fn: object
    kind: str = "user"
    alpha: float | None = None
    argmin_labels: bool = False
    has_rlogit: bool = False

    def check(self, n_classes):
        return self

    def loss(self, logits, target, reduction="mean"):
        return self.fn(logits, target, reduction=reduction)


def _nn_method(spec):
    """The K-class form of a baseline spec in lsis_robust.nn, or None (BY and CH have none)."""
    from .nn.methods import parse_method

    name, _, rest = spec.partition(":")
    if name in ("lr", "lsqlr") and not rest:
        return parse_method(name)
    if name in ("lslr", "mlslr") and rest.startswith("alpha="):
        return parse_method(f"{name}-{rest[len('alpha='):]}")
    return None


def criterion_nn(ctx) -> Section:
    new_loss = ctx.methods[ctx.new]
    title = "Deep network benchmark"
    kclass = getattr(new_loss, "kclass", None)
    if kclass is None:
        return Section("nn", title, "", notes=[
            f"Skipped: the loss {ctx.new!r} has no K-class torch form. Give it a `kclass(logits, target, "
            "reduction='mean', **params)` attribute to include the deep-network benchmark."])
    import torch

    from .nn.data import load_dataset
    from .nn.runner import run_benchmark
    from .nn.train import TrainConfig, resolve_device

    dataset = "cifar10" if ctx.data_dir is not None else "digits"
    device = resolve_device(ctx.device)
    if dataset == "cifar10" and device.type != "cuda":
        raise ValueError("the CIFAR-10 benchmark (--data-dir) needs a GPU (--device cuda); drop --data-dir to run "
                         "the digits benchmark on the CPU")
    model, epochs, trials = ctx.settings[dataset]
    notes, methods = [], []
    for spec in ctx.methods:
        if spec == ctx.new:
            methods.append(_KClassMethod(_label(spec, ctx.new), kclass))
            continue
        m = _nn_method(spec)
        if m is None:
            notes.append(f"{_label(spec, ctx.new)}: no K-class form in lsis_robust.nn, not trained.")
        else:
            methods.append(m)
    cuda = device.type == "cuda"
    cfg = TrainConfig(model=model, epochs=epochs, seed=ctx.seed, device=device.type, amp=cuda, channels_last=cuda)
    data = load_dataset(dataset, ctx.data_dir)
    runs, history, wall = run_benchmark(data, methods, cfg, trials, device, progress=ctx.progress)
    to_spec = {m.name: spec for spec in ctx.methods for m in methods
               if m.name == (_label(spec, ctx.new) if spec == ctx.new else getattr(_nn_method(spec), "name", None))}
    fig, axes = _figure(1, width=7)
    ax = axes[0, 0]
    curve = history.groupby(["method", "epoch"], sort=False)["test_ttr"].mean().reset_index()
    for i, spec in enumerate(ctx.methods):
        d = curve[curve.method.map(to_spec) == spec]
        if len(d):
            ax.plot(d.epoch, d.test_ttr, label=_label(spec, ctx.new), **_style(ctx, spec, i))
    ax.set(xlabel="epoch", ylabel="test misclassification rate (TTR)", title=f"{dataset}, {model}")
    ax.legend(fontsize=7)
    save_figure(fig, ctx.figdir / "nn.png", f"Deep-net benchmark: test TTR per epoch on {dataset} ({model}, "
                f"{epochs} epochs, Nesterov SGD, mean of {trials} trial(s), seed {ctx.seed}, the same "
                f"initialisation for every method), device {device.type}.")
    runs = runs.assign(spec=runs.method.map(to_spec))
    g = runs.groupby("spec", sort=False)
    table = runs.drop(columns="spec").assign(method=[_label(s, ctx.new) for s in runs.spec])
    return Section("nn", title + f" ({dataset})",
                   f"{dataset} with {model}, {epochs} epochs, {trials} trial(s) per method; K-class forms of the "
                   "losses (softmax over logits).",
                   tables=[("nn_runs", "Per-run results: test TTR at its best epoch, final test TTR, throughput.",
                            table)],
                   figures=[("nn.png", "Test misclassification rate per epoch.")],
                   scores=[{"metric": f"{dataset} test TTR at the best epoch (mean over trials)", "better": "lower",
                            "values": g["test_ttr"].mean().to_dict()},
                           {"metric": f"{dataset} final-epoch test TTR", "better": "lower",
                            "values": g["final_test_ttr"].mean().to_dict()}],
                   notes=notes, wall_s=wall, settings={"torch": torch.__version__, "device": device.type})


_CRITERION_FUNCS = {"are": criterion_are, "influence": criterion_influence, "robustness": criterion_robustness,
                    "efficiency": criterion_efficiency, "realdata": criterion_realdata, "nn": criterion_nn}


# ------------------------------------------------------------------------------ orchestration


def _check_criteria(criteria):
    if criteria is None:
        return list(CRITERIA)
    if isinstance(criteria, str):
        criteria = [c.strip() for c in criteria.split(",") if c.strip()]
    criteria = list(criteria)
    bad = [c for c in criteria if c not in CRITERIA]
    if bad or not criteria:
        raise ValueError(f"unknown or no criteria {bad or criteria}; choose from {', '.join(CRITERIA)}")
    if len(set(criteria)) != len(criteria):
        raise ValueError(f"criteria are repeated: {criteria}")
    return [c for c in CRITERIA if c in criteria]


def run_compare(loss, baselines=DEFAULT_BASELINES, *, quick=False, criteria=None, out=None, seed=0,
                data_dir=None, device="auto", progress=True) -> Comparison:
    """Run every criterion for the new ``loss`` spec and the ``baselines``; return the sections.

    ``loss``: a registered spec (``name:param=value``) or an import path
    (``package.module:object``); ``baselines``: registered specs;
    ``criteria``: a subset of :data:`CRITERIA` (default all);
    ``seed``: the master seed shared by every method.  Figures go to
    ``out/figures``.  Call :func:`write_report` to write the report.
    """
    from tqdm.auto import tqdm

    from .studies.common import resolve_methods

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} is invalid; use a non-negative integer")
    if not isinstance(quick, bool):
        raise TypeError(f"quick must be True or False, got {quick!r}")
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device={device!r} is invalid; use 'auto', 'cpu' or 'cuda'")
    new = resolve_new_loss(loss)
    baselines = [baselines] if isinstance(baselines, str) else list(baselines)
    if new in baselines:
        baselines.remove(new)
    methods = resolve_methods([new] + baselines)
    crits = _check_criteria(criteria)
    if data_dir is not None:
        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise FileNotFoundError(f"--data-dir {data_dir} is not a folder")
    out = Path(out) if out is not None else Path("results/compare") / (new.replace(":", "_").replace("=", "")
                                                                        + ("-quick" if quick else ""))
    figdir = out / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    name = "quick" if quick else "full"
    t0 = time.perf_counter()
    base_ctx = dict(new=new, methods=methods, seed=int(seed), figdir=figdir, progress=progress,
                    data_dir=data_dir, device=device)
    sections = [criterion_shapes(_Context(settings={}, **base_ctx))]
    for key in tqdm(crits, desc="compare", disable=not progress):
        t = time.perf_counter()
        sec = _CRITERION_FUNCS[key](_Context(settings=SETTINGS[name][key], **base_ctx))
        sec.wall_s = time.perf_counter() - t
        sec.settings = {**_jsonable(SETTINGS[name][key]), **sec.settings}
        sections.append(sec)
    new_loss = methods[new]
    info = {"derivatives": getattr(new_loss, "derivative_source", lambda: "analytic (built-in)")(),
            "bounded": bool(new_loss.bounded), "convex": bool(new_loss.convex),
            "params": new_loss.get_params(), "class": f"{type(new_loss).__module__}.{type(new_loss).__qualname__}",
            "source": _source(loss)}
    return Comparison(new, methods, sections, name, int(seed), out, time.perf_counter() - t0, info)


def _source(spec):
    parts = spec.split(":")
    return ":".join(parts[:2]) if len(parts) >= 2 and "=" not in parts[1] else "registry"


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        v = obj.tolist()
        return v if len(v) <= 12 else {"min": min(v), "max": max(v), "count": len(v)}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def summary_table(comp: Comparison) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ranking, scores): the new loss's rank per criterion metric, and every method's value per metric.

    Ranks count only methods with a value (1 = best; ties share the better rank).
    """
    labels = {s: _label(s, comp.new) for s in comp.methods}
    ranking, scores = [], []
    for sec in comp.sections:
        for sc in sec.scores:
            vals = pd.Series({labels[s]: sc["values"].get(s, np.nan) for s in comp.methods}, dtype=np.float64)
            scores.append({"criterion": sec.title, "metric": sc["metric"], "better": sc["better"], **vals.to_dict()})
            have = vals.dropna()
            new_val = vals[labels[comp.new]]
            asc = sc["better"] == "lower"
            best = have.sort_values(ascending=asc).index[0] if len(have) else None
            rank = int(have.rank(ascending=asc, method="min")[labels[comp.new]]) if not np.isnan(new_val) else None
            ranking.append({"criterion": sec.title, "metric": sc["metric"], "better": sc["better"],
                            "new loss": new_val, "rank": f"{rank} of {len(have)}" if rank else "n/a",
                            "best method": best, "best value": have[best] if best is not None else np.nan})
    return pd.DataFrame(ranking), pd.DataFrame(scores)


# ----------------------------------------------------------------------------------- writing

_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:12px;margin:0.5em 0}th,td{border:1px solid #ccc;padding:2px 6px;
text-align:right}th{background:#f0f0f0}figure{margin:1em 0}figure img{max-width:100%;height:auto;
border:1px solid #ddd}figcaption{font-size:13px;color:#444}.note{background:#fff6e0;padding:4px 8px}
details{margin:0.5em 0}pre{background:#f6f6f6;padding:8px;font-size:12px;overflow-x:auto}"""


def _fmt(df):
    shown = df.copy()
    for c in shown.columns:
        if pd.api.types.is_float_dtype(shown[c]):
            shown[c] = shown[c].map(lambda v: "" if pd.isna(v) else f"{v:.4g}")
    return shown


def _html_table(df):
    return _fmt(df).to_html(index=False, border=0, escape=True)


def _remove_stale_outputs(comp: Comparison):
    """Delete the tables and figures an earlier report left in ``comp.out`` that this one does not write.

    A rerun with other criteria into the same folder would otherwise leave, say, a robustness table of other
    settings beside a report that no longer mentions it.  Only the kinds of file a report writes are touched.
    """
    stems = {"summary", "scores"} | {stem for sec in comp.sections for stem, _, _ in sec.tables}
    keep_tables = {f"{stem}.{ext}" for stem in stems for ext in ("csv", "md", "tex")}
    keep_figures = {fname for sec in comp.sections for fname, _ in sec.figures}
    for folder, keep, kinds in ((comp.out / "tables", keep_tables, {".csv", ".md", ".tex"}),
                                (comp.out / "figures", keep_figures, {".png"})):
        if folder.is_dir():
            for path in folder.iterdir():
                if path.is_file() and path.suffix in kinds and path.name not in keep:
                    path.unlink()


def write_report(comp: Comparison, command: str | None = None) -> dict:
    """Write report.html (self-contained), report.md, tables/ and compare.provenance.json under ``comp.out``."""
    out = comp.out
    tabdir = out / "tables"
    _remove_stale_outputs(comp)
    ranking, scores = summary_table(comp)
    write_table(ranking, tabdir, "summary", "Rank of the new loss per criterion.", float_format="{:.4g}")
    write_table(scores, tabdir, "scores", "Every method's value per criterion metric.", float_format="{:.4g}")
    for sec in comp.sections:
        for stem, caption, df in sec.tables:
            write_table(df, tabdir, stem, caption, float_format="{:.4g}")
    walls = {sec.key: round(sec.wall_s, 2) for sec in comp.sections if sec.key != "shapes"}
    prov = provenance(command=command or " ".join(["lsis-robust"] + sys.argv[1:]), seed=comp.seed,
                      seeds_note="one master seed for every method: the studies seed by grid coordinates, never by "
                                 "method; the deep nets share the initialisation per trial",
                      settings=comp.settings_name, new_loss=comp.new, new_loss_info=_jsonable(comp.info),
                      methods=list(comp.methods), criteria={s.key: s.settings for s in comp.sections
                                                            if s.key != "shapes"},
                      wall_time_s=walls, total_wall_time_s=round(comp.wall_s, 2),
                      torch=_torch_version())
    atomic_write_text(out / "compare.provenance.json", json.dumps(prov, indent=2, default=str) + "\n")
    title = f"lsis_robust comparison: {comp.new} against {', '.join(s for s in comp.methods if s != comp.new)}"
    h, md = [], []
    h.append(f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>")
    md.append(f"# {title}\n")
    intro = (f"Settings: {comp.settings_name}{' (--quick)' if comp.settings_name == 'quick' else ''}; master seed "
             f"{comp.seed}, the same for every method; total wall time {comp.wall_s:.1f} s. New loss: "
             f"{comp.new} ({comp.info['class']}, from {comp.info['source']}); derivatives: "
             f"{comp.info['derivatives']}; bounded: {comp.info['bounded']}; convex: {comp.info['convex']}.")
    h.append(f"<p>{html.escape(intro)}</p><h2>Summary: rank of the new loss per criterion</h2>")
    md.append(intro + "\n\n## Summary: rank of the new loss per criterion\n")
    cap = ("Rank 1 is best; methods without a value for a metric (see the notes of its section) are not "
           "ranked.")
    h.append(f"<p>{cap}</p>{_html_table(ranking)}<h3>All methods per metric</h3>{_html_table(scores)}")
    md.append(f"{cap}\n\n{_fmt(ranking).to_markdown(index=False)}\n\n### All methods per metric\n\n"
              f"{_fmt(scores).to_markdown(index=False)}\n")
    for sec in comp.sections:
        h.append(f"<h2>{html.escape(sec.title)}</h2><p>{html.escape(sec.description)}</p>")
        md.append(f"\n## {sec.title}\n\n{sec.description}\n")
        if sec.key != "shapes":
            h.append(f"<p>Wall time: {sec.wall_s:.1f} s.</p>")
            md.append(f"Wall time: {sec.wall_s:.1f} s.\n")
        for note in sec.notes:
            h.append(f"<p class='note'>{html.escape(note)}</p>")
            md.append(f"> {note}\n")
        for fname, caption in sec.figures:
            data = base64.b64encode((out / "figures" / fname).read_bytes()).decode("ascii")
            h.append(f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(caption)}'>"
                     f"<figcaption>{html.escape(caption)}</figcaption></figure>")
            md.append(f"![{caption}](figures/{fname})\n\n*{caption}*\n")
        for stem, caption, df in sec.tables:
            long = len(df) > 30
            h.append(("<details><summary>" if long else "<h3>") + html.escape(caption)
                     + (f" ({len(df)} rows; tables/{stem}.csv)</summary>" if long else "</h3>")
                     + _html_table(df) + ("</details>" if long else ""))
            md.append(f"\n### {caption}\n\n" + (f"{len(df)} rows: [tables/{stem}.csv](tables/{stem}.csv)\n" if long
                                                 else _fmt(df).to_markdown(index=False) + "\n"))
    prov_text = json.dumps(prov, indent=2, default=str)
    h.append(f"<h2>Provenance</h2><pre>{html.escape(prov_text)}</pre></body></html>")
    md.append(f"\n## Provenance\n\n```json\n{prov_text}\n```\n")
    paths = {"html": atomic_write_text(out / "report.html", "\n".join(h) + "\n"),
             "md": atomic_write_text(out / "report.md", "\n".join(md))}
    return paths


def _torch_version():
    try:
        import torch
    except ImportError:
        return None
    return torch.__version__
