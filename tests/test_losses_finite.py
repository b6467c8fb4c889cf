"""Every public method of every built-in loss over the whole float range, against mpmath references.

The references are the formulas of the paper (and NOTES.md) evaluated naively in mpmath at 50+ digits,
where huge exponents are no problem; their derivatives are checked against mpmath's numerical
differentiation. NaN margins raise (a NaN margin is a bug upstream; numpy would propagate it silently).
"""
import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsis_robust.losses import (LR, LSLR, LSQLR, MLSLR, BiancoYohai, CrouxHaesbroeck, _validate_c,
                                validate_alpha)

ALPHAS = (0.0, 0.1, 0.4, 0.99, 1.01, 1.5, 2.0)
CS = (1e-3, 0.5, 1.0, 10.0, 1e3)
LOSSES = ([LR()] + [LSLR(a) for a in ALPHAS] + [MLSLR(a) for a in ALPHAS] + [LSQLR()]
          + [BiancoYohai(c) for c in CS] + [CrouxHaesbroeck(c) for c in CS])
IDS = [repr(loss) for loss in LOSSES]
EDGES = [-1.7976931348623157e308, -1e300, -1e20, -1e6, -1e4, -1000.0, -745.5, -709.0, -50.0, -1.0, -1e-300,
         -5e-324, -0.0, 0.0, 5e-324, 1e-300, 1.0, 50.0, 709.0, 745.5, 1000.0, 1e4, 1e6, 1e20, 1e300,
         1.7976931348623157e308]
full_floats = st.floats(allow_nan=False, allow_infinity=False, width=64)


# ------------------------------------------------------------------ mpmath references

def _sig(m):
    return 1 / (1 + mp.exp(-m))


def _v(m):
    return mp.log1p(mp.exp(-m))  # phi_LR(m) = -log sigma(m)


def _psi_by(c, v):
    return (1 - v / c) if v < c else mp.mpf(0), (-1 / c) if v < c else mp.mpf(0)


def _psi_ch(c, v):
    s = mp.sqrt(max(v, c))
    return mp.exp(-s), (-mp.exp(-s) / (2 * s)) if v > c else mp.mpf(0)


def _zeta_eta(loss, v):
    c = mp.mpf(loss.c)
    t = mp.exp(-v)
    if isinstance(loss, BiancoYohai):
        zeta = v - v * v / (2 * c) if v <= c else c / 2
        eta = (t * (1 - 1 / c) + t * mp.log(t) / c + mp.exp(-c) / c) if v < c else mp.mpf(0)
        return zeta, eta
    sc = mp.sqrt(c)
    zeta = v * mp.exp(-sc) if v <= c else -2 * mp.exp(-mp.sqrt(v)) * (1 + mp.sqrt(v)) + mp.exp(-sc) * (2 * (1 + sc) + c)
    x = mp.sqrt(max(v, c))
    eta = t * mp.exp(-x) - mp.exp(mp.mpf(1) / 4) * mp.sqrt(mp.pi) * mp.erfc(mp.mpf(1) / 2 + x) / 2
    return zeta, eta


