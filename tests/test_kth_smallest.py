"""fitting.kth_smallest is np.partition(values, k)[k] exactly, whether its sampled bracket holds or misses."""
import numpy as np
import pytest

from lsis_robust.fitting import kth_smallest

_RNG = np.random.default_rng(0)
N = 10_001  # past the size below which it partitions directly
# Random orders (the bracket holds), and orders, ties and NaN where it can miss and the whole array is selected from.
CASES = {
    "normal": _RNG.standard_normal(N),
    "heavy tails": _RNG.standard_cauchy(N),
    "sorted": np.sort(_RNG.random(N)),
    "reversed": np.sort(_RNG.random(N))[::-1].copy(),
    "three values": _RNG.integers(1, 4, N).astype(float),
    "periodic": np.tile(np.arange(37.0), N // 37 + 1)[:N],
    "constant": np.full(N, 3.0),
    "signed zeros": np.where(_RNG.random(N) < 0.5, 0.0, -0.0) + (_RNG.random(N) < 0.3),
    "NaN and inf": np.where(_RNG.random(N) < 0.2, np.nan, np.where(_RNG.random(N) < 0.1, np.inf, _RNG.random(N))),
    "small": _RNG.standard_normal(50),
}


@pytest.mark.parametrize("name", CASES)
def test_kth_smallest_is_the_order_statistic(name):
    values = CASES[name]
    n = values.size
    for k in sorted({0, 1, (n - 1) // 10, (n - 1) // 2, n // 2, n - 2, n - 1, *_RNG.integers(0, n, 20).tolist()}):
        before = values.copy()
        got, expected = kth_smallest(values, k), np.partition(values, k)[k]
        assert got == expected or (np.isnan(got) and np.isnan(expected)), (k, got, expected)
        np.testing.assert_array_equal(values, before)  # the caller's array is left as it was
