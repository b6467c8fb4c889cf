"""The theory sub-commands write their tables and figures."""
import pandas as pd
import pytest

from lsis_robust.cli import main


def test_are_writes_table1_in_three_formats(tmp_path, capsys):
    assert main(["are", "--beta", "0,4", "--beta", "1,1", "--alpha", "0.2", "0.8", "--out", str(tmp_path)]) == 0
    df = pd.read_csv(tmp_path / "table1_are.csv")
    assert list(df.columns) == ["beta", "MLSLR a=0.2", "MLSLR a=0.8", "LSQLR", "BY", "CH"]
    assert df.loc[df.beta == "(0, 4)", "LSQLR"].item() == pytest.approx(0.650951, abs=1e-6)
    assert df.loc[df.beta == "(1, 1)", "MLSLR a=0.8"].item() == pytest.approx(0.8972, abs=5e-5)
    assert "0.6510" in (tmp_path / "table1_are.tex").read_text()
    assert "0.6510" in (tmp_path / "table1_are.md").read_text()  # printed as in the paper, trailing zero kept
    assert (tmp_path / "table1_are_integration_error.csv").exists()
    assert "LSQLR" in capsys.readouterr().out


def test_are_rejects_bad_alpha(tmp_path, capsys):
    assert main(["are", "--alpha", "1.5", "--out", str(tmp_path)]) == 2
    assert "alpha" in capsys.readouterr().err


def test_are_rejects_beta_of_wrong_length(tmp_path, capsys):
    assert main(["are", "--beta", "0,1,2", "--out", str(tmp_path)]) == 2
    assert "length 2" in capsys.readouterr().err


def test_theory_figures_write_pngs(tmp_path):
    assert main(["theory-figures", "--only", "fig3", "fig5", "influence", "--points", "21",
                 "--out", str(tmp_path)]) == 0
    for name in ("fig3_rho_transforms.png", "fig5_r_logit_range.png", "influence_b0_4.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_exact_fig4_on_a_small_grid(tmp_path):
    assert main(["theory-figures", "--only", "fig4", "--points", "5", "--n-jobs", "1", "--out", str(tmp_path)]) == 0
    df = pd.read_csv(tmp_path / "fig4_exact_b0_4.csv")
    assert len(df) == 5 * 2 * 8 and set(df.y_c) == {1.0, -1.0}
    lr = df[(df.method == "LR") & (df.y_c == 1.0) & (df.x_c2 == -10)]
    assert lr.sob.item() > 3.5  # a gross outlier at x_c2 = -10 wrecks LR ...
    ml = df[(df.method == "MLSLR a=0.4") & (df.y_c == 1.0) & (df.x_c2 == -10)]
    assert ml.sob.item() < 1e-6  # ... and not MLSLR
    assert (tmp_path / "fig4_exact_b0_4.png").exists()


def test_write_figures_is_the_library_side_of_theory_figures(tmp_path):
    """The command only parses: the library function makes the same files and refuses what the parser refuses."""
    from lsis_robust.theory.outputs import write_figures

    done = write_figures(tmp_path, ["fig5", "fig3"], (0.0, 2.0))
    assert [p.name for p in done] == ["fig3_rho_transforms.png", "fig5_r_logit_range.png"]
    assert all(p.stat().st_size > 0 for p in done)
    with pytest.raises(ValueError, match="allowed"):
        write_figures(tmp_path, ["fig9"])
    with pytest.raises(ValueError, match="beta needs 2 numbers"):
        write_figures(tmp_path, ["influence"], (0.0, 1.0, 2.0))
