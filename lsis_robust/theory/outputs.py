"""Tables and figures of the theory engine (Table I, Fig. 3, Fig. 5, influence functions, exact Fig. 4)."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .._validation import check_beta, check_list, check_size
from ..losses import LSQLR, MLSLR, BiancoYohai, CrouxHaesbroeck
from ..paper import DEFAULT_METHODS, METHOD_COLORS, TABLE1_ALPHAS, THEORY_FIGURES
from ..probability import r_logit_range
from ..registry import parse_loss_spec
from ..reporting import save_figure, write_provenance, write_table
from .asymptotics import TABLE1_PRINTED, are_table, asymptotic_covariance, influence_function, method_label

__all__ = ["write_table1", "plot_rho_transforms", "plot_r_logit_range", "plot_influence", "write_exact_fig4",
           "fig4_methods", "write_figures"]


def fig4_methods():
    """LR, MLSLR (alpha = .2 .4 .6 .8), LSQLR, BY and CH (c = 0.5): the eight methods of the exact Fig. 4."""
    return [parse_loss_spec(spec) for spec in DEFAULT_METHODS]


def _fig4_styles():
    """(loss, label, colour) of each method of the exact Fig. 4, in the paper's colours."""
    return [(loss, method_label(loss), METHOD_COLORS[spec]) for spec, loss in zip(DEFAULT_METHODS, fig4_methods())]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_table1(out_dir, betas=None, alphas=TABLE1_ALPHAS, extra=("by", "ch")):
    """Table I (ARE) as CSV/Markdown/LaTeX, its integration errors, and the deviation from the print."""
    t0 = time.perf_counter()
    values, errors = are_table(betas, alphas, extra)
    wall = time.perf_counter() - t0
    caption = ("Asymptotic relative efficiency tr(C_LR)/tr(C) (Theorem 4) under the paper's design (20), "
               "x = (1, x2), x2 ~ N(0,1); population integrals by kink-aware composite Gauss-Legendre "
               f"quadrature with error control (max estimated integration error {errors.values.max():.1e}).")
    paths = write_table(values.reset_index(), out_dir, "table1_are", caption)
    write_table(errors.reset_index(), out_dir, "table1_are_integration_error",
                "Estimated integration error of each ARE in table1_are (difference of the two finest "
                "quadrature levels).", float_format="{:.1e}")
    extra_info = {"wall_time_s": round(wall, 3), "max_integration_error": float(errors.values.max())}
    if betas is None and tuple(alphas) == TABLE1_ALPHAS:
        dev = np.abs(values.iloc[:, :5].to_numpy() - TABLE1_PRINTED)
        extra_info["max_abs_deviation_from_printed"] = float(dev.max())
        extra_info["entries_matching_4_decimals"] = int(np.sum(np.round(values.iloc[:, :5].to_numpy(), 4)
                                                               == TABLE1_PRINTED))
    write_provenance(out_dir, "table1_are", **extra_info)
    return values, errors, paths


def plot_rho_transforms(path, alphas=TABLE1_ALPHAS):
    """Fig. 3: {rho(v) - rho(0)} / {rho(inf) - rho(0)} for BY, CH, MLSLR and LSQLR."""
    plt = _plt()
    v = np.linspace(0, 8, 801)
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    losses = [("BY", "by", BiancoYohai()), ("CH", "ch", CrouxHaesbroeck())]
    losses += [(f"MLSLR a={a:g}", f"mlslr:alpha={a:g}", MLSLR(a)) for a in alphas] + [("LSQLR", "lsqlr", LSQLR())]
    for label, spec, loss in losses:
        # BY's eta evaluates 0 * inf in a branch np.where discards at v = 0.
        with np.errstate(invalid="ignore"):
            r0, rinf, curve = float(loss.rho(np.array(0.0))), float(loss.phi(np.array(-1e4))), loss.rho(v)
        ax.plot(v, (curve - r0) / (rinf - r0), color=METHOD_COLORS.get(spec),
                label=label + (" (c=0.5)" if label in ("BY", "CH") else ""))
    ax.plot(v, np.minimum(v / 8, 1), ":", color=METHOD_COLORS["lr"], label="LR (rho(v) = v, unbounded; shown as v/8)")
    ax.set_xlabel("v = phi_LR(m) = -log sigma(m)")
    ax.set_ylabel("{rho(v) - rho(0)} / {rho(inf) - rho(0)}")
    ax.set_ylim(-0.02, 1.05)
    ax.legend(fontsize=7)
    return save_figure(fig, path, "Fig. 3: rescaled rho-transformations of the logistic loss, evaluated "
                                  "analytically from each registered loss (rho(inf) = phi(-1e4)).")


