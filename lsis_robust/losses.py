"""Binary surrogate losses in margin form, and the registry that names them.

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

import inspect
import math
from importlib import metadata
from typing import Callable

import numpy as np
from scipy.special import expit, log_expit, ndtr

__all__ = [
    "MarginLoss",
    "LR",
    "LSLR",
    "MLSLR",
    "LSQLR",
    "Bianco_Yohai",
    "Croux_Haesbroeck",
    "get_loss",
    "available_losses",
    "register_loss",
    "validate_alpha",
    "parse_loss_spec",
]


def validate_alpha(alpha, n_classes: int = 2) -> float:
    """Check a smoothing level against Theorem 1: [0, 1) or (1, K/(K-1)]."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
        raise TypeError(f"alpha must be a real number, got {type(alpha).__name__}")
    if not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    alpha = float(alpha)
    upper = n_classes / (n_classes - 1)
    if not math.isfinite(alpha) or alpha < 0 or alpha == 1 or alpha > upper:
        raise ValueError(
            f"alpha={alpha!r} is outside the valid range [0, 1) or (1, {upper:g}] "
            f"for K={n_classes} classes (Theorem 1; alpha=1 makes the smoothed "
            "distribution uniform and the model unidentifiable)"
        )
    return alpha


def _validate_c(c) -> float:
    if isinstance(c, bool) or not isinstance(c, (int, float, np.integer, np.floating)):
        raise TypeError(f"c must be a real number, got {type(c).__name__}")
    c = float(c)
    if not math.isfinite(c) or c <= 0:
        raise ValueError(f"c={c!r} is invalid: the tuning constant c must be a finite number > 0")
    return c


def _as_float_array(m):
    return np.asarray(m, dtype=np.float64)


def _sigmoid_pair(m):
    """sigma(m), sigma(-m) and sigma(m) sigma(-m), each accurate in its tail."""
    sp = expit(m)
    sn = expit(-m)
    return sp, sn, np.exp(log_expit(m) + log_expit(-m))


class MarginLoss:
    """Base class of binary margin losses phi(m), m = y x'beta.

    Subclasses implement ``phi``, ``dphi`` and ``d2phi`` (and ``rho`` where the
    loss is a rho-transform of the logistic loss).  ``__init__`` validates the
    tuning constants.  Class attributes describe the shape:

    bounded
        phi stays bounded as m -> -inf (the robust losses).
    convex
        phi is convex in m, so the estimator has a single minimum.
    smooth
        phi is twice continuously differentiable (CH and BY have a kink in
        phi'' at v = c, so Newton steps there are only piecewise exact).
    """

    name: str = "margin"
    bounded: bool = False
    convex: bool = True
    smooth: bool = True

    def _params(self) -> dict:
        sig = inspect.signature(type(self).__init__)
        return {
            name: getattr(self, name)
            for name, p in sig.parameters.items()
            if name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }

    def get_params(self) -> dict:
        return self._params()

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
        raise NotImplementedError

    def d2phi(self, m):
        raise NotImplementedError

    def has_rho(self) -> bool:
        return type(self).rho is not MarginLoss.rho

    def rho(self, v):
        raise NotImplementedError(f"{self!r} is not a rho-transform of the logistic loss")

    def weight(self, m):
        """Per-observation weight psi(v)/v relative to ML: phi'(m) / phi_LR'(m).

        It equals rho'(v) for rho-transformed losses: 1 for LR, and near 0 for
        observations that a bounded loss ignores.
        """
        m = _as_float_array(m)
        return self.dphi(m) / (-expit(-m))

    def link(self, s):
        """Probability model P(Y=+1 | score s) that this loss estimates consistently."""
        return expit(_as_float_array(s))


class LR(MarginLoss):
    r"""Logistic regression: phi(m) = -log sigma(m) (eq. 3 with K = 2).

    phi'(m) = -sigma(-m), phi''(m) = sigma(m) sigma(-m); rho(v) = v.
    """

    name = "lr"

    def phi(self, m):
        return -log_expit(_as_float_array(m))

    def dphi(self, m):
        return -expit(-_as_float_array(m))

    def d2phi(self, m):
        return _sigmoid_pair(_as_float_array(m))[2]

    def rho(self, v):
        return _as_float_array(v).copy()


