"""Binary surrogate losses in margin form (:mod:`lsis_robust.registry` names them).

Labels are y in {-1, +1}, the score is s = x'beta and the margin is m = y s.
Every loss is a function phi(m) with analytic first and second derivatives,
vectorised over numpy arrays and evaluated in float64 in forms that stay
finite for |m| up to 1e4 (log-sigmoid, logaddexp, log1p; never
``log(1 + exp(.))``).

Most losses here are rho-transformations of the logistic loss (paper eq. 21):
phi(m) = rho(v) with v = phi_LR(m) = -log sigma(m) >= 0, so that
e^{-v} = sigma(m).  ``rho(v)`` is provided where that holds.

Equation numbers refer to Yamasaki and Tanaka, *Label Smoothing is
Robustification against Model Misspecification*.
"""
from __future__ import annotations

import copy
import functools
import inspect
import math
from pathlib import Path

import numpy as np
from scipy.special import erfc

from ._smoothing import unsmoothed
from ._validation import check_alpha as validate_alpha  # the rule's public name, kept for users
from ._validation import check_c as _validate_c

__all__ = [
    "MarginLoss",
    "LR",
    "LSLR",
    "MLSLR",
    "LSQLR",
    "BiancoYohai",
    "CrouxHaesbroeck",
    "BUILTIN_LOSSES",
    "validate_alpha",
]


_LOG2 = math.log(2.0)


def _as_float_array(m, what="margins"):
    """m as float64; NaN raises (a NaN margin is a bug upstream, not a value to propagate), +-inf are limits."""
    raw = np.asarray(m)
    if raw.dtype.kind == "O" and m is not None:  # None would become NaN
        try:
            raw = raw.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{what} must be real numbers, got {type(m).__name__} holding non-numbers") from None
    if raw.dtype.kind not in "iuf":
        raise TypeError(f"{what} must be real numbers, got {type(m).__name__} of dtype {raw.dtype}")
    m = raw.astype(np.float64, copy=False)
    if np.isnan(m).any():
        raise ValueError(f"{what} contain NaN; a loss is defined for real {what} (+-inf give its limits)")
    return m


def _as_v_array(v):
    """Values v = phi_LR(m) of the logistic loss: real and >= 0 (v = +inf is the limit m -> -inf)."""
    v = _as_float_array(v, "values v")
    if (v < 0).any():
        raise ValueError("values v = phi_LR(m) = -log sigma(m) must be >= 0; got a negative v")
    return v


def _log_sigmoid(m):
    """log sigma(m) = -(log1p(e^{-|m|}) + max(-m, 0)); exact in both tails."""
    return -(np.log1p(np.exp(-np.abs(m))) + np.maximum(-m, 0.0))


def _logistic_parts(m):
    """log sigma(m), log sigma(-m), sigma(m), sigma(-m), sigma(m) sigma(-m) from one exp.

    Everything is built from e = exp(-|m|) <= 1, so nothing overflows and
    each quantity keeps its relative accuracy in the tails.
    """
    e = np.exp(-np.abs(m))
    l1 = np.log1p(e)
    inv = 1.0 / (1.0 + e)
    small = e * inv
    pos = m >= 0
    return (
        -(l1 + np.maximum(-m, 0.0)),
        -(l1 + np.maximum(m, 0.0)),
        np.where(pos, inv, small),
        np.where(pos, small, inv),
        small * inv,
    )


