"""lsis_robust: robustness benchmarks for logistic-regression losses.

Built on Yamasaki and Tanaka, *Label Smoothing is Robustification against
Model Misspecification*.
"""
__version__ = "0.1.0"

from .fitting import BatchFit, fit_batch, fit_batch_losses  # noqa: E402
from .losses import MarginLoss  # noqa: E402
from .registry import available_losses, get_loss, register_loss  # noqa: E402

__all__ = ["__version__", "MarginLoss", "available_losses", "get_loss", "register_loss",
           "BatchFit", "fit_batch", "fit_batch_losses", "RobustLogisticRegression"]


def __getattr__(name):
    # The estimator pulls in scikit-learn; import it only when asked for.
    if name == "RobustLogisticRegression":
        from .estimators import RobustLogisticRegression

        return RobustLogisticRegression
    raise AttributeError(f"module 'lsis_robust' has no attribute {name!r}")
