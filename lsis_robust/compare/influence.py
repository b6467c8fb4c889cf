"""Criterion ``influence``: the influence function along x_c = (1, x_c2) and the gross-error sensitivity."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..reporting import save_figure
from ._plot import beta_str, subplots
from .methods import label, style
from .result import Figure, Score, Section, Table

__all__ = ["criterion_influence"]


def criterion_influence(ctx) -> Section:
    """||IF(x_c, y_c)|| along x_c = (1, x_c2) for both labels, and the GES over that path."""
    from ..theory import asymptotic_covariance, influence_function

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
                    notes.append(f"{label(spec, ctx.new)}: no influence function ({exc})")
                continue
            for yc in (1.0, -1.0):
                norms = np.linalg.norm(influence_function(loss, b, pts, yc, B=B), axis=1)
                rows += [{"beta": beta_str(b), "method": label(spec, ctx.new), "spec": spec, "y_c": yc,
                          "x_c2": x, "if_norm": v} for x, v in zip(xc2, norms)]
    long = pd.DataFrame(rows)
    per_beta = long.groupby(["beta", "spec"], sort=False)["if_norm"].max().reset_index()
    ges = per_beta.groupby("spec", sort=False)["if_norm"].max().to_dict()
    ges_table = per_beta.assign(method=[label(x, ctx.new) for x in per_beta.spec]).pivot_table(
        index="beta", columns="method", values="if_norm", sort=False).reset_index()
    b0 = beta_str(s["betas"][0])
    fig, axes = subplots(2)
    for j, yc in enumerate((1.0, -1.0)):
        ax = axes[0, j]
        for i, spec in enumerate(ctx.methods):
            d = long[(long.beta == b0) & (long.spec == spec) & (long.y_c == yc)]
            if len(d):
                ax.plot(d.x_c2, d.if_norm, label=label(spec, ctx.new), **style(ctx, spec, i))
        ax.set(xlabel="contamination point x_c2 (x_c = (1, x_c2))", ylabel="||IF(x_c, y_c)||", yscale="log",
               title=f"Influence function, beta = {b0}, y_c = {yc:+g}")
    axes[0, 0].legend(fontsize=7)
    save_figure(fig, ctx.figdir / "influence.png", f"Norm of the influence function IF = -B^-1 y_c phi'(y_c "
                f"beta'x_c) x_c at beta = {b0} along x_c = (1, x_c2), for y_c = +1 and -1; bounded losses level "
                "off, LR grows without bound.")
    lo, hi = float(xc2.min()), float(xc2.max())
    return Section("influence", "Influence function and gross-error sensitivity",
                   "Infinitesimal robustness under the nominal model: the influence of a point mass at (x_c, y_c).",
                   tables=[Table("ges", f"Gross-error sensitivity: sup ||IF|| over x_c2 in [{lo:g}, {hi:g}] and y_c = "
                            "+-1, per beta (rows) and method (columns).", ges_table),
                           Table("influence", "||IF(x_c, y_c)|| per beta, method, label and x_c2.",
                            long.drop(columns="spec"))],
                   figures=[Figure("influence.png", f"Influence function norm at beta = {b0}.")],
                   scores=[Score(f"gross-error sensitivity (sup over x_c2 in [{lo:g}, {hi:g}], worst beta)",
                            "lower", ges)], notes=notes)