class MarginLoss:
    """Base class of binary margin losses phi(m), m = y x'beta.

    A loss defines ``phi`` and either ``dphi`` and ``d2phi`` or a
    ``derivatives(m)`` returning (phi, phi', phi'') at once (the built-in
    losses do the latter, to share the exponentials), and ``rho`` where the
    loss is a rho-transform of the logistic loss.  ``__init__`` validates the
    tuning constants.  Attributes describe the shape:

    bounded
        phi stays bounded as m -> -inf (the robust losses).
    convex
        phi is convex in m, so the estimator has a single minimum.
    smooth
        phi is twice continuously differentiable (CH and BY have a kink in
        phi'' at v = c, so Newton steps there are only piecewise exact).
    labels_by_argmin
        the minimiser of the conditional risk is decreasing in P(Y=+1|x), so
        labels go by the sign opposite to the score (LSLR with alpha > 1,
        Corollary 3).
    has_r_logit
        the loss estimates probabilities with the R-logit model (eq. 10)
        rather than the logit model (LSLR), so R-logit predictions and range
        metrics apply.
    single_start
        the paper's fitting protocol (Section III-B2) runs Adam from the true
        beta alone instead of from scattered starts (the paper does so for LR).

    Code outside a loss asks it about itself only through these attributes
    and the hooks :meth:`kinks`, :meth:`continuation_path`, :attr:`label`,
    :meth:`torch_binary` and :meth:`kclass`, whose defaults suit a loss
    without kinks, smoothing path, torch or K-class form.
    """

    name: str = "margin"
    bounded: bool = False
    convex: bool = True
    smooth: bool = True
    labels_by_argmin: bool = False
    has_r_logit: bool = False
    single_start: bool = False

    def _params(self) -> dict:
        sig = inspect.signature(type(self).__init__)
        return {
            name: getattr(self, name)
            for name, p in sig.parameters.items()
            if name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }

    def get_params(self, deep=True) -> dict:
        """Tuning parameters by name; ``deep`` is scikit-learn's argument (a loss holds no sub-objects)."""
        return self._params()

    def set_params(self, **params):
        # Losses are values: registered user losses are cached and shared, so a change in place (what
        # scikit-learn's est.set_params(loss__c=...) asks for) would silently alter every other holder.
        args = ", ".join(f"{k}={v!r}" for k, v in {**self._params(), **params}.items())
        raise ValueError(f"loss instances are immutable; pass a new one, e.g. loss=get_loss({self.name!r}, {args}), "
                         "or give the loss by name with its alpha or c")

    def __sklearn_clone__(self):
        # An equal, independent copy: a user loss cannot be rebuilt from get_params (its phi is bound in).
        return copy.deepcopy(self)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self._params() == other._params()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self._params().items()))))

    def __call__(self, m):
        return self.phi(m)

    def phi(self, m):
        raise NotImplementedError

    def dphi(self, m):
        return self.derivatives(m)[1]

    def d2phi(self, m):
        return self.derivatives(m)[2]

    def derivatives(self, m):
        """(phi, phi', phi'') at m."""
        if type(self).dphi is MarginLoss.dphi or type(self).d2phi is MarginLoss.d2phi:
            raise NotImplementedError(f"{type(self).__name__} must define dphi and d2phi, or derivatives")
        return self.phi(m), self.dphi(m), self.d2phi(m)

    def dphi_d2phi(self, m):
        """(phi', phi'') at m: what a Newton step needs, without phi itself."""
        return self.derivatives(m)[1:]

    def rho(self, v):
        raise NotImplementedError(f"{self!r} is not a rho-transform of the logistic loss")

    def weight(self, m):
        """Per-observation weight relative to ML: phi'(m) / phi_LR'(m) = phi'(m) / -sigma(-m).

        It equals rho'(v) for rho-transformed losses: 1 for LR, and near 0 for
        observations that a bounded loss ignores.  The built-in losses give it
        in closed form, finite for every finite margin and at its limits at
        +-inf.  This generic ratio needs sigma(-m) > 0 in float64: past
        m = 745 it has underflowed to 0 and the ratio is NaN (a loss can
        override ``weight`` with its closed form).
        """
        m = _as_float_array(m)
        sn = _logistic_parts(m)[3]
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.dphi(m) / -sn

    def link(self, s):
        """Probability model P(Y=+1 | score s) that this loss estimates consistently."""
        return _logistic_parts(_as_float_array(s))[2]

    def kinks(self) -> np.ndarray:
        """Margins where phi'' jumps: the quadrature of :mod:`lsis_robust.theory` puts panel edges there."""
        return np.empty(0)

    def continuation_path(self) -> list:
        """Losses to fit in turn from the ML fit towards this one (a smoothing path), nearest to LR first.

        A non-convex loss with a smoothing parameter can have a local minimum
        that a direct start from the ML fit falls into; following the path
        tracks the minimum connected to LR's.  Empty: start from the ML fit.
        """
        return []

    @property
    def label(self) -> str:
        """Column and legend label: the name, with the smoothing level ``a=alpha`` if the loss has one."""
        alpha = self.get_params().get("alpha")
        return self.name if alpha is None else f"{self.name} a={alpha:g}"

    def torch_binary(self):
        """(phi, phi') as torch functions of the margin for the paper's compiled Adam kernels, or None.

        None makes :func:`lsis_robust.studies._adam.adam_fit` evaluate this
        loss's own numpy ``phi`` and ``dphi`` eagerly, in float64.
        """
        return None

    def kclass(self):
        """The K-class torch form ``f(logits, target, reduction="mean")`` for the deep-net benchmark, or None."""
        return None

    def source_files(self) -> list:
        """The files outside this package whose code defines this loss (none for the built-ins).

        The studies cache a task under a hash of the package's code; these
        files join the hash, so that editing a user's loss recomputes its cells.
        """
        return code_files_outside_package([type(self)])


def code_files_outside_package(objects) -> list:
    """The source files of ``objects`` (classes, functions, partials of them) that lie outside this package."""
    root = Path(__file__).resolve().parent
    files = set()
    for obj in objects:
        while isinstance(obj, functools.partial):
            obj = obj.func
        try:
            source = inspect.getsourcefile(obj) if obj is not None else None
        except TypeError:  # built-in or C-level callables have no source file
            source = None
        if source is not None and root not in Path(source).resolve().parents:
            files.add(Path(source).resolve())
    return sorted(files)


