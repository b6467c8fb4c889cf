"""Theorem 1 (B1-B8) and Theorem 2 of the paper, as property tests on lsis_robust.probability."""
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from lsis_robust import probability as pr

settings.register_profile("theory", max_examples=60, deadline=None)
settings.load_profile("theory")

K_ = st.integers(2, 6)


@st.composite
def simplex_point(draw, K, interior=False):
    w = np.array(draw(st.lists(st.floats(1e-3 if interior else 0.0, 1.0), min_size=K, max_size=K)))
    assume(w.sum() > 1e-3)
    return w / w.sum()


@st.composite
def alpha_below(draw, K):
    return draw(st.floats(0.0, 0.999))


@st.composite
def alpha_above(draw, K):
    return draw(st.floats(1.001, K / (K - 1)))


@st.composite
def alpha_any(draw, K):
    return draw(st.one_of(alpha_below(K), alpha_above(K)))


@st.composite
def case(draw, alpha_kind=alpha_any):
    K = draw(K_)
    alpha = draw(alpha_kind(K))
    g = np.array(draw(st.lists(st.floats(-30, 30), min_size=K, max_size=K)))
    return K, alpha, g


def in_domain(alpha, p):
    """A point of s_alpha^{-1}(simplex): the inverse smoothing of a simplex point."""
    return pr.unsmooth(p, alpha)


# ------------------------------------------------------------------ basics

def test_smooth_unsmooth_roundtrip_and_formula():
    p = np.array([[0.7, 0.2, 0.1], [0.0, 0.0, 1.0]])
    s = pr.smooth(p, 0.3)
    np.testing.assert_allclose(s, 0.7 * p + 0.1)
    np.testing.assert_allclose(pr.unsmooth(s, 0.3), p, atol=1e-15)
    np.testing.assert_allclose(pr.smooth(p, 1.0), np.full_like(p, 1 / 3))


def test_log_logit_model_keeps_small_losses():
    g = np.array([40.0, 0.0, 0.0])
    assert -pr.log_logit_model(g)[0] == pytest.approx(2 * math.exp(-40), rel=1e-12)
    np.testing.assert_allclose(pr.log_logit_model(np.array([[1.0, 2.0], [3.0, 3.0]])),
                               np.log(pr.logit_model(np.array([[1.0, 2.0], [3.0, 3.0]]))), rtol=1e-14)


def test_logit_model_stable_for_huge_logits():
    g = np.array([1e4, -1e4, 0.0])
    q = pr.logit_model(g)
    assert np.all(np.isfinite(q)) and q[0] == 1.0
    assert pr.log_logit_model(g)[1] == pytest.approx(-2e4)
    # The R-logit cancellation stays exact in log space even where q_L underflows.
    alpha = 0.3
    d = pr.skl_divergence_logits(np.array([0.0, 0.0, 1.0]), g, alpha, model="r_logit")
    sp = pr.smooth(np.array([0.0, 0.0, 1.0]), alpha)  # (0.1, 0.1, 0.8)
    log_q = np.array([0.0, -2e4, -1e4])
    assert d == pytest.approx(np.sum(sp * np.log(sp)) - np.sum(sp * log_q), rel=1e-12)


@pytest.mark.parametrize("bad, err", [
    (dict(alpha=1.0), ValueError), (dict(alpha=2.5), ValueError), (dict(alpha=-0.1), ValueError),
    (dict(alpha=float("nan")), ValueError), (dict(alpha="0.1"), TypeError),
])
def test_bad_alpha(bad, err):
    with pytest.raises(err, match="alpha"):
        pr.r_logit_model(np.zeros(3), **bad)


def test_bad_vectors():
    with pytest.raises(ValueError, match="K >= 2"):
        pr.logit_model(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="NaN"):
        pr.logit_model(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="sum to 1"):
        pr.skl_divergence([0.5, 0.6], [0.5, 0.5], 0.2)
    with pytest.raises(ValueError, match="outside"):
        pr.skl_divergence([1.5, -0.5], [0.5, 0.5], 0.2)
    with pytest.raises(ValueError, match="same number"):
        pr.skl_divergence([0.5, 0.5], [0.2, 0.3, 0.5], 0.2)
    with pytest.raises(TypeError):
        pr.smooth("abc", 0.1)
    with pytest.raises(ValueError, match="model"):
        pr.skl_divergence_logits([0.5, 0.5], [0.0, 1.0], 0.2, model="probit")


# ------------------------------------------------------------------ Theorem 1

