"""Losses written by users: wrap a margin function phi(m) into a full, validated MarginLoss.

A user loss needs only phi(m), the loss at margin m = y x'beta with labels
y in {-1, +1}.  It may be given as

* a function ``phi(m, param=default, ...)`` (its first parameter is the
  margin; the others are the loss's tuning parameters);
* a class whose instances have a ``phi`` method (optionally ``dphi`` and
  ``d2phi``), built with the loss's parameters;
* a :class:`~lsis_robust.losses.MarginLoss` subclass or instance;
* a factory taking only tuning parameters and returning one of the above.

Missing derivatives come from automatic differentiation in float64 with
torch when phi is written with torch operations (``torch.exp``,
``torch.nn.functional.softplus``, ``torch.where``, arithmetic).  A phi
written with numpy gets numerical ones instead: phi' by the complex step
where numpy's complex arithmetic makes that exact, else by Ridders'
Richardson-extrapolated central differences, and phi'' by Ridders'
differences; :func:`_check_numerical` decides whether they can be trusted
and locates kinks of phi' (``examples/README.md`` gives the details).

Every loss is checked once, when it is first built with a set of
parameters (for a loss whose parameters all have defaults, that is at
registration): phi must be finite and non-negative, phi' and phi'' must
match central finite differences, phi must be non-increasing in the margin
and strictly decreasing at 0 (classification calibration).  A failed check
raises :class:`LossValidationError` naming the check and the margin.

Optional attributes of the user's object (or function): ``bounded``,
``convex`` (both inferred when absent), ``smooth``, ``kink_margins`` (margins
where phi'' jumps; finite-difference checks skip them and the quadrature of
:mod:`lsis_robust.theory` splits there) and ``kclass(logits, target,
reduction="mean", **params)``, a K-class torch form used by the deep-network
benchmark.

Naming, registering and importing losses is :mod:`lsis_robust.registry`'s
work (``@register_loss("name")``, ``package.module:object`` import paths and
entry points, see ``examples/README.md``); it calls :func:`loss_factory`.
This module sits below it and never imports it.
"""
from __future__ import annotations

import functools
import inspect

import numpy as np

from .losses import MarginLoss, code_files_outside_package

__all__ = ["UserLoss", "LossValidationError", "as_margin_loss", "loss_factory", "validate_loss", "CHECK_MARGINS"]

# Step 0.1 from -30 to 30, so integers and 0 (where users put kinks) are exact grid points.
CHECK_MARGINS = np.arange(-300, 301, dtype=np.float64) / 10
# Estimators meet huge margins on separated or contaminated data; phi must stay finite there too.
TAIL_MARGINS = np.array([-1e4, -1e3, -300.0, -100.0, 100.0, 300.0, 1e3, 1e4])
_FD_STEP = 1e-5
_FD_RTOL = 1e-5


class LossValidationError(ValueError):
    """A user loss failed one of the checks; ``check`` and ``margin`` say which and where."""

    def __init__(self, loss_name, check, margin, detail):
        self.loss_name, self.check, self.margin = loss_name, check, margin
        where = f" at margin m = {margin:g}" if margin is not None else ""
        super().__init__(f"loss {loss_name!r} failed the {check!r} check{where}: {detail}")


def _to_numpy(value, shape, what):
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must return numbers, got {type(value).__name__}: {exc}") from None
    if arr.shape != shape:
        try:
            arr = np.broadcast_to(arr, shape)
        except ValueError:
            raise ValueError(f"{what} must act elementwise: for margins of shape {shape} it returned shape "
                             f"{arr.shape}") from None
    return arr


def _autodiff(fn, m, order, what):
    """fn and its first ``order`` derivatives at the numpy margins m, by float64 torch autograd.

    fn is elementwise, so the gradient of sum(fn(t)) is fn'(t) element by element.
    """
    import torch

    # Callers may be inside torch.no_grad() (the paper protocol's Adam loop); the derivatives still need a graph.
    with torch.enable_grad():
        return _autodiff_graph(fn, m, order, what, torch)