class LR(MarginLoss):
    r"""Logistic regression: phi(m) = -log sigma(m) (eq. 3 with K = 2).

    phi'(m) = -sigma(-m), phi''(m) = sigma(m) sigma(-m); rho(v) = v.
    """

    name = "lr"
    label = "LR"
    single_start = True

    def phi(self, m):
        return -_log_sigmoid(_as_float_array(m))

    def derivatives(self, m):
        # _logistic_parts trimmed to what LR needs: the ML fit runs on every estimator fit.
        m = _as_float_array(m)
        e = np.exp(-np.abs(m))
        phi = np.log1p(e)
        phi += np.maximum(-m, 0.0)
        big = 1.0 / (1.0 + e)
        e *= big  # now min(sigma(m), sigma(-m))
        dphi = np.where(m >= 0, e, big)
        np.negative(dphi, out=dphi)
        e *= big
        return phi, dphi, e

    def rho(self, v):
        return _as_v_array(v).copy()

    def weight(self, m):
        return np.ones_like(_as_float_array(m))


    def torch_binary(self):
        import torch
        import torch.nn.functional as F

        return (lambda m: F.softplus(-m)), (lambda m: -torch.sigmoid(-m))

    def kclass(self):
        from .kclass_losses import lr_loss

        return lr_loss

class LSLR(MarginLoss):
    r"""Label-smoothed logistic regression (eq. 7-8 with K = 2).

    phi(m) = -(1 - alpha/2) log sigma(m) - (alpha/2) log sigma(-m),
    phi'(m) = -(1 - alpha/2) sigma(-m) + (alpha/2) sigma(m),
    phi''(m) = sigma(m) sigma(-m).
    Its consistent probability estimator is the R-logit model (eq. 10),
    s_alpha^{-1}(q_L), not the logit model.  alpha in [0, 1) or (1, 2].
    """

    name = "lslr"
    has_r_logit = True

    def __init__(self, alpha: float = 0.1):
        self.alpha = validate_alpha(alpha)

    @property
    def labels_by_argmin(self):
        return self.alpha > 1

    def phi(self, m):
        return self.derivatives(m)[0]

    def derivatives(self, m):
        lsp, lsn, sp, sn, s2 = _logistic_parts(_as_float_array(m))
        a = self.alpha / 2
        # log sigma(-m) = -inf at m = +inf: with a = 0 its term is absent, not 0 * inf
        phi = -((1 - a) * lsp if a < 1 else 0.0) - (a * lsn if a > 0 else 0.0)
        return phi, -(1 - a) * sn + a * sp, s2

    def rho(self, v):
        v = _as_v_array(v)
        a = self.alpha / 2
        if a == 0:
            return v.copy()
        # log(1 - e^{-v}): log1p keeps the e^{-v} tail for large v, expm1 the small-v end;
        # v = 0 is m = +inf, where rho is +inf
        with np.errstate(divide="ignore"):
            log_1m = np.where(v > _LOG2, np.log1p(-np.exp(-v)), np.log(-np.expm1(-np.minimum(v, _LOG2))))
        return ((1 - a) * v if a < 1 else 0.0) - a * log_1m  # alpha = 2: no v term, not 0 * inf at v = inf

    def weight(self, m):
        """(1 - alpha/2) - (alpha/2) e^m; below the float range (-inf) for alpha > 0 only past m = log(2 max / alpha)."""
        m = _as_float_array(m)
        a = self.alpha / 2
        if a == 0:
            return np.ones_like(m)
        with np.errstate(over="ignore"):
            return (1 - a) - np.exp(m + np.log(a))  # a e^m as one exponential: it overflows only where a e^m does

    def link(self, s):
        """The R-logit model (eq. 10): (sigma(s) - alpha/2) / (1 - alpha); may leave [0, 1]."""
        return unsmoothed(super().link(s), self.alpha, 2)


    @property
    def label(self):
        return f"LSLR a={self.alpha:g}"

    def torch_binary(self):
        import torch
        import torch.nn.functional as F

        a = self.alpha
        return ((lambda m: (1 - a / 2) * F.softplus(-m) + (a / 2) * F.softplus(m)),
                (lambda m: -(1 - a / 2) * torch.sigmoid(-m) + (a / 2) * torch.sigmoid(m)))

    def kclass(self):
        from .kclass_losses import lslr_loss

        return functools.partial(lslr_loss, alpha=self.alpha)

