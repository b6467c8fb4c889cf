"""Criterion ``efficiency``: the correct-model study (SoB and TTR against n, Fig. 2 style)."""
from __future__ import annotations

from ..reporting import save_figure
from ._plot import beta_str, subplots
from .methods import label, style
from .result import Figure, Score, Section, Table

__all__ = ["criterion_efficiency"]


def criterion_efficiency(ctx) -> Section:
    from ..studies.efficiency import run_efficiency

    s = ctx.settings
    df, wall = run_efficiency(betas=s["betas"], sizes=s["sizes"], methods=list(ctx.methods), n_trials=s["n_trials"],
                              m=s["m"], seed=ctx.seed, progress=ctx.progress)
    betas = s["betas"]
    ncols = min(3, len(betas))
    show = betas[:ncols]
    fig, axes = subplots(ncols)
    for j, b in enumerate(show):
        for i, spec in enumerate(ctx.methods):
            d = df[(df.beta1 == b[0]) & (df.beta2 == b[1]) & (df.method == spec)]
            axes[0, j].plot(d.n, d.sob_mean, marker="o", label=label(spec, ctx.new), **style(ctx, spec, i))
        axes[0, j].set(xscale="log", yscale="log", xlabel="sample size n", ylabel="mean SoB ||beta_hat - beta||",
                       title=f"beta = {beta_str(b)}")
    axes[0, 0].legend(fontsize=7)
    save_figure(fig, ctx.figdir / "efficiency.png", f"Efficiency study: mean size of bias over {s['n_trials']} "
                f"samples of the correct model per n (fits that did not reach a finite minimiser excluded and "
                f"counted in the table), seed {ctx.seed}.")
    g = df.groupby("method", sort=False)
    table = df.assign(method=[label(x, ctx.new) for x in df.method])
    return Section("efficiency", "Efficiency study (correct model, Fig. 2)",
                   f"Every method fitted to the same {s['n_trials']} samples per (beta, n) drawn from the logistic "
                   f"model; test sets of m = {s['m']}.",
                   tables=[Table("efficiency", "Efficiency study: mean/std SoB and TTR per beta, n and method, with "
                            "separated and excluded trial counts.", table)],
                   figures=[Figure("efficiency.png", "Mean SoB against the sample size.")],
                   scores=[Score(f"mean SoB under the correct model at n = {max(s['sizes'])} (mean over beta)",
                            "lower",
                            df[df.n == max(s["sizes"])].groupby("method")["sob_mean"].mean().to_dict()),
                           Score("mean TTR under the correct model (over beta, n)", "lower",
                            g["ttr_mean"].mean().to_dict())],
                   wall_s=wall)
