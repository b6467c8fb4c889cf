"""The estimator's start strategy: how often its default starts miss the lowest minimum (``lsis_robust.bench.starts``).

The bounded losses have several local minima once the data are contaminated; the estimator's default starts
(ML fit, trimmed ML fit, continuation path) are a trade between passes over the data and the minima they find.
"""
from __future__ import annotations

from lsis_robust.bench.starts import count_misses
from lsis_robust.registry import parse_loss_spec

from .common import Benchmark


class StartsMiss(Benchmark):
    """Samples, of the 300 seeded contaminated ones, on which the default starts miss the lowest minimum found.

    ``python -m lsis_robust.bench.starts`` with its defaults, one loss at a time: a change of the starts or the
    solver that finds fewer global minima shows up as a regression.  About 30 s per loss on 2 cores, so CI's quick
    run leaves it out (``scripts/asv_ci.sh``).
    """

    params = [["ch", "by", "mlslr:alpha=0.4"]]
    param_names = ["loss"]
    timeout = 600

    def track_default_starts_miss(self, loss):
        misses, _ = count_misses({loss: parse_loss_spec(loss)})
        return misses[loss]

    track_default_starts_miss.unit = "samples"
