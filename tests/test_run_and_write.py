"""The library functions behind the study and nn commands: the CLI only parses, calls them and prints.

Each ``run_and_write`` must write the same files as its command; the table
model renders emphasis, compact Markdown and notes for the deep-net tables.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lsis_robust.cli import main
from lsis_robust.reporting import ReportTable
from lsis_robust.studies.common import StudyOutputs, default_out_dir, study_settings


def _same_files(a: Path, b: Path, timed=()):
    """Every result file (provenance aside: it holds times and the command) is in both folders, byte for byte;
    the CSVs named in ``timed`` are compared without their timing columns."""
    def files(d):
        return sorted(p.relative_to(d) for p in d.rglob("*")
                      if p.is_file() and ".cache" not in p.parts and "checkpoints" not in p.parts
                      and not p.name.endswith("provenance.json"))
    assert files(a) == files(b) and files(a)
    for rel in files(a):
        if rel.name in timed:
            def untimed(d):
                df = pd.read_csv(d / rel)
                return df.drop(columns=[c for c in df if "time" in c or c == "images_per_s"])
            pd.testing.assert_frame_equal(untimed(a), untimed(b))
        else:
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


# -- settings and folders ---------------------------------------------------------------------------------------

def test_study_settings_fill_what_is_not_given_from_the_preset():
    quick = study_settings("efficiency", True)
    assert quick["sizes"] == [50, 200] and quick["n_trials"] == 10
    mixed = study_settings("efficiency", True, sizes=[30], m=None, seed=3)
    assert mixed["sizes"] == [30] and mixed["m"] == quick["m"] and mixed["seed"] == 3
    assert study_settings("robustness", False)["n"] == 10_000


def test_default_out_dir_is_the_one_rule_for_default_folders():
    assert default_out_dir("efficiency", "paper") == Path("results/studies/efficiency-paper")
    assert default_out_dir("robustness", "estimator", quick=True) == Path("results/studies/robustness-estimator-quick")
    assert default_out_dir("realdata", quick=True) == Path("results/studies/realdata-quick")
    with pytest.raises(ValueError, match="study"):
        default_out_dir("speed")
    with pytest.raises(ValueError, match="protocol"):
        default_out_dir("efficiency", "adam")


def test_sizes_at_or_below_the_coefficients_are_refused_before_any_work(tmp_path):
    from lsis_robust.studies.efficiency import check_sizes, run_and_write

    with pytest.raises(ValueError, match="use sizes >= 3"):
        check_sizes([(0.0, 4.0)], [2, 50])
    with pytest.raises(ValueError, match="use sizes >= 3"):
        run_and_write(tmp_path / "o", sizes=[2], progress=False)
    assert not (tmp_path / "o").exists()


# -- each study: the library writes what the command writes -----------------------------------------------------

def test_efficiency_run_and_write_writes_the_commands_files(tmp_path):
    from lsis_robust.studies.efficiency import EfficiencyOutputs, run_and_write

    grid = {"betas": [(0.0, 4.0)], "sizes": [40], "n_trials": 2, "m": 100, "methods": ["lr", "lsqlr"]}
    assert main(["efficiency", "--betas", "0,4", "--sizes", "40", "--trials", "2", "--m", "100", "--methods",
                 "lr,lsqlr", "--out", str(tmp_path / "cli"), "--no-progress", "--no-cache", "--n-jobs", "1"]) == 0
    res = run_and_write(tmp_path / "lib", **grid, progress=False)
    assert isinstance(res, EfficiencyOutputs) and isinstance(res, StudyOutputs)
    assert len(res.tables["efficiency"]) == 2 and res.unplotted_betas == [] and res.wall_time_s > 0
    assert {p.name for p in res.paths} == {"efficiency.csv", "efficiency.md", "efficiency.tex", "efficiency.png",
                                          "efficiency.provenance.json"}
    assert all(p.exists() for p in res.paths)
    _same_files(tmp_path / "cli", tmp_path / "lib")


def test_robustness_run_and_write_writes_the_commands_files(tmp_path):
    from lsis_robust.studies.robustness import RobustnessOutputs, run_and_write

    assert main(["robustness", "--betas", "0,4", "--xc2=-2,2", "--n", "200", "--m", "200", "--methods", "lr",
                 "--no-population", "--out", str(tmp_path / "cli"), "--no-progress", "--no-cache",
                 "--n-jobs", "1"]) == 0
    res = run_and_write(tmp_path / "lib", betas=[(0.0, 4.0)], xc2=[-2.0, 2.0], n=200, m=200, methods=["lr"],
                        population=False, progress=False)
    assert isinstance(res, RobustnessOutputs) and not res.population and res.compared_with is None
    assert set(res.tables) == {"robustness"} and len(res.tables["robustness"]) == 4
    _same_files(tmp_path / "cli", tmp_path / "lib")


def test_robustness_overlays_the_folder_it_is_told_to(tmp_path):
    from lsis_robust.studies.robustness import run_and_write

    kw = {"betas": [(0.0, 4.0)], "xc2": [-2.0, 2.0], "n": 200, "m": 200, "methods": ["lr"], "population": False,
          "progress": False}
    run_and_write(tmp_path / "mine-paper", protocol="paper", n_starts=2, **kw)
    # A folder of one's own is paired with nothing by name (mine-estimator would once have found mine-paper) ...
    assert run_and_write(tmp_path / "mine-estimator", **kw).compared_with is None
    # ... but with the folder it names.
    res = run_and_write(tmp_path / "mine-estimator", compare_with=tmp_path / "mine-paper", **kw)
    assert res.compared_with == tmp_path / "mine-paper" / "robustness.csv"
    prov = json.loads((tmp_path / "mine-estimator" / "robustness.provenance.json").read_text())
    assert prov["compared_with"] == str(tmp_path / "mine-paper" / "robustness.csv")


def test_realdata_run_and_write_writes_the_commands_files(tmp_path):
    from lsis_robust.studies.realdata import run_and_write

    assert main(["realdata", "--datasets", "vaso", "--methods", "lr,ch", "--out", str(tmp_path / "cli"),
                 "--no-progress", "--n-jobs", "1"]) == 0
    res = run_and_write(tmp_path / "lib", datasets=["vaso"], methods=["lr", "ch"], progress=False)
    assert set(res.tables) == {"realdata_coefficients", "realdata_loo", "realdata_weights"}
    assert set(res.tables["realdata_loo"].method) == {"lr", "ch"}
    _same_files(tmp_path / "cli", tmp_path / "lib")
    with pytest.raises(ValueError, match="data sets"):
        run_and_write(tmp_path / "bad", datasets=["iris"], progress=False)
    assert not (tmp_path / "bad").exists()


# -- nn -----------------------------------------------------------------------------------------------------------

def test_nn_plan_validates_before_loading_anything(tmp_path):
    from lsis_robust.nn.benchmark import plan_benchmark

    with pytest.raises(ValueError, match="batch"):
        plan_benchmark(tmp_path, batch_size=1)
    with pytest.raises(ValueError, match="cifar10"):
        plan_benchmark(tmp_path, data_dir=tmp_path)
    with pytest.raises(ValueError, match="dask"):
        plan_benchmark(tmp_path, backend="dask", scheduler="tcp://127.0.0.1:1", n_jobs=2)
    with pytest.raises(ValueError, match="dataset"):
        plan_benchmark(tmp_path, dataset="mnist")
    with pytest.raises(TypeError, match="Method"):
        plan_benchmark(tmp_path, methods=["lr"])
    assert not list(tmp_path.iterdir())


def test_nn_run_and_write_writes_the_commands_files(tmp_path):
    from lsis_robust.nn.benchmark import BenchmarkPlan, plan_benchmark, run_and_write

    argv = ["--methods", "lr,lslr-0.4,mlslr-0.4", "--epochs", "1", "--trials", "1", "--n-jobs", "1",
            "--device", "cpu", "--no-progress"]
    assert main(["nn", *argv, "--out", str(tmp_path / "cli")]) == 0
    plan = plan_benchmark(tmp_path / "lib", methods="lr,lslr-0.4,mlslr-0.4", epochs=1, trials=1, n_jobs=1,
                          device="cpu")
    assert isinstance(plan, BenchmarkPlan) and plan.threads == 1 and plan.cfg.model == "small_cnn"
    assert plan.describe().startswith("3 methods x 1 trial(s) in this process, 1 thread(s) per run; digits")
    res = run_and_write(plan, progress=False)
    assert len(res.runs) == 3 and res.provenance.name == "nn.provenance.json"
    assert {p.name for p in res.paths} >= {"runs.csv", "curves.csv", "table2.md", "learning_curves.png"}
    with pytest.raises(TypeError, match="BenchmarkPlan"):
        run_and_write({"dataset": "digits"})
    _same_files(tmp_path / "cli", tmp_path / "lib", timed={"runs.csv", "curves.csv"})


# -- the one table model: emphasis, compact Markdown, notes ----------------------------------------------------

def _marked_table(**kw):
    shown = pd.DataFrame({"metric": ["TSR", "TTR"], "α=0.2": ["0.1 ± 0.2", "0.3 ± n/a †"]})
    bold = pd.DataFrame({"metric": [False, False], "α=0.2": [True, False]})
    return ReportTable(shown, "Cap_tion 5%", notes=["† see runs_csv"], emphasis=bold, **kw)


def test_emphasis_is_bold_in_every_markup_and_plain_in_text():
    t = _marked_table()
    assert "**0.1 ± 0.2**" in t.as_markdown() and "**0.1 ± 0.2**" in t.as_markdown_file()
    assert "<b>0.1 ± 0.2</b>" in t.as_html()
    assert r"\textbf{0.1 $\pm$ 0.2}" in t.as_latex()
    assert "0.1 ± 0.2" in t.as_text() and "*" not in t.as_text() and "\x02" not in t.as_text()
    assert "**0.3" not in t.as_markdown() and r"\textbf{0.3" not in t.as_latex()
    with pytest.raises(ValueError, match="emphasis"):
        ReportTable(pd.DataFrame({"a": [1.0]}), emphasis=pd.DataFrame({"a": [True, False]}))


def test_compact_markdown_notes_and_latex_symbols():
    t = _marked_table(compact=True, column_format="lr")
    md = t.as_markdown_file()
    assert md == ("Cap_tion 5%\n\n| metric | α=0.2 |\n|---|---|\n| TSR | **0.1 ± 0.2** |\n| TTR | 0.3 ± n/a † |\n"
                  "\n† see runs_csv\n")
    tex = t.as_latex()
    assert r"\caption{Cap\_tion 5\%}" in tex and r"\begin{tabular}{lr}" in tex
    assert r"metric & $\alpha$=0.2 \\" in tex and r"0.3 $\pm$ n/a $^\dagger$ \\" in tex
    assert tex.endswith("\\end{tabular}\n\\par\\footnotesize $^\\dagger$ see runs\\_csv\n\\end{table}\n")


def test_tables_without_emphasis_or_notes_render_as_before():
    df = pd.DataFrame({"a": ["x"], "b": [np.pi]})
    t = ReportTable(df, "T")
    assert t.as_markdown_file() == "T\n\n| a   | b      |\n|:----|:-------|\n| x   | 3.1416 |\n"
    assert t.as_latex().count(r"\textbf") == 0 and r"\footnotesize" not in t.as_latex()


@pytest.mark.parametrize("study, kwargs, error, match", [
    ("efficiency", {"quick": "yes"}, TypeError, "quick must be True or False"),
    ("realdata", {"quick": None}, TypeError, "quick must be True or False"),
    ("efficiency", {"methods": ""}, ValueError, "comma-separated loss specs"),
    ("efficiency", {"n_trials": float("nan")}, TypeError, "n_trials must be an integer"),
    ("robustness", {"eps": float("nan")}, ValueError, r"eps must be a finite number in \[0, 1\)"),
    ("robustness", {"compare_with": "no-such-folder"}, ValueError, "holds no robustness.csv"),
    ("realdata", {"datasets": ["nope"]}, ValueError, "unknown or no data sets"),
])
def test_hostile_settings_are_refused_before_any_work(study, kwargs, error, match, tmp_path, monkeypatch):
    """Each study's library entry point refuses a bad setting with one clear error and writes nothing."""
    import importlib

    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(f"lsis_robust.studies.{study}")
    with pytest.raises(error, match=match):
        module.run_and_write(tmp_path / "out", **({"quick": True} | kwargs), progress=False)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_an_output_folder_that_is_a_file_is_refused(tmp_path):
    from lsis_robust.studies import efficiency

    (tmp_path / "afile").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        efficiency.run_and_write(tmp_path / "afile", quick=True, progress=False)