class MLSLR(MarginLoss):
    r"""Modified label-smoothed logistic regression (eq. 11 with K = 2).

    With u(m) = (1 - alpha) sigma(m) + alpha/2,
    phi(m) = -(1 - alpha/2) log u(m) - (alpha/2) log u(-m)
    = rho_MLS(phi_LR(m)) (eq. 25).  The logit model is kept as the
    probability estimator.  alpha in [0, 1) or (1, 2]; alpha = 0 is LR, and
    alpha -> 1 approaches LSQLR after rescaling (Theorem 2).  For K = 2,
    alpha and 2 - alpha give the same loss.

    phi'(m) = -(1 - alpha) [(1 - alpha/2) g(m) - (alpha/2) g(-m)] with
    g(m) = sigma(m) sigma(-m) / u(m), and g'(m) = -tanh(m/2) g(m) - (1 - alpha) g(m)^2.
    """

    name = "mlslr"

    def __init__(self, alpha: float = 0.4):
        self.alpha = validate_alpha(alpha)

    @property
    def bounded(self):
        return 0 < self.alpha < 2

    @property
    def convex(self):
        return self.alpha in (0.0, 2.0)

    def _log_u(self, lsp, lsn, sp, sn):
        """log u(m), u(m) = (1 - alpha) sigma(m) + alpha/2, for both signs of 1 - alpha.

        u is a sum of non-negative terms (u = (1 - alpha/2) + (alpha - 1)
        sigma(-m) when alpha > 1), so the direct logarithm loses nothing; only
        where a constant term vanishes (alpha = 0 or 2) can u underflow, and
        there log u is an exact log-sigmoid.
        """
        al = self.alpha
        if al == 0:
            return lsp
        if al == 2:
            return lsn
        if al < 1:
            return np.log((1 - al) * sp + al / 2)
        return np.log((1 - al / 2) + (al - 1) * sn)

    def phi(self, m):
        return self.derivatives(m, order=0)[0]

    def derivatives(self, m, order=2):
        lsp, lsn, sp, sn, s2 = _logistic_parts(_as_float_array(m))
        al = self.alpha
        a, b = 1 - al / 2, al / 2
        log_u_pos, log_u_neg = self._log_u(lsp, lsn, sp, sn), self._log_u(lsn, lsp, sn, sp)
        # a = 0 (alpha = 2) or b = 0 (alpha = 0) is LR, where the other log u is -inf at an infinite
        # margin: drop the absent term, do not form 0 * inf.
        phi = -(b * log_u_neg if b > 0 else 0.0) - (a * log_u_pos if a > 0 else 0.0)
        if order == 0:
            return (phi,)
        w = self._weight(s2)
        # phi' = -sigma(-m) w(m); differentiating w = k s2 / (k s2 + ab) gives
        # phi'' = w (w s2 + ab sigma(-m) (2 sigma(m) - sigma(-m)) / D), D = k s2 + ab.
        # The differences a g - b h of the textbook form cancel to O(e^{-2|m|}) in both tails; these
        # products do not, so both derivatives keep their relative accuracy at every margin.
        dphi = -sn * w
        k = (1 - al) ** 2
        d2 = w * s2
        if a * b > 0:
            d2 += a * b * sn * (2 * sp - sn) / (k * s2 + a * b)
        return phi, dphi, w * d2

    def _weight(self, s2):
        """rho'(v) = (1 - alpha)^2 s2 / (u(m) u(-m)), with u(m) u(-m) = (1 - alpha)^2 s2 + ab exactly."""
        a, b = 1 - self.alpha / 2, self.alpha / 2
        if a * b == 0:  # alpha = 0 or 2: LR
            return np.ones_like(s2)
        k = (1 - self.alpha) ** 2
        return k * s2 / (k * s2 + a * b)

    def weight(self, m):
        return self._weight(_logistic_parts(_as_float_array(m))[4])

    def rho(self, v):
        return self.phi(_margin_from_v(v))


    @property
    def label(self):
        return f"MLSLR a={self.alpha:g}"

    def continuation_path(self):
        """MLSLR at alpha/3 and 2 alpha/3 for alpha in (0, 1), where the loss is bounded and not convex."""
        if not 0 < self.alpha < 1:
            return []
        return [type(self)(alpha=self.alpha * t) for t in (1 / 3, 2 / 3)]

    def torch_binary(self):
        import torch

        a = self.alpha

        def phi(m):
            return (-(1 - a / 2) * torch.log((1 - a) * torch.sigmoid(m) + a / 2)
                    - (a / 2) * torch.log((1 - a) * torch.sigmoid(-m) + a / 2))

        def dphi(m):
            sp, sn = torch.sigmoid(m), torch.sigmoid(-m)
            s2 = (1 - a) * sp * sn
            return -(1 - a / 2) * s2 / ((1 - a) * sp + a / 2) + (a / 2) * s2 / ((1 - a) * sn + a / 2)

        return phi, dphi

    def kclass(self):
        from .kclass_losses import mlslr_loss

        return functools.partial(mlslr_loss, alpha=self.alpha)

