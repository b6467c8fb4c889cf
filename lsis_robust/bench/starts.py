"""How often the estimator's default starts miss the lowest minimum, on contaminated samples.

The bounded losses (CH, BY) have several local minima once the data are
contaminated.  For each random sample (n in {100, 300, 1000}, d in {2, 3},
random true beta; point-mass, leverage-outlier, label-flip or adversarial-flip
contamination at 2-20%), the default fit (``fit_batch`` with the estimator's
starts) is compared with a fit that adds ``--random`` random starts around the
ML fit.  A miss is a default objective above that reference by more than
1e-9.  This is the price side of the start strategy: run it before and after
changing the starts or the solver.  The asv suite tracks the same count, with
the same defaults, per loss (``benchmarks/bench_starts.py::StartsMiss``).

Usage: python -m lsis_robust.bench.starts [--samples 300] [--random 30] [--seed 7] [--losses ch by mlslr:alpha=0.4]
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np

from .._validation import int_at_least
from ..contamination import (AdversarialFlip, LabelFlip, LeverageOutliers, PointMass, sample_mvn_logistic,
                             sample_nominal)
from ..fitting import fit_batch
from ..registry import parse_loss_spec

# A default fit misses when its objective lies above the reference's by more than this (rounding level).
MISS_TOL = 1e-9
# The defaults of the command line and of the asv track: samples, random starts of the reference fit, seed.
N_SAMPLES, N_RANDOM, SEED = 300, 30, 7


def contaminated_sample(rng):
    """One random contaminated sample: its size, dimension, true beta, contamination kind and share drawn from rng."""
    n = int(rng.choice([100, 300, 1000]))
    d = int(rng.choice([2, 3]))
    beta = np.concatenate([[rng.normal(0, 0.5)], rng.normal(0, 2, d - 1)])
    sample = sample_mvn_logistic(n, beta, rng=rng) if d > 2 else sample_nominal(n, beta, rng)
    kind = int(rng.integers(4))
    eps = float(rng.choice([0.02, 0.05, 0.1, 0.2]))
    if kind == 0:
        x_c = np.concatenate([[1.0], rng.normal(0, 6, d - 1)])
        return PointMass(eps, x_c, int(rng.choice([-1, 1])))(sample, rng)
    if kind == 1:
        return LeverageOutliers(eps, beta, distance=float(rng.choice([3, 10, 30])))(sample, rng)
    if kind == 2:
        return LabelFlip(eps)(sample, rng)
    return AdversarialFlip(eps, beta)(sample, rng)


def count_misses(losses, n_samples=N_SAMPLES, n_random=N_RANDOM, seed=SEED):
    """Misses of the default starts and the default fits' total seconds, per loss, on seeded samples.

    ``losses`` maps a label to a :class:`~lsis_robust.losses.MarginLoss`; every loss sees the same
    ``n_samples`` samples of :func:`contaminated_sample` drawn from ``default_rng(seed)``.  The reference fit adds
    ``n_random`` random starts (seeded) to the defaults.  Returns ``(misses, seconds)``, two dicts keyed like
    ``losses``.
    """
    if n_samples < 1 or n_random < 1:
        raise ValueError(f"n_samples and n_random must be >= 1, got {n_samples} and {n_random}")
    misses = dict.fromkeys(losses, 0)
    seconds = dict.fromkeys(losses, 0.0)
    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separated or degenerate samples warn; they count like any other
        for _ in range(n_samples):
            sample = contaminated_sample(rng)
            y_pm = (2.0 * sample.y - 1)[None]
            w = np.ones_like(y_pm)
            for name, loss in losses.items():
                t0 = time.perf_counter()
                fit = fit_batch(loss, sample.X, y_pm, w)
                seconds[name] += time.perf_counter() - t0
                ref = fit_batch(loss, sample.X, y_pm, w, n_random=n_random, rng=np.random.default_rng(1))
                misses[name] += bool(ref.converged[0] and fit.objective[0] > ref.objective[0] + MISS_TOL)
    return misses, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m lsis_robust.bench.starts", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int_at_least(1), default=N_SAMPLES)
    parser.add_argument("--random", type=int_at_least(1), default=N_RANDOM,
                        help="random starts added for the reference fit")
    parser.add_argument("--seed", type=int_at_least(0), default=SEED)
    parser.add_argument("--losses", nargs="+", default=["ch", "by"], help="loss specs, e.g. ch by mlslr:alpha=0.4")
    args = parser.parse_args(argv)
    try:
        losses = {name: parse_loss_spec(name) for name in args.losses}
    except (ValueError, TypeError) as exc:
        parser.error(f"--losses: {exc}")
    misses, seconds = count_misses(losses, args.samples, args.random, args.seed)
    print(f"{args.samples} contaminated samples (seed {args.seed}); reference: default starts + {args.random} random")
    for name in losses:
        print(f"{name:>15}: default starts miss the lowest minimum in {misses[name]:4d} "
              f"({misses[name] / args.samples:6.1%}); default fits {seconds[name]:.2f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