def _autodiff_graph(fn, m, order, what, torch):
    t = torch.tensor(m.ravel(), dtype=torch.float64, requires_grad=True)
    try:
        y = fn(t)
    except Exception as exc:
        raise TypeError(f"{what} could not be evaluated on a torch float64 tensor ({type(exc).__name__}: {exc}); "
                        "write it with torch operations (torch.exp, torch.nn.functional.softplus, torch.where, "
                        "arithmetic) or numpy ones on arrays so that missing derivatives can be computed, or give "
                        "dphi and d2phi") from None
    if not isinstance(y, torch.Tensor) or not y.requires_grad:
        raise TypeError(f"{what} returned {type(y).__name__} without a gradient for a torch tensor input; write it "
                        "with torch operations so that missing derivatives can be computed, or give dphi and d2phi")
    if y.shape != t.shape:
        raise ValueError(f"{what} must act elementwise: for {t.numel()} margins it returned shape {tuple(y.shape)}")
    y = y.to(torch.float64)
    out = [y]
    cur = y
    for k in range(order):
        if not cur.requires_grad:  # a derivative that no longer depends on m is zero from here on
            out.append(torch.zeros_like(t))
            cur = out[-1]
            continue
        (g,) = torch.autograd.grad(cur.sum(), t, create_graph=k + 1 < order, allow_unused=True)
        cur = torch.zeros_like(t) if g is None else g
        out.append(cur)
    return tuple(o.detach().numpy().reshape(m.shape) for o in out)


def _torch_differentiable(fn):
    """True when fn evaluates on a float64 torch tensor and returns a tensor carrying its gradient."""
    import torch

    t = torch.tensor([0.0, 1.0], dtype=torch.float64, requires_grad=True)
    try:
        y = fn(t)
    except Exception:
        return False
    return isinstance(y, torch.Tensor) and y.requires_grad


def _accepts_numpy(fn):
    """True when fn evaluates on a numpy array and returns numbers (else it is torch-only)."""
    try:
        out = fn(np.array([0.0, 1.0]))
    except Exception:
        return False
    return not hasattr(out, "detach") and np.shape(out) in ((2,), ())


# Numerical derivatives of a phi written with numpy (no torch autodiff).  The complex step
# phi'(m) = Im phi(m + ih) / h has no cancellation, so it is exact to rounding at h = 1e-20, but only
# for phi analytic in m and written with functions numpy extends to complex input; anything else
# (np.abs, np.logaddexp, branches on the real part) gets Ridders' Richardson-extrapolated differences.
_CS_STEP = 1e-20
_RIDDERS_CON, _RIDDERS_NTAB, _RIDDERS_NTAB_EXACT = 1.6, 10, 20
# A numerical derivative whose Ridders error estimate exceeds this, relative to the derivative's largest
# size on [-30, 30], cannot be trusted: phi is noisy or not smooth there.  Measured: smooth losses stay
# below 4e-7 (phi') and 1.5e-4 (phi'', Tukey's loss without the complex step, at the kink of its phi'');
# an undeclared jump of phi'' of 0.1 (without the complex step) reaches 5e-3 on phi''.
_NUM_RTOL = {"phi'": 1e-5, "phi''": 1e-3}
_GAUSS_X, _GAUSS_W = np.polynomial.legendre.leggauss(6)
# Spacing 2.5e-3, below twice Ridders' smallest step on [-1, 1] (0.1 / 1.6**9 = 1.5e-3).
_DENSE_MARGINS = np.linspace(-30.0, 30.0, 24001)


def _ridders(diff, h0, p, ntab=_RIDDERS_NTAB):
    """Ridders' extrapolation of ``diff(h)`` to h -> 0 for an error series in powers of h**p.

    Vectorised over margins (``h0`` is an array); returns (estimate, error estimate), each entry the
    tableau element with the smallest error estimate.
    """
    fac0 = _RIDDERS_CON ** p
    prev = [diff(h0)]
    best, err = prev[0], np.full(np.shape(h0), np.inf)
    h = h0
    for _ in range(1, ntab):
        h = h / _RIDDERS_CON
        row, fac = [diff(h)], fac0
        for j in range(1, len(prev) + 1):
            row.append((row[j - 1] * fac - prev[j - 1]) / (fac - 1))
            fac *= fac0
            e = np.maximum(np.abs(row[j] - row[j - 1]), np.abs(row[j] - prev[j - 1]))
            better = e <= err
            best, err = np.where(better, row[j], best), np.where(better, e, err)
        prev = row
    return best, err


