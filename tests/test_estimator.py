"""RobustLogisticRegression against statsmodels, R's robustbase (stored values) and bad input."""
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.exceptions import ConvergenceWarning

from lsis_robust import RobustLogisticRegression
from lsis_robust._linear_loss import LinearMarginLoss
from lsis_robust.datasets import load_breast_cancer, load_foodstamp, load_leukemia, load_vaso
from lsis_robust.registry import get_loss

from results.robustbase_refs import REFS

LOADERS = {"vaso": load_vaso, "foodstamp": load_foodstamp, "leukemia": load_leukemia}


def _logistic_sample(n, beta, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, len(beta) - 1))
    y = (rng.random(n) < 1 / (1 + np.exp(-(beta[0] + X @ beta[1:])))).astype(int)
    return X, y


@pytest.mark.parametrize("name", ["vaso", "foodstamp", "leukemia", "breast_cancer"])
def test_lr_matches_statsmodels(name):
    data = load_breast_cancer() if name == "breast_cancer" else LOADERS[name]()
    X, y = data.X, data.y
    if name == "breast_cancer":
        X = X.iloc[:, [0, 1, 4]]  # the full 30-covariate fit is separable
    exog = sm.add_constant(X)
    ref = sm.Logit(y, exog).fit(disp=0, tol=1e-12, maxiter=100)
    ref_hc0 = sm.Logit(y, exog).fit(disp=0, tol=1e-12, maxiter=100, cov_type="HC0")
    est = RobustLogisticRegression().fit(X, y)
    np.testing.assert_allclose(est.params_, ref.params.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(est.summary()["std err"], ref_hc0.bse.to_numpy(), rtol=1e-5)
    model = RobustLogisticRegression(cov_type="model").fit(X, y)
    np.testing.assert_allclose(model.summary()["std err"], ref.bse.to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(model.summary()["P>|z|"], ref.pvalues.to_numpy(), rtol=1e-4, atol=1e-12)
    assert est.converged_
    assert est.objective_ == pytest.approx(-ref.llf / len(y), rel=1e-10)
    assert list(est.summary().index) == ["const", *X.columns]


@pytest.mark.parametrize("name", ["vaso", "foodstamp", "leukemia"])
def test_ch_reaches_robustbase_objective_and_minimum(name):
    ref = REFS[name]
    X, y, _ = LOADERS[name]()
    est = RobustLogisticRegression(loss="ch").fit(X, y)
    assert est.converged_
    by = ref["BY"]
    # robustbase stops when step halving fails, often short of the minimum: never be worse than it
    assert est.objective_ <= by["objective"] + 1e-12
    # and reach the tightly refined minimum of the same objective
    assert est.objective_ == pytest.approx(ref["CH_min_refined"]["objective"], abs=1e-10)
    np.testing.assert_allclose(est.params_, ref["CH_min_refined"]["coef"], rtol=1e-5, atol=1e-6)
    # where robustbase nearly converged, its coefficients agree too (loosely: it stops 1e-4..1e-2 short)
    np.testing.assert_allclose(est.params_, by["coef"], rtol=0.1, atol=0.05)
    # our objective agrees with R's independent evaluation at R's estimate
    Z = np.column_stack([np.ones(len(y)), X.to_numpy()])
    ours_at_r = LinearMarginLoss(get_loss("ch"), Z, 2.0 * y - 1, np.ones(len(y))).objective(np.array(by["coef"])[None])[0]
    assert ours_at_r == pytest.approx(by["objective"], rel=1e-12)


def test_ch_sandwich_matches_robustbase_form_on_synthetic():
    ref = REFS["synthetic"]
    df = pd.read_csv(__import__("pathlib").Path(__file__).parent / "results" / "synthetic_by.csv")
    est = RobustLogisticRegression(loss="ch").fit(df[["x1"]], df["y"])
    assert est.objective_ <= ref["BY"]["objective"] + 1e-12
    np.testing.assert_allclose(est.params_, ref["CH_min_refined"]["coef"], rtol=1e-5)
    # robustbase's sandwich at its own estimate is ours evaluated there
    Z = np.column_stack([np.ones(len(df)), df[["x1"]].to_numpy()])
    problem = LinearMarginLoss(get_loss("ch"), Z, 2.0 * df["y"].to_numpy() - 1, np.ones(len(df)))
    np.testing.assert_allclose(problem.sandwich(np.array(ref["BY"]["coef"])[None], len(df))[0], ref["BY"]["cov"], rtol=1e-8)
    # and at our (slightly lower) minimum it is close to robustbase's
    np.testing.assert_allclose(est.covariance_, ref["BY"]["cov"], rtol=1e-2)


@pytest.mark.parametrize("loss,kw", [("lslr", {"alpha": 0.4}), ("mlslr", {"alpha": 0.4}), ("lsqlr", {}), ("by", {}), ("ch", {})])
def test_minimum_is_a_stationary_point_and_beats_perturbations(loss, kw):
    X, y = _logistic_sample(2000, np.array([0.5, 2.0, -1.0]), seed=1)
    est = RobustLogisticRegression(loss=loss, **kw).fit(X, y)
    assert est.converged_
    Z = np.column_stack([np.ones(len(y)), X])
    problem = LinearMarginLoss(est.loss_, Z, 2.0 * y - 1, np.ones(len(y)))
    beta = est.params_
    assert np.abs(problem.gradient(beta[None])).max() <= 1e-8
    rng = np.random.default_rng(0)
    others = beta + 0.05 * rng.standard_normal((200, 3))
    assert problem.objective(others).min() >= est.objective_
    assert est.objective_ == pytest.approx(problem.objective(beta[None])[0], rel=1e-14)


def test_mcd_weights_reject_leverage_points():
    X, y = _logistic_sample(300, np.array([0.0, 1.5]), seed=3)
    X[:10] = 15.0  # far out on the covariate
    y[:10] = 0
    est = RobustLogisticRegression(loss="ch", weights="mcd", random_state=0).fit(X, y)
    assert np.all(est.weights_[:10] == 0)
    assert est.weights_[10:].mean() > 0.9
    plain = RobustLogisticRegression(loss="lr").fit(X, y)
    assert abs(est.coef_[0, 0] - 1.5) < abs(plain.coef_[0, 0] - 1.5)


def test_separation_warns_and_stays_finite():
    X = np.array([[-2.0], [-1.0], [-0.5], [0.5], [1.0], [2.0]])
    y = np.array([0, 0, 0, 1, 1, 1])
    for loss in ["lr", "mlslr", "ch"]:
        with pytest.warns(ConvergenceWarning, match="separat"):
            est = RobustLogisticRegression(loss=loss).fit(X, y)
        assert not est.converged_
        assert np.all(np.isfinite(est.params_))
    # label smoothing keeps a finite minimiser on separated data
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = RobustLogisticRegression(loss="lslr", alpha=0.2).fit(X, y)
    assert est.converged_


def test_estimate_on_the_plateau_at_infinity_is_flagged():
    # On vaso the MLSLR objective keeps falling along the trimmed fit's separating direction and flattens
    # to its ray limit: Newton stops on a vanishing gradient at coefficients in the hundreds, which is
    # no finite minimiser and must not be reported as converged.
    data = load_vaso()
    with pytest.warns(ConvergenceWarning, match="decreases towards"):
        est = RobustLogisticRegression(loss="mlslr", alpha=0.2).fit(data.X, data.y)
    assert not est.converged_
    Z = np.column_stack([np.ones(len(data.y)), data.X.to_numpy()])
    problem = LinearMarginLoss(est.loss_, Z, 2.0 * data.y - 1, np.ones(len(data.y)))
    beta = est.params_[None]
    assert np.abs(beta).max() > 100
    flat = [problem.objective(t * beta)[0] for t in (1.0, 2.0, 10.0)]
    np.testing.assert_allclose(flat, est.objective_, rtol=1e-9)
    # CH keeps a finite minimiser on the same data
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert RobustLogisticRegression(loss="ch").fit(data.X, data.y).converged_


def test_predictions_and_probability_models():
    X, y = _logistic_sample(500, np.array([0.0, 3.0]), seed=2)
    labels = np.where(y == 1, "yes", "no")
    est = RobustLogisticRegression(loss="lslr", alpha=0.6).fit(X, labels)
    assert list(est.classes_) == ["no", "yes"]
    assert est.score(X, labels) > 0.8
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    far = RobustLogisticRegression().fit(X, y).predict_proba(np.array([[100.0], [-100.0]]))
    assert 0 < far[0, 0] < 1e-100 and 0 < far[1, 1] < 1e-100  # tails are not rounded to 0
    r_logit = est.predict_proba(X, model="r-logit")[:, 1]
    s = est.decision_function(X)
    np.testing.assert_allclose(r_logit, (1 / (1 + np.exp(-s)) - 0.3) / 0.4)
    with pytest.raises(ValueError, match="R-logit model belongs to LSLR"):
        RobustLogisticRegression(loss="mlslr", alpha=0.4).fit(X, y).predict_proba(X, model="r-logit")
    # Corollary 3: LSLR with alpha > 1 labels by arg min, and still classifies well
    flipped = RobustLogisticRegression(loss="lslr", alpha=1.5).fit(X, y)
    assert flipped.coef_[0, 0] < 0
    assert flipped.score(X, y) > 0.8


def test_summary_text_and_feature_names():
    data = load_vaso()
    est = RobustLogisticRegression(loss="mlslr", alpha=0.4).fit(data.X, data.y)
    text = est.summary_text()
    assert "MLSLR(alpha=0.4)" in text and "log(Volume)" in text and "std err" in text
    table = est.summary()
    assert list(table.columns[:4]) == ["coef", "std err", "z", "P>|z|"]
    assert np.all(table["std err"] > 0)


def test_the_starts_are_deterministic_and_the_lowest_objective_wins():
    X, y = _logistic_sample(400, np.array([0.0, 2.0]), seed=5)
    X[:20] = -8.0
    y[:20] = 1
    a = RobustLogisticRegression(loss="by", n_starts=5, random_state=3).fit(X, y)
    b = RobustLogisticRegression(loss="by", n_starts=5, random_state=3).fit(X, y)
    single = RobustLogisticRegression(loss="by").fit(X, y)
    np.testing.assert_array_equal(a.params_, b.params_)
    assert a.objective_ <= single.objective_ + 1e-12


BAD_INPUTS = [
    (np.array([[np.nan], [1.0], [2.0]]), np.array([0, 1, 0]), ValueError, "NaN"),
    (np.array([[np.inf], [1.0], [2.0]]), np.array([0, 1, 0]), ValueError, "infinity"),
    (np.array([[0.0], [1.0], [2.0]]), np.array([0.0, np.nan, 1.0]), ValueError, "NaN"),
    (np.array([[0.0], [1.0], [2.0]]), np.array([0, 1, 2]), ValueError, "exactly 2 classes, got 3"),
    (np.array([[0.0], [1.0], [2.0]]), np.array([1, 1, 1]), ValueError, "got 1 class"),
    (np.array([[0.0], [1.0], [2.0]]), np.array([0, 1]), ValueError, "inconsistent numbers of samples"),
    (np.empty((0, 1)), np.array([]), ValueError, "0 sample"),
    (np.array([0.0, 1.0, 2.0]), np.array([0, 1, 0]), ValueError, "Expected 2D array"),
    (np.array([["a"], ["b"], ["c"]]), np.array([0, 1, 0]), ValueError, "convert|float"),
    (pd.DataFrame({"x": [1.0, 2.0, 3.0], "g": ["a", "b", "c"]}), np.array([0, 1, 0]), ValueError, "convert|float"),
    (np.array([[0.0], [1.0], [2.0]]), np.array([0.5, 1.5, 0.2]), ValueError, "continuous|Unknown label type"),
]


@pytest.mark.parametrize("X,y,exc,match", BAD_INPUTS)
def test_bad_data_raises_clear_errors(X, y, exc, match):
    with pytest.raises(exc, match=match):
        RobustLogisticRegression().fit(X, y)


def test_bad_parameters_and_weights():
    X, y = _logistic_sample(50, np.array([0.0, 1.0]), seed=0)
    with pytest.raises(ValueError, match=r"valid range \[0, 1\) or \(1, 2\]"):
        RobustLogisticRegression(loss="mlslr", alpha=1.0).fit(X, y)
    with pytest.raises(ValueError, match="c must be"):
        RobustLogisticRegression(loss="ch", c=0).fit(X, y)
    with pytest.raises(ValueError, match="unknown loss"):
        RobustLogisticRegression(loss="huber").fit(X, y)
    with pytest.raises(ValueError, match="does not take parameter"):
        RobustLogisticRegression(loss="lr", alpha=0.3).fit(X, y)
    with pytest.raises(ValueError, match="[Nn]egative"):
        RobustLogisticRegression().fit(X, y, sample_weight=-np.ones(50))
    with pytest.raises(ValueError, match="non-zero"):
        RobustLogisticRegression().fit(X, y, sample_weight=np.zeros(50))
    with pytest.raises(ValueError, match="'weights' parameter .* must be a str among {'mcd'} or None"):
        RobustLogisticRegression(weights="huber").fit(X, y)
    with pytest.raises(ValueError, match=r"'tol' parameter .* range \(0.0, inf\). Got 0 instead"):
        RobustLogisticRegression(tol=0).fit(X, y)
    with pytest.raises(ValueError, match=r"'max_iter' parameter .* must be an int .* Got 2.5 instead"):
        RobustLogisticRegression(max_iter=2.5).fit(X, y)
    for name in ("max_iter", "n_starts", "tol"):  # a bool is an int to Python, never a count or a tolerance here
        with pytest.raises(TypeError, match=f"{name}=True is a bool"):
            RobustLogisticRegression(**{name: True}).fit(X, y)
    with pytest.raises(ValueError, match="cov_type"):
        RobustLogisticRegression(cov_type="HC3").fit(X, y)
    with pytest.raises(ValueError, match="n_starts"):
        RobustLogisticRegression(n_starts=-1).fit(X, y)
    with pytest.raises(ValueError, match="non-binary"):
        RobustLogisticRegression(weights="mcd").fit((X > 0).astype(float), y)


def test_no_n_by_n_memory_for_large_n():
    # one dense n x n float64 matrix at n = 2e5 would need 320 GB; the fit must run in O(n d)
    X, y = _logistic_sample(200_000, np.array([0.0, 1.0, -1.0]), seed=4)
    est = RobustLogisticRegression(loss="ch").fit(X, y)
    assert est.converged_


@pytest.mark.parametrize("loss", ["lr", "ch"])
def test_fit_runs_blas_on_one_thread_and_matches_the_study_tasks(monkeypatch, loss):
    """A threaded BLAS sums the d > 4 Gram products in a thread-dependent order; the study tasks fit under
    threadpool_limits(1), and a direct fit gives their numbers whatever the caller's thread settings."""
    from threadpoolctl import threadpool_info, threadpool_limits

    import lsis_robust.fitting as fitting
    import lsis_robust.estimators as estimators
    from lsis_robust.fitting import fit_batch

    rng = np.random.default_rng(2)
    n, d = 3000, 9  # 10 coefficients: the general Gram product, not the stored outer products
    X = rng.standard_normal((n, d))
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ np.linspace(1, -1, d)))).astype(int)
    seen = []
    inner = fitting.fit_batch

    def spy(*args, **kwargs):
        seen.append({info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"})
        return inner(*args, **kwargs)

    monkeypatch.setattr(estimators, "fit_batch", spy)
    fits = []
    for threads in (2, 1, None):
        with threadpool_limits(threads):
            fits.append(RobustLogisticRegression(loss=loss).fit(X, y))
    assert seen == [{1}] * 3
    for fit in fits[1:]:
        np.testing.assert_array_equal(fit.params_, fits[0].params_)
        np.testing.assert_array_equal(fit.covariance_, fits[0].covariance_)
    # the study tasks' way: fit_batch on the scaled design under one thread (no aliasing, every row weighted)
    Z = np.column_stack([np.ones(n), X])
    scales = estimators._column_scales(Z, np.ones(n), 1, None)
    with threadpool_limits(1):
        task = fit_batch(get_loss(loss), np.divide(Z, scales, order="F"), (2.0 * y - 1)[None], np.ones((1, n)))
    np.testing.assert_array_equal(fits[0].params_, task.beta[0] / scales)
    assert fits[0].objective_ == task.objective[0]
