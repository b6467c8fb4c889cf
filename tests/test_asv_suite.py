"""The asv suite in benchmarks/: every module imports, benchmarks are well formed, and a few run as asv would."""
import importlib
import inspect
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py") if p.stem not in ("__init__", "common"))
PREFIXES = ("time_", "timeraw_", "peakmem_", "mem_", "track_")


@pytest.fixture(autouse=True)
def _repo_on_path(monkeypatch):
    # asv imports benchmarks/ as a top-level package from the repository root
    monkeypatch.syspath_prepend(str(ROOT))


def _module(name):
    return importlib.import_module(f"benchmarks.{name}")


def _benchmarks(module):
    """(owner, attribute name, callable) of every benchmark that asv would discover in ``module``."""
    for name, obj in vars(module).items():
        if inspect.isclass(obj) and obj.__module__ == module.__name__:
            for attr in dir(obj):
                if attr.startswith(PREFIXES):
                    yield obj, attr, getattr(obj, attr)
        elif inspect.isfunction(obj) and name.startswith(PREFIXES):
            yield None, name, obj


def test_suite_modules_exist():
    assert "bench_estimators" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_benchmarks_are_well_formed(name):
    from benchmarks.common import Benchmark

    module = _module(name)
    found = list(_benchmarks(module))
    assert found, f"{name} defines no benchmark"
    for owner, attr, func in found:
        where = f"{name}.{owner.__name__ + '.' if owner else ''}{attr}"
        if owner is not None:
            assert issubclass(owner, Benchmark), f"{where}: benchmark classes derive from common.Benchmark"
        params = getattr(func, "params", getattr(owner, "params", []))
        param_names = getattr(func, "param_names", getattr(owner, "param_names", []))
        if params and not isinstance(params[0], (list, tuple)):
            params = [params]  # asv's shorthand for a single parameter
        if params:
            assert all(isinstance(p, (list, tuple)) and p for p in params), \
                f"{where}: params must be a list of non-empty lists"
            assert len(param_names) == len(params), f"{where}: one name per parameter list"
            for values in params:
                assert len({repr(v) for v in values}) == len(values), f"{where}: asv needs distinct reprs in {values}"
            # asv passes setup_cache's result as the first argument after self
            n_args = (len(inspect.signature(func).parameters) - (owner is not None)
                      - (owner is not None and hasattr(owner, "setup_cache")))
            assert n_args == len(params), f"{where} takes {n_args} parameters for {len(params)} lists"
        else:
            assert not param_names, f"{where}: param_names without params"
        if attr.startswith("track_"):
            unit = getattr(func, "unit", getattr(owner, "unit", None))
            assert isinstance(unit, str) and unit, f"{where}: track_* needs a unit (asv shows it next to the number)"


def _run(module, cls, method, *args):
    """setup, the benchmark and teardown, as asv runs one parameter combination."""
    instance = getattr(_module(module), cls)()
    try:
        if hasattr(instance, "setup"):
            instance.setup(*args)
    except NotImplementedError as exc:
        pytest.skip(f"skipped as asv would: {exc}")
    try:
        return getattr(instance, method)(*args)
    finally:
        if hasattr(instance, "teardown"):
            instance.teardown(*args)


# One cheap parameter combination per benchmark family that finishes in about a second; the deep-net ones need
# torch start-up and a model build (tens of seconds on 2 busy cores), which CI's quick asv run covers instead.
@pytest.mark.parametrize("module,cls,method,args", [
    ("bench_estimators", "Fit", "time_fit", ("mlslr", 10_000, 2)),
    ("bench_theory", "ContaminatedFunctional", "time_contaminated_functional", ("mlslr:alpha=0.4",)),
])
def test_benchmark_runs(module, cls, method, args):
    assert _run(module, cls, method, *args) is None


@pytest.mark.parametrize("dataset", ["leukemia", "synthetic"])
def test_robustbase_tracks_are_small_and_not_negative(dataset):
    module = _module("bench_estimators")
    values = {attr: _run("bench_estimators", "Robustbase", attr, dataset)
              for _, attr, _ in _benchmarks(module) if attr.startswith("track_")}
    assert len(values) == 4
    assert all(math.isfinite(v) and v >= 0 for v in values.values()), values
    # the CH fit is the refined minimum and no worse than robustbase
    assert values["track_coef_distance_to_refined_minimum"] < 1e-6
    assert values["track_objective_excess_over_refined_minimum"] == 0
    assert values["track_objective_excess_over_robustbase"] == 0


def test_benchmark_package_is_importable_without_side_effects():
    # discovery imports every module in a fresh interpreter; torch and the data must load lazily
    import subprocess

    code = ("import sys; sys.path.insert(0, sys.argv[1]); import importlib\n"
            f"for m in {MODULES!r}: importlib.import_module('benchmarks.' + m)\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False", "a benchmark module imports torch at import time"