class _NumericalDerivatives:
    """phi' and phi'' of a numpy phi with error estimates; steps scale with |m| and never cross a kink."""

    def __init__(self, phi, raw_phi, dphi=None):
        # phi returns float64 arrays (checked); raw_phi is the user's function, which may return complex ones.
        self.phi, self.raw_phi, self.dphi = phi, raw_phi, dphi
        self.kinks = np.empty(0)
        self.complex_step = dphi is None and self._accepts_complex()

    def _accepts_complex(self):
        try:
            with np.errstate(all="ignore"):
                z = np.asarray(self.raw_phi(np.array([-1.0, 0.5, 2.0]) + 1j * _CS_STEP))
        except Exception:
            return False
        return np.iscomplexobj(z) and z.shape == (3,) and np.all(np.isfinite(z))

    def _steps(self, m):
        """Initial steps: 0.1 max(1, |m|), shrunk so that m +- 2h stays on one side of every kink."""
        h0 = 0.1 * np.maximum(1.0, np.abs(m))
        side = np.zeros(m.shape)  # 0: central differences; +1 / -1: one-sided from the right / left
        for k in self.kinks:
            dist = np.abs(m - k)
            near = dist < 2 * h0
            central = near & (dist >= 1e-3 * np.maximum(1.0, np.abs(m)))
            h0 = np.where(central, dist / 2.5, h0)
            onesided = near & ~central
            side = np.where(onesided, np.where(m >= k, 1.0, -1.0), side)
            h0 = np.where(onesided, 0.1 * np.maximum(1.0, np.abs(m)), h0)
        return h0, side

    def _d1_real(self, m):
        h0, side = self._steps(m)
        f = self.phi
        d, e = _ridders(lambda h: (f(m + h) - f(m - h)) / (2 * h), h0, 2)
        if np.any(side != 0):
            s = np.where(side == 0, 1.0, side)
            d1, e1 = _ridders(lambda h: (f(m + s * h) - f(m)) / (s * h), h0 / 4, 1)
            d, e = np.where(side != 0, d1, d), np.where(side != 0, e1, e)
        return d, e

    def d1(self, m):
        """(phi'(m), error estimate)."""
        if self.dphi is not None:
            return self.dphi(m), np.zeros(m.shape)
        if self.complex_step:
            with np.errstate(all="ignore"):
                return np.imag(np.asarray(self.raw_phi(m + 1j * _CS_STEP))) / _CS_STEP, np.zeros(m.shape)
        return self._d1_real(m)

    def d2(self, m):
        """(phi''(m), error estimate): differences of phi' when it is exact (complex step or given), else of phi."""
        h0, side = self._steps(m)
        if self.complex_step or self.dphi is not None:
            g = lambda x: self.d1(x)[0]  # noqa: E731
            # phi' is exact to rounding, so the steps can go down to ~1e-5 |m|: near a kink of phi'' (a jump of
            # phi''', as in Tukey's loss) only steps below the distance to it extrapolate correctly.
            d, e = _ridders(lambda h: (g(m + h) - g(m - h)) / (2 * h), h0, 2, _RIDDERS_NTAB_EXACT)
            s = np.where(side == 0, 1.0, side)
            one = lambda h: (g(m + s * h) - g(m)) / (s * h)  # noqa: E731
        else:
            f = self.phi
            d, e = _ridders(lambda h: (f(m + h) - 2 * f(m) + f(m - h)) / (h * h), h0, 2)
            s = np.where(side == 0, 1.0, side)
            one = lambda h: (f(m + 2 * s * h) - 2 * f(m + s * h) + f(m)) / (h * h)  # noqa: E731
        if np.any(side != 0):
            d1, e1 = _ridders(one, h0 / 4, 1)
            d, e = np.where(side != 0, d1, d), np.where(side != 0, e1, e)
        return d, e

    def locate_kink(self, a, b):
        """The margin in (a, b) where phi'' jumps, or None if phi'' is continuous there.

        Needs an exact phi' (complex step or given): the interval is cut into 64 pieces, the piece with
        the largest change of phi'' (central differences of phi' with a step far below the piece) is
        kept, four times over, down to a width of about 4e-8 (a - b).  A jump keeps its size at every
        level; a merely steep phi'' shrinks by 64 per level.
        """
        if not (self.complex_step or self.dphi is not None):
            return None
        g = lambda x: self.d1(x)[0]  # noqa: E731
        first = None
        for _ in range(4):
            x = np.linspace(a, b, 65)
            h = (b - a) / 6400
            with np.errstate(all="ignore"):
                d2 = (g(x + h) - g(x - h)) / (2 * h)
            jumps = np.abs(np.diff(d2))
            i = int(np.argmax(jumps))
            first = jumps[i] if first is None else first
            a, b = x[i], x[i + 1]
        return 0.5 * (a + b) if jumps[i] >= 0.5 * first else None


