"""Contract tests for every registered margin loss."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsis_robust.losses import LR, MarginLoss, validate_alpha
from lsis_robust.registry import available_losses, get_loss, parse_loss_spec, register_loss

PARAMS = {"lslr": [{"alpha": 0.2}, {"alpha": 0.8}, {"alpha": 1.5}], "mlslr": [{"alpha": 0.0}, {"alpha": 0.4}, {"alpha": 0.9}, {"alpha": 1.6}, {"alpha": 2.0}],
          "by": [{"c": 0.5}, {"c": 2.0}], "ch": [{"c": 0.5}, {"c": 1.5}]}
CASES = [(name, kw) for name in ["lr", "lslr", "mlslr", "lsqlr", "by", "ch"] for kw in PARAMS.get(name, [{}])]
IDS = [f"{n}-{kw}" for n, kw in CASES]


def _loss(case):
    name, kw = case
    return get_loss(name, **kw)


def _fd(f, m, h):
    """4th-order central difference."""
    return (-f(m + 2 * h) + 8 * f(m + h) - 8 * f(m - h) + f(m - 2 * h)) / (12 * h)


def _kinks(loss):
    """Margins where phi'' jumps (v = c for BY/CH, on either label side)."""
    c = getattr(loss, "c", None)
    if c is None:
        return np.array([])
    m = -np.log(np.expm1(c))  # -log sigma(m) = c
    return np.array([m, -m])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_derivatives_match_finite_differences(case):
    loss = _loss(case)
    m = np.linspace(-25, 25, 4001)
    away = np.all(np.abs(m[:, None] - _kinks(loss)[None, :]) > 1e-2, axis=1) if _kinks(loss).size else np.ones_like(m, bool)
    h = 1e-4
    np.testing.assert_allclose(loss.dphi(m), _fd(loss.phi, m, h), atol=1e-9, rtol=1e-7)
    np.testing.assert_allclose(loss.d2phi(m)[away], _fd(loss.dphi, m, h)[away], atol=1e-8, rtol=1e-6)
    phi, dphi, d2phi = loss.derivatives(m)
    np.testing.assert_array_equal(phi, loss.phi(m))
    np.testing.assert_array_equal(dphi, loss.dphi(m))
    np.testing.assert_array_equal(d2phi, loss.d2phi(m))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rho_transform_of_logistic_loss(case):
    loss = _loss(case)
    m = np.linspace(-40, 40, 801)
    v = LR().phi(m)
    np.testing.assert_allclose(loss.rho(v), loss.phi(m), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_extreme_margins_are_finite_and_keep_the_tail(case):
    loss = _loss(case)
    m = np.array([-1e4, -800.0, -50.0, 0.0, 50.0, 800.0, 1e4])
    for values in loss.derivatives(m):
        assert np.all(np.isfinite(values))
    if not loss.bounded and not getattr(loss, "alpha", 0) > 1:
        # the unbounded losses grow linearly: phi(-1e4) ~ const * 1e4, no overflow to inf
        assert loss.phi(-1e4) > 1e3
    # the tail of LR is exp(-m), not rounded to 0 at m = 50
    if isinstance(loss, LR):
        assert loss.phi(50.0) == pytest.approx(math.exp(-50), rel=1e-12)
        assert loss.dphi(-1e4) == -1.0


@given(st.floats(min_value=-1e4, max_value=1e4, allow_nan=False))
@settings(max_examples=200, deadline=None)
def test_random_margins_hypothesis(m):
    for case in CASES:
        loss = _loss(case)
        phi, dphi, d2phi = loss.derivatives(np.array([m]))
        assert np.all(np.isfinite(phi)) and np.all(np.isfinite(dphi)) and np.all(np.isfinite(d2phi))
        if loss.convex:
            assert d2phi[0] >= 0


def test_limits_and_symmetries():
    m = np.linspace(-10, 10, 101)
    # alpha = 0 of MLSLR and LSLR is LR; alpha = 2 of MLSLR is LR again (K = 2)
    np.testing.assert_allclose(get_loss("mlslr", alpha=0.0).phi(m), LR().phi(m), rtol=1e-13)
    np.testing.assert_allclose(get_loss("lslr", alpha=0.0).phi(m), LR().phi(m), rtol=1e-13)
    np.testing.assert_allclose(get_loss("mlslr", alpha=2.0).phi(m), LR().phi(m), rtol=1e-12)
    # MLSLR(alpha) = MLSLR(2 - alpha) for two classes
    np.testing.assert_allclose(get_loss("mlslr", alpha=0.3).phi(m), get_loss("mlslr", alpha=1.7).phi(m), rtol=1e-12)
    # LSLR is the alpha-mixture of the two labels' logistic losses
    a = 0.6
    np.testing.assert_allclose(get_loss("lslr", alpha=a).phi(m), (1 - a / 2) * LR().phi(m) + a / 2 * LR().phi(-m))
    # Theorem 2: rescaled MLSLR approaches the squared distance 2 * 4 phi_LSQ as alpha -> 1 (up to a constant in m)
    al = 1 - 1e-4
    scaled = 2 * al / ((1 - al) ** 2 * 2) * (get_loss("mlslr", alpha=al).phi(m) - get_loss("mlslr", alpha=al).phi(0.0))
    target = 4 * (get_loss("lsqlr").phi(m) - get_loss("lsqlr").phi(0.0))
    np.testing.assert_allclose(scaled, target, atol=5e-4)
    # BY/CH at the boundary values
    assert get_loss("by").phi(0.0) == pytest.approx(0.25)  # zeta1(log 2) = c/2, eta(1/2) = 0 for c = 0.5
    # bounded losses tend to constants
    for name in ["lsqlr", "by", "ch"]:
        loss = get_loss(name)
        assert loss.phi(-1e4) == pytest.approx(loss.phi(-5e3), rel=1e-12)


def test_weight_is_one_for_lr_and_vanishes_for_outliers_of_bounded_losses():
    m = np.array([-30.0, -5.0, 0.0, 5.0])
    np.testing.assert_allclose(LR().weight(m), 1.0)
    for name in ["mlslr", "lsqlr", "by", "ch"]:
        w = get_loss(name).weight(m)
        assert w[0] < 1e-2 and w[0] < w[1] < 1, name


def test_nan_margins_raise_instead_of_propagating():
    for case in CASES:
        loss = _loss(case)
        for method in (loss.phi, loss.dphi, loss.d2phi, loss.derivatives):
            with pytest.raises(ValueError, match="NaN"):
                method(np.array([0.0, np.nan]))
    assert get_loss("lr").phi(np.inf) == 0.0 and get_loss("lr").phi(-np.inf) == np.inf


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in ("lsqlr", "by", "ch")], ids=lambda c: f"{c[0]}-{c[1]}")
def test_bounded_losses_take_their_limits_at_infinite_margins(case):
    loss = _loss(case)
    phi, dphi, d2phi = loss.derivatives(np.array([-np.inf, np.inf]))
    np.testing.assert_allclose(phi, loss.phi(np.array([-1e4, 1e4])), rtol=1e-13)
    np.testing.assert_array_equal(np.abs(dphi), 0.0)
    np.testing.assert_array_equal(np.abs(d2phi), 0.0)


def test_validation_errors():
    for bad in (-0.1, 1.0, 2.5, float("nan")):
        with pytest.raises(ValueError, match=r"\[0, 1\) or \(1, 2\]"):
            get_loss("mlslr", alpha=bad)
    with pytest.raises(ValueError, match=r"\(1, 1.11111\]"):
        validate_alpha(1.2, n_classes=10)
    assert validate_alpha(10 / 9, n_classes=10) == pytest.approx(10 / 9)
    with pytest.raises(TypeError):
        get_loss("lslr", alpha="0.3")
    for bad in (0.0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="c must be"):
            get_loss("ch", c=bad)
    with pytest.raises(ValueError, match="unknown loss 'nope'.*available losses: by, ch"):
        get_loss("nope")
    with pytest.raises(ValueError, match="does not take parameter"):
        get_loss("lr", alpha=0.2)
    with pytest.raises(ValueError, match="param=value"):
        parse_loss_spec("mlslr:alpha")


def test_repr_flags_and_spec_parsing():
    loss = parse_loss_spec("mlslr:alpha=0.4")
    assert repr(loss) == "MLSLR(alpha=0.4)"
    assert loss.bounded and not loss.convex
    assert repr(get_loss("ch")) == "Croux_Haesbroeck(c=0.5)"
    assert get_loss("lr").convex and not get_loss("lr").bounded
    assert not get_loss("by").smooth
    assert get_loss("lslr", alpha=1.5).labels_by_argmin
    assert "eq. 11" in type(loss).__doc__
    assert set(["lr", "lslr", "mlslr", "lsqlr", "by", "ch"]) <= set(available_losses())


def test_register_user_loss(clean_registry):
    @register_loss("test_tempered_tmp", overwrite=True)
    class Tempered(MarginLoss):
        """phi(m) = log(1 + e^{-m}) / 2, a scaled LR."""

        def phi(self, m):
            return LR().phi(m) / 2

        def dphi(self, m):
            return LR().dphi(m) / 2

        def d2phi(self, m):
            return LR().d2phi(m) / 2

    assert "test_tempered_tmp" in available_losses()
    loss = get_loss("test_tempered_tmp")
    assert loss.derivatives(np.array([0.0]))[0][0] == pytest.approx(math.log(2) / 2)
    with pytest.raises(ValueError, match="already registered"):
        register_loss("test_tempered_tmp")(LR)
    with pytest.raises(ValueError, match="identifier"):
        register_loss("not a name")
