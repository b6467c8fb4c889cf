"""K-class torch losses against independent references: torch's CrossEntropyLoss, the numpy registry
(K = 2), float64 finite differences, and direct evaluation of eqs. (5), (11), (12)."""
import math

import numpy as np
import pytest
import torch

from lsis_robust.registry import get_loss
from lsis_robust.nn import (LRLoss, LSLRLoss, LSQLRLoss, MLSLRLoss, lr_loss, lslr_loss, lsqlr_loss, mlslr_loss,
                            parse_method, parse_methods, PAPER_METHODS)

ALPHAS_10 = [0.2, 0.4, 0.6, 0.8, 9.2 / 9, 9.4 / 9, 9.6 / 9, 9.8 / 9, 10 / 9]


def _data(n=7, k=10, seed=0, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, k, generator=g, dtype=torch.float64) * scale,
            torch.randint(0, k, (n,), generator=g))


def _mlslr_direct(logits, target, alpha):
    """Eq. (11) evaluated literally in float64 (no log-space tricks)."""
    k = logits.shape[1]
    q = torch.softmax(logits, 1)
    s_t = torch.nn.functional.one_hot(target, k).double() * (1 - alpha) + alpha / k
    return -(s_t * torch.log((1 - alpha) * q + alpha / k)).sum(1)


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.4, 0.8, 0.99])
def test_lslr_equals_torch_label_smoothing(alpha):
    x, y = _data(50)
    ref = torch.nn.CrossEntropyLoss(label_smoothing=alpha, reduction="none")(x, y)
    torch.testing.assert_close(lslr_loss(x, y, alpha=alpha, reduction="none"), ref, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(LSLRLoss(alpha)(x, y), ref.mean(), rtol=1e-13, atol=1e-13)


def test_lr_equals_cross_entropy_and_lslr_at_zero():
    x, y = _data(20)
    ref = torch.nn.CrossEntropyLoss(reduction="sum")(x, y)
    torch.testing.assert_close(lr_loss(x, y, reduction="sum"), ref)
    torch.testing.assert_close(LRLoss(reduction="sum")(x, y), ref)
    torch.testing.assert_close(mlslr_loss(x, y, alpha=0.0, reduction="sum"), ref)


@pytest.mark.parametrize("alpha", ALPHAS_10)
def test_mlslr_matches_eq11_directly(alpha):
    x, y = _data(40, scale=2.0)
    torch.testing.assert_close(mlslr_loss(x, y, alpha=alpha, reduction="none"), _mlslr_direct(x, y, alpha),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("alpha", [9.2 / 9, 10 / 9])
def test_lslr_above_one_matches_smoothed_cross_entropy(alpha):
    x, y = _data(30)
    s_t = torch.nn.functional.one_hot(y, 10).double() * (1 - alpha) + alpha / 10
    assert (s_t >= -1e-15).all()  # Theorem 1: the smoothed target is still a distribution
    ref = -(s_t * torch.log_softmax(x, 1)).sum(1)
    torch.testing.assert_close(lslr_loss(x, y, alpha=alpha, reduction="none"), ref, rtol=1e-13, atol=1e-13)


def test_lsqlr_is_eq12():
    x, y = _data(25)
    q = torch.softmax(x, 1)
    ref = sum((float(k == int(yi)) - q[i, k]) ** 2 for i, yi in enumerate(y) for k in range(10)) / 25
    torch.testing.assert_close(LSQLRLoss()(x, y), ref, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("name, torch_fn, alpha", [("lr", lr_loss, None), ("lslr", lslr_loss, 0.3),
                                                    ("lslr", lslr_loss, 1.6), ("mlslr", mlslr_loss, 0.3),
                                                    ("mlslr", mlslr_loss, 1.6), ("mlslr", mlslr_loss, 2.0)])
def test_binary_case_matches_margin_registry(name, torch_fn, alpha):
    x, y = _data(200, k=2, scale=8.0)
    kw = {} if alpha is None else {"alpha": alpha}
    m = (x.gather(1, y[:, None]) - x.gather(1, (1 - y)[:, None])).squeeze(1).numpy()
    ref = get_loss(name, **kw).phi(m)
    np.testing.assert_allclose(torch_fn(x, y, reduction="none", **kw).numpy(), ref, rtol=1e-12, atol=1e-14)


def test_binary_lsqlr_is_four_times_the_savage_loss():
    x, y = _data(200, k=2, scale=8.0)
    m = (x.gather(1, y[:, None]) - x.gather(1, (1 - y)[:, None])).squeeze(1).numpy()
    np.testing.assert_allclose(lsqlr_loss(x, y, reduction="none").numpy(), 4 * get_loss("lsqlr").phi(m),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("fn, alpha", [(lr_loss, None), (lsqlr_loss, None)]
                         + [(f, a) for f in (lslr_loss, mlslr_loss) for a in (0.4, 1.1, 4 / 3)])
def test_gradcheck_float64(fn, alpha):
    x, y = _data(5, k=4, scale=2.0)  # K = 4: alpha up to 4/3
    x.requires_grad_(True)
    kw = {} if alpha is None else {"alpha": alpha}
    assert torch.autograd.gradcheck(lambda z: fn(z, y, reduction="sum", **kw), (x,), eps=1e-6, atol=1e-7)
    assert torch.autograd.gradgradcheck(lambda z: fn(z, y, reduction="sum", **kw), (x,), eps=1e-6, atol=1e-6)


def test_mlslr_exact_when_a_wrong_class_is_certain():
    """At alpha = K/(K-1) the loss is -sum_{k != y} log((1 - q_k)/(K-1)) / (K-1); with q_0 = 1 - 2e-26 the
    term log(1 - q_0) = -60 + log(1 + e^-3) must come from the other classes' mass (1 - q_0 rounds to 0)."""
    x = torch.tensor([[60.0, 0.0, -3.0]], dtype=torch.float64)
    y = torch.tensor([1])
    got = mlslr_loss(x, y, alpha=1.5, reduction="none")  # K = 3: 3/2 is the upper end
    lse = 60 + math.log1p(math.exp(-60) + math.exp(-63))
    log1m_q0 = math.log1p(math.exp(-3)) - lse
    log1m_q2 = math.log1p(-math.exp(-3 - lse))
    ref = -(log1m_q0 + log1m_q2 - 2 * math.log(2)) / 2
    assert got.item() == pytest.approx(ref, rel=1e-14)


@pytest.mark.parametrize("fn, kw", [(lr_loss, {}), (lsqlr_loss, {})]
                         + [(f, {"alpha": a}) for f in (lslr_loss, mlslr_loss) for a in ALPHAS_10])
def test_no_nan_for_huge_logits_in_bf16_autocast(fn, kw):
    torch.manual_seed(0)
    w = torch.randn(16, 10, requires_grad=True)
    feats = torch.randn(64, 16) * 1e4 / 4
    y = torch.randint(0, 10, (64,))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = feats @ w
        assert logits.dtype == torch.bfloat16 and logits.abs().max() > 1e3
        loss = fn(logits, y, **kw)
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    assert torch.isfinite(w.grad).all()


def test_huge_float32_logits_finite_for_boundary_alpha():
    x = torch.tensor([[1e4, -1e4, 0.0, 5e3]], requires_grad=True)
    for y in (0, 1):
        loss = mlslr_loss(x, torch.tensor([y]), alpha=4 / 3)
        (g,) = torch.autograd.grad(loss, x)
        assert torch.isfinite(loss) and torch.isfinite(g).all()


def test_reductions_consistent():
    x, y = _data(9)
    for fn, kw in ((lr_loss, {}), (lslr_loss, {"alpha": 0.3}), (mlslr_loss, {"alpha": 0.3}), (lsqlr_loss, {})):
        v = fn(x, y, reduction="none", **kw)
        assert v.shape == (9,)
        torch.testing.assert_close(fn(x, y, reduction="sum", **kw), v.sum())
        torch.testing.assert_close(fn(x, y, **kw), v.mean())


@pytest.mark.parametrize("fn", [lslr_loss, mlslr_loss])
@pytest.mark.parametrize("alpha", [1.0, -0.1, 10 / 9 + 1e-9, 1.2, float("nan")])
def test_alpha_outside_range_for_k(fn, alpha):
    x, y = _data(3)
    with pytest.raises(ValueError, match="outside the valid range"):
        fn(x, y, alpha=alpha)


def test_alpha_valid_for_small_k_only():
    x, y = _data(3, k=3)
    mlslr_loss(x, y, alpha=1.4)  # 1.4 <= 3/2 is valid for K = 3
    with pytest.raises(ValueError, match="K=10"):
        parse_method("mlslr-1.4", n_classes=10)


def test_bad_inputs():
    x, y = _data(4)
    with pytest.raises(TypeError, match="floating-point"):
        lr_loss(x.long(), y)
    with pytest.raises(ValueError, match=r"shape \(N, K\)"):
        lr_loss(x[0], y)
    with pytest.raises(TypeError, match="integer"):
        lr_loss(x, y.double())
    with pytest.raises(ValueError, match="shape"):
        lr_loss(x, y[:2])
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        lr_loss(x, torch.tensor([0, 1, 2, 10]))
    with pytest.raises(ValueError, match="reduction"):
        lsqlr_loss(x, y, reduction="avg")
    with pytest.raises(ValueError, match="reduction"):
        MLSLRLoss(0.4, reduction="avg")
    with pytest.raises(TypeError, match="real number"):
        LSLRLoss("0.4")
    assert "alpha=0.4" in repr(MLSLRLoss(0.4))


def test_method_parsing():
    assert len(PAPER_METHODS) == 20
    ms = parse_methods("all")
    assert [m.name for m in ms] == list(PAPER_METHODS)
    m = parse_method("lslr-9.2/9")
    assert m.alpha == pytest.approx(9.2 / 9, abs=1e-15) and m.argmin_labels and m.has_rlogit
    assert parse_method("mlslr-10/9").alpha <= 10 / 9
    assert not parse_method("mlslr-9.2/9").argmin_labels
    for bad, msg in (("svm", "unknown method"), ("lr-0.2", "takes no alpha"), ("lslr", "needs a smoothing"),
                     ("lslr-x", "cannot read alpha"), ("lslr-0", "positive"), ("mlslr-1/0", "cannot read")):
        with pytest.raises(ValueError, match=msg):
            parse_method(bad)
    with pytest.raises(ValueError, match="twice"):
        parse_methods("lr,lr")
    with pytest.raises(ValueError, match="comma-separated"):
        parse_methods(" ")


def test_methods_read_the_registry_grammar_as_well():
    """'mlslr:alpha=0.4' is the method 'mlslr-0.4'; other parameters and import paths are refused."""
    from lsis_robust.nn.methods import parse_method

    a, b = parse_method("mlslr:alpha=0.4"), parse_method("mlslr-0.4")
    assert (a.kind, a.alpha, a.name, a.margin_loss) == (b.kind, b.alpha, b.name, b.margin_loss)
    with pytest.raises(ValueError, match="at most a smoothing level alpha"):
        parse_method("mlslr:alpha=0.4,c=1")
    with pytest.raises(ValueError, match="at most a smoothing level alpha"):
        parse_method("examples/tukey_logistic.py:tukey_logistic")
    with pytest.raises(ValueError, match="no K-class torch form"):
        parse_method("ch")
    with pytest.raises(ValueError):
        parse_method("mlslr:alpha=1.2")  # outside [0, 1) U (1, K/(K-1)] for K = 10
