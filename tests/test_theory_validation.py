"""Hostile inputs of the theory engine: out-of-range beta, NaN, wrong shapes, bad alphas and eps."""
import mpmath as mp
import numpy as np
import pytest

from lsis_robust.theory import are_table, asymptotic_relative_efficiency, influence_function
from lsis_robust.theory.contamination import contaminated_functional


def _are_reference(beta, alpha):
    """ARE of MLSLR(alpha) under design (20) from the closed forms (18), by mpmath quadrature (scale-free in t)."""
    b1, b2 = (mp.mpf(b) for b in beta)
    mp.mp.dps = 30

    def moments(h):
        def entry(i, j):
            f = lambda x: h(b1 + b2 * x) * x ** (i + j) * mp.npdf(x)  # noqa: E731
            return mp.quad(f, [-mp.inf, -b1 / b2 - 1 / abs(b2), -b1 / b2, -b1 / b2 + 1 / abs(b2), mp.inf])
        return mp.matrix([[entry(0, 0), entry(0, 1)], [entry(1, 0), entry(1, 1)]])

    def pq(t):
        return mp.exp(-t) / (1 + mp.exp(-t)) ** 2

    lr = moments(pq) ** -1
    def u(t):
        p = 1 / (1 + mp.exp(-t))
        return (p - alpha * (p - mp.mpf(1) / 2)) * (1 - p + alpha * (p - mp.mpf(1) / 2))
    A = moments(lambda t: pq(t) ** 3 / u(t) ** 2)
    B = moments(lambda t: pq(t) ** 2 / u(t))
    C = B ** -1 * A * B ** -1
    return float((lr[0, 0] + lr[1, 1]) / (C[0, 0] + C[1, 1]))


@pytest.mark.parametrize("beta", [(0.0, 4.0), (0.0, 1e6), (3.0, 40.0), (25.0, 3.0)])
def test_are_matches_mpmath_up_to_the_allowed_range(beta):
    assert asymptotic_relative_efficiency("mlslr:alpha=0.4", beta) == pytest.approx(_are_reference(beta, 0.4), rel=1e-9)


def test_constant_score_gives_are_one():
    # beta2 = 0: every Fisher-consistent loss estimates one Bernoulli probability efficiently. Main gave 52278.
    for b1 in (5.0, 40.0, 200.0):
        assert asymptotic_relative_efficiency("mlslr:alpha=0.4", (b1, 0.0)) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("beta", [(0.0, 1e300), (0.0, 1e7), (1e3, 1.0), (-231.0, 0.0), (0.0, -1e300)])
def test_beta_outside_the_range_is_a_one_line_error(beta):
    with pytest.raises(ValueError, match=r"outside the range.*sd <= 1e\+06") as info:
        are_table([beta])
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("beta", [(np.nan, 1.0), (0.0, np.inf), (1.0,), (1.0, 2.0, 3.0), (), "ab"])
def test_bad_betas(beta):
    with pytest.raises((ValueError, TypeError)):
        are_table([beta])


@pytest.mark.parametrize("alphas", [(np.nan,), (1.0,), (-0.1,), (np.inf,), ("x",), ()])
def test_bad_alphas(alphas):
    with pytest.raises((ValueError, TypeError), match="alpha"):
        are_table([(0.0, 1.0)], alphas=alphas)


def test_empty_betas():
    with pytest.raises(ValueError, match="betas is empty"):
        are_table([])


def test_influence_and_contamination_inputs():
    with pytest.raises(ValueError, match="x_c"):
        influence_function("lr", (0.0, 1.0), (1.0, np.nan), 1)
    with pytest.raises(ValueError, match="y_c"):
        influence_function("lr", (0.0, 1.0), (1.0, 2.0), 0.5)
    for eps in (np.nan, -0.1, 1.0, np.inf):
        with pytest.raises(ValueError, match="eps"):
            contaminated_functional("lr", (0.0, 1.0), eps, (1.0, 2.0), 1)
    with pytest.raises(ValueError, match="outside the range"):
        contaminated_functional("lr", (0.0, 1e300), 0.1, (1.0, 2.0), 1)