def _margin_from_v(v):
    """Inverse of v = -log sigma(m): m = -log(e^v - 1), stable for small and large v."""
    v = _as_v_array(v)
    with np.errstate(divide="ignore"):
        return -np.where(v > 30, v + np.log1p(-np.exp(-np.minimum(v, 700))), np.log(np.expm1(np.minimum(v, 30))))


class LSQLR(MarginLoss):
    r"""Least-squares logistic regression, the Savage loss (eq. 12, K = 2).

    phi(m) = sigma(-m)^2 / 2 = 1 / (2 (1 + e^m)^2) = rho_LSQ(phi_LR(m)) with
    rho_LSQ(v) = (1 - e^{-v})^2 / 2 (eq. 25).  Eq. (12) with K = 2 sums two
    equal squared residuals, so it equals 4 phi(m).
    phi'(m) = -sigma(-m)^2 sigma(m),
    phi''(m) = sigma(m) sigma(-m)^2 (2 sigma(m) - sigma(-m)).
    """

    name = "lsqlr"
    label = "LSQLR"
    bounded = True
    convex = False

    def phi(self, m):
        return 0.5 * _logistic_parts(_as_float_array(m))[3] ** 2

    def derivatives(self, m):
        _, _, sp, sn, s2 = _logistic_parts(_as_float_array(m))
        return 0.5 * sn * sn, -sn * s2, s2 * sn * (2 * sp - sn)

    def rho(self, v):
        return 0.5 * np.expm1(-_as_v_array(v)) ** 2

    def weight(self, m):
        """rho'(v) = sigma(m) sigma(-m)."""
        return _logistic_parts(_as_float_array(m))[4]


    def torch_binary(self):
        import torch

        return ((lambda m: 0.5 * torch.sigmoid(-m) ** 2),
                (lambda m: -torch.sigmoid(-m) ** 2 * torch.sigmoid(m)))

    def kclass(self):
        from .kclass_losses import lsqlr_loss

        return lsqlr_loss


# Tuning constant of BY and CH: robustbase's glmrob(method = "BY") default.
DEFAULT_C = 0.5