class UserLoss(MarginLoss):
    """A :class:`MarginLoss` from a user's phi, with given or automatic (torch float64) derivatives.

    ``params`` are the tuning parameters already bound into ``phi`` (reported
    by ``get_params``); ``kclass`` is the optional K-class torch form.
    """

    def __init__(self, phi, dphi=None, d2phi=None, *, name="user", params=None, bounded=None, convex=None,
                 smooth=True, kink_margins=None, kclass=None):
        for label, fn in (("phi", phi), ("dphi", dphi), ("d2phi", d2phi), ("kclass", kclass)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{label} must be callable, got {type(fn).__name__}")
        if phi is None:
            raise TypeError("a user loss needs phi(m)")
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        self.name = name
        self._phi, self._dphi, self._d2phi = phi, dphi, d2phi
        self._user_params = dict(params or {})
        self.smooth = bool(smooth)
        self.kink_margins = None if kink_margins is None else np.asarray(kink_margins, dtype=np.float64).ravel()
        self._kclass = kclass
        self._numpy = {k: fn is not None and _accepts_numpy(fn) for k, fn in (("phi", phi), ("dphi", dphi),
                                                                              ("d2phi", d2phi))}
        missing = dphi is None or d2phi is None
        # A numpy phi (it does not evaluate on torch tensors with a gradient) gets numerical derivatives.
        self._numerical = (_NumericalDerivatives(self.phi, phi, None if dphi is None else self.dphi)
                           if missing and self._numpy["phi"] and not _torch_differentiable(phi) else None)
        if self._numerical is not None and self.kink_margins is not None:
            self._numerical.kinks = self.kink_margins
        self.autodiff = missing and self._numerical is None
        # Shape flags default to what the checks measure (validate_loss fills them in).
        self._bounded, self._convex = bounded, convex

    def kinks(self):
        """The declared (or located, for a numpy phi) ``kink_margins``."""
        return np.empty(0) if self.kink_margins is None else self.kink_margins

    def kclass(self):
        return self._kclass

    def torch_binary(self):
        """A torch phi as written, with its torch phi' or, without one, phi' by autodiff; None for a numpy phi.

        The paper protocol then compiles the user's loss like a built-in one
        (a numpy phi is evaluated eagerly in float64 instead).
        """
        if not _torch_differentiable(self._phi):
            return None
        import torch

        phi = self._phi
        if self._dphi is not None and _torch_differentiable(self._dphi):
            return phi, self._dphi

        def dphi(m):
            with torch.enable_grad():
                leaf = m.detach().requires_grad_(True)
                (grad,) = torch.autograd.grad(phi(leaf).sum(), leaf)
            return grad

        return phi, dphi

    def source_files(self):
        """The user's files: this class is the package's, its phi and derivatives are the user's."""
        return code_files_outside_package([type(self), self._phi, self._dphi, self._d2phi])

    # MarginLoss reads parameters from __init__'s signature; a user loss reports its bound tuning parameters.
    def _params(self) -> dict:
        return dict(self._user_params)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._user_params.items())
        return f"{self.name}({args})"

    def __eq__(self, other) -> bool:
        return (isinstance(other, UserLoss) and self.name == other.name and self._phi == other._phi
                and self._user_params == other._user_params)

    def __hash__(self) -> int:
        return hash((self.name, tuple(sorted(self._user_params.items()))))

    @property
    def bounded(self):
        return bool(self._bounded)

    @property
    def convex(self):
        return bool(self._convex)

    def _eval(self, key, fn, m):
        if self._numpy[key]:
            return _to_numpy(fn(m), m.shape, key)
        import torch

        with torch.no_grad():
            return _to_numpy(fn(torch.as_tensor(m, dtype=torch.float64)), m.shape, key)

    def phi(self, m):
        m = np.asarray(m, dtype=np.float64)
        return self._eval("phi", self._phi, m)

    @property
    def numerical(self):
        """True when phi' or phi'' are numerical (complex step or Ridders differences of a numpy phi)."""
        return self._numerical is not None

    def numerical_derivatives(self, m):
        """(phi', error estimate, phi'', error estimate) at margins m, for a loss with numerical derivatives."""
        m = np.asarray(m, dtype=np.float64)
        with np.errstate(all="ignore"):
            return (*self._numerical.d1(m), *self._numerical.d2(m))

    def derivatives(self, m):
        m = np.asarray(m, dtype=np.float64)
        if self._numerical is not None:
            with np.errstate(all="ignore"):
                d1 = self._numerical.d1(m)[0] if self._dphi is None else self._eval("dphi", self._dphi, m)
                d2 = self._numerical.d2(m)[0]
            return self.phi(m), d1, d2
        if not self.autodiff:
            return self.phi(m), self._eval("dphi", self._dphi, m), self._eval("d2phi", self._d2phi, m)
        phi, d1, d2 = _autodiff(self._phi, m, 2, f"phi of loss {self.name!r}")
        if self._dphi is not None:
            d1 = self._eval("dphi", self._dphi, m)
        return phi, d1, d2

    def dphi(self, m):
        m = np.asarray(m, dtype=np.float64)
        if self._dphi is not None:
            return self._eval("dphi", self._dphi, m)
        if self._numerical is not None:
            with np.errstate(all="ignore"):
                return self._numerical.d1(m)[0]
        return _autodiff(self._phi, m, 1, f"phi of loss {self.name!r}")[1]

    def d2phi(self, m):
        m = np.asarray(m, dtype=np.float64)
        if self._d2phi is not None:
            return self._eval("d2phi", self._d2phi, m)
        return self.derivatives(m)[2]

    def derivative_source(self) -> str:
        given = [k for k, fn in (("phi'", self._dphi), ("phi''", self._d2phi)) if fn is not None]
        missing = [k for k in ("phi'", "phi''") if k not in given]
        if not missing:
            return "analytic (given)"
        if self._numerical is not None:
            how = {"phi'": ("complex step" if self._numerical.complex_step
                            else "Ridders-extrapolated central differences"),
                   "phi''": ("Ridders-extrapolated central differences of phi'" if self._numerical.complex_step
                             or self._dphi is not None else "Ridders-extrapolated second differences")}
            return "; ".join([f"{k} numerical ({how[k]}, numpy phi)" for k in missing] + [f"{k} given" for k in given])
        return f"{', '.join(missing)} by torch float64 autodiff" + (f"; {', '.join(given)} given" if given else "")


