"""Theory engine: asymptotic efficiency, influence functions and exact contaminated functionals.

All quantities are population integrals computed with error control (see
:mod:`lsis_robust.theory.design`), for any registered binary margin loss.
"""
from .asymptotics import (TABLE1_ALPHAS, TABLE1_BETAS, TABLE1_PRINTED, AsymptoticCovariance, are_table,
                          asymptotic_covariance, asymptotic_relative_efficiency, closed_form_ab,
                          gross_error_sensitivity, influence_function, kink_margins, resolve_loss)
from .design import GaussianDesign, IntegrationError, nominal_design

__all__ = [
    "GaussianDesign", "IntegrationError", "nominal_design",
    "AsymptoticCovariance", "asymptotic_covariance", "asymptotic_relative_efficiency", "are_table",
    "closed_form_ab", "influence_function", "gross_error_sensitivity", "kink_margins", "resolve_loss",
    "TABLE1_ALPHAS", "TABLE1_BETAS", "TABLE1_PRINTED",
]