class _BoundedRhoLoss(MarginLoss):
    r"""Common part of Bianco-Yohai type losses (eq. 22):

    phi(m) = zeta1(v) + eta(sigma(m)) + eta(sigma(-m)),  v = phi_LR(m),
    eta(t) = int_0^t psi(-log u) du,  psi = zeta1'.
    Differentiating gives phi'(m) = -sigma(-m) [sigma(-m) psi(v) + sigma(m) psi(vbar)]
    with vbar = phi_LR(-m), and
    phi''(m) = 2 sigma(-m) s2 psi(v) + sigma(-m)^3 psi'(v) - s2 (sigma(-m) - sigma(m)) psi(vbar)
    - s2 sigma(m) psi'(vbar), s2 = sigma(m) sigma(-m).
    The bias correction eta makes the estimator Fisher-consistent under the
    logistic model.
    """

    bounded = True
    convex = False
    smooth = False

    def __init__(self, c: float = DEFAULT_C):
        self.c = _validate_c(c)

    @property
    def label(self):
        """BY or CH, with the tuning constant shown where it is not the default."""
        base = self.name.upper()
        return base if math.isclose(self.c, DEFAULT_C) else f"{base} c={self.c:g}"

    def kinks(self):
        """psi jumps where v = c or vbar = c, at m = -+log(e^c - 1) (written without overflow)."""
        m_c = -self.c - math.log(-math.expm1(-self.c))  # -log sigma(m_c) = c
        return np.array([m_c, -m_c])

    def _torch_rho_parts(self):
        """(psi, zeta1, eta(t, -log t)) as torch functions, for :meth:`torch_binary`."""
        raise NotImplementedError

    def torch_binary(self):
        """phi'(m) = -psi(v) sigma(-m)^2 - sigma(m) sigma(-m) psi(vbar), v = phi_LR(m), vbar = phi_LR(-m)."""
        import torch
        import torch.nn.functional as F

        psi, zeta1, eta = self._torch_rho_parts()

        def phi(m):
            v, vn = F.softplus(-m), F.softplus(m)
            return zeta1(v) + eta(torch.sigmoid(m), v) + eta(torch.sigmoid(-m), vn)

        def dphi(m):
            v, vn = F.softplus(-m), F.softplus(m)
            sp, sn = torch.sigmoid(m), torch.sigmoid(-m)
            return -psi(v) * sn * sn - sp * sn * psi(vn)

        return phi, dphi

    def phi(self, m):
        return self._evaluated(m, value=True, order=0)[0]

    def derivatives(self, m):
        return tuple(self._evaluated(m, value=True, order=2))

    def dphi_d2phi(self, m):
        return tuple(self._evaluated(m, value=False, order=2))

    def dphi(self, m):
        return self._evaluated(m, value=False, order=1)[0]

    def _evaluated(self, m, value, order):
        m = _as_float_array(m)
        # _evaluate works on a flat vector: the rows past the kink are picked out by flat index
        return [part.reshape(m.shape)[()] for part in self._evaluate(m.ravel(), value, order)]

    def _evaluate(self, m, value, order):
        """[phi if value] + [phi', phi''][:order] in one pass over the 1-d margins m."""
        raise NotImplementedError

    # The solver evaluates these losses many times per fit, so they are computed from
    # w = min(v, vbar) = log1p(e^{-|m|}) <= log 2 and u = max(v, vbar) = w + |m| >= log 2 rather than
    # from v and vbar: which side of the kink c each lies on is then mostly known in advance.
    # min/max(sigma(m), sigma(-m)) are 1/(1 + e^{-|m|}) and its complement, and v = w where m >= 0.
    @staticmethod
    def _sides(m):
        """w, u, min and max of sigma(+-m), and the rows with m >= 0."""
        # Past |m| = 1e6 every term has underflowed (e^{-sqrt u} < 1e-434); capping there gives the
        # limits at +-inf instead of 0 * inf.
        u = np.abs(m)
        np.minimum(u, 1e6, out=u)
        e = np.negative(u)
        np.exp(e, out=e)
        w = np.log1p(e)
        u += w
        big = e + 1.0
        np.reciprocal(big, out=big)
        e *= big
        return w, u, e, big, m >= 0

    @staticmethod
    def _derivatives_from_sides(pos, small, big, psi_w, psi_u, dpsi_w, dpsi_u, order):
        """[phi', phi''][:order] from psi and psi' at w and u (the formulas of the class docstring)."""
        sn = np.where(pos, small, big)
        sig_psi_w = small * psi_w
        sig_psi_u = big * psi_u
        dphi = sig_psi_w + sig_psi_u
        dphi *= sn
        np.negative(dphi, out=dphi)
        if order < 2:
            return [dphi]
        # phi'' = s2 (2 sn psi(v) - (sn - sp) psi(vbar) - sp psi'(vbar)) + sn^3 psi'(v). The bracket is formed
        # for both (v, vbar) = (w, u) and (u, w) on every row and one picked: one n-vector select instead of
        # four. sn - sp is small - big or its exact negative, so big - small enters as + (small - big).
        small_minus_big = small - big
        v_is_w = sig_psi_w
        v_is_w *= 2.0
        part = small_minus_big * psi_u
        v_is_w -= part
        np.multiply(big, dpsi_u, out=part)
        v_is_w -= part
        v_is_u = sig_psi_u
        v_is_u *= 2.0
        small_minus_big *= psi_w
        v_is_u += small_minus_big
        np.multiply(small, dpsi_w, out=part)
        v_is_u -= part
        np.putmask(v_is_u, pos, v_is_w)  # in place: one n-vector fewer alive at the peak
        d2 = v_is_u
        del v_is_w
        d2 *= small
        d2 *= big
        part = np.where(pos, dpsi_w, dpsi_u)
        sn **= 3
        part *= sn
        d2 += part
        return [dphi, d2]

    def psi(self, v):
        return self.psi_dpsi(_as_v_array(v))[0]

    def weight(self, m):
        """rho'(v) = sigma(-m) psi(v) + sigma(m) psi(vbar), vbar = phi_LR(-m) (phi' of the class docstring over -sigma(-m))."""
        m = _as_float_array(m)
        w, u, small, big, pos = self._sides(m.ravel())
        psi_w, psi_u = self.psi_dpsi(w)[0], self.psi_dpsi(u)[0]
        # v = w and vbar = u where m >= 0; sigma(-m) is then the small one
        out = np.where(pos, small * psi_w + big * psi_u, big * psi_u + small * psi_w)
        return out.reshape(m.shape)[()]

    def rho(self, v):
        v = _as_v_array(v)
        t = np.exp(-v)
        one_minus_t = -np.expm1(-v)
        with np.errstate(divide="ignore"):
            vbar = -np.log(one_minus_t)
        return self.zeta1(v) + self.eta(t, v) + self.eta(one_minus_t, vbar)


