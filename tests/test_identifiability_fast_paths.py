"""The trust checks' fast paths: same answers as the exact paths, no copies of the design, user data untouched."""
import tracemalloc
import warnings

import numpy as np
import pytest

from lsis_robust import RobustLogisticRegression
from lsis_robust import _identifiability as ident
from lsis_robust._identifiability import aliased_columns, find_separation
from lsis_robust.registry import get_loss


def _peak_bytes(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _design(n, seed, scales=(1.0, 1e-150, 1.0, 1e150, 3e-7)):
    rng = np.random.default_rng(seed)
    return np.column_stack([np.ones(n), rng.standard_normal((n, len(scales) - 1))]) * np.asarray(scales)


def _aliasing_cases():
    """Full-rank, exactly aliased, aliased below the 1e-7 tolerance, just identified, zero and tiny columns."""
    for seed in range(4):
        Z = _design(200, seed)
        other = np.random.default_rng(seed + 10).standard_normal(200)
        yield Z
        yield np.column_stack([Z, Z[:, 1] * 3.0 - Z[:, 2] * 1e-140])
        yield np.column_stack([Z, Z[:, 2] + 1e-10 * other])
        yield np.column_stack([Z, Z[:, 2] + 1e-5 * other])
        yield np.column_stack([Z[:, :2], np.zeros(200), Z[:, 2:]])
        yield np.column_stack([Z, 1e-160 * other])


@pytest.mark.parametrize("zero_weights", [False, True])
def test_gram_fast_path_agrees_with_gram_schmidt(monkeypatch, zero_weights):
    w = np.ones(200)
    if zero_weights:
        w[::7] = 0.0
    masks = [aliased_columns(Z, w) for Z in _aliasing_cases()]
    assert any(m.any() for m in masks) and not all(m.any() for m in masks)
    monkeypatch.setattr(ident, "_clearly_full_rank", lambda gram: False)  # always the exact sequential test
    for Z, mask in zip(_aliasing_cases(), masks):
        np.testing.assert_array_equal(aliased_columns(Z, w), mask)


@pytest.mark.parametrize("seed", range(6))
def test_certificate_without_the_matrix_agrees_with_the_linear_program(monkeypatch, seed):
    rng = np.random.default_rng(seed)
    n = 400
    X = rng.standard_normal((n, 4)) * np.array([1e-80, 1.0, 1e80, 1.0])
    X[:, 3] = rng.random(n) < 0.3
    y = (rng.random(n) < 1 / (1 + np.exp(-(X[:, :3] * np.array([1e80, 2.0, 1e-80])).sum(axis=1)))).astype(int)
    if seed >= 3:  # quasi-separated (x4 = 1 => y = 1): the certificate must fail and the LP must find it
        y[X[:, 3] == 1] = 1
    w = rng.random(n) * (rng.random(n) > 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = RobustLogisticRegression(loss="ch").fit(X, y, sample_weight=w)
    Z = np.column_stack([np.ones(n), X])
    y_pm = 2.0 * y - 1
    quick = find_separation(Z, y_pm, w, beta=est.params_, loss=est.loss_)
    monkeypatch.setattr(ident, "_no_separation_certificate", lambda *args: False)
    lp = find_separation(Z, y_pm, w, beta=est.params_, loss=est.loss_)
    assert (quick is None) == (lp is None) == (seed < 3)
    if lp is not None:
        for field in ("direction", "infinite", "rows"):
            np.testing.assert_array_equal(getattr(quick, field), getattr(lp, field))


def test_trust_checks_do_not_copy_the_design():
    # n x d with d large: a copy of the design dominates the n-vectors (margins, multipliers) they need.
    n = 20_000
    rng = np.random.default_rng(0)
    Z = np.column_stack([np.ones(n), rng.standard_normal((n, 39))])
    y_pm = np.where(rng.random(n) < 1 / (1 + np.exp(-Z[:, 1])), 1.0, -1.0)
    w = np.ones(n)
    assert _peak_bytes(lambda: aliased_columns(Z, w)) < 0.1 * Z.nbytes
    est = RobustLogisticRegression(fit_intercept=False).fit(Z, y_pm)
    assert find_separation(Z, y_pm, w, beta=est.params_, loss=est.loss_) is None
    assert _peak_bytes(lambda: find_separation(Z, y_pm, w, beta=est.params_, loss=est.loss_)) < 0.6 * Z.nbytes


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("loss", ["lr", "ch"])
def test_fit_memory_is_that_of_the_fit(fit_intercept, loss):
    # The design and its scaled copy share one buffer where the design is private; the solver's own
    # working set (about 1.5 designs at this size) is the rest.
    n = 50_000
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, 19))
    y = (rng.random(n) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    RobustLogisticRegression(loss=loss, fit_intercept=fit_intercept).fit(X, y)  # warm-up: caches are not the fit's
    peak = _peak_bytes(lambda: RobustLogisticRegression(loss=loss, fit_intercept=fit_intercept).fit(X, y))
    assert peak < 3.2 * X.nbytes


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("zero_weights", [False, True])
def test_fit_leaves_the_users_data_alone(fit_intercept, order, zero_weights):
    # The scaled design overwrites the design only where fit made it (intercept column, dropped rows).
    rng = np.random.default_rng(2)
    X = np.asarray(rng.standard_normal((300, 3)) * np.array([1e-3, 1.0, 1e4]), order=order)
    y = (rng.random(300) < 1 / (1 + np.exp(-X[:, 1]))).astype(int)
    w = rng.random(300)
    if zero_weights:
        w[:10] = 0.0
    X0, y0, w0 = X.copy(), y.copy(), w.copy()
    RobustLogisticRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight=w)
    for after, before in ((X, X0), (y, y0), (w, w0)):
        np.testing.assert_array_equal(after, before)
        assert after.flags.writeable


