"""Batched Newton solver with Armijo backtracking, for possibly non-convex objectives.

Each of B problems (or starts) is iterated independently but evaluated
together, so one call solves many fits with array operations instead of a
Python loop over fits.  Where the Hessian is positive definite the step is
the Newton step; where it is not (bounded losses are non-convex), its
eigenvalues are replaced by their absolute values, floored, which gives a
descent direction that is still Newton-like near a minimum.  Convergence is
declared on the largest absolute gradient entry together with the size of
the Newton step relative to the coefficients.

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


def _armijo(f_trial, f, step, slope, armijo):
    # Near the minimum the decrease falls below rounding; allow that much slack so that the final
    # Newton steps are taken instead of halved away.
    return f_trial <= f + armijo * step * slope + 8 * np.finfo(float).eps * np.abs(f)


def _near(beta, known, rtol):
    """Rows of ``beta`` within ``rtol`` of ``known`` (False where ``known`` is NaN)."""
    with np.errstate(invalid="ignore"):
        return np.all(np.abs(beta - known) <= rtol * (1 + np.abs(known)), axis=1)


def newton_minimize(problem, beta0, *, tol=1e-8, xtol=1e-9, max_iter=100, max_step=10.0, max_step_rel=None,
                    armijo=1e-4, max_halvings=40, known=None, known_rtol=1e-4, predict_rtol=1e-2) -> NewtonResult:
    """Minimise ``problem`` (a :class:`LinearMarginLoss`) from the starts ``beta0`` (B, d).

    ``known`` (B, d), NaN where unknown, holds minimisers already found for
    each problem (from other starts).  An iterate within ``known_rtol`` of
    one, or where the Hessian is positive definite and the Newton step (the
    minimiser of the local quadratic model) lands within ``predict_rtol`` of
    one, is on its way there: a second minimiser that close would differ in
    the objective only at second order.  Newton would only reproduce the
    known one, so the start stops, marked ``merged``.

    ``max_step`` caps the largest coordinate change of one iteration, so a
    nearly flat bounded loss cannot throw an iterate to infinity in one step,
    and a divergent (separable) problem runs out of iterations visibly
    instead of overflowing.
    """
    beta = np.array(beta0, dtype=np.float64, copy=True)
    if beta.ndim != 2 or beta.shape[1] != problem.n_features:
        raise ValueError(f"starts must have shape (B, {problem.n_features}), got {beta.shape}")
    B = beta.shape[0]
    f, g, H = problem.objective_gradient_hessian(beta)
    n_iter = np.zeros(B, dtype=int)
    converged = np.zeros(B, dtype=bool)
    stalled = np.zeros(B, dtype=bool)
    merged = np.zeros(B, dtype=bool)
    running = np.ones(B, dtype=bool)
    if known is not None and np.isnan(known).all():
        known = None
    for iteration in range(max_iter + 1):
        active = np.flatnonzero(running)
        if active.size == 0:
            break
        # With every problem active (always so for one fit) the arrays are used whole, not gathered.
        everyone = active.size == B
        ga, fa, ba = (g, f, beta) if everyone else (g[active], f[active], beta[active])
        p, convex_here = _descent_directions(ga, H if everyone else H[active])
        # Converged: a small gradient and a Newton step that no longer moves the coefficients (a small
        # gradient alone is not enough where the Hessian is tiny), or a gradient at rounding level.
        gmax = np.abs(ga).max(axis=1)
        size = np.abs(ba).max(axis=1)
        done = ((gmax <= tol) & (np.abs(p).max(axis=1) <= xtol * (1 + size))) | (gmax <= 1e-3 * tol)
        converged[active[done]] = True
        if known is not None:
            ka = known[active]
            near = (convex_here & _near(ba + p, ka, predict_rtol)) | _near(ba, ka, known_rtol)
            merged[active[near & ~done]] = True
            done |= near
        if done.any():
            running[active[done]] = False
            keep = ~done
            active, ga, fa, ba, p, gmax, size = (active[keep], ga[keep], fa[keep], ba[keep], p[keep], gmax[keep],
                                                 size[keep])
            everyone = False
        if active.size == 0 or iteration == max_iter:
            break
        sub = problem if active.size == B else problem.take(active)
        cap = max_step if max_step_rel is None else np.minimum(max_step, np.maximum(1.0, max_step_rel * size))
        p *= np.minimum(1.0, cap / np.maximum(np.abs(p).max(axis=1), 1e-300))[:, None]
        slope = np.einsum("bi,bi->b", ga, p)
        bad = slope >= 0  # numerically useless Newton direction: fall back to steepest descent
        if bad.any():
            p[bad] = -ga[bad] * np.minimum(1.0, max_step / np.maximum(np.abs(ga[bad]).max(axis=1, keepdims=True), 1e-300))
            slope[bad] = np.einsum("bi,bi->b", ga[bad], p[bad])
        trial = ba + p
        # The full step is usually accepted, so evaluate it with its gradient and Hessian in one pass
        # over the data; only halved steps need the objective alone.
        f_trial, g_trial, H_trial = sub.objective_gradient_hessian(trial)
        accepted = _armijo(f_trial, fa, 1.0, slope, armijo)
        n_iter[active] += 1
        if accepted.all():
            if everyone:
                beta, f, g, H = trial, f_trial, g_trial, H_trial
            else:
                beta[active], f[active], g[active], H[active] = trial, f_trial, g_trial, H_trial
            continue
        step = np.ones(active.size)
        fresh = accepted.copy()
        for _ in range(max_halvings):
            if accepted.all():
                break
            rest = np.flatnonzero(~accepted)
            step[rest] *= 0.5
            trial[rest] = ba[rest] + step[rest, None] * p[rest]
            f_trial[rest] = (sub if rest.size == active.size else sub.take(rest)).objective(trial[rest])
            accepted[rest] = _armijo(f_trial[rest], fa[rest], step[rest], slope[rest], armijo)
        # No descent step at a gradient below tol: the objective is flat to rounding there, which is
        # as converged as floating point allows; elsewhere a failed line search is a stall.
        converged[active[~accepted & (gmax <= tol)]] = True
        stalled[active[~accepted & (gmax > tol)]] = True
        running[active[~accepted]] = False
        beta[active[accepted]] = trial[accepted]
        f[active[accepted]] = f_trial[accepted]
        g[active[fresh]], H[active[fresh]] = g_trial[fresh], H_trial[fresh]
        halved = active[accepted & ~fresh]
        if halved.size:
            g[halved], H[halved] = (problem if halved.size == B else problem.take(halved)).gradient_hessian(beta[halved])
    return NewtonResult(beta=beta, objective=f, grad_max=np.abs(g).max(axis=1), n_iter=n_iter,
                        converged=converged, stalled=stalled, merged=merged, hessian=H)
