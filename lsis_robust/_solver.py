"""Batched Newton solver with Armijo backtracking, for possibly non-convex objectives.

Each of B problems (or starts) is iterated independently but evaluated
together, so one call solves many fits with array operations instead of a
Python loop over fits.  Where the Hessian is positive definite the step is
the Newton step; where it is not (bounded losses are non-convex), its
eigenvalues are replaced by their absolute values, floored, which gives a
descent direction that is still Newton-like near a minimum.  Convergence is
declared on the largest absolute gradient entry together with the size of
the Newton step relative to the coefficients.

:class:`NewtonSolver` is organised in the steps of scikit-learn's
``NewtonSolver`` (``sklearn/linear_model/_glm/_newton_solver.py``): setup,
update_gradient_hessian, inner_solve, check_convergence, line_search and
finalize, run by ``solve``.  A subclass with another objective (the
population problems of ``theory/contamination.py``) reuses the loop and
overrides the steps whose rules differ.

Both tests, and the step caps, are absolute in the units of the
coefficients, while Newton's iterates themselves are not: they are the same
in any units.  The rule is scale-free only on a design whose columns are of
order 1, so callers pass such designs: the estimator divides each column by
its typical magnitude (``estimators._column_scales``) and back-transforms;
the studies generate unit-scale covariates.  That is a relative gradient
(d f / d beta_j divided by the scale of column j), which, unlike a Newton
decrement, needs no positive definite Hessian and so serves the non-convex
losses as well.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class NewtonResult:
    beta: np.ndarray  # (B, d)
    objective: np.ndarray  # (B,)
    grad_max: np.ndarray  # (B,) largest absolute gradient entry at the end
    n_iter: np.ndarray  # (B,)
    converged: np.ndarray  # (B,) bool
    stalled: np.ndarray  # (B,) bool: no descent step found before convergence
    merged: np.ndarray  # (B,) bool: stopped on reaching the known minimiser ``known`` of its problem
    hessian: np.ndarray  # (B, d, d) at ``beta``


def _descent_directions(g, H):
    """-|H|^+ g: Newton where H is positive definite, |eigenvalues| where it is not.

    Directions of (numerically) zero curvature are left out rather than given
    a huge inverse: that keeps the iterates in the row space of a
    rank-deficient design (the minimum-norm solution) instead of amplifying
    rounding noise along its null space.
    """
    lam, V = np.linalg.eigh(H)
    positive_definite = lam[..., 0] > 0
    lam = np.abs(lam)
    keep = lam > 1e-10 * np.maximum(lam.max(axis=-1, keepdims=True), 1e-300)
    coords = np.einsum("bji,bj->bi", V, g) / np.where(keep, lam, 1.0) * keep
    return -np.einsum("bij,bj->bi", V, coords), positive_definite & keep.all(axis=-1)


def _armijo(f_trial, f, step, slope, armijo, slack):
    # Near the minimum the decrease falls below rounding; allow ``slack`` ulps of slack so that the final
    # Newton steps are taken instead of halved away.
    return f_trial <= f + armijo * step * slope + slack * np.finfo(float).eps * np.abs(f)


def _near(beta, known, rtol):
    """Rows of ``beta`` within ``rtol`` of ``known`` (False where ``known`` is NaN)."""
    with np.errstate(invalid="ignore"):
        return np.all(np.abs(beta - known) <= rtol * (1 + np.abs(known)), axis=1)


class NewtonSolver:
    """Minimise B problems from their starts with batched, eigenvalue-modified Newton steps.

    Parameters
    ----------
    problem : LinearMarginLoss
        The B objectives: ``objective``, ``gradient_hessian`` and the fused
        ``objective_gradient_hessian`` of coefficients (B, d), and ``take``.
    tol : float
        Convergence on the largest absolute gradient entry.
    xtol : float
        ... together with a Newton step of at most ``xtol * (1 + max |beta|)``.
    max_iter : int
        Newton iterations (line searches) per problem.
    max_step : float
        Cap on the largest coordinate change of one iteration, so a nearly
        flat bounded loss cannot throw an iterate to infinity in one step,
        and a divergent (separable) problem runs out of iterations visibly
        instead of overflowing.
    max_step_rel : float or None
        If given, the cap is also at most this share of the coefficients'
        size (at least 1): the bounded losses' quadratic model overshoots far
        from a minimum.
    armijo : float
        The sufficient-decrease constant of the backtracking line search.
    max_halvings : int
        Step halvings before a line search gives up (a stall).
    known : ndarray of shape (B, d) or None
        Minimisers already found for each problem (from other starts), NaN
        where unknown.  An iterate within ``known_rtol`` of one, or where the
        Hessian is positive definite and the Newton step (the minimiser of the
        local quadratic model) lands within ``predict_rtol`` of one, is on its
        way there: a second minimiser that close would differ in the objective
        only at second order.  Newton would only reproduce the known one, so
        the start stops, marked ``merged``.

    Notes
    -----
    One iteration runs inner_solve (the directions of the problems still
    running), check_convergence (at the current iterate, which needs the
    direction: a small gradient alone is not enough where the Hessian is
    tiny), then line_search, which evaluates the full step's objective,
    gradient and Hessian in one pass; update_gradient_hessian at the next
    iteration refreshes the problems whose step was halved.

    A subclass for another objective overrides these steps, or the smaller
    hooks ``directions`` (the inner solve's direction), ``untested`` (full
    steps taken without the Armijo test) and ``rounding_slack``.
    """

    rounding_slack = 8  # ulps of the objective the Armijo test allows (see _armijo)

    def __init__(self, problem, *, tol=1e-8, xtol=1e-9, max_iter=100, max_step=10.0, max_step_rel=None,
                 armijo=1e-4, max_halvings=40, known=None, known_rtol=1e-4, predict_rtol=1e-2):
        self.problem = problem
        self.tol, self.xtol, self.max_iter = tol, xtol, max_iter
        self.max_step, self.max_step_rel = max_step, max_step_rel
        self.armijo, self.max_halvings = armijo, max_halvings
        self.known = None if known is None or np.isnan(known).all() else known
        self.known_rtol, self.predict_rtol = known_rtol, predict_rtol

    def setup(self, beta0):
        """Check the starts, evaluate the objective there and start every problem running."""
        beta = np.array(beta0, dtype=np.float64, copy=True)
        if beta.ndim != 2 or beta.shape[1] != self.problem.n_features:
            raise ValueError(f"starts must have shape (B, {self.problem.n_features}), got {beta.shape}")
        B = beta.shape[0]
        self.beta = beta
        self.f, self.g, self.H = self.problem.objective_gradient_hessian(beta)
        self.n_iter = np.zeros(B, dtype=int)
        self.converged = np.zeros(B, dtype=bool)
        self.stalled = np.zeros(B, dtype=bool)
        self.merged = np.zeros(B, dtype=bool)
        self.running = np.ones(B, dtype=bool)
        self.stale = np.zeros(0, dtype=int)  # problems whose gradient and Hessian the line search left behind

    def _sub(self, idx):
        """The sub-problems ``idx`` (the whole problem when every problem is meant)."""
        return self.problem if idx.size == self.beta.shape[0] else self.problem.take(idx)

    def update_gradient_hessian(self):
        """Gradient and Hessian where the line search accepted a halved step (a full step brought its own)."""
        stale = self.stale
        if stale.size:
            self.g[stale], self.H[stale] = self._sub(stale).gradient_hessian(self.beta[stale])
            self.stale = stale[:0]

    def inner_solve(self):
        """The descent direction of every running problem."""
        self.active = np.flatnonzero(self.running)
        # With every problem active (always so for one fit) the arrays are used whole, not gathered.
        self.everyone = self.active.size == self.beta.shape[0]
        if self.everyone:
            self.ga, self.fa, self.ba, Ha = self.g, self.f, self.beta, self.H
        else:
            active = self.active
            self.ga, self.fa, self.ba, Ha = self.g[active], self.f[active], self.beta[active], self.H[active]
        self.p, self.convex_here = self.directions(self.ga, Ha)

    def directions(self, g, H):
        """Descent directions (B, d) and where the Hessian is positive definite: :func:`_descent_directions`."""
        return _descent_directions(g, H)

    def check_convergence(self):
        """Stop the problems that converged or merged into a known minimiser; the rest go on."""
        active, ga, ba, p = self.active, self.ga, self.ba, self.p
        # Converged: a small gradient and a Newton step that no longer moves the coefficients (a small
        # gradient alone is not enough where the Hessian is tiny), or a gradient at rounding level.
        gmax = np.abs(ga).max(axis=1)
        size = np.abs(ba).max(axis=1)
        done = ((gmax <= self.tol) & (np.abs(p).max(axis=1) <= self.xtol * (1 + size))) | (gmax <= 1e-3 * self.tol)
        self.converged[active[done]] = True
        if self.known is not None:
            ka = self.known[active]
            near = (self.convex_here & _near(ba + p, ka, self.predict_rtol)) | _near(ba, ka, self.known_rtol)
            self.merged[active[near & ~done]] = True
            done |= near
        if done.any():
            self.running[active[done]] = False
            keep = ~done
            self.active, self.ga, self.fa, self.ba, self.p = active[keep], ga[keep], self.fa[keep], ba[keep], p[keep]
            gmax, size = gmax[keep], size[keep]
            self.everyone = False
        self.gmax, self.size = gmax, size

    def line_search(self):
        """Armijo backtracking along each running problem's capped direction; take the accepted steps."""
        active, ga, fa, ba, p, gmax = self.active, self.ga, self.fa, self.ba, self.p, self.gmax
        armijo, max_step = self.armijo, self.max_step
        sub = self._sub(active)
        cap = max_step if self.max_step_rel is None else np.minimum(max_step,
                                                                    np.maximum(1.0, self.max_step_rel * self.size))
        p *= np.minimum(1.0, cap / np.maximum(np.abs(p).max(axis=1), 1e-300))[:, None]
        slope = np.einsum("bi,bi->b", ga, p)
        bad = slope >= 0  # numerically useless Newton direction: fall back to steepest descent
        if bad.any():
            g_size = np.maximum(np.abs(ga[bad]).max(axis=1, keepdims=True), 1e-300)
            p[bad] = -ga[bad] * np.minimum(1.0, max_step / g_size)
            slope[bad] = np.einsum("bi,bi->b", ga[bad], p[bad])
        trial = ba + p
        # The full step is usually accepted, so evaluate it with its gradient and Hessian in one pass
        # over the data; only halved steps need the objective alone.
        f_trial, g_trial, H_trial = sub.objective_gradient_hessian(trial)
        accepted = _armijo(f_trial, fa, 1.0, slope, armijo, self.rounding_slack) | self.untested(fa, slope)
        self.n_iter[active] += 1
        if accepted.all():
            if self.everyone:
                self.beta, self.f, self.g, self.H = trial, f_trial, g_trial, H_trial
            else:
                self.beta[active], self.f[active], self.g[active], self.H[active] = trial, f_trial, g_trial, H_trial
            return
        step = np.ones(active.size)
        fresh = accepted.copy()
        for _ in range(self.max_halvings):
            if accepted.all():
                break
            rest = np.flatnonzero(~accepted)
            step[rest] *= 0.5
            trial[rest] = ba[rest] + step[rest, None] * p[rest]
            f_trial[rest] = (sub if rest.size == active.size else sub.take(rest)).objective(trial[rest])
            accepted[rest] = _armijo(f_trial[rest], fa[rest], step[rest], slope[rest], armijo, self.rounding_slack)
        # No descent step at a gradient below tol: the objective is flat to rounding there, which is
        # as converged as floating point allows; elsewhere a failed line search is a stall.
        self.converged[active[~accepted & (gmax <= self.tol)]] = True
        self.stalled[active[~accepted & (gmax > self.tol)]] = True
        self.running[active[~accepted]] = False
        self.beta[active[accepted]] = trial[accepted]
        self.f[active[accepted]] = f_trial[accepted]
        self.g[active[fresh]], self.H[active[fresh]] = g_trial[fresh], H_trial[fresh]
        self.stale = active[accepted & ~fresh]

    def untested(self, f, slope):
        """Where the full step is taken without the Armijo test (nowhere here; a subclass may say)."""
        return False

    def finalize(self) -> NewtonResult:
        return NewtonResult(beta=self.beta, objective=self.f, grad_max=np.abs(self.g).max(axis=1), n_iter=self.n_iter,
                            converged=self.converged, stalled=self.stalled, merged=self.merged, hessian=self.H)

    def solve(self, beta0) -> NewtonResult:
        """Minimise from the starts ``beta0`` (B, d); at most ``max_iter`` line searches per problem."""
        self.setup(beta0)
        self.iterate()
        return self.finalize()

    def iterate(self):
        """Newton iterations until every problem has stopped or ``max_iter`` line searches are done."""
        for iteration in range(self.max_iter + 1):
            self.update_gradient_hessian()
            if not self.running.any():
                break
            self.inner_solve()
            self.check_convergence()
            if self.active.size == 0 or iteration == self.max_iter:
                break
            self.line_search()


def newton_minimize(problem, beta0, **options) -> NewtonResult:
    """Minimise ``problem`` (a :class:`LinearMarginLoss`) from the starts ``beta0`` (B, d).

    ``options`` are :class:`NewtonSolver`'s parameters.
    """
    return NewtonSolver(problem, **options).solve(beta0)