def reference(loss, m):
    """(phi, phi', phi'', scale) at the float m, with scale the size of the terms that cancel (for tolerances)."""
    m = mp.mpf(m)
    sp, sn = _sig(m), _sig(-m)
    s2 = sp * sn
    if isinstance(loss, (LR, LSLR)):
        a = mp.mpf(getattr(loss, "alpha", 0)) / 2
        phi = (1 - a) * _v(m) + (a * _v(-m) if a else 0)
        d1 = -(1 - a) * sn + a * sp
        return phi, d1, s2, [abs(phi), (1 - a) * sn + a * sp, s2]
    if isinstance(loss, MLSLR):
        al = mp.mpf(loss.alpha)
        a, b = 1 - al / 2, al / 2
        u, un = (1 - al) * sp + b, (1 - al) * sn + b
        if b == 0 or a == 0:  # LR
            return _v(m), -sn, s2, [_v(m), sn, s2]
        phi = -a * mp.log(u) - b * mp.log(un)
        # textbook derivatives: -(1-al)[a g(m) - b g(-m)], g = s2/u; they cancel to e^{-2|m|}
        g, h = s2 / u, s2 / un
        tanh = mp.tanh(m / 2)
        d1 = -(1 - al) * (a * g - b * h)
        d2 = -(1 - al) * (a * (-tanh * g - (1 - al) * g * g) - b * (-tanh * h + (1 - al) * h * h))
        return phi, d1, d2, [phi, abs(d1), s2 * abs(d2 / s2 if s2 else 0)]
    if isinstance(loss, LSQLR):
        return sn ** 2 / 2, -sn * s2, s2 * sn * (2 * sp - sn), [sn ** 2, sn * s2, s2 * sn * (2 * sp + sn)]
    v, vbar = _v(m), _v(-m)
    z, e1 = _zeta_eta(loss, v)
    _, e2 = _zeta_eta(loss, vbar)
    psi = _psi_by if isinstance(loss, BiancoYohai) else _psi_ch
    (p_v, dp_v), (p_vb, dp_vb) = psi(mp.mpf(loss.c), v), psi(mp.mpf(loss.c), vbar)
    d1 = -sn * (sn * p_v + sp * p_vb)
    d2 = s2 * (2 * sn * p_v - (sn - sp) * p_vb - sp * dp_vb) + sn ** 3 * dp_v
    scale2 = s2 * (2 * sn * p_v + (sn + sp) * p_vb + sp * abs(dp_vb)) + sn ** 3 * abs(dp_v)
    return z + e1 + e2, d1, d2, [abs(z) + abs(e1) + abs(e2), abs(d1), scale2]


def _rtol(loss):
    # Measured: BY's eta subtracts terms of size 1/c, so c = 1e-3 keeps only about 10 digits (2e-10 relative).
    return 1e-9 if isinstance(loss, BiancoYohai) and loss.c < 0.01 else 1e-12


def _kink_margins(loss):
    c = getattr(loss, "c", None)
    if c is None:
        return []
    k = c + math.log(-math.expm1(-c))  # log(e^c - 1) without overflow
    return [-k, k]


# ------------------------------------------------------------------ the tests

@pytest.mark.parametrize("loss", LOSSES, ids=IDS)
def test_reference_derivatives_are_derivatives_of_the_reference_phi(loss):
    """The mpmath references themselves: phi' and phi'' against mpmath's numerical derivative."""
    with mp.workdps(40):
        for m in (-20.0, -3.0, -0.7, 0.0, 0.4, 2.5, 15.0):
            if any(abs(m - k) < 1e-3 for k in _kink_margins(loss)):
                continue
            phi, d1, d2, _ = reference(loss, m)
            assert abs(mp.diff(lambda t: reference(loss, t)[0], m) - d1) <= mp.mpf(1e-25) * (1 + abs(d1))
            assert abs(mp.diff(lambda t: reference(loss, t)[1], m) - d2) <= mp.mpf(1e-25) * (1 + abs(d2))