@given(case())
def test_B1_range_and_cover(c):
    K, alpha, g = c
    lo, hi = pr.r_logit_range(alpha, K)
    q = pr.r_logit_model(g, alpha)
    assert np.all(q >= lo - 1e-12) and np.all(q <= hi + 1e-12)
    assert lo <= 0 and hi >= 1  # the intervals cover [0, 1]
    # The ends are approached: a dominant logit drives its entry to the end
    # that q_L = 1 maps to and every other entry to the one q_L = 0 maps to.
    big = np.zeros(K)
    big[0] = 800.0
    q_big = pr.r_logit_model(big, alpha)
    ends = {(K - alpha) / (K * (1 - alpha)), -alpha / (K * (1 - alpha))}
    assert min(abs(q_big[0] - e) for e in ends) < 1e-12
    assert min(abs(q_big[1] - e) for e in ends) < 1e-12


@given(case())
def test_B2_sums_to_one(c):
    K, alpha, g = c
    assert pr.r_logit_model(g, alpha).sum() == pytest.approx(1.0, abs=1e-12 * max(1, 1 / abs(1 - alpha)))


@given(st.data())
def test_B3_nonnegative_zero_iff_equal(data):
    K = data.draw(K_)
    alpha = data.draw(alpha_any(K))
    p = in_domain(alpha, data.draw(simplex_point(K)))
    q = in_domain(alpha, data.draw(simplex_point(K, interior=True)))
    d = pr.skl_divergence(p, q, alpha)
    assert d >= 0
    assert pr.skl_divergence(p, p, alpha) == pytest.approx(0.0, abs=1e-15)
    if np.max(np.abs(pr.smooth(p, alpha) - pr.smooth(q, alpha))) > 1e-4:
        assert d > 0
    assert pr.skl_divergence(p, q, 1.0) == 0.0


def test_B3_consistency_minimiser_is_p():
    """arg min_q D(p||q) = p (eq. 9): minimise over the logit parametrisation of s(q)."""
    from scipy.optimize import minimize

    p = np.array([0.6, 0.3, 0.1])
    for alpha in (0.0, 0.4, 0.9, 1.3):
        res = minimize(lambda h: pr.skl_divergence_logits(p, np.r_[h, 0.0], alpha, model="r_logit"),
                       np.zeros(2), method="BFGS", options=dict(gtol=1e-10))
        np.testing.assert_allclose(pr.r_logit_model(np.r_[res.x, 0.0], alpha), p, atol=1e-5)


@given(st.data())
def test_B4_joint_convexity(data):
    K = data.draw(K_)
    alpha = data.draw(st.one_of(alpha_any(K), st.just(1.0)))
    p1, p2 = (in_domain(alpha, data.draw(simplex_point(K))) if alpha != 1 else data.draw(simplex_point(K))
              for _ in range(2))
    q1, q2 = (in_domain(alpha, data.draw(simplex_point(K, interior=True))) if alpha != 1
              else data.draw(simplex_point(K)) for _ in range(2))
    r = data.draw(st.floats(0, 1))
    lhs = pr.skl_divergence(r * p1 + (1 - r) * p2, r * q1 + (1 - r) * q2, alpha)
    rhs = r * pr.skl_divergence(p1, q1, alpha) + (1 - r) * pr.skl_divergence(p2, q2, alpha)
    assert lhs <= rhs + 1e-12


@given(st.data())
def test_B5_logit_model_minimiser_at_infinity(data):
    K = data.draw(K_)
    alpha = data.draw(alpha_any(K))
    e1 = np.eye(K)[0]
    t = np.linspace(-5, 40, 200)
    g = np.zeros((t.size, K))
    g[:, 0] = t
    d = pr.skl_divergence_logits(e1, g, alpha)
    # Decreasing along g_1 towards 0, reached only as g_1 -> infinity; below
    # 1e-14 the difference of the two log terms is rounding noise.
    assert np.all(np.diff(d) <= 1e-14)
    assert np.all(d[t < 5] > 1e-8 * (1 - alpha) ** 2) and np.all(d[t < 12] > 0) and d[-1] < 1e-12


@given(st.data())
def test_B6_r_logit_minimiser(data):
    K = data.draw(K_)
    alpha = data.draw(st.one_of(st.floats(0.01, 0.99), st.floats(1.01, K / (K - 1) - 0.01)))
    e1 = np.eye(K)[0]
    g_star = math.log(K / alpha + 1 - K)

    def f(t):
        return pr.skl_divergence_logits(e1, np.r_[t, np.zeros(K - 1)], alpha, model="r_logit")

    assert f(g_star) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(pr.r_logit_model(np.r_[g_star, np.zeros(K - 1)], alpha), e1, atol=1e-12)
    res = minimize_scalar(f, bracket=(g_star - 3, g_star + 3), tol=1e-12)
    assert res.x == pytest.approx(g_star, abs=1e-4)


