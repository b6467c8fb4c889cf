"""Criterion ``realdata``: held-out misclassification and log-loss on real data."""
from __future__ import annotations

import numpy as np

from ..reporting import save_figure
from ._plot import subplots
from .methods import label, style
from .result import Figure, Score, Section, Table

__all__ = ["criterion_realdata"]


def criterion_realdata(ctx) -> Section:
    from ..studies.realdata import run_realdata

    s = ctx.settings
    coef, metrics, low, wall = run_realdata(datasets=s["datasets"], methods=list(ctx.methods),
                                            progress=ctx.progress)
    fig, axes = subplots(2)
    sets = list(s["datasets"])
    width = 0.8 / len(ctx.methods)
    for i, spec in enumerate(ctx.methods):
        d = metrics.set_index("dataset").loc[sets]
        d = d[d.method == spec]
        st = style(ctx, spec, i)
        x = np.arange(len(sets)) + (i - len(ctx.methods) / 2 + 0.5) * width
        axes[0, 0].bar(x, d.misclassification, width, color=st["color"], label=label(spec, ctx.new),
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
    lab = {x: label(x, ctx.new) for x in ctx.methods}
    return Section("realdata", "Real data (held-out prediction)",
                   f"Every method on {', '.join(sets)}: coefficients with sandwich standard errors, leave-one-out "
                   "(or cross-validated) metrics and the observations each method downweights.",
                   tables=[Table("realdata_loo", "Held-out metrics per data set and method (the validation column says LOO or CV).",
                            metrics.assign(method=metrics.method.map(lab))),
                           Table("realdata_coef", "Coefficients and sandwich standard errors.",
                            coef.assign(method=coef.method.map(lab))),
                           Table("realdata_downweighted", "Observations that some method weights below 0.5 (weight "
                            "phi'(m)/phi_LR'(m) at the full-data fit), per data set.",
                            low.rename(columns=lab))],
                   figures=[Figure("realdata.png", "Held-out misclassification and log-loss.")],
                   scores=[Score("mean held-out misclassification over data sets", "lower",
                            g["misclassification"].mean().to_dict()),
                           Score("mean held-out log-loss over data sets", "lower",
                            g["logloss"].mean().to_dict())],
                   wall_s=wall)
