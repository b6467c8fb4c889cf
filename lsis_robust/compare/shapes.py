"""Loss shapes: phi' and the ML-relative observation weight of every method."""
from __future__ import annotations

import numpy as np

from ..reporting import save_figure
from ._plot import subplots
from .methods import label, style
from .result import Figure, Section

__all__ = ["criterion_shapes"]


def criterion_shapes(ctx) -> Section:
    """phi' and the ML-relative weight of every method: what the numbers below come from."""
    m = np.linspace(-8, 8, 801)
    fig, axes = subplots(2)
    for i, (spec, loss) in enumerate(ctx.methods.items()):
        d1 = np.asarray(loss.dphi(m))
        # Scaled by the largest value, not the value at m = 0: BY with c = 0.5 has phi'(0) = 0.
        axes[0, 0].plot(m, d1 / np.max(np.abs(d1)), label=label(spec, ctx.new), **style(ctx, spec, i))
        with np.errstate(all="ignore"):
            w = np.asarray(loss.weight(m))
        axes[0, 1].plot(m, w / np.nanmax(np.abs(w)), **style(ctx, spec, i))
    axes[0, 0].set(xlabel="margin m = y x'beta", ylabel="phi'(m) / max |phi'|", title="Slope of the loss")
    axes[0, 1].set(xlabel="margin m = y x'beta", ylabel="weight phi'(m)/phi_LR'(m) / max weight",
                   title="Weight relative to maximum likelihood")
    axes[0, 0].legend(fontsize=7)
    name = "shapes.png"
    save_figure(fig, ctx.figdir / name, "Loss shapes on m in [-8, 8]: slope phi'(m) and observation weight "
                "psi(v)/v = phi'(m)/phi_LR'(m), each scaled by its largest absolute value; a weight near 0 means the "
                "loss ignores the observation (bounded influence).")
    return Section("shapes", "Loss shapes", "Slope and observation weight of every method as functions of the "
                   "margin.", figures=[Figure(name, "Slope phi'(m) and weight phi'(m)/phi_LR'(m) of every method.")])