class BiancoYohai(_BoundedRhoLoss):
    r"""Bianco and Yohai (1996) loss, eq. (22)-(24), tuning constant c > 0.

    zeta1(v) = v - v^2/(2c) for v <= c, c/2 for v > c;
    psi(v) = (1 - v/c)_+;
    eta(t) = 0 for t <= e^{-c}, t (1 - 1/c) + t log(t)/c + e^{-c}/c above,
    which is eq. (24)'s zeta2.
    """

    name = "by"

    def zeta1(self, v):
        # Past v = c the quadratic is at its maximum c/2, so clipping v gives both branches (and no inf - inf).
        t = np.minimum(v, self.c)
        return t - t * t / (2 * self.c)

    def psi_dpsi(self, v):
        inside = v < self.c
        return np.where(inside, 1 - v / self.c, 0.0), np.where(inside, -1.0 / self.c, 0.0)

    def eta(self, t, neg_log_t):
        """eta(t) with -log t passed in, so the test t > e^{-c} is exact in the tails."""
        c = self.c
        # The formula is used only where -log t < c; clipping keeps 0 * inf out of the discarded branch.
        val = t * (1 - 1 / c) - t * np.minimum(neg_log_t, c) / c + math.exp(-c) / c
        return np.where(neg_log_t < c, val, 0.0)

    def _side(self, x, t, value, order):
        """zeta1 and eta (at t = e^{-x}) if value, psi, and psi' if order, at x (None where not asked for);
        x = None: past the kink c everywhere."""
        c = self.c
        if x is None:  # zeta1 is at its maximum c/2 and nothing else is left
            return c / 2, 0.0, 0.0, 0.0
        past = x >= c
        xc = np.minimum(x, c)
        psi = xc / c
        np.subtract(1.0, psi, out=psi)
        zeta = eta = dpsi = None
        if value:
            zeta = xc * xc
            zeta /= 2 * c
            np.subtract(xc, zeta, out=zeta)
            eta = t * psi
            np.divide(t, c, out=xc)
            eta -= xc
            eta += math.exp(-c) / c
            # putmask with a scalar zeroes the rows past the kink in about half of np.where's time
            np.putmask(eta, past, 0.0)
        if order:
            dpsi = np.full_like(x, -1.0 / c)
            np.putmask(dpsi, past, 0.0)
        return zeta, eta, psi, dpsi

    def _evaluate(self, m, value, order):
        w, u, small, big, pos = self._sides(m)
        z_w, eta_w, psi_w, dpsi_w = self._side(w, big, value, order)
        z_u, eta_u, psi_u, dpsi_u = self._side(u if self.c > _LOG2 else None, small, value, order)  # u >= log 2
        out = []
        if value:
            phi = np.where(pos, z_w, z_u)
            phi += eta_w
            phi += eta_u
            out.append(phi)
        if order:
            out += self._derivatives_from_sides(pos, small, big, psi_w, psi_u, dpsi_w, dpsi_u, order)
        return out

    def _torch_rho_parts(self):
        import torch

        c = self.c

        def psi(v):
            return torch.clamp(1 - v / c, min=0.0)

        def zeta1(v):
            return torch.where(v <= c, v - v * v / (2 * c), torch.full_like(v, c / 2))

        def eta(t, v):
            return torch.where(v < c, t * (1 - 1 / c) - t * v / c + math.exp(-c) / c, torch.zeros_like(t))

        return psi, zeta1, eta

