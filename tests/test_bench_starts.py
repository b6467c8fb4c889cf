"""lsis_robust.bench.starts: it runs, and its reference fit (defaults plus random starts) is never worse."""
import warnings
from pathlib import Path

import numpy as np
import pytest

from lsis_robust.bench import starts as bench
from lsis_robust.fitting import fit_batch
from lsis_robust.registry import get_loss


def test_reports_the_misses_that_the_fits_give(capsys):
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
        bench.main(["--losses", "nope"])


def test_contaminated_samples_are_reproducible_and_binary():
    a, b = bench.contaminated_sample(np.random.default_rng(5)), bench.contaminated_sample(np.random.default_rng(5))
    np.testing.assert_array_equal(a.X, b.X)
    assert set(np.unique(a.y)) <= {0, 1} and a.contaminated.any()


def test_count_misses_rejects_empty_runs():
    with pytest.raises(ValueError, match="n_samples and n_random must be >= 1"):
        bench.count_misses({"ch": get_loss("ch")}, n_samples=0)


def test_asv_track_is_the_command_default_count(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))  # asv imports benchmarks/ from the root
    from benchmarks import bench_starts

    calls = []

    def fake_count(losses, **kwargs):
        calls.append((list(losses), kwargs))
        return dict.fromkeys(losses, 4), dict.fromkeys(losses, 0.0)

    monkeypatch.setattr(bench_starts, "count_misses", fake_count)
    assert bench_starts.StartsMiss().track_default_starts_miss("mlslr:alpha=0.4") == 4
    # the command's defaults (300 samples, 30 random starts, seed 7), not a cheaper variant
    assert calls == [(["mlslr:alpha=0.4"], {})]
