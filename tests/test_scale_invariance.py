"""The estimate does not depend on the units of X: fit(X * s).coef_ == fit(X).coef_ / s, or a clear error.

Newton's iterates are invariant under a rescaling of the coefficients, but a
stopping rule on the absolute gradient is not: with X * 1e-8 every gradient
entry is 1e-8 times smaller and the fit "converged" at the intercept-only
model.  These tests rescale columns over 24 orders of magnitude and compare
with the fit on the original units, for every built-in loss.
"""
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

from lsis_robust import RobustLogisticRegression

LOSSES = [("lr", {}), ("lslr", {"alpha": 0.3}), ("mlslr", {"alpha": 0.4}), ("lsqlr", {}), ("by", {}), ("ch", {})]
SCALES = [1e-90, 1e-12, 1e-8, 1e-6, 1e6, 1e12, 1e90]  # 1e-12 .. 1e12 required; 1e+-90 near the limit


def _sample(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    y = (X @ [1.0, -2.0, 0.5] + 0.3 + rng.logistic(size=n) > 0).astype(int)
    return X, y


def _fit(X, y, loss, kw, **extra):
    return RobustLogisticRegression(loss=loss, **kw, **extra).fit(X, y)


@pytest.fixture(scope="module")
def reference_fits():
    X, y = _sample()
    return X, y, {loss: _fit(X, y, loss, kw) for loss, kw in LOSSES}


@pytest.mark.parametrize("loss,kw", LOSSES, ids=[name for name, _ in LOSSES])
@pytest.mark.parametrize("s", SCALES + ["per-column"])
def test_rescaled_columns_give_rescaled_coefficients(reference_fits, loss, kw, s):
    X, y, fits = reference_fits
    ref = fits[loss]
    assert ref.converged_
    scale = np.array([1e-9, 1.0, 1e9]) if s == "per-column" else np.full(3, s)
    est = _fit(X * scale, y, loss, kw)
    assert est.converged_
    np.testing.assert_allclose(est.coef_ * scale, ref.coef_, rtol=1e-6)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-6)
    assert est.objective_ == pytest.approx(ref.objective_, rel=1e-10)
    # covariance of (intercept, coef) transforms as S^-1 Cov S^-1
    back = np.concatenate([[1.0], scale])
    np.testing.assert_allclose(est.covariance_ * np.outer(back, back), ref.covariance_, rtol=1e-5,
                               atol=1e-12 * np.abs(ref.covariance_).max())
    np.testing.assert_array_equal(est.predict(X * scale), ref.predict(X))
    np.testing.assert_allclose(est.predict_proba(X * scale), ref.predict_proba(X), rtol=1e-6, atol=1e-12)


def test_the_reported_case_no_longer_converges_at_the_intercept_only_model():
    # the issue: X * 1e-8 gave converged_ = True with accuracy 0.53 where the fit on X gives 0.79
    X, y = _sample(seed=3)
    good = RobustLogisticRegression().fit(X, y).score(X, y)
    small = RobustLogisticRegression().fit(X * 1e-8, y)
    assert small.converged_
    assert small.score(X * 1e-8, y) == good
    assert np.all(np.abs(small.coef_) > 1e7)


def test_no_internal_rescaling_shows_in_results_on_unit_scale_data():
    # the coefficients are in the units of X and decision_function uses them directly
    X, y = _sample(seed=5)
    est = RobustLogisticRegression(loss="ch").fit(X * 1e5, y)
    np.testing.assert_allclose(est.decision_function(X * 1e5), (X * 1e5) @ est.coef_[0] + est.intercept_[0], rtol=1e-12)
    assert est.n_features_in_ == 3


def test_rescaling_without_intercept():
    X, y = _sample(seed=6)
    ref = RobustLogisticRegression(loss="mlslr", alpha=0.4, fit_intercept=False).fit(X, y)
    est = RobustLogisticRegression(loss="mlslr", alpha=0.4, fit_intercept=False).fit(X * 1e-10, y)
    assert est.converged_
    np.testing.assert_allclose(est.coef_ * 1e-10, ref.coef_, rtol=1e-6)
    np.testing.assert_array_equal(est.intercept_, [0.0])


def test_sample_weights_define_the_scale_not_zero_weight_rows():
    # a zero-weight row with a huge value must not set the column's scale (it does not enter the fit)
    X, y = _sample(seed=7)
    w = np.ones(len(y))
    X2, w2 = X.copy(), w.copy()
    X2[0, 1], w2[0] = 1e200, 0.0
    ref = RobustLogisticRegression(loss="by").fit(np.delete(X, 0, axis=0), np.delete(y, 0))
    est = RobustLogisticRegression(loss="by").fit(X2, y, sample_weight=w2)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-6)


@pytest.mark.parametrize("loss,kw", LOSSES, ids=[name for name, _ in LOSSES])
@pytest.mark.parametrize("s", [1e-150, 1e-300, 1e-310, 1e150, 1e300])
def test_beyond_the_float_range_a_clear_error_names_the_column(loss, kw, s):
    # at s = 1e-150 (the BY case) the squares underflow, at 1e150 the variances of the coefficients
    # (1 / s^2) do: no silently wrong fit, a ValueError naming the column and the allowed range
    X, y = _sample(seed=1)
    X = X.copy()
    X[:, 1] *= s
    with pytest.raises(ValueError, match=r"column 1 .*typical magnitude.*\[1e-100, 1e\+100\]"):
        _fit(X, y, loss, kw)


def test_the_error_names_a_dataframe_column_by_its_name():
    X, y = _sample(seed=1)
    df = pd.DataFrame(X, columns=["age", "dose", "weight"])
    df["dose"] *= 1e-200
    with pytest.raises(ValueError, match="column 'dose'"):
        RobustLogisticRegression().fit(df, y)


