"""The hostile pass of issue 11, kept as tests: every public entry point, fed what a careless or hostile user
would feed it, either answers correctly, warns by name, or refuses with a clear ValueError/TypeError.

Each case states the outcome a demanding user expects; none of them may end in a silently wrong number, a NaN
result, an unexplained exception type or (for the command line) a traceback.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone

from lsis_robust import RobustLogisticRegression, get_loss
from lsis_robust.cli import main

LOSSES = [
    ("lr", {}),
    ("lslr", {"alpha": 0.2}),
    ("lslr", {"alpha": 1.5}),
    ("mlslr", {"alpha": 0.4}),
    ("lsqlr", {}),
    ("by", {}),
    ("ch", {}),
]
LOSS_IDS = [name + "".join(f"-{v}" for v in p.values()) for name, p in LOSSES]


def _clean(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + 1.5 * X[:, 0] - X[:, 1])))).astype(int)
    return X, y


X0, Y0 = _clean()

# ---------------------------------------------------------------- inputs that must be refused
BAD_INPUTS = {
    "nan-in-X": lambda: (np.where(np.arange(X0.size).reshape(X0.shape) == 3, np.nan, X0), Y0, None),
    "inf-in-X": lambda: (np.where(np.arange(X0.size).reshape(X0.shape) == 3, np.inf, X0), Y0, None),
    "nan-in-y": lambda: (X0, np.where(np.arange(Y0.size) == 0, np.nan, Y0.astype(float)), None),
    "one-class": lambda: (X0, np.ones_like(Y0), None),
    "three-classes": lambda: (X0, np.arange(Y0.size) % 3, None),
    "continuous-y": lambda: (X0, np.linspace(0, 1, Y0.size), None),
    "no-rows": lambda: (X0[:0], Y0[:0], None),
    "one-row": lambda: (X0[:1], Y0[:1], None),
    "1d-X": lambda: (X0[:, 0], Y0, None),
    "3d-X": lambda: (X0[:, :, None], Y0, None),
    "length-mismatch": lambda: (X0, Y0[:-1], None),
    "string-X": lambda: (np.array([["a", "b"]] * Y0.size), Y0, None),
    "negative-weight": lambda: (X0, Y0, np.where(np.arange(Y0.size) == 0, -1.0, 1.0)),
    "nan-weight": lambda: (X0, Y0, np.where(np.arange(Y0.size) == 0, np.nan, 1.0)),
    "inf-weight": lambda: (X0, Y0, np.where(np.arange(Y0.size) == 0, np.inf, 1.0)),
    "zero-weights": lambda: (X0, Y0, np.zeros(Y0.size)),
    "weight-length": lambda: (X0, Y0, np.ones(Y0.size + 1)),
    "column-overflows": lambda: (X0 * np.array([1e308, 1.0]), Y0, None),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
@pytest.mark.parametrize("loss, params", LOSSES, ids=LOSS_IDS)
def test_bad_input_is_refused_clearly(case, loss, params):
    X, y, w = BAD_INPUTS[case]()
    with pytest.raises((ValueError, TypeError)) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            RobustLogisticRegression(loss=loss, **params).fit(X, y, sample_weight=w)
    assert len(str(info.value)) > 10


BAD_PARAMS = [
    {"loss": "bogus"}, {"loss": 3}, {"loss": None}, {"tol": float("nan")}, {"tol": -1.0}, {"tol": 0.0},
    {"max_iter": 0}, {"max_iter": 2.5}, {"n_starts": -1}, {"cov_type": "hc3"}, {"fit_intercept": "yes"},
    {"weights": "huber"}, {"loss": "mlslr", "alpha": 1.0}, {"loss": "mlslr", "alpha": float("nan")},
    {"loss": "lslr", "alpha": 2.5}, {"loss": "ch", "c": -1.0}, {"loss": "by", "c": float("inf")},
    {"loss": "lr", "alpha": 0.3}, {"loss": "lsqlr", "c": 0.5}, {"loss": get_loss("ch"), "c": 1.0},
]


@pytest.mark.parametrize("params", BAD_PARAMS, ids=[repr(p) for p in BAD_PARAMS])
def test_bad_parameters_are_refused_in_fit(params):
    est = RobustLogisticRegression(**params)  # scikit-learn convention: __init__ only stores
    with pytest.raises((ValueError, TypeError)):
        est.fit(X0, Y0)


# ---------------------------------------------------------------- degenerate data must be named, never trusted
def _quasi_separated(n=300, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    d = (rng.random(n) < 0.3).astype(float)
    y = np.where(d == 1, 1, (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int))
    return np.column_stack([x, d]), y


def _fit_recording(est, X, y, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y, **kw)
    return est, [f"{w.category.__name__}: {w.message}" for w in caught]


# phi approaches its infimum only as the margin grows: separated data have no finite minimiser.  LSLR grows
# again for large margins (the smoothed label's term), so it keeps a finite minimiser on separated data.
INFIMUM_AT_INFINITY = [(name, p) for name, p in LOSSES if name != "lslr"]


@pytest.mark.parametrize("loss, params", INFIMUM_AT_INFINITY,
                         ids=[n + "".join(f"-{v}" for v in p.values()) for n, p in INFIMUM_AT_INFINITY])
def test_quasi_separation_is_named_and_not_trusted(loss, params):
    X, y = _quasi_separated()
    est, messages = _fit_recording(RobustLogisticRegression(loss=loss, **params), X, y)
    assert any("separat" in m and "x2" in m for m in messages), messages
    assert not est.converged_
    table = est.summary()
    assert not np.isfinite(table.loc["x2", "std err"])
    assert not np.isfinite(table.loc["x2", "P>|z|"]) or table.loc["x2", "P>|z|"] > 0.05


@pytest.mark.parametrize("alpha", [0.2, 1.5])
def test_lslr_keeps_a_finite_minimiser_on_separated_data(alpha):
    X, y = _quasi_separated()
    est, messages = _fit_recording(RobustLogisticRegression(loss="lslr", alpha=alpha), X, y)
    assert not any("separat" in m for m in messages), messages
    assert est.converged_ and np.all(np.isfinite(est.summary()["std err"]))
    # the gradient of the mean loss vanishes at the estimate: a true finite minimiser
    Z = np.column_stack([np.ones(len(y)), X])
    m = np.where(y == 1, 1.0, -1.0) * (Z @ est.params_)
    grad = Z.T @ (np.where(y == 1, 1.0, -1.0) * est.loss_.dphi(m)) / len(y)
    assert np.abs(grad).max() < 1e-6


ALIASED = {
    "constant-beside-intercept": lambda: np.column_stack([X0, np.full(len(X0), 3.0)]),
    "duplicate-column": lambda: np.column_stack([X0, X0[:, 0]]),
    "collinear-combination": lambda: np.column_stack([X0, 2 * X0[:, 0] - 0.5 * X0[:, 1]]),
}


@pytest.mark.parametrize("case", sorted(ALIASED))
@pytest.mark.parametrize("loss, params", LOSSES, ids=LOSS_IDS)
def test_aliased_columns_are_named_and_fixed_at_zero(case, loss, params):
    X = ALIASED[case]()
    est, messages = _fit_recording(RobustLogisticRegression(loss=loss, **params), X, Y0)
    assert any(m.startswith("AliasedColumnsWarning") and "x3" in m for m in messages), messages
    assert est.coef_[0, 2] == 0
    table = est.summary()
    assert np.isnan(table.loc["x3", "std err"]) and np.isnan(table.loc["x3", "P>|z|"])
    reduced = RobustLogisticRegression(loss=loss, **params).fit(X0, Y0)
    np.testing.assert_allclose(est.coef_[0, :2], reduced.coef_[0], rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(est.predict(X), reduced.predict(X0))


def test_zero_column_without_intercept_is_aliased():
    X = np.column_stack([X0, np.zeros(len(X0))])
    est, messages = _fit_recording(RobustLogisticRegression(fit_intercept=False), X, Y0)
    assert any(m.startswith("AliasedColumnsWarning") and "x3" in m for m in messages), messages
    assert np.isnan(est.summary().loc["x3", "std err"])


@pytest.mark.parametrize("scale", [1e-12, 1e-8, 1e-4, 1e4, 1e8, 1e12])
@pytest.mark.parametrize("loss, params", LOSSES, ids=LOSS_IDS)
def test_fit_is_equivariant_to_the_scale_of_X(scale, loss, params):
    base = RobustLogisticRegression(loss=loss, **params).fit(X0, Y0)
    scaled = RobustLogisticRegression(loss=loss, **params).fit(X0 * scale, Y0)
    assert scaled.converged_ == base.converged_
    np.testing.assert_allclose(scaled.coef_ * scale, base.coef_, rtol=1e-6)
    np.testing.assert_allclose(scaled.intercept_, base.intercept_, rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------- consistency of the fitted model
@pytest.mark.parametrize("alpha", [0.1, 0.9, 1.2, 1.5, 2.0])
def test_predict_proba_agrees_with_predict_for_lslr(alpha):
    est = RobustLogisticRegression(loss="lslr", alpha=alpha).fit(X0, Y0)
    proba = est.predict_proba(X0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(est.classes_[proba.argmax(axis=1)], est.predict(X0))


@pytest.mark.parametrize("loss", [get_loss("ch", c=1.0), get_loss("mlslr", alpha=0.6), get_loss("by", c=0.8)],
                         ids=repr)
def test_clone_keeps_a_loss_instance(loss):
    est = RobustLogisticRegression(loss=loss)
    copy = clone(est)
    assert copy.get_params()["loss"] == loss
    np.testing.assert_allclose(copy.fit(X0, Y0).coef_, est.fit(X0, Y0).coef_)


# ---------------------------------------------------------------- losses over the whole float range
EXTREME_MARGINS = np.array([-np.finfo(float).max, -1e300, -1e10, -1e4, -745.2, -40.0, -1e-300, -5e-324, 0.0,
                            5e-324, 1e-300, 40.0, 745.2, 1e4, 1e10, 1e300, np.finfo(float).max])
LOSS_METHODS = ["phi", "dphi", "d2phi", "weight", "link"]


@pytest.mark.parametrize("method", LOSS_METHODS)
@pytest.mark.parametrize("loss, params", LOSSES + [("by", {"c": 5.0}), ("ch", {"c": 1e-3})],
                         ids=LOSS_IDS + ["by-5.0", "ch-0.001"])
def test_every_loss_method_is_finite_over_the_float_range(loss, params, method):
    values = np.asarray(getattr(get_loss(loss, **params), method)(EXTREME_MARGINS), dtype=float)
    assert values.shape == EXTREME_MARGINS.shape
    finite = np.ones(EXTREME_MARGINS.shape, dtype=bool)
    if loss == "lslr" and method == "weight":
        # rho'(v) = (1 - alpha/2) - (alpha/2) e^m itself exceeds the float range past m = log(2 max / alpha):
        # there, and only there, -inf is the right answer (as np.exp(1e4) = inf is)
        beyond = EXTREME_MARGINS > np.log(np.finfo(float).max) + np.log(2 / params["alpha"])
        np.testing.assert_array_equal(values[beyond], -np.inf)
        finite = ~beyond
    assert np.all(np.isfinite(values[finite])), dict(zip(EXTREME_MARGINS, values))


# ---------------------------------------------------------------- the command line: one line, no traceback
CLI_USER_ERRORS = [
    ["are", "--beta", "0,1e300"],
    ["are", "--beta", "0,nan"],
    ["are", "--beta", "0"],
    ["are", "--alpha", "1.5"],
    ["are", "--extra", "bogus"],
    ["robustness", "--methods", ""],
    ["robustness", "--methods", "lr,mlslr:alpha=0.4,alpha=0.6"],
    ["robustness", "--methods", "lr,,ch"],
    ["robustness", "--methods", "nosuchloss"],
    ["robustness", "--xc2", ","],
    ["robustness", "--eps", "1.5"],
    ["robustness", "--eps", "nan"],
    ["robustness", "--n", "0"],
    ["robustness", "--betas", ""],
    ["robustness", "--device", "bogus", "--protocol", "paper"],
    ["robustness", "--protocol", "bogus"],
    ["efficiency", "--sizes", "2"],
    ["efficiency", "--sizes", ""],
    ["efficiency", "--trials", "0"],
    ["efficiency", "--methods", "lr:alpha=0.3"],
    ["realdata", "--datasets", "nosuchdata"],
    ["realdata", "--methods", ","],
    ["nn", "--methods", "bogus"],
    ["nn", "--epochs", "0"],
    ["nn", "--device", "cuda"],
    ["compare", "--loss", "nosuchloss"],
    ["compare", "--loss", "no/such/file.py:phi"],
    ["compare", "--loss", "lr", "--criteria", "bogus"],
    ["theory-figures", "--eps", "2"],
    ["theory-figures", "--points", "0"],
]


@pytest.mark.parametrize("argv", CLI_USER_ERRORS, ids=" ".join)
def test_cli_user_error_is_one_line_without_traceback(argv, tmp_path, capsys):
    try:
        code = main([*argv, "--out", str(tmp_path / "out")])
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    err = capsys.readouterr().err
    assert code not in (0, None)
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("usage:")
             and not line.startswith(" ")]
    assert len(lines) == 1, err
