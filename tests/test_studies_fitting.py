"""The batched paths against independent references: RobustLogisticRegression, statsmodels, closed forms."""
import warnings

import numpy as np
import pytest
import torch

import lsis_robust
from lsis_robust.contamination import sample_nominal
from lsis_robust.estimators import RobustLogisticRegression
from lsis_robust.fitting import fit_batch, fit_batch_losses
from lsis_robust.registry import parse_loss_spec
from lsis_robust.studies._adam import adam_fit

SPECS = ["lr", "mlslr:alpha=0.4", "lsqlr", "by", "ch"]


def _trials(B, n, beta, seed):
    rng = np.random.default_rng(seed)
    ss = [sample_nominal(n, beta, rng) for _ in range(B)]
    return np.stack([s.X for s in ss]), np.stack([s.y for s in ss])


@pytest.mark.parametrize("spec", SPECS)
def test_batched_fit_equals_the_estimator(spec):
    X, y = _trials(4, 120, [0.5, 2.0], 3)
    fb = fit_batch(parse_loss_spec(spec), X, 2.0 * y - 1, np.ones(y.shape))
    for b in range(4):
        est = RobustLogisticRegression(loss=parse_loss_spec(spec)).fit(X[b, :, 1:], y[b])
        assert np.allclose(fb.beta[b], est.params_, atol=1e-7), (spec, b)
        assert fb.converged[b] == est.converged_


def test_shared_design_with_point_weights_equals_the_estimator():
    s = sample_nominal(800, [0, 4], rng=5)
    pts = np.array([[1, -10.0], [1, -2.0], [1, 3.0]])
    n0, k = s.n, 40
    X = np.vstack([s.X, pts])
    Y = np.tile(np.concatenate([s.y_pm, [1, -1, 1]]), (3, 1))
    W = np.tile(np.concatenate([np.ones(n0), np.zeros(3)]), (3, 1))
    W[np.arange(3), n0 + np.arange(3)] = k
    for spec in ["lr", "mlslr:alpha=0.8", "ch"]:
        fb = fit_batch(parse_loss_spec(spec), X, Y, W)
        for j in range(3):
            yc = (Y[j, n0 + j] + 1) / 2
            est = RobustLogisticRegression(loss=parse_loss_spec(spec)).fit(
                np.append(s.X[:, 1], pts[j, 1])[:, None], np.append(s.y, yc), sample_weight=np.append(np.ones(n0), k))
            assert np.allclose(fb.beta[j], est.params_, atol=1e-7), (spec, j)