class CrouxHaesbroeck(_BoundedRhoLoss):
    r"""Croux and Haesbroeck (2003) loss, the objective of robustbase's
    ``glmrob(method = "BY")``; tuning constant c > 0 (robustbase's 0.5).

    zeta1(v) = v e^{-sqrt c} for v <= c,
    -2 e^{-sqrt v}(1 + sqrt v) + e^{-sqrt c}(2 (1 + sqrt c) + c) for v > c;
    psi(v) = exp(-sqrt(max(v, c)));
    eta(t) = t psi(-log t) + e^{1/4} sqrt(pi) (Phi(sqrt2 (1/2 + sqrt(max(-log t, c)))) - 1).
    psi has a kink at v = c, so phi is C1 but not C2 there.
    """

    name = "ch"

    # zeta1, psi_dpsi and eta at v give the rho form (eq. 21), an evaluation independent of _evaluate.
    def _sqrt_exp(self, v):
        """s = sqrt(max(v, c)) and psi(v) = e^{-s}."""
        # e^{-sqrt v} has underflowed to 0 long before v = 1e6; capping there gives the limit at v = inf
        # instead of -2 e^{-s}(1 + s) = 0 * inf.
        s = np.sqrt(np.clip(v, self.c, 1e6))
        return s, np.exp(-s)

    def zeta1(self, v):
        c = self.c
        sc = math.sqrt(c)
        s, es = self._sqrt_exp(v)
        upper = -2 * es * (1 + s) + math.exp(-sc) * (2 * (1 + sc) + c)
        return np.where(v <= c, v * math.exp(-sc), upper)

    def psi_dpsi(self, v):
        s, es = self._sqrt_exp(v)
        return es, np.where(v > self.c, -es / (2 * s), 0.0)

    def eta(self, t, neg_log_t):
        c = self.c
        s, es = self._sqrt_exp(neg_log_t)
        # Phi(x) - 1 = -Phi(-x) = -erfc(x / sqrt2) / 2 keeps the small tail value accurate; erfc is
        # evaluated only where -log t > c, since elsewhere it is one constant.
        tail = np.full(np.shape(s), 0.5 * math.erfc(0.5 + math.sqrt(c)))
        beyond = neg_log_t > c
        tail[beyond] = 0.5 * erfc(0.5 + s[beyond])
        return t * es - math.exp(0.25) * math.sqrt(math.pi) * tail

    def _evaluate(self, m, value, order):
        # For c < log 2, u is past the kink everywhere and w only for |m| < -log(e^c - 1), so the erfc
        # that dominates the cost is evaluated about once per row, not twice. Arrays are updated in place
        # and dropped once dead: the solver calls this many times, and each n-vector kept alive is heap
        # that a fit has to fault in afresh.
        c = self.c
        sc = math.sqrt(c)
        ec = math.exp(-sc)
        w, u, small, big, pos = self._sides(m)
        u_past_kink_everywhere = c < _LOG2
        s_u = u if u_past_kink_everywhere else np.maximum(u, c)  # past the kink u is not needed again
        np.sqrt(s_u, out=s_u)
        es_u = np.negative(s_u)
        np.exp(es_u, out=es_u)
        if u_past_kink_everywhere:
            idx = np.flatnonzero(w > c)  # the few rows with w past the kink
            s_w_idx = np.sqrt(w[idx])
            es_w = np.full_like(m, ec)
            es_w[idx] = np.exp(-s_w_idx)
        else:  # w <= log 2 <= c: psi(w) is the constant e^{-sqrt c}
            idx = None
            es_w = ec
        out = []
        if order:
            dpsi_u = es_u / s_u
            dpsi_u *= -0.5
            if not u_past_kink_everywhere:
                dpsi_u[u <= c] = 0.0
            if idx is None:
                dpsi_w = 0.0
            else:
                dpsi_w = np.zeros_like(m)
                dpsi_w[idx] = -0.5 * es_w[idx] / s_w_idx
            out += self._derivatives_from_sides(pos, small, big, es_w, es_u, dpsi_w, dpsi_u, order)
            del dpsi_u, dpsi_w
        if value:
            # phi = zeta1(v) + eta(sigma(m)) + eta(sigma(-m)); the eta pair is
            # small psi(u) + big psi(w) - K (tail(u) + tail(w)), tail(x) = erfc(1/2 + sqrt(max(x, c))) / 2.
            upper_const = ec * (2 * (1 + sc) + c)
            tail_at_kink = math.erfc(0.5 + sc)
            tails = np.add(s_u, 0.5)
            erfc(tails, out=tails)
            tails += tail_at_kink
            if idx is not None and idx.size:
                tails[idx] += erfc(0.5 + s_w_idx) - tail_at_kink
            tails *= -0.5 * math.exp(0.25) * math.sqrt(math.pi)
            # zeta1(v): v = w where m >= 0 (linear unless w is past the kink), v = u elsewhere
            zeta = np.add(s_u, 1.0, out=s_u)
            zeta *= es_u
            zeta *= -2.0
            zeta += upper_const
            if not u_past_kink_everywhere:
                np.putmask(zeta, u <= c, u * ec)  # putmask: a third of copyto(where=)'s time on a random mask
            w *= ec
            np.putmask(zeta, pos, w)
            if idx is not None and idx.size:
                upper = pos[idx]  # rows with v = w past the kink
                zeta[idx[upper]] = upper_const - 2 * es_w[idx[upper]] * (1 + s_w_idx[upper])
            tails += zeta
            del zeta
            es_u *= small
            tails += es_u
            big *= es_w
            tails += big
            out.insert(0, tails)
        return out

    def _torch_rho_parts(self):
        import torch

        c = self.c
        ec, k = math.exp(-math.sqrt(c)), math.exp(0.25) * math.sqrt(math.pi)

        def psi(v):
            return torch.exp(-torch.sqrt(torch.clamp(v, min=c)))

        def zeta1(v):
            sv = torch.sqrt(torch.clamp(v, min=c))
            return torch.where(v <= c, v * ec, -2 * torch.exp(-sv) * (1 + sv) + ec * (2 * (1 + math.sqrt(c)) + c))

        def eta(t, v):
            # Phi(sqrt2 (1/2 + r)) - 1 = -erfc(1/2 + r) / 2, with r = sqrt(max(v, c)).
            r = torch.sqrt(torch.clamp(v, min=c))
            return t * torch.exp(-r) - 0.5 * k * torch.special.erfc(0.5 + r)

        return psi, zeta1, eta


# The built-in losses; lsis_robust.registry registers each under its ``name`` (this module cannot import the
# registry, which imports it).
BUILTIN_LOSSES = (LR, LSLR, MLSLR, LSQLR, BiancoYohai, CrouxHaesbroeck)
