"""scikit-learn's estimator contract, for the estimator with every built-in loss."""
from sklearn.utils.estimator_checks import parametrize_with_checks

from lsis_robust import RobustLogisticRegression

ESTIMATORS = [
    RobustLogisticRegression(),
    RobustLogisticRegression(loss="lslr", alpha=0.3),
    RobustLogisticRegression(loss="mlslr", alpha=0.4),
    RobustLogisticRegression(loss="lsqlr"),
    RobustLogisticRegression(loss="by"),
    RobustLogisticRegression(loss="ch"),
    RobustLogisticRegression(loss="ch", weights="mcd", random_state=0),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_contract(estimator, check):
    check(estimator)