def _first_bad(mask, margins):
    idx = np.flatnonzero(mask)
    return None if idx.size == 0 else (int(idx[0]), float(margins.ravel()[idx[0]]))


def _gauss(fn, a, b, pieces=1):
    """Integrals of fn over the intervals [a_i, b_i] by six-point Gauss-Legendre on ``pieces`` equal panels."""
    edges = a[:, None] + (b - a)[:, None] * np.linspace(0, 1, pieces + 1)[None, :]
    mid, half = 0.5 * (edges[:, 1:] + edges[:, :-1]), 0.5 * (edges[:, 1:] - edges[:, :-1])
    x = mid[..., None] + half[..., None] * _GAUSS_X
    return (half * (np.asarray(fn(x.ravel())).reshape(x.shape) @ _GAUSS_W)).sum(axis=1)


def _gaps(f, df, a, b, tol):
    """|f(b) - f(a) - integral of df| per interval; where it exceeds tol, recomputed on 64 panels.

    Where df or its derivative has a kink, one Gauss panel errs by up to ~1e-6; that error shrinks
    with the panels, while a jump of f stays whole.
    """
    fa, fb = f(a), f(b)
    gap = np.abs(fb - fa - _gauss(df, a, b))
    redo = np.flatnonzero(~(gap <= tol))
    if redo.size:
        gap[redo] = np.abs(fb[redo] - fa[redo] - _gauss(df, a[redo], b[redo], 64))
    return gap