def test_B6_ends_of_range():
    K = 4
    e1 = np.eye(K)[0]
    t = np.linspace(-10, 30, 50)
    g = np.zeros((t.size, K))
    g[:, 0] = t
    d_lr = pr.skl_divergence_logits(e1, g, 0.0, model="r_logit")
    assert np.all(np.diff(d_lr) < 0)  # alpha = 0: minimiser at +infinity
    d_top = pr.skl_divergence_logits(e1, g, K / (K - 1), model="r_logit")
    assert np.all(np.diff(d_top) > 0)  # alpha = K/(K-1): minimiser at -infinity


@given(st.data())
def test_B7_reflection(data):
    K = data.draw(K_)
    alpha = data.draw(alpha_above(K))
    alpha2 = K - (K - 1) * alpha
    assert 0 <= alpha2 < 1
    p = in_domain(alpha, data.draw(simplex_point(K)))
    q = in_domain(alpha, data.draw(simplex_point(K, interior=True)))
    g = np.array(data.draw(st.lists(st.floats(-20, 20), min_size=K, max_size=K)))
    p2, q2 = (1 - p) / (K - 1), (1 - q) / (K - 1)
    s2 = pr.smooth(p2, alpha2)
    assert np.all(s2 >= -1e-12) and s2.sum() == pytest.approx(1.0)  # in s_{alpha2}^{-1}(simplex)
    # p and q come from unsmoothing, which scales rounding errors by 1/|1 - alpha| (up to 1000 here)
    tol = 1e-13 / min(abs(1 - alpha), abs(1 - alpha2))
    assert pr.skl_divergence(p, q, alpha) == pytest.approx(pr.skl_divergence(p2, q2, alpha2), rel=1e-9, abs=tol)
    assert pr.skl_divergence_logits(p, g, alpha, "r_logit") == pytest.approx(
        pr.skl_divergence_logits(p2, g, alpha2, "r_logit"), rel=1e-9, abs=tol)


@given(st.data())
def test_B8_binary_symmetry(data):
    alpha = data.draw(alpha_above(2))
    p = in_domain(alpha, data.draw(simplex_point(2)))
    g = np.array(data.draw(st.lists(st.floats(-20, 20), min_size=2, max_size=2)))
    d = pr.skl_divergence_logits
    assert d(p, g, alpha) == pytest.approx(d(1 - p, -g, 2 - alpha), rel=1e-9, abs=1e-13)
    assert d(p, g, alpha) == pytest.approx(d(p, g, 2 - alpha), rel=1e-9, abs=1e-13)
    assert d(p, g, alpha, "r_logit") == pytest.approx(d(1 - p, g, 2 - alpha, "r_logit"), rel=1e-9, abs=1e-13)
    assert d(p, g, alpha, "r_logit") == pytest.approx(d(p, -g, 2 - alpha, "r_logit"), rel=1e-9, abs=1e-13)
    assert 0 <= 2 - alpha < 1


# ------------------------------------------------------------------ Theorem 2

@given(st.data())
def test_theorem2_limit_is_squared_distance(data):
    K = data.draw(K_)
    p = data.draw(simplex_point(K))
    q = data.draw(simplex_point(K, interior=True))
    sq = pr.squared_distance(p, q)
    assume(sq > 1e-4)
    errs = []
    for delta in (1e-2, 1e-3, 1e-4):
        for alpha in (1 - delta, 1 + delta * min(1, 1 / (K - 1))):
            scaled = 2 * alpha / ((1 - alpha) ** 2 * K) * pr.skl_divergence(p, q, alpha)
            errs.append(abs(scaled / sq - 1))
    # The relative error is O(|1 - alpha|): it shrinks tenfold with |1 - alpha|.
    assert errs[-1] < 2e-3 and errs[-2] < 2e-3
    assert max(errs[-2:]) < max(errs[:2]) / 5


def test_theorem2_hand_value():
    p, q, alpha = np.array([0.9, 0.1]), np.array([0.4, 0.6]), 0.999
    scaled = 2 * alpha / ((1 - alpha) ** 2 * 2) * pr.skl_divergence(p, q, alpha)
    assert scaled == pytest.approx(0.5, rel=2e-3)
