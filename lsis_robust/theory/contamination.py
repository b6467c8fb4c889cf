"""Exact contaminated functionals T(F_eps) (eq. 26-27), the population version of Fig. 4.

F_eps = (1 - eps) F + eps delta_(x_c, y_c) with F the nominal model
P(Y = +1 | x) = sigma(beta'x).  T(F_eps) minimises

    R(b) = (1 - eps) E_F[phi(Y b'X)] + eps phi(y_c b'x_c),

a deterministic M-estimation problem whose gradient and Hessian are
population integrals over the design.  It is solved by the sample fits'
Newton solver (``_solver.NewtonSolver``: the Hessian's eigenvalues replaced
by their absolute values, so that steps on the non-convex bounded losses
still go downhill, and a backtracking line search on R), given the
population gradient and Hessian.  The zero-one risk of sign(b'x) under
F_eps is an integral too.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit

from .._solver import NewtonSolver
from .._validation import check_rate
from ..losses import BUILTIN_LOSSES
from .asymptotics import _check_design, _check_labels, _Derivatives, kink_margins, method_label, resolve_loss
from .design import IntegrationError, expect, moments_at

__all__ = ["ContaminatedFunctional", "contaminated_functional", "misclassification_rate", "contamination_grid",
           "contamination_grids"]

_GTOL = 1e-11
_MAX_ITER = 200
_DIVERGED = 1e6


@dataclass
class ContaminatedFunctional:
    """T(F_eps) and what the paper's Fig. 4 plots of it."""

    loss: object
    beta: np.ndarray
    eps: float
    x_c: np.ndarray
    y_c: float
    beta_eps: np.ndarray  # T(F_eps)
    objective: float  # R(T(F_eps))
    ttr: float  # zero-one risk of sign(T'x) under F_eps
    n_iter: int
    error: dict = field(default_factory=dict)  # integration errors of beta_eps, objective, ttr

    @property
    def sob(self) -> float:
        """Size of bias ||T(F_eps) - beta||."""
        return float(np.linalg.norm(self.beta_eps - self.beta))


class _NominalMoments:
    """The nominal integrals E_F[...] of one loss, kept by parameter for every contamination point.

    R, its gradient and Hessian are (1 - eps) times a nominal integral plus the contamination point's
    term, and only the point's term depends on x_c and y_c.  Along a sweep each point starts from its
    neighbour's solution and from beta, where the nominal integrals were already computed (to the same
    bits: the same function of the same parameter), so they are looked up instead of recomputed.
    """

    def __init__(self, loss, beta, design):
        self.loss, self.beta, self.design = loss, beta, design
        self.d = _Derivatives(loss)
        k = kink_margins(loss)
        self.margins = np.unique(np.r_[k, -k, 0.0])
        self._memo = {}

    def _all(self, s, t):
        p, q = expit(t), expit(-t)
        n = s.size
        f0, f1, f2 = self.d.all(np.concatenate([s, -s]))
        return np.array([p * f0[:n] + q * f0[n:], p * f1[:n] - q * f1[n:], p * f2[:n] + q * f2[n:]])

    def _phi(self, s, t):
        return expit(t) * self.loss.phi(s) + expit(-t) * self.loss.phi(-s)

    def _lookup(self, key, b, compute):
        key = (key, b.tobytes())
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def expect(self, b):
        """(fine, coarse, level) of the phi, phi', phi'' integrals at b, with error control."""
        return self._lookup("expect", b, lambda: expect(self.design, b, self.beta, self._all, self.margins))

    def at(self, b, level):
        """The phi, phi', phi'' integrals at one quadrature level."""
        return self._lookup(("at", level), b,
                            lambda: moments_at(self.design, b, self.beta, self._all, self.margins, level))

    def phi_at(self, b, level):
        """The phi integral alone at one quadrature level (for the line search)."""
        return self._lookup(("phi", level), b,
                            lambda: moments_at(self.design, b, self.beta, self._phi, self.margins, level))