class LSLR(MarginLoss):
    r"""Label-smoothed logistic regression (eq. 7-8 with K = 2).

    phi(m) = -(1 - alpha/2) log sigma(m) - (alpha/2) log sigma(-m),
    phi'(m) = -(1 - alpha/2) sigma(-m) + (alpha/2) sigma(m),
    phi''(m) = sigma(m) sigma(-m).
    Its consistent probability estimator is the R-logit model (eq. 10),
    s_alpha^{-1}(q_L), not the logit model.  alpha in [0, 1) or (1, 2].
    """

    name = "lslr"

    def __init__(self, alpha: float = 0.1):
        self.alpha = validate_alpha(alpha)

    def phi(self, m):
        m = _as_float_array(m)
        a = self.alpha / 2
        return -(1 - a) * log_expit(m) - a * log_expit(-m)

    def dphi(self, m):
        m = _as_float_array(m)
        a = self.alpha / 2
        return -(1 - a) * expit(-m) + a * expit(m)

    def d2phi(self, m):
        return _sigmoid_pair(_as_float_array(m))[2]

    def rho(self, v):
        v = _as_float_array(v)
        a = self.alpha / 2
        return (1 - a) * v - a * np.log(-np.expm1(-v))

    def link(self, s):
        """The R-logit model (eq. 10): (sigma(s) - alpha/2) / (1 - alpha); may leave [0, 1]."""
        return (expit(_as_float_array(s)) - self.alpha / 2) / (1 - self.alpha)