def _check_numerical(loss, name, values):
    """Trust checks for numerical derivatives (UserLoss.numerical); locate the kinks of phi'.

    1. The complex step is kept only where it agrees with Ridders' real differences on the whole grid:
       numpy accepts complex input in functions that are not analytic there (np.abs, np.maximum), and
       gives a wrong phi' without any error.
    2. phi' must integrate to phi and phi'' to phi' between neighbouring grid margins (6-point Gauss):
       a jump of phi or phi' anywhere on [-30, 30], even between grid points, fails here, named by
       the interval.  Where only phi'' jumps (phi' continuous, as in Croux-Haesbroeck), the jump is
       located (:meth:`_NumericalDerivatives.locate_kink`) and recorded in ``kink_margins``, which then
       keeps difference steps on one side of it; without an exact phi' (no complex step) it cannot be
       located, and must be declared.
    3. Ridders' error estimate of phi' and phi'' on the grid and in the tails must be small: noise in phi
       makes it large.
    """
    num = loss._numerical
    grid, everywhere = CHECK_MARGINS, np.concatenate([CHECK_MARGINS, TAIL_MARGINS])
    scale = max(1.0, float(np.max(np.abs(values))))
    if num.complex_step:
        with np.errstate(all="ignore"):
            exact = num.d1(grid)[0]
            real, err = num._d1_real(grid)
        if np.any(~(np.abs(exact - real) <= 10 * err + 1e-6 * (scale + np.abs(real)))):
            num.complex_step = False
    with np.errstate(all="ignore"):
        d1 = lambda x: num.d1(x)[0]  # noqa: E731
        d2 = lambda x: num.d2(x)[0]  # noqa: E731
        a, b = grid[:-1], grid[1:]
        gap1 = _gaps(loss.phi, d1, a, b, 1e-7 * scale)
        bad = _first_bad(~(gap1 <= 1e-7 * scale), a)
        if bad:
            raise LossValidationError(name, "derivative", bad[1],
                                      f"phi changes by {gap1[bad[0]]:.3g} more between m = {a[bad[0]]:g} and "
                                      f"{b[bad[0]]:g} than its numerical derivative phi' integrates to; phi jumps "
                                      "there (or is noisy), so its derivatives cannot be computed numerically")
        scale1 = max(1.0, float(np.max(np.abs(d1(grid)))))
        gap2 = _gaps(d1, d2, a, b, 1e-6 * scale1)
        for i in np.flatnonzero(~(gap2 <= 1e-6 * scale1)):
            if np.any((num.kinks >= a[i]) & (num.kinks <= b[i])):
                continue
            k = num.locate_kink(a[i], b[i])
            if k is None:
                raise LossValidationError(
                    name, "derivative", float(a[i]),
                    f"phi' changes by {gap2[i]:.3g} more between m = {a[i]:g} and {b[i]:g} than its numerical "
                    "derivative phi'' integrates to; phi' jumps there, or phi'' jumps" + (
                        "" if num.complex_step else " and cannot be located without an exact phi' (phi rejects "
                        "complex input, or is not analytic for it): declare kink_margins"))
            num.kinks = np.sort(np.append(num.kinks, k))
        loss.kink_margins = num.kinks if num.kinks.size else loss.kink_margins
        # Between grid margins too: a jump of phi'' smears the differences within a step of it, which only
        # the error estimate shows, so the grid there is finer than the smallest difference step.
        everywhere = np.concatenate([_DENSE_MARGINS, TAIL_MARGINS])
        e1d, e1, e2d, e2 = loss.numerical_derivatives(everywhere)
    near_kink = np.zeros(everywhere.shape, dtype=bool)
    for k in num.kinks:
        near_kink |= np.abs(everywhere - k) <= 1e-6 * max(1.0, abs(k))
    for label, est, err in (("phi'", e1d, e1), ("phi''", e2d, e2)):
        size = max(float(np.max(np.abs(est[np.isfinite(est)]), initial=0.0)), np.finfo(float).tiny)
        bad = _first_bad(~(err <= _NUM_RTOL[label] * size) & ~near_kink, everywhere)
        if bad:
            raise LossValidationError(name, "derivative", bad[1],
                                      f"the numerical {label}(m) = {est[bad[0]]:.10g} has error estimate "
                                      f"{err[bad[0]]:.3g}; phi is noisy or not smooth there, so its derivatives "
                                      "cannot be computed numerically (declare kink_margins where phi'' jumps on "
                                      "purpose; otherwise give dphi and d2phi, or write phi with torch)")