class _Problem:
    def __init__(self, loss, beta, eps, x_c, y_c, design, nominal=None):
        self.loss, self.beta, self.eps, self.x_c, self.y_c, self.design = loss, beta, eps, x_c, y_c, design
        self.nominal = _NominalMoments(loss, beta, design) if nominal is None else nominal
        self.d = self.nominal.d
        self.margins = self.nominal.margins
        self._last_point = None, None

    def _point(self, b):
        """phi, phi', phi'' at the contamination point's margin, in one call, kept for the last b."""
        key = b.tobytes()
        if self._last_point[0] != key:
            m = self.y_c * (self.x_c @ b)
            self._last_point = key, tuple(float(v[0]) for v in self.d.all(np.array([m])))
        return self._last_point[1]

    def _combine(self, mom, b):
        e, xc = self.eps, self.x_c
        f0, f1, f2 = self._point(b)
        R = (1 - e) * mom.m0[0] + e * f0
        g = (1 - e) * mom.m1[1] + e * self.y_c * f1 * xc
        H = (1 - e) * mom.m2[2] + e * f2 * np.outer(xc, xc)
        return R, g, H

    def evaluate(self, b):
        """(R, grad, Hess) at b with error control, their coarse-level copies, and the level."""
        fine, coarse, lev = self.nominal.expect(b)
        return self._combine(fine, b), self._combine(coarse, b), lev

    # Inner iterations use the coarser of the two levels that passed the
    # error check at the start; the final evaluation is at the finer one, and
    # the minimiser's error estimate H^-1 (g_coarse - g_fine) covers the gap.
    def evaluate_at(self, b, level):
        return self._combine(self.nominal.at(b, level), b)

    def objective(self, b, level):
        """R at b from the phi integral alone (for the line search's halved steps)."""
        return (1 - self.eps) * self.nominal.phi_at(b, level).m0[0] + self.eps * self._point(b)[0]

    def newton(self, b):
        """Minimise R from b; the quadrature level is fixed at the start and re-checked at the end."""
        return _PopulationNewton(self).solve(b)


class _AtLevel:
    """R at one quadrature level in the batched form NewtonSolver evaluates (one problem, B = 1)."""

    def __init__(self, problem, level):
        self.problem, self.level = problem, level
        self.n_features = problem.design.dim

    def objective(self, b):
        return np.array([self.problem.objective(b[0], self.level)])

    def objective_gradient_hessian(self, b):
        R, g, H = self.problem.evaluate_at(b[0], self.level)
        return np.array([R]), g[None], H[None]

    def gradient_hessian(self, b):
        return self.objective_gradient_hessian(b)[1:]


