"""Measurement and maintenance tools of the suite, each a module with its own command line.

Run as ``python -m lsis_robust.bench.NAME [options]`` (``--help`` lists the options):

- ``foundation``: CH and BY fits against R's robustbase on 36 data shapes, the LR fit against statsmodels,
  peak memory (the asv twin is ``benchmarks/bench_estimators.py::Shapes``);
- ``starts``: how often the estimator's default starts miss the lowest minimum on contaminated samples (the
  asv twin is ``benchmarks/bench_starts.py::StartsMiss``);
- ``studies``: the full studies' speed, estimator and paper protocols;
- ``commands``: the README's speed table, timing the commands users run with their defaults;
- ``gpu_check``: the deep-net benchmark on a GPU against the CPU in float64, and its epoch time;
- ``asv_publish``: the asv history as a site that needs no network (``bash scripts/asv_publish.sh``).

They sit above every other layer of the package.  Those that read the repository's other folders (the R
script, the vendored web assets, the git history) need a source checkout; :func:`repository_path` says so
when there is none.
"""
from __future__ import annotations

from pathlib import Path

# lsis_robust/bench/__init__.py -> the checkout's root, in a source tree or an editable install.
REPO_ROOT = Path(__file__).resolve().parents[2]


def repository_path(*parts: str) -> Path:
    """``REPO_ROOT / parts``, which must exist: a FileNotFoundError names it otherwise."""
    path = REPO_ROOT.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: this tool needs the repository's source checkout "
                                "(clone it and install it with `pip install -e .`)")
    return path