def _check_against_reference(loss, margins):
    m = np.asarray(margins, dtype=np.float64)
    got = loss.derivatives(m)
    w = loss.weight(m)
    for i, mi in enumerate(m):
        digits = 50 + (int(0.9 * min(abs(mi), 800)) if isinstance(loss, MLSLR) else 0)
        with mp.workdps(digits):
            ref = reference(loss, mi)
            refw = ref[1] / -_sig(-mp.mpf(mi)) if _sig(-mp.mpf(mi)) != 0 else None
        for k, name in enumerate(("phi", "phi'", "phi''")):
            value = got[k][i]
            assert np.isfinite(value), (loss, name, mi, value)
            if isinstance(loss, MLSLR) and 0 < loss.alpha < 2 and abs(mi) > 800 and k:
                # the textbook reference cannot resolve e^{-2|m|} here; the true value is below 1e-340
                assert abs(value) <= 1e-300, (loss, name, mi, value)
                continue
            tol = _rtol(loss) * abs(ref[k]) + 1e-14 * ref[3][k] + 1e-300
            assert abs(value - ref[k]) <= tol, (loss, name, mi, value, float(ref[k]))
        if refw is not None and not isinstance(loss, (LSLR, MLSLR)):
            assert abs(w[i] - refw) <= 1e-12 * abs(refw) + 1e-14 + 1e-300, (loss, "weight", mi, w[i], float(refw))


@pytest.mark.parametrize("loss", LOSSES, ids=IDS)
def test_float_edges_match_mpmath(loss):
    _check_against_reference(loss, EDGES)


@settings(max_examples=8, deadline=None)
@given(st.lists(full_floats, min_size=1, max_size=2), st.lists(st.floats(-60, 60), min_size=1, max_size=2))
def test_random_margins_match_mpmath(wide, moderate):
    for loss in LOSSES:
        _check_against_reference(loss, wide + moderate)


@settings(max_examples=60, deadline=None)
@given(full_floats)
def test_every_method_is_finite_over_the_float_range(m):
    for loss in LOSSES:
        arr = np.array([m])
        for method in ("phi", "dphi", "d2phi", "__call__", "link"):
            assert np.all(np.isfinite(getattr(loss, method)(arr))), (loss, method, m)
        for part in (*loss.derivatives(arr), *loss.dphi_d2phi(arr)):
            assert np.all(np.isfinite(part)), (loss, m)
        w = loss.weight(arr)[0]
        if isinstance(loss, LSLR) and loss.alpha > 0 and m > 700:
            # (1 - a) - a e^m: finite exactly while a e^m is a float, else the limit -inf
            a = loss.alpha / 2
            assert w == (-np.inf if math.log(a) + m > 709.79 else pytest.approx((1 - a) - a * math.exp(m), rel=1e-12))
        else:
            assert np.isfinite(w), (loss, "weight", m, w)


@pytest.mark.parametrize("loss", LOSSES, ids=IDS)
def test_weights_in_closed_form_match_mpmath(loss):
    m = np.array([-1e300, -800.0, -40.0, -1.0, 0.0, 3.0, 40.0, 700.0, 746.0, 1e4, 1e300])
    w = loss.weight(m)
    with mp.workdps(50 + (720 if isinstance(loss, MLSLR) else 0)):
        for mi, wi in zip(m, w):
            _, d1, _, _ = reference(loss, mi)
            sn = _sig(-mp.mpf(mi))
            if isinstance(loss, MLSLR) and 0 < loss.alpha < 2 and abs(mi) > 750:
                assert 0 <= wi <= 1e-300
                continue
            if isinstance(loss, LSLR):
                a = mp.mpf(loss.alpha) / 2
                ref = (1 - a) - a * mp.exp(mp.mpf(mi))
            else:
                ref = d1 / -sn
            if abs(ref) > 1.7976931348623157e308:
                assert wi == -np.inf
            else:
                assert abs(wi - ref) <= 1e-12 * abs(ref) + 1e-15, (loss, mi, wi, float(ref))