class _PopulationNewton(NewtonSolver):
    """NewtonSolver's steps on one contaminated risk, with the population problem's own rules.

    R is evaluated at a quadrature level fixed at the start (the coarser of the two that passed the error
    check there); at the minimiser the level is re-checked, and where a finer one is needed the iterations
    go on at it.  Unlike the sample fits: convergence is on the gradient's norm relative to R, steps are
    not capped (R is smooth and has no flat tails at the contamination levels studied), a step whose
    predicted decrease is below R's rounding is taken untested, a failed line search ends the iterations
    at the current point (it is as good as the level resolves), and an iterate leaving ||b|| <= 1e6 is an
    error: the risk has no finite minimiser reachable from the start.
    """

    rounding_slack = 0

    def __init__(self, problem):
        super().__init__(None, tol=_GTOL, max_iter=_MAX_ITER, max_step=np.inf, armijo=1e-4, max_halvings=40)
        self.population = problem

    def setup(self, b0):
        b = np.array(b0, dtype=np.float64)[None]
        _, (R, g, H), level = self.population.evaluate(b[0])
        self.problem = _AtLevel(self.population, level)
        self.beta, self.f, self.g, self.H = b, np.array([R]), g[None], H[None]
        self.n_iter = np.zeros(1, dtype=int)
        self._restart()

    def _restart(self):
        """Start (or resume at a finer level) the iterations from the current point."""
        self.converged, self.stalled, self.merged = (np.zeros(1, dtype=bool) for _ in range(3))
        self.running = np.ones(1, dtype=bool)
        self.stale = np.zeros(0, dtype=int)
        self.max_iter = _MAX_ITER - int(self.n_iter[0])  # the budget is shared by every level

    def check_convergence(self):
        if np.linalg.norm(self.ga[0]) <= self.tol * max(1.0, abs(self.fa[0])):
            self.converged[:] = True
            self.running[:] = False
            self.active = self.active[:0]
        # The line search calls a failed search converged or stalled by it; here either ends the iterations.
        self.gmax = np.abs(self.ga).max(axis=1)

    def directions(self, g, H):
        # -|H|^-1 g with |eigenvalues| floored (not left out): R's Hessian is of full rank.
        lam, U = np.linalg.eigh(H[0])
        floor = max(1e-10 * np.abs(lam).max(), 1e-14)
        return (-U @ ((U.T @ g[0]) / np.maximum(np.abs(lam), floor)))[None], lam[:1] > 0

    def untested(self, f, slope):
        # The predicted decrease is below rounding of R: a line search cannot see it, and the Newton step is
        # already tiny.
        return -slope <= 1e-13 * np.maximum(1.0, np.abs(f))

    def line_search(self):
        super().line_search()
        if np.linalg.norm(self.beta[0]) > _DIVERGED:
            raise ValueError(
                f"the contaminated risk of {self.population.loss!r} has no finite minimiser reachable from the "
                f"start (||b|| passed {_DIVERGED:g}); eps or the contamination point is too extreme"
            )

    def solve(self, b0):
        """(b, R, gradient, Hessian, coarse-level (R, g, H), iterations) at the minimiser found from b0."""
        self.setup(b0)
        while True:
            self.iterate()
            n_iter = int(self.n_iter[0])
            if n_iter >= _MAX_ITER:
                raise ValueError(f"Newton did not converge for {self.population.loss!r} in {_MAX_ITER} iterations "
                                 f"(gradient norm {np.linalg.norm(self.g[0]):.3g})")
            # The level that was enough at the start may not be at the minimiser.
            b = self.beta[0]
            (Rf, gf, Hf), coarse, new_level = self.population.evaluate(b)
            if new_level <= self.problem.level or np.linalg.norm(gf) <= self.tol * max(1.0, abs(Rf)):
                return b, Rf, gf, Hf, coarse, n_iter
            self.problem = _AtLevel(self.population, new_level)
            R, g, H = coarse
            self.f, self.g, self.H = np.array([R]), g[None], H[None]
            self._restart()


def _validate(loss, beta, eps, x_c, y_c, design):
    design = _check_design(design)
    beta = design.check_beta(beta)
    loss = resolve_loss(loss)
    eps = check_rate(eps)
    x_c = np.asarray(x_c, dtype=np.float64)
    if x_c.shape != (design.dim,) or not np.all(np.isfinite(x_c)):
        raise ValueError(f"x_c must be a finite vector of length {design.dim}, the full covariate vector "
                         f"(intercept included, e.g. (1, x_c2)), got shape {x_c.shape}")
    y_c = float(_check_labels(y_c, 1)[0])
    return loss, beta, eps, x_c, y_c, design


def misclassification_rate(b, beta, eps=0.0, x_c=None, y_c=None, design=None):
    """Zero-one risk of the classifier sign(b'x) under F_eps (ties b'x = 0 count 1/2).

    Returns (rate, integration error).
    """
    design = _check_design(design)
    beta = design.check_beta(beta)
    b = design.check_beta(b, "b")

    def f(s, t):
        return expit(t) * (s < 0) + expit(-t) * (s > 0) + 0.5 * (s == 0)

    fine, coarse, _ = expect(design, b, beta, f, [0.0])
    point = 0.0
    if eps:
        m = y_c * float(np.asarray(x_c, dtype=np.float64) @ b)
        point = 1.0 if m < 0 else (0.5 if m == 0 else 0.0)
    rate = (1 - eps) * fine.m0[0] + eps * point
    return float(rate), float((1 - eps) * abs(fine.m0[0] - coarse.m0[0]))


