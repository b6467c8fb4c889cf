"""Criterion ``robustness``: the point-contamination study (SoB and TTR against x_c2, Fig. 4 style)."""
from __future__ import annotations

from ..reporting import save_figure
from ._plot import beta_str, subplots
from .methods import label, style
from .result import Figure, Score, Section, Table

__all__ = ["criterion_robustness"]


def criterion_robustness(ctx) -> Section:
    from ..studies.robustness import run_robustness

    s = ctx.settings
    df, wall = run_robustness(betas=s["betas"], methods=list(ctx.methods), eps=s["eps"], xc2=s["xc2"], n=s["n"],
                              m=s["m"], n_trials=s["n_trials"], seed=ctx.seed, progress=ctx.progress)
    g = df.groupby(["beta1", "beta2", "method"], sort=False)
    worst = g[["sob_mean", "ttr_mean"]].max().groupby("method", sort=False).mean()
    mean = g[["sob_mean", "ttr_mean"]].mean().groupby("method", sort=False).mean()
    b = s["betas"][0]
    fig, axes = subplots(2, 2)
    for j, yc in enumerate((1, -1)):
        for i, spec in enumerate(ctx.methods):
            d = df[(df.beta1 == b[0]) & (df.beta2 == b[1]) & (df.method == spec) & (df.y_c == yc)]
            axes[0, j].plot(d.x_c2, d.sob_mean, label=label(spec, ctx.new), **style(ctx, spec, i))
            axes[1, j].plot(d.x_c2, d.ttr_mean, **style(ctx, spec, i))
        axes[0, j].set(xlabel="contamination point x_c2", ylabel="SoB ||beta_hat - beta||",
                       title=f"beta = {beta_str(b)}, y_c = {yc:+d}")
        axes[1, j].set(xlabel="contamination point x_c2", ylabel="test misclassification rate (TTR)")
    axes[0, 0].legend(fontsize=7)
    save_figure(fig, ctx.figdir / "robustness.png", f"Robustness study: size of bias and test misclassification "
                f"rate of each method's estimate on n = {s['n']} rows with a fraction eps = {s['eps']:g} at "
                f"(1, x_c2), beta = {beta_str(b)}, mean of {s['n_trials']} trial(s), seed {ctx.seed}.")
    table = df.assign(method=[label(x, ctx.new) for x in df.method])
    # The study leaves fits without a finite minimiser out of each cell's mean; say how many, per method.
    excluded = df.groupby("method", sort=False)["n_excluded"].sum()
    notes = [f"{label(spec, ctx.new)}: {k} of {int(df[df.method == spec].n_trials.sum())} fits did not reach a "
             "finite minimiser and are excluded from the means (counts per cell in the table)."
             for spec, k in excluded.items() if k]
    return Section("robustness", "Robustness study (point contamination, Fig. 4)",
                   f"Every method fitted (Newton, the estimator protocol) to the same contaminated samples: "
                   f"eps = {s['eps']:g}, n = m = {s['n']}, {len(s['xc2'])} contamination points x_c2, both labels.",
                   tables=[Table("robustness", "Robustness study: mean SoB and TTR per beta, method, y_c and x_c2.",
                            table)],
                   figures=[Figure("robustness.png", "SoB and TTR against the contamination point.")],
                   scores=[Score("worst-case SoB under contamination (max over x_c, y_c)", "lower",
                            worst["sob_mean"].to_dict()),
                           Score("mean SoB under contamination", "lower",
                            mean["sob_mean"].to_dict()),
                           Score("worst-case TTR under contamination", "lower",
                            worst["ttr_mean"].to_dict())],
                   notes=notes, wall_s=wall)
