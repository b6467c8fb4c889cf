"""A Tukey-type bounded logistic loss: the example user loss of ``lsis-robust compare``.

Run the whole comparison against the baselines from the repository root:

    lsis-robust compare --loss examples/tukey_logistic.py:tukey_logistic --quick

The loss is a Bianco-Yohai type M-estimator (paper eq. 22) built on Tukey's
biweight instead of the Huber-like rho of BY or the exponential one of
Croux-Haesbroeck.  With v = -log sigma(m), the logistic loss at margin m,

    psi(v)   = (1 - v/c)^2 for v < c, 0 beyond       (the weight rho'(v))
    zeta1(v) = int_0^v psi = (c/3) (1 - (1 - v/c)_+^3)
    eta(t)   = int_0^t psi(-log u) du                  (the Fisher-consistency correction)
    phi(m)   = zeta1(v) + eta(sigma(m)) + eta(sigma(-m)).

An observation whose fitted probability of its own label is below e^{-c}
gets weight psi = 0: its loss is flat at c/3, so a gross outlier cannot pull
the estimate.  Unlike BY and CH, psi and psi' are continuous, so phi is
twice continuously differentiable and Newton steps are exact everywhere.
eta makes the estimator Fisher-consistent for the logistic model (its
population gradient vanishes at the true beta), so its asymptotic
efficiency is defined.  With L = log t > -c,

    eta(t) = t [1 + 2(L - 1)/c + (L^2 - 2L + 2)/c^2] - 2 e^{-c}/c^2,

and eta(t) = 0 for L <= -c.

Only phi is written, with torch operations: lsis_robust differentiates it
in float64 (torch autograd) and checks phi' and phi'' against finite
differences once, when the loss is first built.  ``kclass`` is the K-class
form for the deep-network benchmark: zeta1(-log q_y) + sum_k eta(q_k) with
q = softmax(logits), which is the binary loss at K = 2 and Fisher-consistent
for the softmax model for any K.
"""
import math

import torch
import torch.nn.functional as F

__all__ = ["tukey_logistic"]


def _zeta1(v, c):
    return (c / 3) * (1 - torch.clamp(1 - v / c, min=0) ** 3)


def _eta(log_t, c):
    t = torch.exp(log_t)
    inside = t * (1 + 2 * (log_t - 1) / c + (log_t**2 - 2 * log_t + 2) / c**2) - 2 * math.exp(-c) / c**2
    # Both branches are finite for every t > 0, so torch.where's gradient has no 0 * inf.
    return torch.where(log_t > -c, inside, torch.zeros_like(inside))


def tukey_logistic(m, c=4.0):
    """Tukey-biweight Bianco-Yohai logistic loss at margins ``m`` (a float64 torch tensor); c > 0."""
    if not c > 0:
        raise ValueError(f"c={c!r} is invalid: the tuning constant must be > 0")
    log_p, log_q = -F.softplus(-m), -F.softplus(m)  # log sigma(m), log sigma(-m)
    return _zeta1(-log_p, c) + _eta(log_p, c) + _eta(log_q, c)


def _tukey_kclass(logits, target, reduction="mean", c=4.0):
    log_q = torch.log_softmax(logits.double() if logits.dtype == torch.float64 else logits.float(), dim=1)
    per_example = _zeta1(-log_q.gather(1, target.long()[:, None])[:, 0], c) + _eta(log_q, c).sum(dim=1)
    if reduction == "none":
        return per_example
    return per_example.sum() if reduction == "sum" else per_example.mean()


# The optional pieces a user loss may carry: the K-class form for `lsis-robust nn`-style benchmarks, and
# shape flags (bounded and convex would be inferred by the checks; declaring them documents intent).
tukey_logistic.kclass = _tukey_kclass
tukey_logistic.bounded = True
tukey_logistic.convex = False
