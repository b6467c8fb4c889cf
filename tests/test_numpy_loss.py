"""User losses written with numpy only: numerical derivatives, their trust checks, the torch bridge, compare.

The reference for every numerical derivative is independent of it: the torch twin of the same loss
(autodiff, examples/tukey_logistic.py) or a closed form.
"""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lsis_robust import RobustLogisticRegression
from lsis_robust.compare import run_compare
from lsis_robust.studies._adam import _numpy_fns, adam_fit
from lsis_robust.theory import kink_margins
from lsis_robust.user_loss import CHECK_MARGINS, TAIL_MARGINS, LossValidationError, as_margin_loss

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))
from tukey_logistic import tukey_logistic  # noqa: E402
from tukey_logistic_numpy import tukey_logistic_numpy  # noqa: E402

M = np.concatenate([CHECK_MARGINS, TAIL_MARGINS])


def _sigmoid(m):
    return 0.5 * (1 + np.tanh(0.5 * m))


def _close(a, b, rtol):
    """Agreement relative to the size of the reference (phi'' is ~1e-13 in the tails, where rounding rules)."""
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.max(np.abs(b)))


@pytest.fixture(scope="module")
def twins():
    return as_margin_loss(tukey_logistic_numpy), as_margin_loss(tukey_logistic)


def test_numpy_tukey_derivatives_match_the_torch_twin(twins):
    numpy_loss, torch_loss = twins
    assert numpy_loss.numerical and not torch_loss.numerical
    assert "phi' numerical (complex step" in numpy_loss.derivative_source()
    for got, ref in zip(numpy_loss.derivatives(M), torch_loss.derivatives(M)):
        _close(got, ref, 1e-8)
    # The estimator meets margins between grid points too.
    between = np.linspace(-12.345, 12.345, 1001)
    for got, ref in zip(numpy_loss.derivatives(between), torch_loss.derivatives(between)):
        _close(got, ref, 1e-8)


def _np_lr_logaddexp(m):  # np.logaddexp rejects complex input: Ridders differences only
    return np.logaddexp(0, -m)


def _np_lr_abs(m):  # accepts complex input but is not analytic: the complex step would give phi' = -1 for m < 0
    return np.log1p(np.exp(-np.abs(m))) + np.maximum(-m, 0)


@pytest.mark.parametrize("phi", [_np_lr_logaddexp, _np_lr_abs])
def test_phi_without_a_valid_complex_step_gets_ridders_differences(phi):
    loss = as_margin_loss(phi)
    assert "Ridders" in loss.derivative_source() and "complex" not in loss.derivative_source()
    s = _sigmoid(-M)
    _, d1, d2 = loss.derivatives(M)
    _close(d1, -s, 1e-8)
    _close(d2, s * (1 - s), 1e-8)


def test_numpy_loss_fits_like_its_torch_twin(twins):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((400, 2))
    y = (rng.random(400) < _sigmoid(X @ [1.0, -2.0] + 0.5)).astype(int)
    fits = [RobustLogisticRegression(loss=loss).fit(X, y) for loss in twins]
    np.testing.assert_allclose(fits[0].coef_, fits[1].coef_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fits[0].intercept_, fits[1].intercept_, rtol=1e-6, atol=1e-9)