def plot_r_logit_range(path, n_classes: int = 10):
    """Fig. 5: both ends -alpha/(K(1-alpha)) and (K-alpha)/(K(1-alpha)) of the R-logit range."""
    plt = _plt()
    K = n_classes
    top = K / (K - 1)
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for seg in (np.linspace(0, 0.95, 400), np.linspace(1.05, top, 400)):
        ends = np.array([r_logit_range(a, K) for a in seg])
        # For alpha > 1 the two closed-form ends swap places (Theorem 1 B1).
        low, high = (ends[:, 0], ends[:, 1]) if seg[0] < 1 else (ends[:, 1], ends[:, 0])
        ax.plot(seg, low, color="blue", label="-alpha / (K(1-alpha))" if seg[0] == 0 else None)
        ax.plot(seg, high, color="red", label="(K-alpha) / (K(1-alpha))" if seg[0] == 0 else None)
    ax.axhspan(0, 1, color="green", alpha=0.15, label="[0, 1]")
    ax.axvline(1, color="k", lw=0.5, ls=":")
    ax.set_ylim(-12, 12)
    ax.set_xlabel("smoothing level alpha")
    ax.set_ylabel("end of the range of q_RL,alpha,k")
    ax.legend(fontsize=8)
    return save_figure(fig, path, f"Fig. 5: both ends of the range of an R-logit entry (Theorem 1 B1) against "
                                  f"alpha in [0, 0.95] and [1.05, K/(K-1)] for K = {K}, closed form.")


def plot_influence(path, beta=(0.0, 4.0), x2=None):
    """Norm of the influence function against x_c2 for y_c = +1 (solid) and -1 (dashed)."""
    plt = _plt()
    beta = np.asarray(beta, dtype=np.float64)
    x2 = np.linspace(-10, 10, 401) if x2 is None else np.asarray(x2)
    pts = np.column_stack([np.ones_like(x2), x2])
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for loss, label, colour in _fig4_styles():
        B = asymptotic_covariance(loss, beta).B
        for y, ls in ((1, "-"), (-1, "--")):
            ifn = np.linalg.norm(influence_function(loss, beta, pts, y, B=B), axis=1)
            ax.plot(x2, ifn, ls, color=colour, label=label if y == 1 else None)
    ax.set_yscale("log")
    ax.set_xlabel("x_c2 (contamination point x_c = (1, x_c2))")
    ax.set_ylabel("||IF(x_c, y_c)||")
    ax.legend(fontsize=7, ncol=2)
    return save_figure(fig, path, f"Influence functions -B^-1 grad phi at beta = {tuple(beta.tolist())} under "
                                  "design (20), B by error-controlled quadrature; solid y_c = +1, dashed y_c = -1.")