def _solve(problem, starts):
    best = None
    for s in starts:
        try:
            res = problem.newton(s)
        except (ValueError, np.linalg.LinAlgError):
            # A start that runs off to infinity says nothing about the other starts.
            continue
        if best is None or res[1] < best[1] - 1e-14:
            best = res
    if best is None:
        raise ValueError(f"no start converged for {problem.loss!r} (eps={problem.eps}, x_c={problem.x_c.tolist()}, "
                         f"y_c={problem.y_c:+g}); the contaminated risk may have no finite minimiser")
    return best


def contaminated_functional(loss, beta, eps, x_c, y_c, design=None, starts=None) -> ContaminatedFunctional:
    """T(F_eps) for F_eps = (1-eps) F + eps delta_(x_c, y_c), eq. (26)-(27), solved exactly.

    ``x_c`` is the full covariate vector (the paper's (1, x_c2)), ``y_c`` is
    +1 or -1.  Newton starts from beta and from every vector in ``starts``;
    the solution with the lowest objective is kept (the bounded losses are not
    convex, so this matters for gross contamination).  The result carries the
    misclassification rate (TTR) of sign(T'x) under F_eps and the estimated
    integration errors.
    """
    loss, beta, eps, x_c, y_c, design = _validate(loss, beta, eps, x_c, y_c, design)
    start_list = [beta] + [design.check_beta(s, "start") for s in ([] if starts is None else starts)]
    return _functional(loss, beta, eps, x_c, y_c, design, start_list)


def _functional(loss, beta, eps, x_c, y_c, design, start_list, nominal=None):
    problem = _Problem(loss, beta, eps, x_c, y_c, design, nominal)
    b, R, g, H, coarse, n_iter = _solve(problem, start_list)
    # Error of the minimiser from the quadrature: the coarse level's gradient at b moves it by H^-1 dg.
    db = np.linalg.solve(H, coarse[1] - g) if np.all(np.isfinite(H)) else np.full_like(b, np.inf)
    ttr, ttr_err = misclassification_rate(b, beta, eps, x_c, y_c, design)
    return ContaminatedFunctional(
        loss, beta, eps, x_c, y_c, b, float(R), ttr, n_iter,
        error={"beta_eps": float(np.abs(db).max()), "objective": float(abs(R - coarse[0])), "ttr": ttr_err},
    )


def _sweep(loss, beta, eps, points, y_c, design, extra_starts):
    """Functionals along a path of contamination points, continuing from the neighbours' solutions.

    A forward pass starts each point from the previous point's solution (and
    from beta where the loss is not convex; the first point from beta and
    ``extra_starts``); a backward pass retries each point from the next point's
    solution and keeps whichever objective is lower.
    """
    n = len(points)
    results = [None] * n
    nominal = _NominalMoments(loss, beta, design)

    def solve_at(i, starts):
        try:
            return _functional(loss, beta, eps, points[i], y_c, design, starts, nominal)
        except (ValueError, IntegrationError):
            return None

    def near(a, b):
        # Newton from a start this close to a known minimiser returns that minimiser.
        return np.linalg.norm(a - b) <= 1e-8 * max(1.0, np.linalg.norm(b))

    prev = None
    for i in range(n):
        if prev is None:
            starts = [beta] + list(extra_starts)
        else:
            starts = [prev.beta_eps] + ([] if loss.convex or near(prev.beta_eps, beta) else [beta])
        results[i] = solve_at(i, starts)
        prev = results[i] or prev
    if loss.convex:
        return results  # a convex risk has one minimum: the forward pass found it
    nxt = None
    for i in range(n - 1, -1, -1):
        if nxt is not None and (results[i] is None or not near(nxt.beta_eps, results[i].beta_eps)):
            cand = solve_at(i, [nxt.beta_eps])
            if cand is not None and (results[i] is None or cand.objective < results[i].objective - 1e-12):
                results[i] = cand
        nxt = results[i] or nxt
    return results