def validate_loss(loss, name=None):
    """Run the checks on a loss (any object with phi, dphi, d2phi); raise LossValidationError on failure.

    Checks, in order: 'finite' (phi finite on [-30, 30] and at +-100 ... +-1e4),
    'nonnegative' (phi >= 0), 'derivative' (phi' and phi'' against central
    differences of phi and phi', away from declared kink margins),
    'decreasing' (phi' <= 0: a bounded classification-calibrated loss never
    rewards a larger margin with a larger loss) and 'calibrated' (phi'(0) < 0).
    Returns a dict of what was measured (bounded, convex, scale).
    """
    name = name or getattr(loss, "name", type(loss).__name__)
    grid = CHECK_MARGINS
    everywhere = np.concatenate([grid, TAIL_MARGINS])
    with np.errstate(all="ignore"):
        values = np.asarray(loss.phi(everywhere), dtype=np.float64)
    bad = _first_bad(~np.isfinite(values), everywhere)
    if bad:
        raise LossValidationError(name, "finite", bad[1], f"phi(m) = {float(values[bad[0]])!r} is not a finite number")
    bad = _first_bad(values < -1e-12, everywhere)
    if bad:
        raise LossValidationError(name, "nonnegative", bad[1],
                                  f"phi(m) = {values[bad[0]]:.6g} < 0; a loss must be non-negative")
    if isinstance(loss, UserLoss) and loss.numerical:
        _check_numerical(loss, name, values)
    with np.errstate(all="ignore"):
        _, d1, d2 = (np.asarray(v, dtype=np.float64) for v in loss.derivatives(grid))
    for label, arr in (("phi'", d1), ("phi''", d2)):
        bad = _first_bad(~np.isfinite(arr), grid)
        if bad:
            raise LossValidationError(name, "finite", bad[1], f"{label}(m) = {float(arr[bad[0]])!r} is not a finite number")
    h = _FD_STEP
    fd1 = (loss.phi(grid + h) - loss.phi(grid - h)) / (2 * h)
    fd2 = (np.asarray(loss.dphi(grid + h)) - np.asarray(loss.dphi(grid - h))) / (2 * h)
    scale = max(1.0, float(np.max(np.abs(values[: grid.size]))), float(np.max(np.abs(d1))))
    if isinstance(loss, MarginLoss):
        kinks = np.asarray(loss.kinks(), dtype=np.float64)
    else:  # a plain object declares them as the attribute kink_margins, as user losses do
        kinks = getattr(loss, "kink_margins", None)
        kinks = np.asarray(kinks() if callable(kinks) else (kinks if kinks is not None else []), dtype=np.float64)
    near_kink = np.zeros(grid.shape, dtype=bool)
    for k in kinks.ravel():
        near_kink |= np.abs(grid - k) <= 2 * h
    source = loss.derivative_source() if isinstance(loss, UserLoss) else "given"
    for label, exact, approx in (("phi'", d1, fd1), ("phi''", d2, fd2)):
        err = np.abs(exact - approx)
        bad = _first_bad((err > _FD_RTOL * (scale + np.abs(approx))) & ~near_kink, grid)
        if bad:
            i = bad[0]
            raise LossValidationError(
                name, "derivative", bad[1],
                f"{label}(m) = {exact[i]:.10g} ({source}) but the central difference with step {h:g} gives "
                f"{approx[i]:.10g}; phi is not differentiable there or the given derivative is wrong (declare "
                "kink_margins for margins where phi'' jumps on purpose)")
    bad = _first_bad(d1 > 1e-10 * scale, grid)
    if bad:
        raise LossValidationError(name, "decreasing", bad[1],
                                  f"phi'(m) = {d1[bad[0]]:.6g} > 0: phi increases with the margin, and a bounded "
                                  "classification-calibrated loss must be non-increasing in it")
    d1_at_0 = float(d1[grid.size // 2])
    if not d1_at_0 < -1e-8 * scale:
        raise LossValidationError(name, "calibrated", 0.0,
                                  f"phi'(0) = {d1_at_0:.6g}; classification calibration needs phi'(0) < 0")
    far = values[grid.size:]  # phi at TAIL_MARGINS: -1e4, -1e3, ...
    return {"bounded": bool(far[0] - far[1] <= 1e-6 * (1.0 + abs(far[1]))),
            "convex": bool(np.all(d2[~near_kink] >= -1e-10 * scale)), "scale": scale}


def _margin_parameters(fn):
    """The tuning parameters of a phi(m, ...) function, or None if fn is not one (its first parameter has a default)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if not params or params[0].kind not in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD) \
            or params[0].default is not params[0].empty:
        return None
    return params[1:]


def _from_object(obj, name, params):
    """A validated MarginLoss from whatever a user factory produced."""
    if isinstance(obj, MarginLoss) and not isinstance(obj, UserLoss):
        has_derivs = (type(obj).derivatives is not MarginLoss.derivatives
                      or (type(obj).dphi is not MarginLoss.dphi and type(obj).d2phi is not MarginLoss.d2phi))
        if has_derivs:
            validate_loss(obj, name)
            return obj
    if isinstance(obj, UserLoss):
        loss = obj
    elif callable(getattr(obj, "phi", None)):
        own = {k: getattr(obj, k) for k in ("dphi", "d2phi") if callable(getattr(obj, k, None))}
        if isinstance(obj, MarginLoss):  # MarginLoss.dphi/d2phi raise until defined, so they do not count
            own = {k: v for k, v in own.items() if getattr(type(obj), k) is not getattr(MarginLoss, k)}
        if hasattr(obj, "get_params"):
            params = dict(obj.get_params())
        loss = UserLoss(obj.phi, own.get("dphi"), own.get("d2phi"), name=name, params=params,
                        bounded=getattr(obj, "bounded", None) if "bounded" in _declared(obj) else None,
                        convex=getattr(obj, "convex", None) if "convex" in _declared(obj) else None,
                        smooth=getattr(obj, "smooth", True), kink_margins=getattr(obj, "kink_margins", None),
                        kclass=_bind(getattr(obj, "kclass", None), {}))
    else:
        raise TypeError(f"loss {name!r}: the factory returned {type(obj).__name__}, which has no phi(m) method")
    measured = validate_loss(loss, name)
    if loss._bounded is None:
        loss._bounded = measured["bounded"]
    if loss._convex is None:
        loss._convex = measured["convex"]
    return loss


def _declared(obj):
    """Shape flags the user set on the object or its class (MarginLoss's defaults do not count)."""
    names = set(vars(obj)) if hasattr(obj, "__dict__") else set()
    for klass in type(obj).__mro__:
        if klass in (MarginLoss, object):
            break
        names |= set(vars(klass))
    return names


def _bind(fn, params):
    return None if fn is None else (functools.partial(fn, **params) if params else fn)


def loss_factory(obj, name):
    """A factory ``f(**params) -> MarginLoss`` for a user loss in any supported form (see the module doc).

    Losses are validated once per parameter set; the factory's signature
    lists the tuning parameters so that :func:`~lsis_robust.registry.get_loss`
    can reject unknown ones.
    """
    if not callable(obj) and not callable(getattr(obj, "phi", None)):
        raise TypeError(f"loss {name!r} must be a function phi(m, ...), a class or an object with phi(m), "
                        f"got {type(obj).__name__}")
    cache = {}
    margin_params = None if isinstance(obj, type) or not callable(obj) else _margin_parameters(obj)
    if not callable(obj) or isinstance(obj, MarginLoss):
        def build():
            return obj
        signature = inspect.Signature([])
    elif margin_params is not None:
        def build(**params):
            bound = _bind(obj, params)
            flags = {k: getattr(obj, k) for k in ("bounded", "convex", "smooth") if hasattr(obj, k)}
            return UserLoss(bound, _bind(getattr(obj, "dphi", None), params),
                            _bind(getattr(obj, "d2phi", None), params), name=name, params=params,
                            kink_margins=getattr(obj, "kink_margins", None),
                            kclass=_bind(getattr(obj, "kclass", None), params), **flags)
        signature = inspect.Signature(margin_params)
    else:
        def build(**params):
            return obj(**params)
        try:
            signature = inspect.signature(obj)
        except (TypeError, ValueError):
            signature = inspect.Signature([inspect.Parameter("params", inspect.Parameter.VAR_KEYWORD)])

    def factory(**params):
        try:
            bound = signature.bind(**params)
        except TypeError as exc:
            raise ValueError(f"loss {name!r}: {exc}; it takes: {', '.join(signature.parameters) or 'no parameters'}") \
                from None
        bound.apply_defaults()
        params = {}
        for k, v in bound.arguments.items():
            params.update(v if signature.parameters[k].kind is inspect.Parameter.VAR_KEYWORD else {k: v})
        key = tuple(sorted((k, repr(v)) for k, v in params.items()))
        if key not in cache:
            cache[key] = _from_object(build(**params), name, params)
        return cache[key]

    factory.__signature__ = signature
    factory.__wrapped_loss__ = obj
    factory.__name__ = f"{name}_factory"
    factory.__doc__ = getattr(obj, "__doc__", None)
    if all(p.default is not p.empty or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
           for p in signature.parameters.values()):
        factory()  # the check at registration, with the default parameters
    return factory


def as_margin_loss(obj, name=None) -> MarginLoss:
    """A validated MarginLoss from a loss instance, an object with phi, or a phi(m) function."""
    name = name or getattr(obj, "name", None) or getattr(obj, "__name__", None) or type(obj).__name__
    return loss_factory(obj, str(name))()
