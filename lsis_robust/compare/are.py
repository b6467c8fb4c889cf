"""Criterion ``are``: asymptotic relative efficiency on the Table I designs (theory engine)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..reporting import save_figure
from ._plot import beta_str, subplots
from .methods import label, style
from .result import Figure, Score, Section, Table

__all__ = ["criterion_are"]


def criterion_are(ctx) -> Section:
    """ARE = tr(C_LR) / tr(C) at each Table I beta; methods the theory rejects get a note."""
    from ..theory import asymptotic_relative_efficiency

    betas = ctx.settings["betas"]
    values, notes = {}, []
    for spec, loss in ctx.methods.items():
        try:
            values[spec] = [asymptotic_relative_efficiency(loss, b) for b in betas]
        except ValueError as exc:
            notes.append(f"{label(spec, ctx.new)}: no ARE ({exc})")
    table = pd.DataFrame({label(s, ctx.new): v for s, v in values.items()},
                         index=pd.Index([beta_str(b) for b in betas], name="beta")).reset_index()
    fig, axes = subplots(1, width=7)
    ax = axes[0, 0]
    x = np.arange(len(betas))
    for i, (spec, v) in enumerate(values.items()):
        ax.plot(x, v, marker="o", label=label(spec, ctx.new), **style(ctx, spec, i))
    ax.set_xticks(x, [beta_str(b) for b in betas], rotation=30, fontsize=8)
    ax.set(xlabel="true beta (Table I design: x2 ~ N(0, 1))", ylabel="ARE = tr(C_LR) / tr(C)",
           title="Asymptotic relative efficiency")
    ax.legend(fontsize=7)
    save_figure(fig, ctx.figdir / "are.png", "Asymptotic relative efficiency against LR (Theorem 4 sandwich, "
                "error-controlled quadrature) on the nine Table I designs; higher is better, LR = 1.")
    scores = [Score("mean ARE over the Table I designs", "higher",
               {s: float(np.mean(v)) for s, v in values.items()}),
              Score("worst ARE over the Table I designs", "higher",
               {s: float(np.min(v)) for s, v in values.items()})]
    return Section("are", "Asymptotic relative efficiency (Table I)",
                   "Efficiency under the correct logistic model: ratio of the traces of the asymptotic covariances "
                   "of LR and the method.",
                   tables=[Table("are", "ARE = tr(C_LR)/tr(C) per Table I design (rows) and method (columns).", table)],
                   figures=[Figure("are.png", "ARE on the Table I designs.")], scores=scores, notes=notes)
