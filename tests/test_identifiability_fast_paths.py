"""The trust checks' fast paths: same answers as the exact paths, no copies of the design, user data untouched."""
import tracemalloc
import warnings

import numpy as np
import pytest

from lsis_robust import RobustLogisticRegression
from lsis_robust import _identifiability as ident
from lsis_robust._identifiability import aliased_columns, find_separation


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
