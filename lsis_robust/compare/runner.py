"""Run the criteria of a comparison: the new loss and the baselines, the same seeds, one section each."""
from __future__ import annotations

import time
from pathlib import Path

from .._validation import check_bool, check_device, check_list, check_seed, split_list
from .are import criterion_are
from .efficiency import criterion_efficiency
from .influence import criterion_influence
from .nn import criterion_nn
from .realdata import criterion_realdata
from .result import Comparison, Context
from .robustness import criterion_robustness
from .settings import CRITERIA, DEFAULT_BASELINES, SETTINGS, jsonable
from .shapes import criterion_shapes
from .specs import resolve_new_loss, spec_source

__all__ = ["run_compare"]

_CRITERION_FUNCS = {"are": criterion_are, "influence": criterion_influence, "robustness": criterion_robustness,
                    "efficiency": criterion_efficiency, "realdata": criterion_realdata, "nn": criterion_nn}


def _check_criteria(criteria):
    """The criteria to run, in :data:`CRITERIA` order: all for None, else a comma list or a list of them."""
    if criteria is None:
        return list(CRITERIA)
    chosen = (split_list(criteria, "criteria", allowed=CRITERIA) if isinstance(criteria, str)
              else check_list(list(criteria), "criteria", allowed=CRITERIA))
    return [c for c in CRITERIA if c in chosen]


def run_compare(loss, baselines=DEFAULT_BASELINES, *, quick=False, criteria=None, out=None, seed=0,
                data_dir=None, device="auto", progress=True) -> Comparison:
    """Run every criterion for the new ``loss`` spec and the ``baselines``; return the sections.

    ``loss``: a registered spec (``name:param=value``) or an import path
    (``package.module:object``); ``baselines``: registered specs;
    ``criteria``: a subset of :data:`CRITERIA` (default all);
    ``seed``: the master seed shared by every method.  Figures go to
    ``out/figures``.  Call :func:`write_report` to write the report.
    """
    from tqdm.auto import tqdm

    from ..studies.common import resolve_methods

    seed = check_seed(seed)
    quick = check_bool(quick, "quick")
    device = check_device(device, "device")
    new = resolve_new_loss(loss)
    baselines = [baselines] if isinstance(baselines, str) else list(baselines)
    if new in baselines:
        baselines.remove(new)
    methods = resolve_methods([new] + baselines)
    crits = _check_criteria(criteria)
    if data_dir is not None:
        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise FileNotFoundError(f"--data-dir {data_dir} is not a folder")
    out = Path(out) if out is not None else Path("results/compare") / (new.replace(":", "_").replace("=", "")
                                                                        + ("-quick" if quick else ""))
    figdir = out / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    name = "quick" if quick else "full"
    t0 = time.perf_counter()
    base_ctx = {"new": new, "methods": methods, "seed": int(seed), "figdir": figdir, "progress": progress,
                "data_dir": data_dir, "device": device}
    sections = [criterion_shapes(Context(settings={}, **base_ctx))]
    for key in tqdm(crits, desc="compare", disable=not progress):
        t = time.perf_counter()
        sec = _CRITERION_FUNCS[key](Context(settings=SETTINGS[name][key], **base_ctx))
        sec.wall_s = time.perf_counter() - t
        sec.settings = {**jsonable(SETTINGS[name][key]), **sec.settings}
        sections.append(sec)
    new_loss = methods[new]
    info = {"derivatives": getattr(new_loss, "derivative_source", lambda: "analytic (built-in)")(),
            "bounded": bool(new_loss.bounded), "convex": bool(new_loss.convex),
            "params": new_loss.get_params(), "class": f"{type(new_loss).__module__}.{type(new_loss).__qualname__}",
            "source": spec_source(loss)}
    return Comparison(new, methods, sections, name, int(seed), out, time.perf_counter() - t0, info)
