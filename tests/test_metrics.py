"""Metrics of Section IV against brute-force loops over examples and entries."""
import numpy as np
import pytest

from lsis_robust.metrics import (RiskMeter, RLogitMeter, msor, msor_eq30, opder, oper, predict_labels, rlogit, tsr,
                                 ttr)


def _brute(logits, alpha):
    """Python loops over eq. (10), (28), (29) and the MSoR reading documented in lsis_robust.metrics."""
    n, k = logits.shape
    rows_out = entries_out = 0
    resid = 0.0
    for g in logits:
        e = np.exp(g - g.max())
        p = e / e.sum()
        q = [(pk - alpha / k) / (1 - alpha) for pk in p]
        bad = [qk < 0 or qk > 1 for qk in q]
        rows_out += any(bad)
        entries_out += sum(bad)
        resid += sum(abs(qk - 0.5) - 0.5 for qk, b in zip(q, bad) if b)
    # msor: mean over the out-of-range entries; msor_eq30: eq. (30) as printed, OPER / (n K) times the sum.
    return (rows_out / n, entries_out / (n * k), resid / entries_out if entries_out else 0.0,
            entries_out / (n * k) / (n * k) * resid)


@pytest.mark.parametrize("alpha", [0.2, 0.8, 9.2 / 9, 10 / 9])
def test_rlogit_meter_streams_exactly(alpha):
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(103, 10)) * 3
    expected = _brute(logits, alpha)
    meter = RLogitMeter(alpha, 10)
    for s, e in ((0, 1), (1, 40), (40, 41), (41, 103)):  # uneven batches
        meter.update(logits[s:e])
    got = meter.result()
    assert (got["opder"], got["oper"]) == expected[:2]  # counts: exactly equal
    assert got["msor"] == pytest.approx(expected[2], rel=1e-12)
    assert got["msor_eq30"] == pytest.approx(expected[3], rel=1e-12)
    assert msor_eq30(q := rlogit(logits, alpha)) == pytest.approx(expected[3], rel=1e-12)
    assert got["msor_eq30"] == pytest.approx(got["oper"] ** 2 * got["msor"], rel=1e-12)
    q = rlogit(logits, alpha)
    np.testing.assert_allclose(q.sum(1), 1.0, atol=1e-12)  # R-logit vectors sum to 1
    assert opder(q) == got["opder"] and oper(q) == got["oper"]
    assert msor(q) == pytest.approx(got["msor"], rel=1e-12)
    assert 0 < got["msor"]


def test_rlogit_range_bounds_and_msor_relation_to_printed_formula():
    alpha, k = 0.2, 10
    q = rlogit(np.array([[50.0] + [0.0] * 9]), alpha)  # one certain class
    # Fig. 5: the R-logit entries range over [-alpha/(K(1-alpha)), (K-alpha)/(K(1-alpha))].
    assert q[0, 1] == pytest.approx(-alpha / (k * (1 - alpha)))
    assert q[0, 0] == pytest.approx((k - alpha) / (k * (1 - alpha)))
    # printed sum over all entries divided by n K equals OPER times our MSoR.
    total = np.clip(np.abs(q - 0.5) - 0.5, 0, None).sum() / q.size
    assert total == pytest.approx(oper(q) * msor(q))
    assert opder(q) == 1.0 and oper(q) == 1.0


def test_inside_simplex_gives_zero():
    q = np.array([[0.2, 0.8], [0.0, 1.0]])
    assert opder(q) == oper(q) == msor(q) == msor_eq30(q) == 0.0
    meter = RLogitMeter(0.0, 3)
    meter.update(np.zeros((4, 3)))
    assert meter.result() == {"opder": 0.0, "oper": 0.0, "msor": 0.0, "msor_eq30": 0.0}


def test_msor_both_normalisations_by_hand():
    # Residuals (|q - 1/2| - 1/2)_+: 0.1 for -0.1 and for 1.1, 0.3 for -0.3, 0 for the others.
    q = np.array([[-0.1, 1.1, 0.0],
                  [0.5, 0.5, 0.0],
                  [-0.3, 0.6, 0.7]])
    # 3 of the 9 entries are out of range, in 2 of the 3 rows; summed residual 0.5.
    assert opder(q) == pytest.approx(2 / 3)
    assert oper(q) == pytest.approx(3 / 9)
    assert msor(q) == pytest.approx(0.5 / 3)  # mean over the 3 out-of-range entries
    assert msor_eq30(q) == pytest.approx((3 / 9) / 9 * 0.5)  # OPER / (n K) * sum
    # One entry out of range among n K = 2: the two forms differ by OPER^2 = 1/4.
    q1 = np.array([[-0.2, 1.0]])
    assert msor(q1) == pytest.approx(0.2) and msor_eq30(q1) == pytest.approx(0.5 / 2 * 0.2)
    # The meter on logits reproduces the functions of the R-logit model exactly.
    logits = np.array([[4.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    meter = RLogitMeter(0.5, 3)
    meter.update(logits)
    q2 = rlogit(logits, 0.5)
    assert meter.result()["msor_eq30"] == pytest.approx(msor_eq30(q2), rel=1e-14)
    assert meter.result()["msor"] == pytest.approx(msor(q2), rel=1e-14) and msor(q2) > 0


def test_risk_meter_exact_over_batches_and_argmin():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(57, 10))
    y = rng.integers(0, 10, 57)
    losses = rng.random(57)
    for argmin in (False, True):
        m = RiskMeter(argmin=argmin)
        for s in range(0, 57, 10):
            m.update(losses[s:s + 10], logits[s:s + 10], y[s:s + 10])
        pred = logits.argmin(1) if argmin else logits.argmax(1)
        errors = sum(int(p != t) for p, t in zip(pred, y))
        assert m.result()["ttr"] == errors / 57
        assert m.result()["tsr"] == pytest.approx(losses.mean(), rel=1e-14)
        np.testing.assert_array_equal(predict_labels(logits, argmin), pred)
        assert ttr(pred, y) == errors / 57
    assert tsr(losses) == pytest.approx(losses.mean())


def test_bad_inputs():
    with pytest.raises(ValueError, match="outside the valid range"):
        RLogitMeter(1.0, 10)
    with pytest.raises(ValueError, match="outside the valid range"):
        rlogit(np.zeros((2, 10)), 1.2)
    with pytest.raises(ValueError, match=r"shape \(n, K\)"):
        predict_labels(np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        RLogitMeter(0.2, 2).update(np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="classes"):
        RLogitMeter(0.2, 3).update(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="integer array"):
        RiskMeter().update(np.zeros(2), np.zeros((2, 3)), np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="losses must have shape"):
        RiskMeter().update(np.zeros(3), np.zeros((2, 3)), np.array([0, 1]))
    with pytest.raises(ValueError, match="before any update"):
        RiskMeter().result()
    with pytest.raises(ValueError, match="non-empty"):
        tsr([])
    for f in (opder, oper, msor, msor_eq30):
        with pytest.raises(ValueError, match="NaN"):
            f(np.array([[np.nan, 1.0]]))  # a NaN would otherwise count as in range
        with pytest.raises(ValueError, match="shape"):
            f(np.zeros((0, 3)))
        with pytest.raises(ValueError, match="shape"):
            f(np.zeros(3))
