"""scripts/bench_starts.py: it runs, and its reference fit (defaults plus random starts) is never worse."""
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest

from lsis_robust.fitting import fit_batch
from lsis_robust.losses import get_loss

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_starts.py"


def _module():
    spec = importlib.util.spec_from_file_location("bench_starts", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reports_the_misses_that_the_fits_give(capsys):
    bench = _module()
    assert bench.main(["--samples", "6", "--random", "3", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    # the same samples and fits, counted here
    rng = np.random.default_rng(3)
    expected = {"ch": 0, "by": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(6):
            sample = bench.contaminated_sample(rng)
            y_pm = (2.0 * sample.y - 1)[None]
            for name in expected:
                default = fit_batch(get_loss(name), sample.X, y_pm, np.ones_like(y_pm))
                ref = fit_batch(get_loss(name), sample.X, y_pm, np.ones_like(y_pm), n_random=3,
                                rng=np.random.default_rng(1))
                assert ref.objective[0] <= default.objective[0] + 1e-12  # more starts never do worse
                expected[name] += bool(ref.converged[0] and default.objective[0] > ref.objective[0] + 1e-9)
    for name, count in expected.items():
        line = next(line for line in out.splitlines() if line.strip().startswith(f"{name}:"))
        assert int(line.split("minimum in")[1].split()[0]) == count


def test_bad_loss_spec_is_a_usage_error():
    with pytest.raises(SystemExit):
        _module().main(["--losses", "nope"])


def test_contaminated_samples_are_reproducible_and_binary():
    bench = _module()
    a, b = bench.contaminated_sample(np.random.default_rng(5)), bench.contaminated_sample(np.random.default_rng(5))
    np.testing.assert_array_equal(a.X, b.X)
    assert set(np.unique(a.y)) <= {0, 1} and a.contaminated.any()
