"""The label-smoothing map s_alpha of eq. (5) and its inverse, as bare arithmetic on validated inputs.

s_alpha(p) = (1 - alpha) p + alpha / K, and s_alpha^{-1}(q) = (q - alpha / K) / (1 - alpha), which applied to
the logit model is the R-logit model of eq. (10).  This module is their one home: the binary LSLR link
(losses), the K-class probability models (probability) and the deep-net metrics use it.  It sits below the
losses and validates nothing; callers check alpha (``losses.validate_alpha``) and the shapes first.
"""
from __future__ import annotations

__all__ = ["smoothed", "unsmoothed"]


def smoothed(p, alpha, n_classes):
    """s_alpha(p) = (1 - alpha) p + alpha / K, componentwise."""
    return (1 - alpha) * p + alpha / n_classes


def unsmoothed(q, alpha, n_classes):
    """s_alpha^{-1}(q) = (q - alpha / K) / (1 - alpha), componentwise; alpha != 1."""
    return (q - alpha / n_classes) / (1 - alpha)
