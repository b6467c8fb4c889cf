"""scikit-learn's meta-tools with loss names and loss instances, and predict_proba's agreement with predict."""
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from lsis_robust import RobustLogisticRegression, get_loss
from lsis_robust.user_loss import as_margin_loss


def softplus_loss(m):
    """LR written by a user, in torch only: derivatives come from autodiff."""
    return torch.nn.functional.softplus(-m)


USER_LOSS = as_margin_loss(softplus_loss)
INSTANCES = [get_loss("lr"), get_loss("lslr", alpha=1.5), get_loss("mlslr", alpha=0.4), get_loss("lsqlr"),
             get_loss("by", c=0.8), get_loss("ch", c=1.0), USER_LOSS]


def _sample(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    y = (X @ [1.5, -1.0] + 0.2 + rng.logistic(size=n) > 0).astype(int)
    return X, y


# ------------------------------------------------------------------ clone and meta-tools

@pytest.mark.parametrize("loss", INSTANCES, ids=repr)
def test_clone_keeps_an_equal_loss_and_drops_the_fit(loss):
    X, y = _sample()
    est = RobustLogisticRegression(loss=loss).fit(X, y)
    twin = clone(est)
    assert twin.loss == loss and type(twin.loss) is type(loss)
    assert not hasattr(twin, "coef_")
    np.testing.assert_allclose(twin.fit(X, y).coef_, est.coef_, rtol=1e-12)


def test_clone_of_the_loss_itself_is_an_equal_independent_copy():
    loss = get_loss("ch", c=1.0)
    copy = clone(loss)
    assert copy == loss and copy is not loss
    assert loss.get_params(deep=False) == loss.get_params(deep=True) == {"c": 1.0}
    assert clone(USER_LOSS) == USER_LOSS


def test_cross_val_score_with_a_loss_instance_equals_the_name():
    X, y = _sample()
    by_instance = cross_val_score(RobustLogisticRegression(loss=get_loss("ch", c=1.0)), X, y, cv=3)
    by_name = cross_val_score(RobustLogisticRegression(loss="ch", c=1.0), X, y, cv=3)
    np.testing.assert_array_equal(by_instance, by_name)
    assert by_instance.mean() > 0.7
    auc = cross_val_score(RobustLogisticRegression(loss=get_loss("lslr", alpha=1.5)), X, y, cv=3, scoring="roc_auc")
    assert auc.min() > 0.7


def test_grid_search_over_loss_names_instances_alpha_and_c():
    X, y = _sample()
    grid = [
        {"loss": ["lslr", "mlslr"], "alpha": [0.2, 0.4]},
        {"loss": ["by", "ch"], "c": [0.5, 1.0]},
        {"loss": [get_loss("ch", c=2.0), get_loss("lr"), USER_LOSS]},
    ]
    search = GridSearchCV(RobustLogisticRegression(), grid, cv=3, error_score="raise").fit(X, y)
    assert len(search.cv_results_["params"]) == 11
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    # the refitted best estimator is the same as a direct fit with its parameters
    direct = RobustLogisticRegression(**search.best_params_).fit(X, y)
    np.testing.assert_allclose(search.best_estimator_.coef_, direct.coef_, rtol=1e-12)
    # the user's LR and the built-in one score alike
    scores = dict(zip(map(str, search.cv_results_["params"]), search.cv_results_["mean_test_score"]))
    assert scores[str({"loss": USER_LOSS})] == pytest.approx(scores[str({"loss": get_loss("lr")})], abs=1e-12)


def test_pipeline_with_standard_scaler_gives_the_same_predictions():
    X, y = _sample()
    X = X * [1e4, 1e-3] + [5e4, 0.0]
    pipe = make_pipeline(StandardScaler(), RobustLogisticRegression(loss=get_loss("mlslr", alpha=0.4))).fit(X, y)
    plain = RobustLogisticRegression(loss="mlslr", alpha=0.4).fit(X, y)
    np.testing.assert_array_equal(pipe.predict(X), plain.predict(X))
    np.testing.assert_allclose(pipe.predict_proba(X), plain.predict_proba(X), rtol=1e-6, atol=1e-10)
    assert cross_val_score(clone(pipe), X, y, cv=3).mean() > 0.7


@pytest.mark.parametrize("loss", [get_loss("ch", c=1.0), USER_LOSS, "lslr"], ids=repr)
def test_pickled_fitted_estimator_predicts_the_same(loss):
    X, y = _sample()
    est = RobustLogisticRegression(loss=loss, alpha=1.5 if loss == "lslr" else None).fit(X, y)
    back = pickle.loads(pickle.dumps(est))
    assert back.loss_ == est.loss_
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(back.predict(X), est.predict(X))


def test_parameters_that_do_not_fit_the_loss_are_clear_errors():
    X, y = _sample()
    with pytest.raises(ValueError, match="alpha and c apply to a loss given by name"):
        RobustLogisticRegression(loss=get_loss("ch"), c=1.0).fit(X, y)
    with pytest.raises(ValueError, match="alpha and c apply to a loss given by name"):
        RobustLogisticRegression(loss=get_loss("mlslr"), alpha=0.3).fit(X, y)
    with pytest.raises(ValueError, match="'lr' does not take parameter.*alpha"):
        RobustLogisticRegression(loss="lr", alpha=0.3).fit(X, y)
    with pytest.raises(ValueError, match="'lsqlr' does not take parameter.*c"):
        RobustLogisticRegression(loss="lsqlr", c=0.5).fit(X, y)
    with pytest.raises(TypeError, match="loss=LSLR is a class; pass a loss name or an instance"):
        RobustLogisticRegression(loss=type(get_loss("lslr"))).fit(X, y)


def test_nested_set_params_on_a_loss_is_a_clear_error_not_a_shared_mutation():
    # loss instances are values (registered user losses are cached and shared): changing one in place through
    # est.set_params(loss__c=...) would silently change every other user of it
    loss = get_loss("ch", c=1.0)
    est = RobustLogisticRegression(loss=loss)
    assert est.get_params()["loss__c"] == 1.0
    with pytest.raises(ValueError, match="immutable.*get_loss\\('ch', c=2.0\\)"):
        est.set_params(loss__c=2.0)
    assert loss.c == 1.0


@parametrize_with_checks([RobustLogisticRegression(loss=get_loss("ch", c=1.0)),
                          RobustLogisticRegression(loss=get_loss("lslr", alpha=1.5)),
                          RobustLogisticRegression(loss=USER_LOSS)])
def test_sklearn_contract_with_loss_instances(estimator, check):
    check(estimator)


# ------------------------------------------------------------------ predict_proba agrees with predict

SETTINGS = [("lr", {}), ("lslr", {"alpha": 0.3}), ("lslr", {"alpha": 1.2}), ("lslr", {"alpha": 1.5}),
            ("lslr", {"alpha": 2.0}), ("mlslr", {"alpha": 0.4}), ("mlslr", {"alpha": 1.5}), ("lsqlr", {}),
            ("by", {}), ("ch", {})]


@pytest.mark.parametrize("loss,kw", SETTINGS, ids=[f"{n}-{kw}" for n, kw in SETTINGS])
def test_predict_proba_argmax_is_predict_and_ranks_well(loss, kw):
    X, y = _sample(n=400, seed=2)
    est = RobustLogisticRegression(loss=loss, **kw).fit(X, y)
    proba = est.predict_proba(X)
    np.testing.assert_array_equal(est.classes_[np.argmax(proba, axis=1)], est.predict(X))
    assert est.score(X, y) > 0.7
    assert roc_auc_score(y, proba[:, 1]) > 0.8
    # scikit-learn reads decision_function as the confidence of classes_[1] (its ROC AUC scorer uses it)
    np.testing.assert_array_equal(est.decision_function(X) > 0, est.predict(X) == est.classes_[1])
    assert roc_auc_score(y, est.decision_function(X)) == roc_auc_score(y, proba[:, 1])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(np.exp(est.predict_log_proba(X)), proba, rtol=1e-12)


def test_lslr_at_alpha_2_reports_the_logistic_regression_probabilities():
    # LSLR(2) is LR with every label flipped: its estimate is -beta_LR, and the reversed logit model
    # sigma(-s) that predict_proba reports for labels_by_argmin losses is exactly LR's probability
    X, y = _sample(n=400, seed=3)
    lr = RobustLogisticRegression().fit(X, y)
    lslr = RobustLogisticRegression(loss="lslr", alpha=2.0).fit(X, y)
    np.testing.assert_allclose(lslr.coef_, -lr.coef_, rtol=1e-6)
    np.testing.assert_allclose(lslr.predict_proba(X), lr.predict_proba(X), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("alpha", [0.3, 1.5])
def test_log_proba_stays_finite_where_the_probability_underflows(alpha):
    X, y = _sample(n=400, seed=5)
    est = RobustLogisticRegression(loss="lslr", alpha=alpha).fit(X, y)
    far = np.array([[1e4, 0.0], [-1e4, 0.0]])
    t = est.decision_function(far)
    log_proba = est.predict_log_proba(far)
    assert np.all(np.isfinite(log_proba))
    # the losing class has log-probability -|t| (to rounding), the winning one 0
    np.testing.assert_allclose(log_proba.min(axis=1), -np.abs(t), rtol=1e-12)
    np.testing.assert_array_equal(log_proba.max(axis=1), 0.0)
    np.testing.assert_array_equal(est.classes_[np.argmax(log_proba, axis=1)], est.predict(far))


def test_string_labels_and_r_logit_agree_with_predict_for_alpha_above_one():
    X, y = _sample(n=400, seed=4)
    labels = np.array(["no", "yes"])[y]
    est = RobustLogisticRegression(loss="lslr", alpha=1.5).fit(X, labels)
    for model in ("logit", "r-logit"):
        proba = est.predict_proba(X, model=model)
        np.testing.assert_array_equal(est.classes_[np.argmax(proba, axis=1)], est.predict(X))
    assert (est.predict(X) == labels).mean() > 0.7
