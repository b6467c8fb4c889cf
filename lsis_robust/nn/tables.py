"""Tables II-V and learning curves of the deep-network benchmark.

Cells are "mean ± std" over trials (sample std; "n/a" with one trial).  At
each alpha, LSLR and MLSLR are compared with one-sided Wilcoxon rank-sum
tests (``scipy.stats.ranksums``, alternative="less", level 0.05); the
better one is bold in Markdown and LaTeX and named in the CSV's
``better`` column, next to its p-value.  The smallest attainable p of the
normal-approximated statistic is 0.16 with one trial per method and 0.06
with two, so nothing can be bold below three trials.

Convergence.  A cell with a run that did not converge (``converged`` in
runs.csv, rule in :mod:`lsis_robust.nn.train`) carries a dagger in Markdown
and LaTeX, with a footnote; the CSVs give ``n_converged`` (runs of the cell
that converged) and ``converged`` (all of them did).  A comparison with an
unconverged cell on either side is not a comparison of the estimators, so
``better`` is False there whatever the p-value (which is still reported).
"""
from __future__ import annotations

from fractions import Fraction
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import ranksums

from ..reporting import ReportTable, atomic_write_text, save_figure

__all__ = ["write_results", "compare", "LEVEL"]

LEVEL = 0.05
_RLOGIT = (("opder", "OPDER"), ("oper", "OPER"), ("msor", "MSoR (mean over out-of-range entries)"),
           ("msor_eq30", "MSoR (eq. 30 as printed)"))
DAGGER = "†"


def _footnote() -> str:
    from .train import CHANGE_MAX, PROGRESS_MIN, WINDOW

    return (f"{DAGGER} not every run of this cell converged: its training TSR closed less than {PROGRESS_MIN:.0%} of "
            f"the gap from its untrained value to a perfect fit, or moved by more than {CHANGE_MAX:.0%} of that gap "
            f"over the last {WINDOW:.0%} of epochs (runs.csv: train_progress, train_last_change). Such a cell is "
            "never bold, nor is a cell compared with it.")


def _alpha_label(alpha: float) -> str:
    f = Fraction(alpha).limit_denominator(90)
    return f"{alpha:g}" if alpha < 1 else f"{float(f * 9):g}/9"


def _cell(values, converged) -> tuple[str, float, float, int]:
    """Text "mean ± std" (with a dagger unless every run converged), mean, std and the number converged."""
    v = np.asarray(values, dtype=float)
    c = np.asarray(converged, dtype=bool)
    if v.size == 0:
        return "", float("nan"), float("nan"), 0
    mean = float(v.mean())
    std = float(v.std(ddof=1)) if v.size > 1 else float("nan")
    text = f"{mean:.4f} ± {std:.4f}" if v.size > 1 else f"{mean:.4f} ± n/a"
    return text + ("" if c.all() else f" {DAGGER}"), mean, std, int(c.sum())


