"""The Tukey-biweight logistic loss of ``tukey_logistic.py``, written with numpy only.

    lsis-robust compare --loss examples/tukey_logistic_numpy.py:tukey_logistic_numpy --quick

gives the same report as the torch version (to 1e-5 relative in every tabled number), except that the
digits deep-net part is skipped: a numpy loss has no K-class torch form.  Without torch operations,
lsis_robust derives phi' by the complex step (phi is analytic in m and built only from np.exp,
np.log1p and np.clip, which numpy extends to complex input) and phi'' by Ridders-extrapolated
central differences of phi', checks both on the margins the estimator meets, and the report says so
("derivatives: ... numerical").  See ``tukey_logistic.py`` for the loss itself.

Two numpy-specific choices keep phi finite and complex-step friendly:

* the margin is clipped to [-50, 50]: beyond it sigma(-|m|) < e^-50, so eta vanishes there and
  zeta1 is flat at c/3, and phi is constant to float64 rounding;
* eta's cut-off "eta(t) = 0 for log t <= -c" is written as a clip of log t at -c, since the inner
  formula is exactly 0 at log t = -c (no branch on a comparison, which complex input would break).
"""
import numpy as np

__all__ = ["tukey_logistic_numpy"]


def _zeta1(v, c):
    return (c / 3) * (1 - np.clip(1 - v / c, 0, None) ** 3)


def _eta(log_t, c):
    L = np.clip(log_t, -c, None)
    return np.exp(L) * (1 + 2 * (L - 1) / c + (L**2 - 2 * L + 2) / c**2) - 2 * np.exp(-c) / c**2


def tukey_logistic_numpy(m, c=4.0):
    """Tukey-biweight Bianco-Yohai logistic loss at margins ``m`` (a numpy array); c > 0."""
    if not c > 0:
        raise ValueError(f"c={c!r} is invalid: the tuning constant must be > 0")
    m = np.clip(m, -50.0, 50.0)
    log_p, log_q = -np.log1p(np.exp(-m)), -np.log1p(np.exp(m))  # log sigma(m), log sigma(-m)
    return _zeta1(-log_p, c) + _eta(log_p, c) + _eta(log_q, c)


tukey_logistic_numpy.bounded = True
tukey_logistic_numpy.convex = False