@pytest.mark.parametrize("loss", LOSSES, ids=IDS)
def test_limits_at_infinite_margins(loss):
    inf = np.array([-np.inf, np.inf])
    phi, d1, d2 = loss.derivatives(inf)
    big = np.array([-1e300, 1e300])
    phi_big, d1_big, d2_big = loss.derivatives(big)
    unbounded_left = isinstance(loss, LR) or (isinstance(loss, LSLR) and loss.alpha < 2) or (isinstance(loss, MLSLR) and loss.alpha in (0, 2))
    assert phi[0] == (np.inf if unbounded_left else phi_big[0])
    lslr_right = isinstance(loss, LSLR) and loss.alpha > 0
    assert phi[1] == (np.inf if lslr_right else phi_big[1])
    np.testing.assert_array_equal(d1, d1_big)
    np.testing.assert_array_equal(d2, d2_big)
    w = loss.weight(inf)
    assert w[0] == loss.weight(np.array([-1e300]))[0]
    assert w[1] == (-np.inf if lslr_right else loss.weight(np.array([1e300]))[0])


@pytest.mark.parametrize("loss", LOSSES, ids=lambda x: repr(x))  # every built-in is a rho-transform
def test_rho_over_the_range_of_v(loss):
    v = np.array([5e-324, 1e-300, 1e-12, 0.3, 5.0, 40.0, 700.0, 1e4, 1e300, 1.7976931348623157e308])
    r = loss.rho(v)
    assert np.all(np.isfinite(r)), (loss, r)
    # rho(phi_LR(m)) = phi(m) where v is an exact float image of a margin
    m = np.array([-1e4, -40.0, -1.0, 0.0, 2.0, 30.0])
    np.testing.assert_allclose(loss.rho(LR().phi(m)), loss.phi(m), rtol=_rtol(loss))
    # limits: v = 0 is m = +inf, v = inf is m = -inf
    ends = loss.rho(np.array([0.0, np.inf]))
    np.testing.assert_array_equal(ends, loss.phi(np.array([np.inf, -np.inf])))
    with pytest.raises(ValueError, match=">= 0"):
        loss.rho(np.array([1.0, -1e-300]))
    with pytest.raises(ValueError, match="NaN"):
        loss.rho(np.array([np.nan]))


def test_nan_and_non_numbers_are_clear_errors():
    for loss in LOSSES:
        for method in (loss.phi, loss.dphi, loss.d2phi, loss.derivatives, loss.dphi_d2phi, loss.weight, loss.link):
            with pytest.raises(ValueError, match="NaN"):
                method(np.array([0.0, np.nan]))
            for bad in (None, "1.0", [1.0, "x"], 1 + 2j, np.array([True])):
                with pytest.raises(TypeError, match="real numbers"):
                    method(bad)


@pytest.mark.parametrize("bad, error", [(np.nan, ValueError), (np.inf, ValueError), (-np.inf, ValueError),
                                        (True, TypeError), (np.bool_(False), TypeError), ("0.4", TypeError),
                                        (None, TypeError), (np.array([0.4]), TypeError), (1 + 0j, TypeError),
                                        (1.0, ValueError), (-1e-300, ValueError), (2.0000000001, ValueError)])
def test_alpha_validation(bad, error):
    with pytest.raises(error, match="alpha"):
        validate_alpha(bad)


def test_alpha_accepts_numpy_scalars_and_0d_arrays():
    assert validate_alpha(np.float32(0.5)) == 0.5
    assert validate_alpha(np.array(0.4)) == 0.4
    assert validate_alpha(np.int64(0)) == 0.0
    assert repr(LSLR(-0.0)) == "LSLR(alpha=0.0)"


@pytest.mark.parametrize("bad, error", [(np.nan, ValueError), (np.inf, ValueError), (0.0, ValueError),
                                        (-1.0, ValueError), (5e-324, ValueError), (1e300, ValueError),
                                        (True, TypeError), ("0.5", TypeError), (None, TypeError),
                                        (np.array([0.5]), TypeError)])
def test_c_validation(bad, error):
    with pytest.raises(error, match="c"):
        _validate_c(bad)
    with pytest.raises(error):
        BiancoYohai(bad)


def test_c_accepts_numpy_scalars_and_0d_arrays():
    assert _validate_c(np.float64(2.0)) == 2.0
    assert CrouxHaesbroeck(np.array(1.5)).c == 1.5