def compare(a, b) -> tuple[float, float]:
    """One-sided rank-sum p-values for 'a lower than b' and 'b lower than a'."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.size < 1 or b.size < 1:
        return float("nan"), float("nan")
    return float(ranksums(a, b, alternative="less").pvalue), float(ranksums(b, a, alternative="less").pvalue)


def _write(shown, bold, numeric, out_dir, stem, caption):
    """``stem.csv`` holds the numbers (long form, full precision); ``stem.md`` and ``stem.tex`` the printed table,
    with the footnote when a cell carries a dagger."""
    marked = shown.map(lambda v: DAGGER in str(v)).to_numpy().any()
    table = ReportTable(shown, caption, notes=[_footnote()] if marked else [], emphasis=bold, compact=True,
                        column_format="l" * 2 + "r" * (shown.shape[1] - 2))
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / f"{stem}.csv", numeric.to_csv(index=False))
    atomic_write_text(out_dir / f"{stem}.md", table.as_markdown_file())
    atomic_write_text(out_dir / f"{stem}.tex", table.as_latex())


def _select(runs, kind, alpha=None):
    sel = runs[runs.kind == kind]
    return sel if alpha is None else sel[np.isclose(sel.alpha.astype(float), alpha)]


def _risk_table(runs, alphas, out_dir, stem, caption):
    """Table II/IV: TSR and TTR of LSLR and MLSLR per alpha, with the tests (only between converged cells)."""
    shown, bold, numeric = [], [], []
    for metric, label in (("test_tsr", "TSR"), ("test_ttr", "TTR")):
        cells = {k: {} for k in ("lslr", "mlslr")}
        flags = {k: {} for k in ("lslr", "mlslr")}
        for a in alphas:
            sel = {k: _select(runs, k, a) for k in cells}
            p_l, p_m = compare(sel["lslr"][metric], sel["mlslr"][metric])
            both_converged = all(len(s) and s.converged.all() for s in sel.values())
            for k, p in (("lslr", p_l), ("mlslr", p_m)):
                text, mean, std, n_conv = _cell(sel[k][metric], sel[k].converged)
                better = bool(p < LEVEL and both_converged)
                cells[k][a], flags[k][a] = text, better
                numeric.append({"metric": label, "method": k.upper(), "alpha": a, "mean": mean, "std": std,
                                "n_trials": len(sel[k]), "p_better": p, "better": better,
                                "n_converged": n_conv, "converged": bool(len(sel[k]) and n_conv == len(sel[k]))})
        for k in ("lslr", "mlslr"):
            shown.append({"metric": label, "method": k.upper(), **{f"α={_alpha_label(a)}": cells[k][a] for a in alphas}})
            bold.append({"metric": False, "method": False, **{f"α={_alpha_label(a)}": flags[k][a] for a in alphas}})
    _write(pd.DataFrame(shown), pd.DataFrame(bold), pd.DataFrame(numeric), out_dir, stem, caption)


def _rlogit_table(runs, alphas, out_dir, stem, caption):
    """Table III/V: R-logit range metrics of LSLR at the minimum-TSR epoch."""
    shown, numeric = [], []
    for part in ("train", "test"):
        for key, label in _RLOGIT:
            row = {"set": part, "metric": label}
            for a in alphas:
                sel = _select(runs, "lslr", a)
                text, mean, std, n_conv = _cell(sel[f"{part}_{key}"], sel.converged)
                row[f"α={_alpha_label(a)}"] = text
                numeric.append({"set": part, "metric": label, "alpha": a, "mean": mean, "std": std,
                                "n_trials": len(sel), "n_converged": n_conv, "converged": n_conv == len(sel)})
            shown.append(row)
    shown = pd.DataFrame(shown)
    _write(shown, pd.DataFrame(False, index=shown.index, columns=shown.columns), pd.DataFrame(numeric), out_dir,
           stem, caption)


def _baseline_table(runs, out_dir, stem, caption):
    shown, numeric = [], []
    for kind in ("lr", "lsqlr"):
        sel = _select(runs, kind)
        if sel.empty:
            continue
        row = {"method": kind.upper()}
        for metric, label in (("test_tsr", "TSR"), ("test_ttr", "TTR")):
            text, mean, std, n_conv = _cell(sel[metric], sel.converged)
            row[label] = text
            numeric.append({"method": kind.upper(), "metric": label, "mean": mean, "std": std, "n_trials": len(sel),
                            "n_converged": n_conv, "converged": n_conv == len(sel)})
        shown.append(row)
    shown = pd.DataFrame(shown)
    _write(shown, pd.DataFrame(False, index=shown.index, columns=shown.columns), pd.DataFrame(numeric), out_dir,
           stem, caption)


def _curves(history, out_path, caption):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    mean = history.groupby(["method", "epoch"], sort=False).mean(numeric_only=True).reset_index()
    groups = list(mean.groupby("method", sort=False))
    colours = plt.get_cmap("tab20")  # 20 methods: the default 10-colour cycle would repeat
    for i, (name, h) in enumerate(groups):
        kw = {"ls": "--" if name.startswith("lslr") else "-", "color": colours(i % 20), "label": name, "lw": 1}
        axes[0].plot(h.epoch, h.test_ttr, **kw)
        axes[1].plot(h.epoch, h.train_loss, **kw)
        if "train_opder" in h and h.train_opder.notna().any():
            axes[2].plot(h.epoch, h.train_opder, **kw)
    axes[0].set(title="test TTR (zero-one error)", xlabel="epoch", yscale="log")
    axes[1].set(title="training loss (own surrogate, augmented)", xlabel="epoch", yscale="log")
    axes[2].set(title="LSLR: OPDER on the training set", xlabel="epoch", ylim=(-0.02, 1.02))
    axes[0].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    save_figure(fig, out_path, caption)


# Every table write_results can produce; the ones a run does not produce are removed from its folder.
_TABLES = ("table2", "table3", "table4", "table5", "baselines")
_TABLE_EXTS = ("csv", "md", "tex")


def write_results(runs: pd.DataFrame, history: pd.DataFrame, out_dir, label: str) -> list[Path]:
    """Write runs/curves CSVs, Tables II-V (where their methods were run), baselines and the curves PNG.

    Tables of an earlier run in ``out_dir`` that this run does not rewrite
    (``--methods lr`` after a full run leaves no Table II) are deleted first,
    so the folder never shows tables computed from other runs than
    ``runs.csv``.  Only the table files this function writes are touched.
    """
    out_dir = Path(out_dir)
    if "converged" not in runs or runs.converged.isna().any():
        raise ValueError("runs need a 'converged' flag for every run (written by lsis_robust.nn.runner.summarise_run)")
    runs = runs.assign(converged=runs.converged.astype(bool))
    sel = f" {label}. Each cell: mean ± std over trials at the epoch of minimum test TSR (TSR rows) or minimum " \
          f"test TTR (TTR rows): selection on the test set, as in the paper."
    smoothed = runs[runs.kind.isin(["lslr", "mlslr"])]
    tables = {}  # stem -> the call that writes it
    for low, (stem_r, stem_q, name_r, name_q) in ((True, ("table2", "table3", "Table II", "Table III")),
                                                  (False, ("table4", "table5", "Table IV", "Table V"))):
        alphas = sorted({float(a) for a in smoothed.alpha if (float(a) < 1) == low})
        both = [a for a in alphas if {"lslr", "mlslr"} <= set(smoothed[np.isclose(smoothed.alpha.astype(float), a)].kind)]
        if both:
            tables[stem_r] = partial(_risk_table, runs, both, out_dir, stem_r,
                                     f"{name_r}: TSR and TTR of LSLR and MLSLR; bold = lower by a one-sided Wilcoxon "
                                     f"rank-sum test at {LEVEL}, between cells whose runs all converged." + sel)
        lslr = [a for a in alphas if (smoothed[np.isclose(smoothed.alpha.astype(float), a)].kind == "lslr").any()]
        if lslr:
            tables[stem_q] = partial(_rlogit_table, runs, lslr, out_dir, stem_q,
                                     f"{name_q}: OPDER, OPER and MSoR of LSLR's R-logit model on the training and test "
                                     "sets at the epoch of minimum test TSR; MSoR twice: the mean residual over the "
                                     "out-of-range entries, and eq. (30) as printed (OPER/(nK) times the summed "
                                     "residual = OPER^2 times the former)."
                                     + sel)
    if runs.kind.isin(["lr", "lsqlr"]).any():
        tables["baselines"] = partial(_baseline_table, runs, out_dir, "baselines",
                                      "Baselines LR and LSQLR: TSR and TTR." + sel)
    for stem in set(_TABLES) - set(tables):
        for ext in _TABLE_EXTS:
            (out_dir / f"{stem}.{ext}").unlink(missing_ok=True)
    written = [out_dir / "runs.csv", out_dir / "curves.csv"]
    atomic_write_text(written[0], runs.to_csv(index=False))
    atomic_write_text(written[1], history.to_csv(index=False))
    for stem, write in tables.items():
        write()
        written.append(out_dir / f"{stem}.md")
    _curves(history, out_dir / "learning_curves.png",
            f"Per-epoch curves, mean over trials ({label}). Left: test zero-one error; middle: training loss of "
            "each method's own surrogate on augmented batches; right: share of training examples whose LSLR "
            "R-logit estimate leaves the simplex. Dashed: LSLR.")
    written.append(out_dir / "learning_curves.png")
    return written
