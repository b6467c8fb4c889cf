"""Data loaders and result writers."""
import json

import numpy as np
import pandas as pd
import pytest

from lsis_robust import reporting
from lsis_robust.datasets import DATASETS, load_dataset, load_foodstamp, load_leukemia, load_vaso


def test_loaders_give_the_customary_covariates():
    vaso = load_vaso()
    assert vaso.X.shape == (39, 2) and list(vaso.X.columns) == ["log(Volume)", "log(Rate)"]
    assert set(np.unique(vaso.y)) == {0, 1}
    assert vaso.X.iloc[0, 0] == pytest.approx(np.log(3.7))
    food = load_foodstamp()
    assert food.X.shape == (150, 3)
    assert food.X["log(income + 1)"].iloc[4] == 0.0  # observation 5: income 0, the leverage point
    leuk = load_leukemia()
    assert leuk.X.shape == (33, 2) and leuk.y[14] == 1  # observation 15: the classic outlier survived
    assert np.exp(leuk.X["log(wbc)"].iloc[14]) == pytest.approx(100000)
    X, y, description = load_vaso()
    assert "Finney" in description and len(y) == len(X)
    for name in DATASETS:
        data = load_dataset(name)
        assert np.all(np.isfinite(data.X.to_numpy())) and len(data.y) == len(data.X)
    with pytest.raises(ValueError, match="unknown data set 'iris'; available: vaso"):
        load_dataset("iris")


def test_write_table_formats_and_atomicity(tmp_path):
    df = pd.DataFrame({"method": ["LR", "MLSLR(alpha=0.4)"], "SoB": [0.123456, 0.651], "n": [10, 20]})
    paths = reporting.write_table(df, tmp_path, "table", caption="Caption with 50% & under_score")
    assert pd.read_csv(paths["csv"])["SoB"].tolist() == [0.123456, 0.651]
    md = paths["md"].read_text()
    assert "Caption with 50%" in md and "| LR" in md and "0.1235" in md
    assert "0.6510" in md  # printed precision is kept, trailing zeros included
    tex = paths["tex"].read_text()
    assert r"\caption{Caption with 50\% \& under\_score}" in tex and r"\begin{tabular}" in tex
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left
    with pytest.raises(TypeError, match="DataFrame"):
        reporting.write_table([1, 2], tmp_path, "x")



def test_report_table_is_the_model_behind_the_table_files(tmp_path):
    df = pd.DataFrame({"method": ["LR", "BY"], "SoB": [0.123456, np.nan], "n": [10, 20]})
    table = reporting.ReportTable(df, "Caption_1", float_format="{:.3f}")
    paths = reporting.write_table(df, tmp_path, "t", caption="Caption_1", float_format="{:.3f}")
    assert paths["md"].read_text() == table.as_markdown_file()
    assert paths["tex"].read_text() == table.as_latex() and r"\caption{Caption\_1}" in table.as_latex()
    assert paths["csv"].read_text() == table.as_csv() == df.to_csv(index=False)
    # the files format the float columns only; the report views print every cell as a string
    assert table.shown_typed()["n"].tolist() == [10, 20] and table.shown()["n"].tolist() == ["10", "20"]
    assert table.shown_typed()["SoB"].tolist() == table.shown()["SoB"].tolist() == ["0.123", ""]
    assert "0.123" in table.as_text() and "NaN" not in table.as_text()
    assert "NaN" in reporting.ReportTable(df, na_rep="NaN").as_text()


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "result.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with reporting.atomic_path(target) as tmp:
            tmp.write_text("half-written")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.csv"]


def test_figure_and_provenance(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label="line")
    ax.set_xlabel("x")
    path = reporting.save_figure(fig, tmp_path / "fig.png", caption="A line, computed exactly.")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="caption"):
        reporting.save_figure(plt.figure(), tmp_path / "f2.png", caption="")
    prov = json.loads(reporting.write_provenance(tmp_path, "run", seed=3, protocol="estimator").read_text())
    assert prov["seed"] == 3 and prov["package"] == "lsis_robust" and "numpy" in prov