def write_exact_fig4(out_dir, beta=(0.0, 4.0), eps=0.05, x2=None, n_jobs=2, progress=True):
    """The exact (population) Fig. 4: SoB and TTR of T(F_eps) against x_c2, for 8 methods and both labels."""
    from .contamination import contamination_grid

    plt = _plt()
    out_dir = Path(out_dir)
    beta = np.asarray(beta, dtype=np.float64)
    x2 = np.round(np.linspace(-10, 10, 201), 10) if x2 is None else np.asarray(x2, dtype=np.float64)
    pts = np.column_stack([np.ones_like(x2), x2])
    t0 = time.perf_counter()
    df = contamination_grid(fig4_methods(), beta, eps, pts, n_jobs=n_jobs, progress=progress)
    wall = time.perf_counter() - t0
    stem = f"fig4_exact_b{beta[0]:g}_{beta[1]:g}"
    summary = df.groupby(["method", "y_c"])[["sob", "ttr"]].agg(["mean", "max"])
    summary.columns = [f"{a}_{b}" for a, b in summary.columns]
    write_table(summary.reset_index(), out_dir, f"{stem}_summary",
                f"Exact contaminated functionals T(F_eps), eps = {eps:g}, beta = {tuple(beta.tolist())}: mean and "
                "max over x_c2 in [-10, 10] of SoB = ||T - beta|| and TTR (zero-one risk under F_eps).")
    write_table(df, out_dir, stem, f"Exact Fig. 4 grid, eps = {eps:g}, beta = {tuple(beta.tolist())}.",
                float_format="{:.6g}")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    for _, method, colour in _fig4_styles():
        for y, ls in ((1.0, "-"), (-1.0, "--")):
            sub = df[(df.method == method) & (df.y_c == y)].sort_values("x_c2")
            axes[0].plot(sub.x_c2, sub.sob, ls, color=colour, label=method if y == 1 else None)
            axes[1].plot(sub.x_c2, sub.ttr, ls, color=colour)
    axes[0].set_ylabel("SoB ||T(F_eps) - beta||")
    axes[1].set_ylabel("TTR: zero-one risk under F_eps")
    for ax in axes:
        ax.set_xlabel("x_c2")
    axes[0].legend(fontsize=7, ncol=2)
    save_figure(fig, out_dir / f"{stem}.png",
                f"Exact Fig. 4: contaminated functionals T(F_eps) (eq. 26-27), eps = {eps:g}, beta = "
                f"{tuple(beta.tolist())}, x_c = (1, x_c2), solid y_c = +1, dashed y_c = -1; population integrals "
                "and Newton (no sampling), misclassification rate integrated exactly.")
    write_provenance(out_dir, stem, beta=beta.tolist(), eps=eps, n_points=len(x2), wall_time_s=round(wall, 2),
                     n_jobs=n_jobs, max_integration_error_beta=float(df.err_beta.max()))
    return df


def write_figures(out_dir, only=THEORY_FIGURES, beta=(0.0, 4.0), eps=0.05, points=201, n_jobs=2, progress=True):
    """The theory figures named in ``only`` (of :data:`lsis_robust.paper.THEORY_FIGURES`) into ``out_dir``; returns the figure paths.

    The influence and Fig. 4 panels use x = (1, x2) on ``points`` values of x2 in [-10, 10].
    """
    only = check_list(list(only), "only", allowed=THEORY_FIGURES)
    beta = tuple(float(b) for b in check_beta(beta, "beta"))
    if len(beta) != 2:
        raise ValueError(f"the influence and Fig. 4 panels use x = (1, x2), so beta needs 2 numbers, got {len(beta)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    x2 = np.round(np.linspace(-10, 10, check_size(points, "points", minimum=2)), 10)
    done = []
    if "fig3" in only:
        done.append(plot_rho_transforms(out / "fig3_rho_transforms.png"))
    if "fig5" in only:
        done.append(plot_r_logit_range(out / "fig5_r_logit_range.png"))
    if "influence" in only:
        done.append(plot_influence(out / f"influence_b{beta[0]:g}_{beta[1]:g}.png", beta, x2))
    if "fig4" in only:
        write_exact_fig4(out, beta, eps, x2, n_jobs=n_jobs, progress=progress)
        done.append(out / f"fig4_exact_b{beta[0]:g}_{beta[1]:g}.png")
    return done