class MLSLR(MarginLoss):
    r"""Modified label-smoothed logistic regression (eq. 11 with K = 2).

    With u(m) = (1 - alpha) sigma(m) + alpha/2,
    phi(m) = -(1 - alpha/2) log u(m) - (alpha/2) log u(-m)
    = rho_MLS(phi_LR(m)) (eq. 25).  The logit model is kept as the
    probability estimator.  alpha in [0, 1) or (1, 2]; alpha = 0 is LR, and
    alpha -> 1 approaches LSQLR after rescaling (Theorem 2).
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

    def _log_u(self, m):
        """log u(m) for both signs of 1 - alpha, without cancellation."""
        al = self.alpha
        if al < 1:
            base = math.log(al / 2) if al > 0 else -np.inf
            return np.logaddexp(math.log1p(-al) + log_expit(m), base)
        # u(m) = (1 - alpha/2) + (alpha - 1) sigma(-m) for alpha > 1
        base = math.log1p(-al / 2) if al < 2 else -np.inf
        return np.logaddexp(base, math.log(al - 1) + log_expit(-m))

    def _ratio(self, m):
        """sigma(m) sigma(-m) / u(m), in log space."""
        return np.exp(log_expit(m) + log_expit(-m) - self._log_u(m))

    def phi(self, m):
        m = _as_float_array(m)
        a, b = 1 - self.alpha / 2, self.alpha / 2
        out = -b * self._log_u(-m)
        if a > 0:
            out = out - a * self._log_u(m)
        return out

    def dphi(self, m):
        m = _as_float_array(m)
        a, b = 1 - self.alpha / 2, self.alpha / 2
        g = self._ratio(m) if a > 0 else 0.0
        h = self._ratio(-m)
        return -(1 - self.alpha) * (a * g - b * h)

    def d2phi(self, m):
        m = _as_float_array(m)
        al = self.alpha
        a, b = 1 - al / 2, al / 2
        tanh = np.tanh(m / 2)  # d/dm [sigma(m) sigma(-m)] = -tanh(m/2) sigma(m) sigma(-m)
        h = self._ratio(-m)
        dh = -tanh * h + (1 - al) * h * h
        if a > 0:
            g = self._ratio(m)
            dg = -tanh * g - (1 - al) * g * g
        else:
            dg = 0.0
        return -(1 - al) * (a * dg - b * dh)

    def rho(self, v):
        v = _as_float_array(v)
        return self.phi(_margin_from_v(v))

    def link(self, s):
        return expit(_as_float_array(s))


def _margin_from_v(v):
    """Inverse of v = -log sigma(m): m = -log(e^v - 1), stable for small and large v."""
    v = _as_float_array(v)
    with np.errstate(divide="ignore"):
        return -np.where(v > 30, v + np.log1p(-np.exp(-v)), np.log(np.expm1(v)))


class LSQLR(MarginLoss):
    r"""Least-squares logistic regression, the Savage loss (eq. 12, K = 2).

    phi(m) = sigma(-m)^2 / 2 = 1 / (2 (1 + e^m)^2) = rho_LSQ(phi_LR(m)) with
    rho_LSQ(v) = (1 - e^{-v})^2 / 2 (eq. 25).  Eq. (12) with K = 2 sums two
    equal squared residuals, so it equals 4 phi(m).
    phi'(m) = -sigma(-m)^2 sigma(m),
    phi''(m) = sigma(m) sigma(-m)^2 (2 sigma(m) - sigma(-m)).
    """

    name = "lsqlr"
    bounded = True
    convex = False

    def phi(self, m):
        return 0.5 * expit(-_as_float_array(m)) ** 2

    def dphi(self, m):
        m = _as_float_array(m)
        return -expit(-m) ** 2 * expit(m)

    def d2phi(self, m):
        sp, sn, s2 = _sigmoid_pair(_as_float_array(m))
        return s2 * sn * (2 * sp - sn)

    def rho(self, v):
        return 0.5 * np.expm1(-_as_float_array(v)) ** 2


class _BoundedRhoLoss(MarginLoss):
    r"""Common part of Bianco-Yohai type losses (eq. 22):

    phi(m) = zeta1(v) + eta(sigma(m)) + eta(sigma(-m)),  v = phi_LR(m),
    eta(t) = int_0^t psi(-log u) du,  psi = zeta1'.
    Differentiating gives phi'(m) = -sigma(-m) [sigma(-m) psi(v) + sigma(m) psi(vbar)]
    with vbar = phi_LR(-m), and phi'' follows with psi'.  The bias correction
    eta makes the estimator Fisher-consistent under the logistic model.
    """

    bounded = True
    convex = False
    smooth = False

    def __init__(self, c: float = 0.5):
        self.c = _validate_c(c)

    def phi(self, m):
        m = _as_float_array(m)
        v = -log_expit(m)
        return self.zeta1(v) + self.eta(expit(m), v) + self.eta(expit(-m), -log_expit(-m))

    def dphi(self, m):
        m = _as_float_array(m)
        sp, sn, _ = _sigmoid_pair(m)
        v, vbar = -log_expit(m), -log_expit(-m)
        return -sn * (sn * self.psi(v) + sp * self.psi(vbar))

    def d2phi(self, m):
        m = _as_float_array(m)
        sp, sn, s2 = _sigmoid_pair(m)
        v, vbar = -log_expit(m), -log_expit(-m)
        return (
            2 * sn * s2 * self.psi(v)
            + sn**3 * self.dpsi(v)
            - s2 * (sn - sp) * self.psi(vbar)
            - s2 * sp * self.dpsi(vbar)
        )

    def rho(self, v):
        v = _as_float_array(v)
        t = np.exp(-v)
        one_minus_t = -np.expm1(-v)
        with np.errstate(divide="ignore"):
            vbar = -np.log(one_minus_t)
        return self.zeta1(v) + self.eta(t, v) + self.eta(one_minus_t, vbar)


class Bianco_Yohai(_BoundedRhoLoss):
    r"""Bianco and Yohai (1996) loss, eq. (22)-(24), tuning constant c > 0.

    zeta1(v) = v - v^2/(2c) for v <= c, c/2 for v > c;
    psi(v) = (1 - v/c)_+;
    eta(t) = 0 for t <= e^{-c}, t (1 - 1/c) + t log(t)/c + e^{-c}/c above,
    which is eq. (24)'s zeta2.
    """

    name = "by"

    def zeta1(self, v):
        c = self.c
        return np.where(v <= c, v - v * v / (2 * c), c / 2)

    def psi(self, v):
        return np.clip(1 - v / self.c, 0.0, None)

    def dpsi(self, v):
        return np.where(v < self.c, -1.0 / self.c, 0.0)

    def eta(self, t, neg_log_t):
        """eta(t) with -log t passed in, so the test t > e^{-c} is exact in the tails."""
        c = self.c
        with np.errstate(divide="ignore", invalid="ignore"):
            val = t * (1 - 1 / c) - t * neg_log_t / c + math.exp(-c) / c
        return np.where(neg_log_t < c, val, 0.0)


class Croux_Haesbroeck(_BoundedRhoLoss):
    r"""Croux and Haesbroeck (2003) loss, the objective of robustbase's
    ``glmrob(method = "BY")``; tuning constant c > 0 (robustbase's 0.5).

    zeta1(v) = v e^{-sqrt c} for v <= c,
    -2 e^{-sqrt v}(1 + sqrt v) + e^{-sqrt c}(2 (1 + sqrt c) + c) for v > c;
    psi(v) = exp(-sqrt(max(v, c)));
    eta(t) = t psi(-log t) + e^{1/4} sqrt(pi) (Phi(sqrt2 (1/2 + sqrt(max(-log t, c)))) - 1).
    psi has a kink at v = c, so phi is C1 but not C2 there.
    """

    name = "ch"

    def zeta1(self, v):
        c = self.c
        sc = math.sqrt(c)
        sv = np.sqrt(np.maximum(v, c))
        upper = -2 * np.exp(-sv) * (1 + sv) + math.exp(-sc) * (2 * (1 + sc) + c)
        return np.where(v <= c, v * math.exp(-sc), upper)

    def psi(self, v):
        return np.exp(-np.sqrt(np.maximum(v, self.c)))

    def dpsi(self, v):
        sv = np.sqrt(np.maximum(v, self.c))
        return np.where(v > self.c, -np.exp(-sv) / (2 * sv), 0.0)

    def eta(self, t, neg_log_t):
        s = np.sqrt(np.maximum(neg_log_t, self.c))
        # Phi(x) - 1 = -Phi(-x) keeps the small tail value accurate.
        return t * np.exp(-s) - math.exp(0.25) * math.sqrt(math.pi) * ndtr(-math.sqrt(2) * (0.5 + s))


# ---------------------------------------------------------------- registry

_REGISTRY: dict[str, Callable[..., MarginLoss]] = {}
_ENTRY_POINTS_LOADED = False
ENTRY_POINT_GROUP = "lsis_robust.losses"


def register_loss(name: str, *, overwrite: bool = False):
    """Decorator that registers a loss class or factory under ``name``.

    The decorated object is called with the loss's parameters and must return
    a :class:`MarginLoss` (or an object with ``phi``, ``dphi`` and ``d2phi``).

    >>> @register_loss("savage2")
    ... class Savage2(MarginLoss):
    ...     def phi(self, m): ...
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"loss name must be a Python identifier string, got {name!r}")
    key = name.lower()

    def decorator(factory):
        if not callable(factory):
            raise TypeError(f"register_loss({name!r}) needs a class or callable, got {type(factory).__name__}")
        if key in _REGISTRY and not overwrite and _REGISTRY[key] is not factory:
            raise ValueError(f"a loss named {name!r} is already registered; pass overwrite=True to replace it")
        _REGISTRY[key] = factory
        if isinstance(factory, type) and issubclass(factory, MarginLoss) and factory.name == "margin":
            factory.name = key
        return factory

    return decorator


