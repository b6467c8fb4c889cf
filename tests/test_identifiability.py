"""Separation (Konis's linear program) and aliased columns (R's rank rule) in RobustLogisticRegression."""
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.exceptions import ConvergenceWarning

from lsis_robust import RobustLogisticRegression
from lsis_robust._identifiability import AliasedColumnsWarning, aliased_columns, find_separation, infimum_side
from lsis_robust._linear_loss import LinearMarginLoss
from lsis_robust.datasets import load_breast_cancer, load_foodstamp, load_leukemia, load_vaso
from lsis_robust.registry import get_loss

# Losses whose phi approaches its infimum only as the margin grows: no finite minimiser on separated data.
TO_INFINITY = [("lr", {}), ("lsqlr", {}), ("mlslr", {"alpha": 0.2}), ("by", {}), ("ch", {})]


def _quasi_separated(n=300, seed=0):
    """The issue's example: a binary column d with d = 1 => y = 1."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    d = (rng.random(n) < 0.3).astype(float)
    y = (rng.random(n) < 1 / (1 + np.exp(-0.5 * x))).astype(int)
    y[d == 1] = 1
    return pd.DataFrame({"x": x, "d": d}), y


def _logistic_sample(n, beta, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, len(beta) - 1))
    y = (rng.random(n) < 1 / (1 + np.exp(-(beta[0] + X @ beta[1:])))).astype(int)
    return X, y


def _fit(X, y, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = RobustLogisticRegression(**kw).fit(X, y)
    return est, [w for w in caught if issubclass(w.category, (ConvergenceWarning, AliasedColumnsWarning))]


# ------------------------------------------------------------------ separation
@pytest.mark.parametrize("loss,kw", TO_INFINITY)
def test_quasi_separation_names_the_infinite_coefficient(loss, kw):
    X, y = _quasi_separated()
    est, caught = _fit(X, y, loss=loss, **kw)
    messages = [str(w.message) for w in caught if "separated" in str(w.message)]
    assert len(messages) == 1 and "d is infinite" in messages[0]
    assert not est.converged_
    np.testing.assert_array_equal(est.separation_.infinite, [False, False, True])
    assert est.separation_.rows.sum() == (X["d"] == 1).sum()
    table = est.summary()
    assert table.loc["d", "std err"] == np.inf
    assert np.isnan(table.loc["d", "z"]) and np.isnan(table.loc["d", "P>|z|"])
    assert np.all(np.isfinite(table.loc[["const", "x"], ["std err", "z", "P>|z|"]].to_numpy()))
    assert np.isinf(est.covariance_[2, 2]) and np.all(np.isnan(est.covariance_[2, :2]))
    assert "no finite estimate of d" in est.summary_text()
    # No finite minimiser: the objective falls below its value at the estimate along the separating direction.
    Z = np.column_stack([np.ones(len(y)), X.to_numpy()])
    problem = LinearMarginLoss(est.loss_, Z, 2.0 * y - 1, np.ones(len(y)))
    beta = est.params_[None]
    along = [problem.objective(beta + t * est.separation_.direction)[0] for t in (1e2, 1e4)]
    assert along[0] < est.objective_ and along[1] < est.objective_
    if loss == "lr":  # the finite coefficients are the fit on the rows the direction leaves on the hyperplane
        overlap = X["d"] == 0
        ref = sm.Logit(y[overlap], sm.add_constant(X.loc[overlap, ["x"]])).fit(disp=0, tol=1e-12)
        np.testing.assert_allclose(est.params_[:2], ref.params.to_numpy(), atol=1e-6)


def test_smoothed_loss_keeps_a_finite_minimiser_on_separated_data():
    # LSLR with alpha > 0 grows for large margins (Theorem 1): a finite minimiser exists, nothing is flagged.
    X, y = _quasi_separated()
    for alpha in (0.2, 1.5):
        est, caught = _fit(X, y, loss="lslr", alpha=alpha)
        assert caught == [] and est.converged_ and est.separation_ is None
        assert np.all(np.isfinite(est.summary()["std err"]))


def test_infimum_side_is_a_property_of_phi():
    for name, kw in TO_INFINITY + [("mlslr", {"alpha": 0.9}), ("by", {"c": 5.0}), ("ch", {"c": 0.01})]:
        assert infimum_side(get_loss(name, **kw)) == 1, name
    assert infimum_side(get_loss("lslr", alpha=0.2)) == 0
    assert infimum_side(get_loss("lslr", alpha=1.5)) == 0
    assert infimum_side(get_loss("lslr", alpha=2.0)) == -1  # phi(m) = -log sigma(-m): infimum at -inf


def test_lslr_alpha_two_diverges_with_reversed_labels():
    X = np.array([[-2.0], [-1.0], [-0.5], [0.5], [1.0], [2.0]])
    y = np.array([0, 0, 0, 1, 1, 1])
    est, caught = _fit(X, y, loss="lslr", alpha=2.0)
    assert not est.converged_ and est.coef_[0, 0] < 0
    assert any("reversed labels" in str(w.message) for w in caught)


def test_complete_separation_makes_every_coefficient_infinite():
    X = np.array([[-2.0], [-1.0], [-0.5], [0.5], [1.0], [2.0]])
    y = np.array([0, 0, 0, 1, 1, 1])
    est, _ = _fit(X, y)
    np.testing.assert_array_equal(est.separation_.infinite, [True, True])
    assert est.separation_.rows.all()
    assert np.all(np.isinf(est.summary()["std err"]))


def test_separation_by_a_combination_of_two_columns():
    # y = 1 when d1 = d2 = 1 and y = 0 when d1 = d2 = 0; mixed otherwise.  Neither column alone separates;
    # d1 + d2 - 1 does, so the intercept and both coefficients diverge, x does not.
    rng = np.random.default_rng(3)
    n = 400
    d1, d2 = (rng.random((2, n)) < 0.5).astype(float)
    x = rng.standard_normal(n)
    y = (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int)
    y[(d1 == 1) & (d2 == 1)] = 1
    y[(d1 == 0) & (d2 == 0)] = 0
    X = np.column_stack([d1, d2, x])
    for loss in ("lr", "ch"):
        est, caught = _fit(X, y, loss=loss)
        assert not est.converged_
        np.testing.assert_array_equal(est.separation_.infinite, [True, True, True, False])
        assert any("const, x1, x2 are infinite" in str(w.message) for w in caught)
        direction = est.separation_.direction / est.separation_.direction[1]
        np.testing.assert_allclose(direction, [-1, 1, 1, 0], atol=1e-9)


@pytest.mark.parametrize("name", ["vaso", "foodstamp", "leukemia", "breast_cancer"])
def test_no_false_separation_on_overlapping_data(name):
    loaders = {"vaso": load_vaso, "foodstamp": load_foodstamp, "leukemia": load_leukemia,
               "breast_cancer": load_breast_cancer}
    data = loaders[name]()
    X = data.X.iloc[:, [0, 1, 4]] if name == "breast_cancer" else data.X
    for loss, kw in TO_INFINITY:
        est, caught = _fit(X, data.y, loss=loss, **kw)
        assert est.separation_ is None, (name, loss)
        assert not any("separated (" in str(w.message) for w in caught)
        assert not est.aliased_.any()


def test_full_breast_cancer_is_separated():
    data = load_breast_cancer()
    est, _ = _fit(data.X, data.y)
    assert not est.converged_ and est.separation_ is not None and est.separation_.rows.all()


@pytest.mark.parametrize("seed", range(6))
def test_certificate_shortcut_agrees_with_the_linear_program(seed):
    # The fitted loss's stationarity skips the LP only where the LP itself finds nothing.
    rng = np.random.default_rng(seed)
    n, d = (40, 3) if seed % 2 else (500, 4)
    X, y = _logistic_sample(n, np.r_[0.0, rng.normal(0, 3 if seed > 2 else 1, d)], seed)
    Z = np.column_stack([np.ones(n), X])
    y_pm = 2.0 * y - 1
    lp = find_separation(Z, y_pm, np.ones(n))
    for loss in ("lr", "ch"):
        est, _ = _fit(X, y, loss=loss)
        quick = find_separation(Z, y_pm, np.ones(n), beta=est.params_, loss=est.loss_)
        assert (lp is None) == (quick is None)
        if lp is not None:
            np.testing.assert_array_equal(lp.infinite, quick.infinite)


def test_zero_weights_neither_separate_nor_break_separation():
    X, y = _quasi_separated()
    w = np.ones(len(y))
    breaker = np.flatnonzero(X["d"] == 1)[:3]
    y2 = y.copy()
    y2[breaker] = 0  # these rows would end the separation, but they have weight zero
    w[breaker] = 0.0
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        est = RobustLogisticRegression().fit(X, y2, sample_weight=w)
        full = RobustLogisticRegression().fit(X, y2)
    assert est.separation_ is not None and not est.separation_.rows[breaker].any()
    assert full.separation_ is None and full.converged_


# ------------------------------------------------------------------ aliasing
def _aliased_cases():
    rng = np.random.default_rng(7)
    n = 300
    x1, x2 = rng.standard_normal((2, n))
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + x1 - 0.5 * x2)))).astype(int)
    return {
        "constant beside intercept": (np.column_stack([x1, np.full(n, 3.0), x2]), y, True, [False, False, True, False]),
        "duplicate": (np.column_stack([x1, x2, x1]), y, True, [False, False, False, True]),
        "collinear combination": (np.column_stack([x1, x2, x1 - 2 * x2]), y, True, [False, False, False, True]),
        "zero column, no intercept": (np.column_stack([x1, np.zeros(n), x2]), y, False, [False, True, False]),
        "huge multiple": (np.column_stack([x1, 1e12 * x1, x2]), y, True, [False, False, True, False]),
    }


@pytest.mark.parametrize("case", list(_aliased_cases()))
@pytest.mark.parametrize("loss,kw", [("lr", {}), ("lslr", {"alpha": 0.4}), ("mlslr", {"alpha": 0.4}), ("lsqlr", {}),
                                     ("by", {}), ("ch", {})])
def test_aliased_columns_are_fixed_at_zero_and_marked(case, loss, kw):
    X, y, intercept, expected = _aliased_cases()[case]
    with pytest.warns(AliasedColumnsWarning, match="not defined because of singularities"):
        est = RobustLogisticRegression(loss=loss, fit_intercept=intercept, **kw).fit(X, y)
    np.testing.assert_array_equal(est.aliased_, expected)
    assert np.all(est.params_[est.aliased_] == 0)
    kept_cols = np.array(expected[1:] if intercept else expected)
    reduced = RobustLogisticRegression(loss=loss, fit_intercept=intercept, **kw).fit(X[:, ~kept_cols], y)
    np.testing.assert_allclose(est.params_[~est.aliased_], reduced.params_, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(est.predict(X), reduced.predict(X[:, ~kept_cols]))
    table = est.summary()
    assert table["aliased"].tolist() == expected
    assert table.loc[est.aliased_, ["std err", "z", "P>|z|"]].isna().all().all()
    assert np.all(np.isfinite(table.loc[~est.aliased_, ["std err", "z", "P>|z|"]].to_numpy()))
    assert np.isnan(est.covariance_[est.aliased_]).all() and np.isnan(est.covariance_[:, est.aliased_]).all()
    assert "(1 not defined because of singularities)" in est.summary_text()
    if loss == "lr":
        exog = X[:, ~kept_cols]
        ref = sm.Logit(y, sm.add_constant(exog) if intercept else exog).fit(disp=0, tol=1e-12)
        np.testing.assert_allclose(est.params_[~est.aliased_], ref.params, atol=1e-6)


def test_warning_names_the_aliased_columns():
    X, y, _, _ = _aliased_cases()["duplicate"]
    frame = pd.DataFrame(X, columns=["age", "dose", "age_again"])
    with pytest.warns(AliasedColumnsWarning, match="age_again lies in the span"):
        RobustLogisticRegression().fit(frame, y)


def test_aliasing_that_appears_only_after_zero_weights():
    rng = np.random.default_rng(11)
    n = 200
    x1 = rng.standard_normal(n)
    x2 = 2 * x1
    x2[:20] += rng.standard_normal(20)  # breaks the collinearity only on rows that get weight zero
    y = (rng.random(n) < 1 / (1 + np.exp(-x1))).astype(int)
    w = np.r_[np.zeros(20), np.ones(n - 20)]
    X = np.column_stack([x1, x2])
    with warnings.catch_warnings():
        warnings.simplefilter("error", AliasedColumnsWarning)
        RobustLogisticRegression().fit(X, y)  # identified with every row
    with pytest.warns(AliasedColumnsWarning, match="x2"):
        est = RobustLogisticRegression().fit(X, y, sample_weight=w)
    ref = sm.Logit(y[20:], sm.add_constant(x1[20:])).fit(disp=0, tol=1e-12)
    np.testing.assert_allclose(est.params_, [*ref.params, 0.0], atol=1e-6)


def test_rank_test_is_scale_free():
    rng = np.random.default_rng(5)
    Z = np.column_stack([np.ones(100), rng.standard_normal((100, 3))])
    for s in (1e-150, 1e-12, 1e12, 1e150):
        scaled = Z * np.array([1.0, s, 1.0, 1 / s])
        assert not aliased_columns(scaled, np.ones(100)).any(), s
        dup = np.column_stack([scaled, scaled[:, 1] * 3.0])
        np.testing.assert_array_equal(aliased_columns(dup, np.ones(100)), [False] * 4 + [True])
    # off the span of the earlier columns by clearly more than the 1e-7 relative tolerance, and by less
    other = rng.standard_normal(100)
    near = np.column_stack([Z, Z[:, 1] + 1e-5 * other])
    assert not aliased_columns(near, np.ones(100)).any()
    below = np.column_stack([Z, Z[:, 1] + 1e-10 * other])
    assert aliased_columns(below, np.ones(100))[-1]


def test_nothing_identified_is_a_clear_error():
    X = np.zeros((10, 2))
    y = np.r_[np.zeros(5), np.ones(5)]
    with pytest.raises(ValueError, match="no coefficient can be estimated"):
        RobustLogisticRegression(fit_intercept=False).fit(X, y)


# ------------------------------------------------------------------ hostile
def test_aliased_and_separated_at_once():
    X, y = _quasi_separated()
    X = X.assign(d_copy=X["d"])
    est, caught = _fit(X, y, loss="ch")
    assert any(issubclass(w.category, AliasedColumnsWarning) and "d_copy" in str(w.message) for w in caught)
    assert any("d is infinite" in str(w.message) for w in caught)
    np.testing.assert_array_equal(est.aliased_, [False, False, False, True])
    np.testing.assert_array_equal(est.separation_.infinite, [False, False, True, False])
    table = est.summary()
    assert table.loc["d", "std err"] == np.inf and np.isnan(table.loc["d_copy", "std err"])
    assert not est.converged_


def test_more_columns_than_rows():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((6, 10))
    y = np.array([0, 1, 0, 1, 1, 0])
    est, caught = _fit(X, y)
    assert est.aliased_.sum() == 11 - 6  # rank 6 of 11 columns, intercept first
    assert not est.converged_ and est.separation_ is not None
    assert est.predict(X).tolist() == y.tolist()


def test_a_single_row_per_class():
    X = np.array([[0.0], [1.0]])
    y = np.array([0, 1])
    est, caught = _fit(X, y, loss="by")
    assert not est.converged_ and est.separation_.infinite.all()
    assert est.predict(X).tolist() == [0, 1]


def test_tiny_and_huge_columns_give_the_same_answer():
    X, y = _quasi_separated()
    for s in (1e-12, 1e12):
        est, _ = _fit(X * np.array([s, 1.0]), y)
        assert not est.aliased_.any()
        np.testing.assert_array_equal(est.separation_.infinite, [False, False, True])
