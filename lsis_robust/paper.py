"""The paper's constants, stored once: the values it prints, its designs and methods, and the suite's grids.

Every other module imports these facts from here: Table I's designs and
smoothing levels, the method lists of the studies and the deep-net benchmark,
the methods' plot colours, and the grids of the commands (their defaults and
their ``--quick`` presets).

Source: Yamasaki, "Label smoothing is robustification against model
misspecification" (the text extraction in the project's reference folder).
The extraction keeps the digits of every table but loses typography: the
bold face that Tables II and IV use to mark the winner of the one-sided
Wilcoxon rank-sum test is unreadable, so only the printed means and standard
deviations are stored, never which cell was bold.  Each value below was
re-read from the table body, where a mean and its standard deviation run
together as "1.0316.0151" (mean 1.0316, std .0151).

Every printed table is a long pandas frame (one row per printed cell) with the
columns the corresponding result CSV uses as keys, so a report can join them.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PrintedTable", "TABLE1_ARE", "table", "LR_LSQLR_TTR", "N_CLASSES",
           "TABLE1_BETAS", "TABLE1_ALPHAS", "TABLE1_ROWS", "TABLE1_COLUMNS", "ALPHAS_LOW", "ALPHAS_HIGH",
           "PAPER_METHODS", "ROBUST_BASELINES", "DEFAULT_METHODS", "NN_METHODS", "METHOD_COLORS",
           "NEW_METHOD_COLOR", "EFFICIENCY_SIZES", "ROBUSTNESS_BETAS", "ROBUSTNESS_XC2", "REALDATA_SETS",
           "THEORY_FIGURES", "STUDY_SETTINGS", "NN_DEFAULTS", "NN_QUICK", "COMPARE_BASELINES", "COMPARE_SETTINGS"]

N_CLASSES = 10  # CIFAR-10, the dataset of Tables II-V

# ---- Designs and smoothing levels --------------------------------------------------------------------------
# Table I (Section III-B1), design (20): x = (1, x2), x2 ~ N(0, 1), beta = (b1, b2), b1 in {0, 1, 2}, b2 in {1, 2, 4}.
TABLE1_BETAS = [(b1, b2) for b1 in (0.0, 1.0, 2.0) for b2 in (1.0, 2.0, 4.0)]
TABLE1_ROWS = [f"({b1:g}, {b2:g})" for b1, b2 in TABLE1_BETAS]  # the row labels Table I prints

# The smoothing levels as the paper writes them (and the deep-net method names spell them): alpha in [0, 1)
# for Section IV, Tables II-III and Table I's MLSLR columns; alpha in (1, K/(K-1)] for Appendix D, Tables IV-V.
ALPHAS_LOW = ("0.2", "0.4", "0.6", "0.8")
ALPHAS_HIGH = ("9.2/9", "9.4/9", "9.6/9", "9.8/9", "10/9")


def _alpha_value(text):
    """The float of a written level; a fraction divides two floats, as the literal 9.2 / 9 does."""
    num, _, den = text.partition("/")
    return float(num) / float(den) if den else float(num)


TABLE1_ALPHAS = tuple(_alpha_value(a) for a in ALPHAS_LOW)
TABLE1_COLUMNS = [f"MLSLR a={a}" for a in ALPHAS_LOW] + ["LSQLR"]  # the column labels Table I prints

# ---- Methods and their colours -------------------------------------------------------------------------------
# The binary methods of the studies as loss specs: LR, MLSLR at Table I's levels and LSQLR, then the robustbase
# estimators BY and CH (the exact Fig. 4 draws the same eight).
PAPER_METHODS = ["lr"] + [f"mlslr:alpha={a}" for a in ALPHAS_LOW] + ["lsqlr"]
ROBUST_BASELINES = ["by", "ch"]
DEFAULT_METHODS = PAPER_METHODS + ROBUST_BASELINES
# The 20 deep-net methods of Tables II-V (method names of lsis_robust.nn: lr, lslr-ALPHA, mlslr-ALPHA, lsqlr).
NN_METHODS = tuple(["lr"] + [f"{k}-{a}" for a in ALPHAS_LOW + ALPHAS_HIGH for k in ("lslr", "mlslr")] + ["lsqlr"])

# The paper's colours (Fig. 4: LR red, MLSLR green/blue/cyan/yellow, LSQLR magenta), plus BY and CH; by loss spec.
METHOD_COLORS = {"lr": "red", "mlslr:alpha=0.2": "green", "mlslr:alpha=0.4": "blue", "mlslr:alpha=0.6": "cyan",
                 "mlslr:alpha=0.8": "gold", "lsqlr": "magenta", "by": "black", "ch": "gray"}
NEW_METHOD_COLOR = "darkorange"  # the new loss of `lsis-robust compare`, drawn over the baselines

# ---- Grids of the commands: defaults and --quick presets --------------------------------------------------
# The full grids: efficiency sample sizes, robustness betas and contamination points x_c2 = -10, -9.9, ..., 10.
# Fig. 4 shows beta_1 = 0 with growing beta_2; the anomalous-point effect grows with beta_2.
EFFICIENCY_SIZES = (25, 50, 100, 200, 400, 800)
ROBUSTNESS_BETAS = [(0.0, 1.0), (0.0, 2.0), (0.0, 4.0)]
ROBUSTNESS_XC2 = tuple(np.round(np.arange(-100, 101) / 10, 1))
REALDATA_SETS = ("vaso", "foodstamp", "leukemia", "breast_cancer")
# `lsis-robust theory-figures`: what it can make, in the order it makes them.
THEORY_FIGURES = ("fig3", "fig5", "influence", "fig4")

# What `lsis-robust STUDY` runs: the full grid, or with --quick a reduced one (seconds instead of minutes).
_QUICK_METHODS = ["lr", "mlslr:alpha=0.8", "lsqlr"]
STUDY_SETTINGS = {
    "full": {
        "efficiency": {"betas": TABLE1_BETAS, "sizes": list(EFFICIENCY_SIZES), "methods": DEFAULT_METHODS,
                       "n_trials": 100, "m": 10_000},
        "robustness": {"betas": ROBUSTNESS_BETAS, "methods": DEFAULT_METHODS, "xc2": ROBUSTNESS_XC2, "n": 10_000,
                       "m": 10_000},
        "realdata": {"datasets": list(REALDATA_SETS), "methods": DEFAULT_METHODS},
    },
    "quick": {
        "efficiency": {"betas": [(0.0, 1.0), (0.0, 4.0)], "sizes": [50, 200], "methods": _QUICK_METHODS,
                       "n_trials": 10, "m": 2000},
        "robustness": {"betas": [(0.0, 4.0)], "methods": _QUICK_METHODS,
                       "xc2": list(np.round(np.arange(-10, 10.01, 1.0), 1)), "n": 2000, "m": 2000},
        "realdata": {"datasets": ["vaso", "leukemia"], "methods": ["lr", "mlslr:alpha=0.8", "ch"]},
    },
}

# `lsis-robust nn`: (model, epochs, trials, learning rate) per dataset, and the --quick (epochs, trials).  The
# digits budget is measured to converge every Table II method within the time target (results/nn/README.md).
NN_DEFAULTS = {"digits": ("small_cnn", 16, 3, 0.3), "cifar10": ("resnet18", 150, 20, 0.1)}
NN_QUICK = {"digits": (8, 1), "cifar10": (2, 1)}

# `lsis-robust compare`: the baselines, and per criterion its grid; --quick keeps every criterion but shrinks its
# grid, the full settings are the studies' paper-size grids.
COMPARE_BASELINES = ("lr", "lslr:alpha=0.4", "mlslr:alpha=0.4", "lsqlr", "by", "ch")
COMPARE_SETTINGS = {
    "quick": {
        "are": {"betas": TABLE1_BETAS},
        "influence": {"betas": [(0.0, 2.0)], "xc2": np.linspace(-10, 10, 81)},
        "robustness": {"betas": [(0.0, 2.0)], "xc2": np.arange(-10, 10.5, 1.0), "eps": 0.05, "n": 2000,
                       "m": 2000, "n_trials": 1},
        "efficiency": {"betas": [(0.0, 2.0)], "sizes": (50, 200), "n_trials": 20, "m": 2000},
        "realdata": {"datasets": ("vaso", "foodstamp", "leukemia")},
        "nn": {"digits": ("small_cnn", 8, 1), "cifar10": ("resnet18", 2, 1)},
    },
    "full": {
        "are": {"betas": TABLE1_BETAS},
        "influence": {"betas": ROBUSTNESS_BETAS, "xc2": np.linspace(-10, 10, 201)},
        "robustness": {"betas": ROBUSTNESS_BETAS, "xc2": np.asarray(ROBUSTNESS_XC2), "eps": 0.05, "n": 10_000,
                       "m": 10_000, "n_trials": 1},
        "efficiency": {"betas": TABLE1_BETAS, "sizes": EFFICIENCY_SIZES, "n_trials": 100, "m": 10_000},
        "realdata": {"datasets": REALDATA_SETS},
        "nn": {"digits": ("small_cnn", 30, 3), "cifar10": ("resnet18", 150, 20)},
    },
}

# ---- Printed values --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrintedTable:
    """One printed table: its cells, how many decimals it prints, and where it comes from."""

    name: str
    source: str
    equations: str
    caption: str
    decimals: int
    cells: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)


# Table I (Section III-B1): ARE tr(C_LR)/tr(C) of Theorem 4 with the closed forms (18), under design (20).
# Rows beta = (b1, b2) for b1 in 0, 1, 2 and b2 in 1, 2, 4; columns MLSLR alpha = .2 .4 .6 .8, then LSQLR (alpha -> 1).
TABLE1_ARE = np.array([
    [.9815, .9627, .9496, .9421, .9396],
    [.9043, .8531, .8239, .8085, .8036],
    [.7815, .7112, .6749, .6566, .6510],
    [.9604, .9286, .9085, .8972, .8937],
    [.8844, .8282, .7969, .7805, .7754],
    [.7760, .7051, .6688, .6504, .6447],
    [.8915, .8279, .7916, .7725, .7665],
    [.8281, .7605, .7248, .7065, .7009],
    [.7605, .6885, .6518, .6334, .6277],
])
TABLE1_ARE.setflags(write=False)

# Section IV, in the text under Table II: LR and LSQLR test task risks (mean, std over 20 trials).
LR_LSQLR_TTR = {"LR": (.0784, .0046), "LSQLR": (.0762, .0019)}

_ALPHAS_HIGH = tuple(_alpha_value(a) for a in ALPHAS_HIGH)

# Tables II and IV: {metric: (LSLR row, MLSLR row)}, each entry (mean, std).
_TABLE2 = {
    "TSR": ([(1.0316, .0151), (1.5413, .0055), (1.9299, .0041), (2.1942, .0010)],
            [(1.0316, .0045), (1.5365, .0026), (1.9229, .0011), (2.1902, .0004)]),
    "TTR": ([(.0781, .0075), (.0768, .0048), (.0830, .0068), (.0952, .0059)],
            [(.0697, .0019), (.0670, .0017), (.0689, .0015), (.0736, .0021)]),
}
_TABLE4 = {
    "TSR": ([(2.3015, .0000), (2.2953, .0001), (2.2829, .0001), (2.2616, .0002), (2.2233, .0006)],
            [(2.3006, .0000), (2.2939, .0000), (2.2811, .0004), (2.2597, .0003), (2.2238, .0008)]),
    "TTR": ([(.3300, .0094), (.1627, .0059), (.1152, .0026), (.0946, .0020), (.0797, .0019)],
            [(.0989, .0029), (.0752, .0018), (.0721, .0084), (.0713, .0026), (.0682, .0014)]),
}
# Tables III and V (LSLR's R-logit model at the epoch of minimum TSR): {(set, metric): row}.
_TABLE3 = {
    ("train", "OPDER"): [(.8961, .0105), (.9319, .0148), (.9646, .0081), (.9879, .0033)],
    ("train", "OPER"): [(.5198, .0049), (.5080, .0023), (.5024, .0033), (.4957, .0037)],
    ("train", "MSoR"): [(.0032, .0007), (.0043, .0009), (.0055, .0010), (.0089, .0009)],
    ("test", "OPDER"): [(.8123, .0196), (.8542, .0158), (.8947, .0157), (.9580, .0084)],
    ("test", "OPER"): [(.4313, .0251), (.4340, .0373), (.4356, .0171), (.4550, .0189)],
    ("test", "MSoR"): [(.0026, .0006), (.0035, .0009), (.0045, .0008), (.0075, .0008)],
}
_TABLE5 = {
    ("train", "OPDER"): [(.9885, .0016), (.9978, .0003), (.9993, .0001), (.9997, .0001), (.9957, .0009)],
    ("train", "OPER"): [(.3278, .0044), (.4303, .0036), (.4768, .0036), (.4922, .0015), (.4392, .0026)],
    ("train", "MSoR"): [(.0509, .0025), (.0322, .0020), (.0244, .0011), (.0193, .0009), (.0207, .0009)],
    ("test", "OPDER"): [(.9934, .0017), (.9983, .0005), (.9996, .0002), (.9997, .0002), (.9919, .0016)],
    ("test", "OPER"): [(.3652, .0043), (.4348, .0057), (.4755, .0117), (.4922, .0080), (.4322, .0092)],
    ("test", "MSoR"): [(.0579, .0037), (.0328, .0028), (.0235, .0015), (.0193, .0011), (.0213, .0022)],
}


def _pairs(rows, alphas):
    return [dict(metric=metric, method=method, alpha=a, mean=m, std=s)
            for metric, (lslr, mlslr) in rows.items()
            for method, row in (("LSLR", lslr), ("MLSLR", mlslr))
            for a, (m, s) in zip(alphas, row, strict=True)]


def _lslr(rows, alphas):
    return [dict(set=st, metric=metric, alpha=a, mean=m, std=s)
            for (st, metric), row in rows.items() for a, (m, s) in zip(alphas, row, strict=True)]


_BOLD = ("The bold face marking the one-sided Wilcoxon rank-sum winner (level 0.05) is lost in the text "
         "extraction, so which cells were bold is unreadable; only means and standard deviations are stored.")
_SETUP = "CIFAR-10 (K = 10), ResNet-18, 150 epochs of Nesterov SGD without weight decay, 20 trials"
_MSOR = ("MSoR (eq. 30): the extraction garbles the normalisation; lsis_robust.metrics documents its reading "
         "(the mean residual over out-of-range entries), so MSoR magnitudes are compared by ordering only.")


@functools.cache
def _printed_tables() -> dict[str, PrintedTable]:
    """The printed tables, built on first use: pandas loads only when a table is read, not with the constants."""
    import pandas as pd

    return {
        "Table I": PrintedTable(
            "Table I", "Table I (Section III-B1)",
            "Theorem 4, closed forms (18), ARE = tr(C_LR)/tr(C) via (19), design (20)",
            "Asymptotic relative efficiency of MLSLR and LSQLR against LR", 4,
            pd.DataFrame([dict(beta=b, method=m, value=float(TABLE1_ARE[i, j]))
                          for i, b in enumerate(TABLE1_ROWS) for j, m in enumerate(TABLE1_COLUMNS)])),
        "Table II": PrintedTable(
            "Table II", "Table II (Section IV)", "TSR and TTR as defined in Section IV; labelling by arg max",
            f"Mean and std of TSR and TTR for LSLR and MLSLR, alpha in [0, 1); {_SETUP}", 4,
            pd.DataFrame(_pairs(_TABLE2, TABLE1_ALPHAS)), (_BOLD,)),
        "Table III": PrintedTable(
            "Table III", "Table III (Section IV)", "OPDER (28), OPER (29), MSoR (30) of the R-logit model (10)",
            f"OPDER, OPER and MSoR of LSLR's R-logit model at the epoch of minimum TSR, alpha in [0, 1); {_SETUP}", 4,
            pd.DataFrame(_lslr(_TABLE3, TABLE1_ALPHAS)), (_MSOR,)),
        "Table IV": PrintedTable(
            "Table IV", "Table IV (Appendix D)", "as Table II; LSLR labels by arg min for alpha > 1 (Corollary 3)",
            f"Table II for alpha in (1, K/(K-1)] = 9.2/9 ... 10/9; {_SETUP}", 4,
            pd.DataFrame(_pairs(_TABLE4, _ALPHAS_HIGH)), (_BOLD,)),
        "Table V": PrintedTable(
            "Table V", "Table V (Appendix D)", "as Table III",
            f"Table III for alpha in (1, K/(K-1)] = 9.2/9 ... 10/9; {_SETUP}", 4,
            pd.DataFrame(_lslr(_TABLE5, _ALPHAS_HIGH)), (_MSOR,)),
    }


def table(name: str) -> PrintedTable:
    """The printed table ``name`` ("Table I" ... "Table V"); a copy of its cells, so callers cannot alter it."""
    tables = _printed_tables()
    if name not in tables:
        raise ValueError(f"unknown printed table {name!r}; known: {', '.join(tables)}")
    t = tables[name]
    return PrintedTable(t.name, t.source, t.equations, t.caption, t.decimals, t.cells.copy(), t.notes)
