"""lsis_robust.bench.foundation: its shapes are what it says, its ratios are computed from its times, and it runs
without R (the robustbase part is optional at run time)."""
import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lsis_robust.bench import foundation

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def bench():
    return foundation


def test_quick_run_without_r_reports_every_shape(bench, tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--no-r", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "robustbase: not timed (--no-r)" in printed
    data = json.loads(out.read_text())  # strict JSON: no NaN tokens
    shapes = pd.DataFrame(data["shapes"])
    # 3 samples x d = 1, 2 at n = 1000, each with a CH and a BY fit
    assert len(shapes) == 12
    assert set(shapes["sample"]) == set(bench.SAMPLES) and set(shapes["d"]) == {1, 2}
    assert set(shapes["n"]) == {1000} and set(shapes["loss"]) == {"ch", "by"}
    assert (shapes["fit [s]"] > 0).all() and shapes["ratio"].isna().all()
    assert data["ratios"] == {} and data["robustbase"] == "not timed (--no-r)"


def test_shapes_are_the_documented_samples(bench):
    n, d = 2000, 5
    X, y = bench.shape_sample("clean", n, d, seed=4)
    assert X.shape == (n, d) and set(np.unique(y)) == {0, 1}
    # the clean covariates are standard normal
    assert abs(X.mean()) < 0.05 and abs(X.std() - 1) < 0.05
    Xp, yp = bench.shape_sample("point", n, d, seed=4)
    x_c = np.full(d, 1.5 * 2 / np.sqrt(d))  # 3 units along the slopes (total size 2)
    at_point = np.all(Xp == x_c, axis=1)
    assert at_point.sum() == round(0.05 * n) and np.all(yp[at_point] == 0)
    Xl, yl = bench.shape_sample("leverage", n, d, seed=4)
    far = np.isclose(np.linalg.norm(Xl, axis=1), 10.0)
    assert far.sum() == round(0.10 * n)
    # each outlier has the label that the model (intercept 0, slopes 2 / sqrt(d)) finds less likely
    assert np.array_equal(yl[far], (Xl[far].sum(axis=1) <= 0).astype(int))
    X2, y2 = bench.shape_sample("leverage", n, d, seed=4)
    assert np.array_equal(Xl, X2) and np.array_equal(yl, y2)
    with pytest.raises(ValueError, match="unknown"):
        bench.shape_sample("heavy", n, d)


def test_ratio_summary_is_worst_and_median_per_size(bench):
    table = pd.DataFrame({"n": [1000, 10000, 10000, 10000, 10000, 100000],
                          "loss": ["ch", "ch", "by", "ch", "by", "ch"],
                          "ratio": [5.0, 60.0, 40.0, 200.0, np.nan, 300.0]})
    summary = bench.ratio_summary(table)
    assert summary["ch+by n=1e4"] == {"worst": 40.0, "median": 60.0, "shapes": 3}
    assert summary["ch n=1e4"] == {"worst": 60.0, "median": 130.0, "shapes": 2}
    assert summary["by n=1e4"] == {"worst": 40.0, "median": 40.0, "shapes": 1}
    assert summary["ch+by all"] == {"worst": 5.0, "median": 60.0, "shapes": 5}


def test_missing_or_failing_r_is_reported_not_raised(bench, monkeypatch):
    X, y = bench.shape_sample("clean", 100, 1)
    monkeypatch.setattr(bench.shutil, "which", lambda name: None)
    assert bench.robustbase_seconds(X, y, 1) == (None, "Rscript not found (apt-get install r-cran-robustbase)")
    monkeypatch.setattr(bench.shutil, "which", lambda name: "/usr/bin/Rscript")
    failed = subprocess.CompletedProcess([], 1, "", "there is no package called 'robustbase'")
    monkeypatch.setattr(bench.subprocess, "run", lambda *a, **k: failed)
    seconds, why = bench.robustbase_seconds(X, y, 1)
    assert seconds is None and "robustbase" in why


@pytest.mark.parametrize("argv", [["--repeats", "0"], ["--r-repeats", "0"], ["--sizes", "10"], ["--dims", "0"],
                                  ["--samples", "heavy"]])
def test_bad_options_are_usage_errors(bench, argv):
    with pytest.raises(SystemExit) as exc:
        bench.main(argv)
    assert exc.value.code == 2


def test_asv_twin_times_the_same_shapes(bench, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))  # asv imports benchmarks/ from the repository root
    from benchmarks.bench_estimators import Shapes

    assert Shapes.params == [list(bench.LOSSES), list(bench.SAMPLES), list(bench.SIZES), list(bench.DIMS)]
    shapes = Shapes()
    shapes.setup("by", "leverage", 1000, 2)
    X, y = bench.shape_sample("leverage", 1000, 2)
    assert np.array_equal(shapes.X, X) and np.array_equal(shapes.y, y)
    assert shapes.time_fit("by", "leverage", 1000, 2) is None
