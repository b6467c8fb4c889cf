"""Figures of the studies in the layout of the paper's Fig. 2 and Fig. 4 (matplotlib Agg, PNG with caption)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .common import method_color, method_label

__all__ = ["plot_efficiency", "plot_robustness"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _panels_per_beta(df, width, height):
    """The betas and methods of a study frame (in order of appearance), its rows per beta, and a figure with an SoB
    and a TTR row and one column per beta, for the caller to draw its curves in."""
    betas = list(dict.fromkeys(zip(df.beta1, df.beta2)))
    methods = list(dict.fromkeys(df.method))
    fig, axes = _plt().subplots(2, len(betas), figsize=(width * len(betas) + 1, height), squeeze=False, sharex=True)
    cells = [df[(df.beta1 == b1) & (df.beta2 == b2)] for b1, b2 in betas]
    return betas, methods, cells, fig, axes


def plot_efficiency(df: pd.DataFrame, path, protocol):
    """Fig. 2: mean +- std of SoB (top) and TTR (bottom) versus n, one column per beta."""
    from ..reporting import save_figure

    betas, methods, cells, fig, axes = _panels_per_beta(df, 2.6, 5.6)
    for col, ((b1, b2), cell) in enumerate(zip(betas, cells)):
        for i, spec in enumerate(methods):
            d = cell[cell.method == spec].sort_values("n")
            shift = 1 + 0.03 * (i - len(methods) / 2)
            for row, metric in enumerate(("sob", "ttr")):
                axes[row, col].errorbar(d.n * shift, d[f"{metric}_mean"], yerr=d[f"{metric}_std"], fmt="o-",
                                        ms=3, lw=0.8, capsize=2, color=method_color(spec, i),
                                        label=method_label(spec))
        axes[0, col].set_title(f"beta = ({b1:g}, {b2:g})", fontsize=9)
        axes[0, col].set_yscale("log")
        axes[1, col].set_xlabel("n")
        axes[1, col].set_xscale("log")
    axes[0, 0].set_ylabel("SoB ||beta_hat - beta||")
    axes[1, 0].set_ylabel("TTR (misclassification)")
    axes[0, -1].legend(fontsize=6, loc="upper right")
    fig.tight_layout()
    n_trials = int(df.n_trials.max())
    caption = (f"Efficiency under the correct model (20), {protocol} protocol: mean (circles) and std (bars) of SoB "
               f"and TTR over {n_trials} trials versus n. Fits without a finite minimiser (separated samples) are "
               f"excluded from mean/std and counted in the table ({int(df.n_excluded.sum())} fits).")
    return save_figure(fig, path, caption)


def _curves(ax, d, metric, color, label, style, lw=1.0, alpha=1.0):
    d = d.sort_values("x_c2")
    col = f"{metric}_mean" if f"{metric}_mean" in d else metric
    ax.plot(d.x_c2, d[col], style, color=color, lw=lw, alpha=alpha, label=label)


def plot_robustness(df: pd.DataFrame, pop, out_dir, protocol, other_csv=None):
    """Fig. 4 (per protocol) and the protocol comparison figure; returns the paths written."""
    from ..reporting import save_figure

    plt = _plt()
    out_dir = Path(out_dir)
    betas, methods, cells, fig, axes = _panels_per_beta(df, 3.6, 6)
    for col, ((b1, b2), cell) in enumerate(zip(betas, cells)):
        for i, spec in enumerate(methods):
            for yc, style in ((1, "-"), (-1, "--")):
                d = cell[(cell.method == spec) & (cell.y_c == yc)]
                for row, metric in enumerate(("sob", "ttr")):
                    _curves(axes[row, col], d, metric, method_color(spec, i),
                            method_label(spec) if yc == 1 else None, style)
        axes[0, col].set_title(f"beta = ({b1:g}, {b2:g})", fontsize=9)
        axes[1, col].set_xlabel("x_c2")
    axes[0, 0].set_ylabel("SoB")
    axes[1, 0].set_ylabel("TTR")
    axes[0, -1].legend(fontsize=6)
    fig.tight_layout()
    paths = [save_figure(fig, out_dir / "robustness.png",
                         f"Robustness under point-mass contamination, {protocol} protocol (sample curves, "
                         "one sample from F_eps per beta): solid y_c = +1, dashed y_c = -1.")]
    other = pd.read_csv(other_csv) if other_csv is not None and Path(other_csv).exists() else None
    fig, axes = plt.subplots(2, len(betas), figsize=(3.6 * len(betas) + 1, 6), squeeze=False, sharex=True)
    shown = [protocol]
    for col, (b1, b2) in enumerate(betas):
        for i, spec in enumerate(methods):
            color = method_color(spec, i)
            sel = (df.beta1 == b1) & (df.beta2 == b2) & (df.method == spec) & (df.y_c == 1)
            for row, metric in enumerate(("sob", "ttr")):
                ax = axes[row, col]
                _curves(ax, df[sel], metric, color, f"{method_label(spec)} {protocol}" if not col else None,
                        "-" if protocol == "estimator" else "--")
                if other is not None:
                    o = other[(other.beta1 == b1) & (other.beta2 == b2) & (other.method == spec) & (other.y_c == 1)]
                    if len(o):
                        oname = o.protocol.iloc[0]
                        _curves(ax, o, metric, color, f"{method_label(spec)} {oname}" if not col else None,
                                "-" if oname == "estimator" else "--")
                if pop is not None:
                    p = pop[(np.isclose(pop.beta1, b1)) & (np.isclose(pop.beta2, b2)) & (pop.method == spec)
                            & (pop.y_c == 1)]
                    _curves(ax, p, metric, color, f"{method_label(spec)} population" if not col else None, ":",
                            lw=2.0, alpha=0.6)
        axes[0, col].set_title(f"beta = ({b1:g}, {b2:g}), y_c = +1", fontsize=9)
        axes[1, col].set_xlabel("x_c2")
    if other is not None and len(other):
        shown.append(other.protocol.iloc[0])
    axes[0, 0].set_ylabel("SoB")
    axes[1, 0].set_ylabel("TTR")
    axes[0, 0].legend(fontsize=5, ncol=2)
    fig.tight_layout()
    what = " and ".join(f"{p} protocol ({'solid' if p == 'estimator' else 'dashed'})" for p in shown)
    what += "; exact population T(F_eps) (dotted)" if pop is not None else \
        "; exact population curves not shown (the theory engine is not available)"
    caption = (f"Protocols compared, y_c = +1: {what}. The paper protocol (150 Adam steps from the truth) moves each "
               "coordinate at most about 0.7, so it understates the bias of methods whose minimiser is far from "
               "beta (LR at anomalous x_c); the estimator protocol gives the true sample minimisers.")
    paths.append(save_figure(fig, out_dir / "robustness_protocols.png", caption))
    return paths
