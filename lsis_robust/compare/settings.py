"""What ``lsis-robust compare`` runs: its criteria, and the baselines, grids and colour of lsis_robust.paper."""
from __future__ import annotations

import numpy as np

from ..paper import COMPARE_BASELINES as DEFAULT_BASELINES
from ..paper import COMPARE_SETTINGS as SETTINGS
from ..paper import NEW_METHOD_COLOR as NEW_COLOR

__all__ = ["CRITERIA", "DEFAULT_BASELINES", "NEW_COLOR", "SETTINGS", "jsonable"]

CRITERIA = ("are", "influence", "robustness", "efficiency", "realdata", "nn")


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