def test_torch_bridge_differentiates_the_numpy_phi(twins):
    numpy_loss, _ = twins
    phi, dphi = _numpy_fns(numpy_loss)
    t = torch.linspace(-8, 8, 41, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(phi(t).sum(), t)
    tt = t.detach().requires_grad_(True)
    (ref,) = torch.autograd.grad(tukey_logistic(tt).sum(), tt)
    np.testing.assert_allclose(g.numpy(), ref.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dphi(t.detach()).numpy(), ref.numpy(), rtol=1e-9, atol=1e-12)


def test_paper_protocol_on_a_numpy_loss_matches_the_torch_twin(twins):
    rng = np.random.default_rng(0)
    X = np.concatenate([np.ones((1, 300, 1)), rng.standard_normal((1, 300, 1))], axis=2)
    y = np.where(rng.random((1, 300)) < _sigmoid(2 * X[..., 1]), 1.0, -1.0)
    w = np.full((1, 300), 1 / 300)
    starts = rng.standard_normal((1, 3, 2))
    kw = dict(epochs=40, dtype="float64", device="cpu", compiled=False)
    (b0, f0), (b1, f1) = (adam_fit(loss, X, y, w, starts, **kw) for loss in twins)
    np.testing.assert_allclose(b0, b1, rtol=1e-7)
    np.testing.assert_allclose(f0, f1, rtol=1e-9)


def _unnumpy(label):
    return label.replace("tukey_logistic_numpy", "tukey_logistic") if isinstance(label, str) else label


@pytest.mark.parametrize("criteria", ["are,influence,robustness", "realdata"])
def test_compare_report_of_the_numpy_loss_equals_the_torch_one(criteria, tmp_path, clean_registry):
    # realdata: on vaso more than the listed 15 rows have weight 0 up to rounding (6e-189 from torch, exactly 0
    # from numpy); the downweighted table must list the same rows whichever rounding the loss has.
    kw = dict(quick=True, criteria=criteria, progress=False)
    numpy_run = run_compare(f"{EXAMPLES / 'tukey_logistic_numpy.py'}:tukey_logistic_numpy", ["lr"],
                            out=tmp_path / "np", **kw)
    torch_run = run_compare(f"{EXAMPLES / 'tukey_logistic.py'}:tukey_logistic", ["lr"], out=tmp_path / "t", **kw)
    assert "numerical" in numpy_run.info["derivatives"] and "autodiff" in torch_run.info["derivatives"]
    n_tables = 0
    for sn, st in zip(numpy_run.sections, torch_run.sections, strict=True):
        for ta, tb in zip(sn.tables, st.tables, strict=True):
            # The same tables up to the loss's name.
            assert ta.stem == tb.stem
            a, b = ta.frame, tb.frame
            a = a.rename(index=_unnumpy, columns=_unnumpy).replace("tukey_logistic_numpy", "tukey_logistic",
                                                                   regex=True)
            assert a.shape == b.shape and list(a.columns) == list(b.columns) and list(a.index) == list(b.index)
            num = b.select_dtypes("number").columns
            text = b.columns.difference(num)
            assert (a[text].astype(str) == b[text].astype(str)).all().all()
            np.testing.assert_allclose(a[num].to_numpy(float), b[num].to_numpy(float), rtol=1e-5, atol=1e-12)
            n_tables += 1
    assert n_tables >= 3


def _np_lr(m):
    return np.log1p(np.exp(-np.clip(m, -50, 50))) + np.clip(-m - 50, 0, None)


def test_discontinuous_phi_between_grid_margins_is_refused_naming_the_margin():
    def jumpy(m):  # drops by 0.01 at m = 1.05, which no check margin hits
        return _np_lr(m) + 0.01 * (np.real(m) < 1.05)

    with pytest.raises(LossValidationError, match=r"between m = 1 and 1\.1") as info:
        as_margin_loss(jumpy)
    assert info.value.check == "derivative" and info.value.margin == 1.0


@pytest.mark.parametrize("smooth", [_np_lr, _np_lr_logaddexp])
def test_noisy_phi_is_refused_naming_the_margin(smooth):
    def noisy(m):  # noise of 1e-6 (as from an inner solver or a Monte Carlo integral), invisible to a complex step
        return smooth(m) + 1e-6 * np.sin(1e9 * np.real(m)) ** 2

    with pytest.raises(LossValidationError, match=r"at margin m = ") as info:
        as_margin_loss(noisy)
    assert info.value.check == "derivative" and info.value.margin is not None


KINK = 0.537


def _ch_like(m):
    """LR plus 0.1 (k - m)_+^2 / 2: phi' continuous, phi'' jumps by 0.1 at m = k (as in Croux-Haesbroeck)."""
    return _np_lr(m) + 0.05 * np.clip(KINK - m, 0, None) ** 2


def _ch_like_exact(m):
    s = _sigmoid(-m)
    return -s - 0.1 * np.clip(KINK - m, 0, None), s * (1 - s) + 0.1 * (m < KINK)


def test_kink_of_phi_prime_is_located_and_handled_like_the_built_in_losses():
    loss = as_margin_loss(_ch_like)
    assert loss.numerical and np.asarray(loss.kink_margins).size == 1
    assert abs(loss.kink_margins[0] - KINK) < 1e-7
    np.testing.assert_allclose(kink_margins(loss), [loss.kink_margins[0]])
    m = np.concatenate([M, KINK + np.array([-1e-3, -1e-5, 1e-5, 1e-3])])
    _, d1, d2 = loss.derivatives(m)
    e1, e2 = _ch_like_exact(m)
    _close(d1, e1, 1e-8)
    _close(d2, e2, 1e-8)


def test_kink_without_complex_step_must_be_declared():
    def ch_real(m):  # np.logaddexp rejects complex input, so phi' is not exact and the kink is not located
        return np.logaddexp(0, -m) + 0.05 * np.clip(KINK - m, 0, None) ** 2

    with pytest.raises(LossValidationError, match="declare kink_margins") as info:
        as_margin_loss(ch_real)
    assert abs(info.value.margin - KINK) < 0.01
    ch_real.kink_margins = [KINK]
    loss = as_margin_loss(ch_real)
    m = KINK + np.array([-0.3, -1e-3, 1e-3, 0.3])
    _, d1, d2 = loss.derivatives(m)
    e1, e2 = _ch_like_exact(m)
    _close(d1, e1, 1e-7)
    _close(d2, e2, 1e-6)
