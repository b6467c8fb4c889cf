"""RobustLogisticRegression: fit time and memory per loss and size, and agreement with R's robustbase.

``d`` counts the coefficients including the intercept: the estimator gets the
d - 1 covariates of :func:`common.logistic_data` and fits the intercept itself.
"""
from __future__ import annotations

import warnings

import numpy as np

from lsis_robust import RobustLogisticRegression

from .common import Benchmark, logistic_data, robustbase_data, robustbase_refs

# One setting per loss: alpha = 0.4 is the best MLSLR level of Table II, c = 0.5 robustbase's default constant.
LOSSES = {"lr": {}, "lslr": {"alpha": 0.4}, "mlslr": {"alpha": 0.4}, "lsqlr": {}, "by": {"c": 0.5}, "ch": {"c": 0.5}}


class _FitSetup(Benchmark):
    param_names = ["loss", "n", "d"]
    timeout = 300

    def setup(self, loss, n, d):
        X, self.y, _ = logistic_data(n, d)
        self.X = X[:, 1:]
        self.estimator = RobustLogisticRegression(loss=loss, **LOSSES[loss])


class Fit(_FitSetup):
    params = [list(LOSSES), [10_000, 100_000], [2, 10]]
    # A fit at n = 1e5, d = 10 takes seconds: a few samples suffice, and asv's default 60 s would cut the sweep short.
    repeat = (1, 5, 30.0)

    def time_fit(self, loss, n, d):
        self.estimator.fit(self.X, self.y)


class FitMemory(_FitSetup):
    """Peak memory of the largest fits: the Newton solver holds n x d work arrays per start."""

    params = [list(LOSSES), [100_000], [10]]

    def peakmem_fit(self, loss, n, d):
        self.estimator.fit(self.X, self.y)


class Shapes(Benchmark):
    """CH and BY fits (defaults) on the shapes of ``lsis_robust.bench.foundation``, which times robustbase on them.

    ``d`` counts the covariates; the intercept is fitted besides.
    """

    params = [["ch", "by"], ["clean", "point", "leverage"], [1_000, 10_000, 100_000], [1, 2, 5, 10]]
    param_names = ["loss", "sample", "n", "d"]
    timeout = 300
    repeat = (1, 5, 30.0)

    def setup(self, loss, sample, n, d):
        # Imported here, not at the top: asv's history runs this file against old commits, which lack the module,
        # and a failed import at the top would take the other benchmarks of this file with it.
        from lsis_robust.bench.foundation import shape_sample

        self.X, self.y = shape_sample(sample, n, d)

    def time_fit(self, loss, sample, n, d):
        with warnings.catch_warnings():  # a contaminated shape may warn; what is timed is the fit
            warnings.simplefilter("ignore")
            RobustLogisticRegression(loss=loss).fit(self.X, self.y)


class Robustbase(Benchmark):
    """The CH fit (robustbase's glmrob method "BY", const = 0.5) against the stored R values.

    robustbase stops its descent early, so its BY estimate is not the minimum;
    the references are both R's estimate and the tightly refined minimum of the
    same objective.  Every number is >= 0 and 0 is ideal: asv compares ratios,
    which negative values would turn upside down.
    """

    params = [["vaso", "foodstamp", "leukemia", "synthetic"]]
    param_names = ["dataset"]

    def setup(self, dataset):
        ref = robustbase_refs()[dataset]
        X, y = robustbase_data(dataset)
        self.by, self.refined = ref["BY"], ref["CH_min_refined"]
        self.fit = RobustLogisticRegression(loss="ch", c=0.5).fit(X, y)

    def track_coef_distance_to_refined_minimum(self, dataset):
        return float(np.abs(self.fit.params_ - self.refined["coef"]).max())

    track_coef_distance_to_refined_minimum.unit = "max |coef - coef_refined|"

    def track_coef_distance_to_robustbase(self, dataset):
        # Not 0 even for an exact solver (R stops short of the minimum); it moves only when the estimate moves.
        return float(np.abs(self.fit.params_ - self.by["coef"]).max())

    track_coef_distance_to_robustbase.unit = "max |coef - coef_R|"

    def track_objective_excess_over_refined_minimum(self, dataset):
        return _excess(self.fit.objective_, self.refined["objective"])

    track_objective_excess_over_refined_minimum.unit = "mean loss above the refined minimum"

    def track_objective_excess_over_robustbase(self, dataset):
        return _excess(self.fit.objective_, self.by["objective"])

    track_objective_excess_over_robustbase.unit = "mean loss above R's"


def _excess(objective: float, reference: float) -> float:
    """How far ``objective`` lies above ``reference``; differences at rounding level count as none.

    A mean of n double-precision terms is exact to about 1e-15 relative, so a
    smaller excess is not a worse estimate (and a negative one is a better one).
    """
    excess = objective - reference
    return excess if excess > 1e-13 * abs(reference) else 0.0
