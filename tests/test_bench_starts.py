"""scripts/bench_starts.py: it runs, and its reference fit (defaults plus random starts) is never worse."""
import importlib.util
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_starts.py"


def _module():
    spec = importlib.util.spec_from_file_location("bench_starts", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reports_misses_per_loss(capsys):
    assert _module().main(["--samples", "4", "--random", "2", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    for name in ("ch", "by"):
        line = next(line for line in out.splitlines() if line.strip().startswith(f"{name}:"))
        assert 0 <= int(line.split("minimum in")[1].split()[0]) <= 4


def test_contaminated_samples_are_reproducible_and_binary():
    bench = _module()
    a, b = bench.contaminated_sample(np.random.default_rng(5)), bench.contaminated_sample(np.random.default_rng(5))
    np.testing.assert_array_equal(a.X, b.X)
    assert set(np.unique(a.y)) <= {0, 1} and a.contaminated.any()