@pytest.mark.parametrize("loss", ["lr", "ch", "lslr"])
def test_dropping_an_aliased_column_changes_no_bit(loss):
    # The kept columns are fitted on the same design values and layout whether or not a column was dropped.
    rng = np.random.default_rng(3)
    X = rng.standard_normal((400, 3))
    y = (rng.random(400) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    plain = RobustLogisticRegression(loss=loss).fit(X, y)
    with pytest.warns(UserWarning, match="x4"):
        dup = RobustLogisticRegression(loss=loss).fit(np.column_stack([X, 2.0 * X[:, 1]]), y)
    np.testing.assert_array_equal(dup.coef_[0, :3], plain.coef_[0])
    np.testing.assert_array_equal(dup.intercept_, plain.intercept_)
    np.testing.assert_array_equal(dup.covariance_[:4, :4], plain.covariance_)
    assert dup.objective_ == plain.objective_


def _contaminated(n, seed):
    """A logistic sample with 10% bad leverage points: BY's estimate has margins with phi' = 0."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    y = (rng.random(n) < 1 / (1 + np.exp(-X.sum(axis=1)))).astype(int)
    out = rng.choice(n, n // 10, replace=False)
    X[out] = 8.0
    y[out] = 0
    return X, y


@pytest.mark.parametrize("seed", range(3))
def test_by_fits_are_certified_without_the_linear_program(monkeypatch, seed):
    """BY's own multipliers vanish for |m| < 0.46; LR's at the ML fit prove non-separation instead."""
    X, y = _contaminated(2000, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reference = RobustLogisticRegression(loss="by").fit(X, y)
    assert reference.separation_ is None and reference.converged_
    Z = np.column_stack([np.ones(len(y)), X])
    margins = (2 * y - 1) * (Z @ reference.params_)
    assert np.any(get_loss("by").dphi(margins) == 0)  # the estimate's own certificate cannot hold

    def no_lp(*args, **kwargs):
        raise AssertionError("the linear program ran on data that a certificate covers")

    monkeypatch.setattr(ident, "linprog", no_lp)
    est = RobustLogisticRegression(loss="by").fit(X, y)
    np.testing.assert_array_equal(est.params_, reference.params_)
    assert est.separation_ is None


@pytest.mark.parametrize("side", [1, -1])
def test_ml_multipliers_certify_either_sign_and_never_separated_data(side):
    rng = np.random.default_rng(4)
    n = 500
    Z = np.column_stack([np.ones(n), rng.standard_normal((n, 2))])
    y_pm = np.where(rng.random(n) < 1 / (1 + np.exp(-Z @ [0.2, 1.0, -1.0])), 1.0, -1.0)
    w = np.ones(n)
    beta_ml = RobustLogisticRegression(fit_intercept=False).fit(Z, y_pm).params_
    zero = np.zeros(3)  # LR's multipliers at beta = 0 are all 1/2 and fail: only beta_ml's can prove
    assert not ident.no_separation_certified(Z, y_pm, w, side, zero)
    assert ident.no_separation_certified(Z, y_pm, w, side, zero, beta_ml=beta_ml)
    assert find_separation(Z, y_pm, w, side) is None  # what the linear program says
    # quasi-separated by the first covariate: no multipliers exist, whatever beta_ml is
    y_sep = np.where(Z[:, 1] > 0, 1.0, y_pm)
    y_sep[Z[:, 1] <= 0] = -1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        beta_sep = RobustLogisticRegression(fit_intercept=False).fit(Z, y_sep).params_
    assert not ident.no_separation_certified(Z, y_sep, w, side, beta_sep, beta_ml=beta_sep)
    assert not ident.no_separation_certified(Z, y_sep, w, side, zero, beta_ml=beta_ml)
    assert find_separation(Z, y_sep, w, 1) is not None