def test_the_error_names_the_right_column_beside_an_aliased_one():
    X, y = _sample(seed=1)
    df = pd.DataFrame({"age": X[:, 0], "age_again": X[:, 0], "dose": X[:, 1] * 1e-200})
    with pytest.raises(ValueError, match="column 'dose'"):
        RobustLogisticRegression().fit(df, y)


def test_a_column_of_1e308_is_a_clear_error_not_an_overflow():
    X, y = _sample(seed=2)
    X = X.copy()
    X[:, 2] = 1e308
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow on the way to the message
        with pytest.raises(ValueError, match="column 2"):
            RobustLogisticRegression(fit_intercept=False).fit(X, y)


def test_an_all_zero_column_gets_unit_scale_not_a_division_by_zero():
    # a zero column has no scale (whether it is identifiable is the aliasing check's business)
    from lsis_robust.estimators import _column_scales

    X, _ = _sample(seed=2)
    Z = np.column_stack([np.ones(len(X)), X[:, :2] * 1e-20, np.zeros(len(X))])
    scales = _column_scales(Z, np.ones(len(X)), first=1, names=None)
    assert scales[0] == 1.0 and scales[3] == 1.0
    np.testing.assert_allclose(scales[1:3], np.quantile(np.abs(X[:, :2] * 1e-20), 0.5, axis=0, method="inverted_cdf"),
                               rtol=1e-15)


def test_the_scale_is_a_weighted_median_so_weights_equal_repeated_rows():
    from lsis_robust.estimators import _column_scales

    rng = np.random.default_rng(3)
    Z = np.column_stack([np.ones(11), rng.standard_normal((11, 2))])
    w = rng.integers(1, 4, size=11).astype(float)
    repeated = np.repeat(Z, w.astype(int), axis=0)
    ones = np.ones(len(repeated))
    np.testing.assert_array_equal(_column_scales(Z, w, 1, None), _column_scales(repeated, ones, 1, None))


def test_a_value_whose_square_overflows_is_a_clear_error():
    X, y = _sample(seed=2)
    X = X.copy()
    X[7, 1] = 1e200
    with pytest.raises(ValueError, match="column 1 of X has a value 1e\\+200"):
        RobustLogisticRegression(loss="ch").fit(X, y)


def test_a_leverage_point_does_not_loosen_the_stopping_rule_for_the_bulk():
    # a non-robust scale (RMS) of a column with one point at 1e6 would be about 6e4, and the bulk's gradient
    # would be judged 6e4 times too leniently; the median of |x| ignores the point
    X, y = _sample(seed=9)
    X = X.copy()
    X[0, 0], y[0] = 1e6, 0
    est = RobustLogisticRegression(loss="ch").fit(X, y)
    tight = RobustLogisticRegression(loss="ch", tol=1e-13).fit(X, y)
    np.testing.assert_allclose(est.coef_, tight.coef_, rtol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_hostile_inputs_give_clear_errors(bad):
    X, y = _sample(seed=4)
    Xb = X.copy()
    Xb[3, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        RobustLogisticRegression().fit(Xb, y)
    yb = y.astype(float)
    yb[2] = np.nan
    if np.isnan(bad):
        with pytest.raises(ValueError, match="NaN"):
            RobustLogisticRegression().fit(X, yb)
    w = np.ones(len(y))
    w[5] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        RobustLogisticRegression().fit(X, y, sample_weight=w)
    est = RobustLogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="NaN|infinity"):
        est.predict_proba(Xb)


def test_hostile_shapes_and_parameters():
    X, y = _sample(seed=4)
    with pytest.raises(ValueError, match="0 sample"):
        RobustLogisticRegression().fit(np.empty((0, 3)), np.empty(0))
    with pytest.raises(ValueError, match="1 sample"):
        RobustLogisticRegression().fit(X[:1], y[:1])
    with pytest.raises(ValueError, match="[Nn]egative"):
        RobustLogisticRegression().fit(X, y, sample_weight=np.r_[-1.0, np.ones(len(y) - 1)])
    with pytest.raises(ValueError, match="max_iter.*must be an int in the range \\[1, inf\\)"):
        RobustLogisticRegression(max_iter=0).fit(X, y)
    with pytest.raises(ValueError, match=r"'tol' parameter .* must be a float in the range \(0.0, inf\)\. Got nan"):
        RobustLogisticRegression(tol=np.nan).fit(X, y)
    with pytest.raises(ValueError, match="unknown loss 'nonexistent'"):
        RobustLogisticRegression(loss="nonexistent").fit(X, y)
    with pytest.raises(TypeError, match="'loss' parameter of RobustLogisticRegression must be"):
        RobustLogisticRegression(loss=3).fit(X, y)


def test_tol_is_the_documented_scale_free_rule():
    # the docstring's promise: at the estimate the gradient of the mean loss with respect to the coefficients
    # of the columns divided by their typical magnitude (d f / d beta_j over the median |x_j|) is at most
    # tol, whatever the units of X
    X, y = _sample(seed=8)
    for s in (1.0, 1e-7, 1e7):
        est = RobustLogisticRegression(loss="lslr", alpha=0.3, tol=1e-10).fit(X * s, y)
        Z = np.column_stack([np.ones(len(y)), X * s])
        typical = np.quantile(np.abs(Z), 0.5, axis=0, method="inverted_cdf")
        m = (2 * y - 1) * (Z @ est.params_)
        grad = (est.loss_.dphi(m) * (2 * y - 1)) @ Z / len(y)
        assert np.abs(grad / typical).max() <= 1e-10
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        RobustLogisticRegression(loss="ch").fit(X * 1e-11, y)
