"""What ``lsis-robust compare`` runs: its criteria, default baselines and the quick and full grid settings.

The Table I betas, the quick presets and the colour of the new loss are compare's copies of the paper's
constants; they live here only, so that one change of home moves all of them.
"""
from __future__ import annotations

import numpy as np

__all__ = ["CRITERIA", "DEFAULT_BASELINES", "NEW_COLOR", "SETTINGS", "jsonable"]

CRITERIA = ("are", "influence", "robustness", "efficiency", "realdata", "nn")
DEFAULT_BASELINES = ("lr", "lslr:alpha=0.4", "mlslr:alpha=0.4", "lsqlr", "by", "ch")
_TABLE1_BETAS = [(float(b1), float(b2)) for b1 in (0, 1, 2) for b2 in (1, 2, 4)]

# --quick keeps every criterion but shrinks its grid; the full settings are the studies' paper-size grids.
SETTINGS = {
    "quick": {
        "are": {"betas": _TABLE1_BETAS},
        "influence": {"betas": [(0.0, 2.0)], "xc2": np.linspace(-10, 10, 81)},
        "robustness": {"betas": [(0.0, 2.0)], "xc2": np.arange(-10, 10.5, 1.0), "eps": 0.05, "n": 2000,
                       "m": 2000, "n_trials": 1},
        "efficiency": {"betas": [(0.0, 2.0)], "sizes": (50, 200), "n_trials": 20, "m": 2000},
        "realdata": {"datasets": ("vaso", "foodstamp", "leukemia")},
        "nn": {"digits": ("small_cnn", 8, 1), "cifar10": ("resnet18", 2, 1)},
    },
    "full": {
        "are": {"betas": _TABLE1_BETAS},
        "influence": {"betas": [(0.0, 1.0), (0.0, 2.0), (0.0, 4.0)], "xc2": np.linspace(-10, 10, 201)},
        "robustness": {"betas": [(0.0, 1.0), (0.0, 2.0), (0.0, 4.0)], "xc2": np.round(np.arange(-100, 101) / 10, 1),
                       "eps": 0.05, "n": 10_000, "m": 10_000, "n_trials": 1},
        "efficiency": {"betas": _TABLE1_BETAS, "sizes": (25, 50, 100, 200, 400, 800), "n_trials": 100,
                       "m": 10_000},
        "realdata": {"datasets": ("vaso", "foodstamp", "leukemia", "breast_cancer")},
        "nn": {"digits": ("small_cnn", 30, 3), "cifar10": ("resnet18", 150, 20)},
    },
}
NEW_COLOR = "darkorange"


def jsonable(obj):
    """``obj`` with arrays as lists (long grids as their min, max and count), for the provenance file."""
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        v = obj.tolist()
        return v if len(v) <= 12 else {"min": min(v), "max": max(v), "count": len(v)}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    return obj
