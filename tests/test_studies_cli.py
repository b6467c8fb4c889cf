import json

import pandas as pd
import pytest

from lsis_robust.cli import main


def test_quick_commands_write_tables_figures_and_provenance(tmp_path):
    out = tmp_path / "eff"
    assert main(["efficiency", "--quick", "--no-progress", "--out", str(out), "--sizes", "30,60",
                 "--methods", "lr,mlslr:alpha=0.6"]) == 0
    df = pd.read_csv(out / "efficiency.csv")
    assert set(df.columns) >= {"beta1", "beta2", "n", "method", "n_trials", "n_separated", "sob_mean", "sob_std",
                               "ttr_mean", "ttr_std"}
    assert len(df) == 2 * 2 * 2 and (df.n_trials == 10).all()
    for suffix in (".md", ".tex", ".png", ".provenance.json"):
        assert (out / f"efficiency{suffix}").exists()
    prov = json.loads((out / "efficiency.provenance.json").read_text())
    assert prov["protocol"] == "estimator" and prov["seed"] == 0 and prov["wall_time_s"] > 0

    out = tmp_path / "rob"
    assert main(["robustness", "--quick", "--no-progress", "--out", str(out), "--xc2=-10,0,5",
                 "--methods", "lr,mlslr:alpha=0.8", "--no-population"]) == 0
    rob = pd.read_csv(out / "robustness.csv")
    assert len(rob) == 2 * 3 * 2
    assert (out / "robustness.png").exists() and (out / "robustness_protocols.png").exists()


def test_realdata_quick(tmp_path):
    assert main(["realdata", "--quick", "--no-progress", "--out", str(tmp_path)]) == 0
    coef = pd.read_csv(tmp_path / "realdata_coefficients.csv")
    loo = pd.read_csv(tmp_path / "realdata_loo.csv")
    assert set(coef.dataset) == {"vaso", "leukemia"} and coef["std err"].gt(0).all()
    assert loo.misclassification.between(0, 1).all()
    # LR on leukemia: statsmodels as the reference for the coefficients.
    import statsmodels.api as sm

    from lsis_robust.datasets import load_leukemia

    ds = load_leukemia()
    ref = sm.Logit(ds.y, sm.add_constant(ds.X.astype(float))).fit(disp=0).params.to_numpy()
    got = coef[(coef.dataset == "leukemia") & (coef.method == "lr")]["coef"].to_numpy()
    assert got == pytest.approx(ref, abs=1e-6)


@pytest.mark.parametrize("argv, msg", [
    (["efficiency", "--quick", "--protocol", "fast"], "protocol"),
    (["efficiency", "--quick", "--methods", "lr,bogus"], "bogus"),
    (["robustness", "--quick", "--eps", "1.5"], "[0, 1)"),
    (["efficiency", "--quick", "--sizes", "1"], "n=1"),
    (["robustness", "--quick", "--backend", "dask", "--scheduler", "tcp://127.0.0.1:9"], "cannot reach"),
    (["efficiency", "--quick", "--n-jobs", "0"], "n_jobs=0"),
    (["realdata", "--quick", "--n-jobs", "-2"], "n_jobs=-2"),
    (["realdata", "--quick", "--backend", "dask"], "scheduler address"),
    (["realdata", "--quick", "--backend", "dask", "--scheduler", "tcp://127.0.0.1:9"], "cannot reach"),
    (["realdata", "--quick", "--datasets", "vaso,iris"], "iris"),
])
def test_bad_input_fails_before_work(tmp_path, capsys, argv, msg):
    assert main(argv + ["--out", str(tmp_path / "x"), "--no-progress"]) == 2
    assert msg in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("command", [["efficiency", "--quick"], ["realdata", "--quick"]])
def test_bad_default_worker_count_is_one_line_before_work(tmp_path, capsys, monkeypatch, command):
    from lsis_robust.studies._grid import N_JOBS_ENV

    monkeypatch.setenv(N_JOBS_ENV, "many")
    assert main(command + ["--out", str(tmp_path / "x"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert N_JOBS_ENV in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_default_worker_count_is_recorded(tmp_path, monkeypatch):
    from lsis_robust.studies._grid import N_JOBS_ENV

    monkeypatch.setenv(N_JOBS_ENV, "2")
    assert main(["realdata", "--datasets", "leukemia", "--methods", "lr", "--no-progress",
                 "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "realdata.provenance.json").read_text())["n_jobs"] == 2
    assert main(["efficiency", "--quick", "--sizes", "30", "--methods", "lr", "--trials", "2", "--m", "50",
                 "--no-progress", "--out", str(tmp_path / "eff")]) == 0
    assert json.loads((tmp_path / "eff" / "efficiency.provenance.json").read_text())["n_jobs"] == 2