# Sweeps of the built-in losses already made in this process, by their inputs: `lsis-robust reproduce` makes
# the exact Fig. 4 (theory-figures) and then the robustness study's population curves, whose beta (0, 4)
# sweeps are the same computation.  A sweep is deterministic, so a kept one is what a new one would give.
_SWEEPS = {}


def _sweep_key(loss, beta, eps, points, y_c, design):
    """The inputs of a sweep, or None for a loss that its type and parameters do not identify (a user's)."""
    if type(loss) not in BUILTIN_LOSSES:
        return None
    return (repr(loss), beta.tobytes(), eps, points.shape, points.tobytes(), y_c, repr(design))


def contamination_grid(losses, beta, eps, x_c_points, y_cs=(1, -1), design=None, n_jobs=1, progress=True):
    """T(F_eps), SoB and TTR for every loss, contamination point and label (the exact Fig. 4).

    ``x_c_points``: an (n, d) array of full covariate vectors along a path
    (neighbouring points are used as Newton starts for each other, forward
    and backward).  Returns a long DataFrame with columns method, y_c,
    point index, x_c components, b_1..b_d, sob, ttr, objective and
    integration errors.  Runs the (loss, label) sweeps in ``n_jobs``
    processes.
    """
    return contamination_grids(losses, [beta], eps, x_c_points, y_cs, design, n_jobs, progress)[0]


def contamination_grids(losses, betas, eps, x_c_points, y_cs=(1, -1), design=None, n_jobs=1, progress=True):
    """:func:`contamination_grid` for several true betas, one DataFrame each; all sweeps share the processes."""
    import pandas as pd
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    design = _check_design(design)
    betas = [design.check_beta(beta) for beta in betas]
    eps = check_rate(eps)  # before any work, not as a failure deep inside the sweep
    losses = [resolve_loss(loss) for loss in losses]
    pts = np.asarray(x_c_points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != design.dim:
        raise ValueError(f"x_c_points must be an (n, {design.dim}) array of full covariate vectors, got {pts.shape}")
    if pts.shape[0] == 0 or not np.all(np.isfinite(pts)):
        raise ValueError("x_c_points must hold at least one point, every coordinate finite")
    tasks = [(i, loss, float(y)) for i in range(len(betas)) for loss in losses for y in y_cs]
    for _, _, y in tasks:
        _check_labels(y, 1)
    keys = [_sweep_key(loss, betas[i], eps, pts, y, design) for i, loss, y in tasks]
    todo = [t for t, key in enumerate(keys) if key is None or key not in _SWEEPS]
    runner = Parallel(n_jobs=n_jobs, return_as="generator")
    # Non-convex losses also start from beta/2: gross outliers pull their minimisers towards 0.
    jobs = (delayed(_sweep)(loss, betas[i], eps, pts, y, design, [] if loss.convex else [0.5 * betas[i]])
            for i, loss, y in (tasks[t] for t in todo))
    swept = {}
    for t, results in zip(todo, tqdm(runner(jobs), total=len(todo), disable=not progress,
                                     desc="exact contaminated functionals")):
        swept[t] = results
        if keys[t] is not None:
            _SWEEPS[keys[t]] = results
    rows = [[] for _ in betas]
    for t, (i, loss, y) in enumerate(tasks):
        results = swept[t] if t in swept else _SWEEPS[keys[t]]
        for j, r in enumerate(results):
            if r is None:
                raise ValueError(f"no contaminated functional for {loss!r} at x_c={pts[j].tolist()}, y_c={y:+g}")
            row = {"method": method_label(loss), "y_c": y, "point": j}
            row.update({f"x_c{k + 1}": v for k, v in enumerate(pts[j])})
            row.update({f"b{k + 1}": v for k, v in enumerate(r.beta_eps)})
            row.update(sob=r.sob, ttr=r.ttr, objective=r.objective,
                       err_beta=r.error["beta_eps"], err_ttr=r.error["ttr"], n_iter=r.n_iter)
            rows[i].append(row)
    return [pd.DataFrame(r) for r in rows]
