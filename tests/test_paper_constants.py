"""The paper's constants have one home, lsis_robust.paper: every consumer reads the same objects."""
import numpy as np
import pytest

from lsis_robust import paper


def test_table1_designs_are_read_from_paper():
    from lsis_robust import theory

    assert theory.TABLE1_BETAS is paper.TABLE1_BETAS and theory.TABLE1_ALPHAS is paper.TABLE1_ALPHAS
    assert paper.TABLE1_ALPHAS == (0.2, 0.4, 0.6, 0.8)
    assert all(isinstance(b, float) for beta in paper.TABLE1_BETAS for b in beta)
    assert list(paper.table("Table I").cells["beta"].unique()) == paper.TABLE1_ROWS
    assert list(paper.table("Table I").cells["method"].unique()) == paper.TABLE1_COLUMNS


def test_written_alphas_give_the_printed_values():
    # a fraction is divided in floats, as the literal 9.8 / 9 (which differs from Fraction(49, 45) by one ulp)
    assert paper.table("Table IV").cells["alpha"].unique().tolist() == [9.2 / 9, 9.4 / 9, 9.6 / 9, 9.8 / 9, 10 / 9]
    from lsis_robust.nn.methods import PAPER_METHODS, parse_method

    assert PAPER_METHODS is paper.NN_METHODS and len(PAPER_METHODS) == 20
    alphas = sorted({parse_method(m).alpha for m in PAPER_METHODS if "-" in m})
    np.testing.assert_allclose(alphas, [float(a) for a in paper.ALPHAS_LOW] + [9.2 / 9, 9.4 / 9, 9.6 / 9, 9.8 / 9,
                                                                                 10 / 9], rtol=1e-15)


def test_every_default_method_parses_and_has_one_colour():
    from lsis_robust.registry import parse_loss_spec
    from lsis_robust.studies.common import method_color
    from lsis_robust.theory.outputs import _fig4_styles

    assert paper.DEFAULT_METHODS == paper.PAPER_METHODS + paper.ROBUST_BASELINES
    assert set(paper.METHOD_COLORS) == set(paper.DEFAULT_METHODS)
    for spec in paper.DEFAULT_METHODS:
        parse_loss_spec(spec)
    assert [method_color(s, i) for i, s in enumerate(paper.DEFAULT_METHODS)] == list(paper.METHOD_COLORS.values())
    assert method_color("lslr:alpha=0.3", 12) == "C2"
    # the exact Fig. 4 colours its eight methods by the same table, in the same order
    styles = _fig4_styles()
    assert [c for _, _, c in styles] == [paper.METHOD_COLORS[s] for s in paper.DEFAULT_METHODS]
    assert [label for _, label, _ in styles][:2] == ["LR", "MLSLR a=0.2"]


@pytest.mark.parametrize("preset", ["quick", "full"])
def test_study_presets_are_valid_grids(preset):
    from lsis_robust.studies.efficiency import efficiency_grid
    from lsis_robust.studies.robustness import robustness_grid

    grids = paper.STUDY_SETTINGS[preset]
    assert efficiency_grid(**grids["efficiency"]) and robustness_grid(**grids["robustness"])
    assert set(grids["realdata"]["datasets"]) <= set(paper.REALDATA_SETS)


def test_r_logit_model_has_one_implementation():
    from lsis_robust.losses import LSLR
    from lsis_robust.metrics import rlogit
    from lsis_robust.probability import r_logit_model

    g = np.random.default_rng(0).normal(scale=5, size=(50, 10))
    for alpha in (0.3, 10 / 9):
        np.testing.assert_array_equal(rlogit(g, alpha), r_logit_model(g, alpha))
    s = np.linspace(-30, 30, 61)
    binary = r_logit_model(np.column_stack([s, np.zeros_like(s)]), 0.4)[:, 0]
    np.testing.assert_allclose(LSLR(alpha=0.4).link(s), binary, rtol=1e-13, atol=1e-15)


def test_standardise_centres_and_scales():
    from lsis_robust.datasets import load_breast_cancer

    X = load_breast_cancer().X
    np.testing.assert_allclose(X.mean().to_numpy(), 0, atol=1e-12)
    np.testing.assert_allclose(X.std(ddof=0).to_numpy(), 1, rtol=1e-12)