for _cls in (LR, LSLR, MLSLR, LSQLR, Bianco_Yohai, Croux_Haesbroeck):
    register_loss(_cls.name)(_cls)


def _load_entry_points() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name.lower() not in _REGISTRY:
            try:
                register_loss(ep.name)(ep.load())
            except Exception as exc:  # a broken plug-in must not break the suite
                import warnings

                warnings.warn(f"could not load loss entry point {ep.name!r} ({ep.value}): {exc}")


def available_losses() -> list[str]:
    """Names of all registered losses, built-in, decorated and from entry points."""
    _load_entry_points()
    return sorted(_REGISTRY)


def get_loss(name, **params) -> MarginLoss:
    """Instantiate the registered loss ``name`` with ``params``.

    ``name`` may also be a :class:`MarginLoss` instance (returned unchanged if
    no params are given).  Unknown names and parameters raise ``ValueError``.
    """
    if isinstance(name, MarginLoss) or (hasattr(name, "phi") and hasattr(name, "dphi") and not isinstance(name, str)):
        if params:
            raise ValueError("parameters cannot be given together with a loss instance")
        return name
    if not isinstance(name, str):
        raise TypeError(f"loss must be a registered name (str) or a MarginLoss, got {type(name).__name__}")
    _load_entry_points()
    key = name.lower()
    if key not in _REGISTRY:
        raise ValueError(f"unknown loss {name!r}; available losses: {', '.join(available_losses())}")
    factory = _REGISTRY[key]
    try:
        sig = inspect.signature(factory)
        accepts_kwargs = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
        allowed = [p for p in sig.parameters if p != "self"]
    except (TypeError, ValueError):
        accepts_kwargs, allowed = True, []
    unknown = [k for k in params if k not in allowed]
    if unknown and not accepts_kwargs:
        raise ValueError(
            f"loss {name!r} does not take parameter(s) {', '.join(unknown)}; "
            f"it takes: {', '.join(allowed) or 'no parameters'}"
        )
    return factory(**params)


def parse_loss_spec(spec: str) -> MarginLoss:
    """Parse ``"name"`` or ``"name:param=value,param=value"`` into a loss."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"loss spec must be a non-empty string like 'mlslr:alpha=0.4', got {spec!r}")
    name, _, rest = spec.partition(":")
    params = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"bad loss parameter {item!r} in {spec!r}: expected param=value")
        try:
            params[key.strip()] = float(value)
        except ValueError:
            raise ValueError(f"bad value {value!r} for parameter {key!r} in {spec!r}: expected a number") from None
    return get_loss(name.strip(), **params)