def test_lr_batch_matches_statsmodels_and_flags_separation():
    import statsmodels.api as sm

    X, y = _trials(3, 200, [0, 1], 7)
    fb = fit_batch(parse_loss_spec("lr"), X, 2.0 * y - 1, np.ones(y.shape))
    for b in range(3):
        assert np.allclose(fb.beta[b], sm.Logit(y[b], X[b]).fit(disp=0).params, atol=1e-6)
    Xs = np.array([[[1, -2.0], [1, -1], [1, 1], [1, 2]]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sep = fit_batch(parse_loss_spec("lr"), Xs, np.array([[-1.0, -1, 1, 1]]), np.ones((1, 4)))
    assert sep.lr_separated[0] and not sep.converged[0]


def test_fitting_api_is_public_and_rejects_bad_options():
    assert lsis_robust.fit_batch is fit_batch and lsis_robust.fit_batch_losses is fit_batch_losses
    X, y = _trials(1, 30, [0.5, 2.0], 4)
    args = (parse_loss_spec("by"), X, 2.0 * y - 1, np.ones(y.shape))
    for bad in ({"tol": 0.0}, {"tol": np.inf}, {"max_iter": 0}, {"n_random": -1}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            fit_batch(*args, **bad)
    for bad in ({"tol": "1e-8"}, {"max_iter": 2.5}, {"n_random": True}):
        with pytest.raises(TypeError, match=next(iter(bad))):
            fit_batch(*args, **bad)
    with pytest.raises(TypeError, match="random starts need rng"):
        fit_batch(*args, n_random=2)
    with pytest.raises(ValueError, match="max_iter"):
        fit_batch_losses([args[0]], *args[1:], max_iter=0)
    with pytest.raises(ValueError, match="shape"):
        fit_batch(args[0], X, (2.0 * y - 1)[0], np.ones(y.shape))
    fit = fit_batch(*args, n_random=2, rng=np.random.default_rng(0))
    assert fit.beta.shape == (1, 2) and len(fit.start) == 1


@pytest.mark.parametrize("spec", SPECS + ["lslr:alpha=0.3", "ch:c=2", "by:c=1.5"])
def test_torch_kernels_match_numpy_losses(spec):
    loss = parse_loss_spec(spec)
    m = np.linspace(-25, 25, 1001)
    phi, dphi = loss.torch_binary()
    t = torch.tensor(m)
    assert np.allclose(phi(t).numpy(), loss.phi(m), atol=1e-8, rtol=1e-8)
    assert np.allclose(dphi(t).numpy(), loss.dphi(m), atol=1e-10, rtol=1e-8)


def test_adam_matches_a_reference_loop_and_torch_optim():
    """Eager kernels against torch.optim.Adam with autograd on the same objective (float64)."""
    X, y = _trials(2, 60, [0, 2], 9)
    ypm = 2.0 * y - 1
    starts = np.array([[[0, 2.0], [0.5, 1.0]], [[0, 2.0], [-1, 3.0]]])
    loss = parse_loss_spec("mlslr:alpha=0.4")
    b, f = adam_fit(loss, X, ypm, np.full(y.shape, 1 / 60), starts, dtype="float64", compiled=False, device="cpu")
    phi, _ = loss.torch_binary()
    for g in range(2):
        for s in range(2):
            beta = torch.tensor(starts[g, s], requires_grad=True)
            opt = torch.optim.Adam([beta], lr=0.01)
            sched = torch.optim.lr_scheduler.StepLR(opt, 50, gamma=10 ** -0.5)
            Xg, yg = torch.tensor(X[g]), torch.tensor(ypm[g])
            for _ in range(150):
                opt.zero_grad()
                phi(yg * (Xg @ beta)).mean().backward()
                opt.step()
                sched.step()
            assert np.allclose(b[g, s], beta.detach().numpy(), atol=1e-9)
            assert np.isclose(f[g, s], loss.phi(ypm[g] * (X[g] @ b[g, s])).mean())


def test_adam_extra_row_equals_a_weighted_row():
    s = sample_nominal(50, [0, 1], rng=2)
    loss = parse_loss_spec("lr")
    st = np.array([[[0.0, 1.0]]])
    w = np.full((1, 50), 0.9 / 50)
    b1, f1 = adam_fit(loss, s.X[None], s.y_pm[None], w, st, extra=(np.array([[[1, -3.0]]]), np.array([[1.0]]),
                      np.array([[0.1]])), dtype="float64", compiled=False, device="cpu")
    Xa = np.vstack([s.X, [1, -3.0]])[None]
    b2, f2 = adam_fit(loss, Xa, np.append(s.y_pm, 1)[None], np.append(w, 0.1)[None], st, dtype="float64",
                      compiled=False, device="cpu")
    assert np.allclose(b1, b2, atol=1e-12) and np.allclose(f1, f2)


def test_adam_moves_each_coordinate_at_most_about_0_7():
    s = sample_nominal(500, [0, 4], rng=1)
    b, _ = adam_fit(parse_loss_spec("lr"), s.X[None], -s.y_pm[None], np.full((1, 500), 1 / 500),
                    np.array([[[0.0, 4.0]]]), dtype="float64", compiled=False, device="cpu")
    step = 0.01 * 50 * (1 + 10 ** -0.5 + 0.1)
    assert np.all(np.abs(b[0, 0] - [0, 4]) <= step + 1e-6)
    assert np.abs(b[0, 0] - [0, 4]).max() > 0.5  # flipped labels pull hard: the cap binds
