"""A new built-in-style loss, defined in this file only, works untouched everywhere a loss is used.

The loss answers every question about itself through the MarginLoss hooks (kinks, continuation path,
label, torch binary form, K-class form); nothing else in the package is told about it.  It mixes the
logistic loss with the Savage loss and clips the Savage part's weight at |m| = c:

    phi'(m) = -sigma(-m) W(m),  W(m) = (1 - alpha) + 4 alpha max(s2(m), s2(c)),  s2(m) = sigma(m) sigma(-m).

W is even, so the loss is Fisher-consistent under the logit model; W' jumps at m = +-c, so phi'' does
(the kinks); alpha = 0 is LR (the continuation parameter).
"""
import math

import numpy as np
import pytest
import torch
from scipy import integrate, optimize
from scipy.special import expit

from lsis_robust import RobustLogisticRegression
from lsis_robust.losses import LR, MarginLoss
from lsis_robust.registry import get_loss, register_loss
from lsis_robust.theory import asymptotic_covariance, asymptotic_relative_efficiency, influence_function

NAME = "test_clipped_savage"


class ClippedSavageLR(MarginLoss):
    r"""Logistic loss plus a clipped Savage term (module doc), tuning constants alpha in [0, 1) and c > 0.

    For |m| <= c: phi(m) = (1 - alpha) softplus(-m) + 2 alpha sigma(-m)^2 - C+;
    for |m| > c: phi(m) = A softplus(-m) + C_sign(m) - C+, A = (1 - alpha) + 4 alpha s2(c),
    C+- = 2 alpha sigma(-+c)^2 - 4 alpha s2(c) softplus(-+c) (continuity at +-c); phi(+inf) = 0.
    """

    name = NAME
    calls = []  # continuation_path calls, so that the tests can see the solver follow the path

    def __init__(self, alpha=0.5, c=1.0):
        if not 0 <= alpha < 1 or not 0 < c < 50:
            raise ValueError(f"alpha={alpha!r} must be in [0, 1) and c={c!r} in (0, 50)")
        self.alpha, self.c = float(alpha), float(c)

    @property
    def convex(self):
        return self.alpha == 0

    def _constants(self):
        a, c = self.alpha, self.c
        k = expit(c) * expit(-c)
        return k, (1 - a) + 4 * a * k, 2 * a * expit(-c) ** 2 - 4 * a * k * np.logaddexp(0, -c), \
            2 * a * expit(c) ** 2 - 4 * a * k * np.logaddexp(0, c)

    def derivatives(self, m):
        m = np.asarray(m, dtype=np.float64)
        a, c = self.alpha, self.c
        k, big_a, c_pos, c_neg = self._constants()
        sp, sn, soft = expit(m), expit(-m), np.logaddexp(0, -m)
        s2 = sp * sn
        inside = np.abs(m) <= c
        phi = np.where(inside, (1 - a) * soft + 2 * a * sn * sn, big_a * soft + np.where(m > 0, c_pos, c_neg)) - c_pos
        w = (1 - a) + 4 * a * np.maximum(s2, k)
        d2 = s2 * w - np.where(inside, 4 * a * sn * s2 * (sn - sp), 0.0)
        return phi, -sn * w, d2

    def phi(self, m):
        return self.derivatives(m)[0]

    def kinks(self):
        return np.array([-self.c, self.c])

    def continuation_path(self):
        type(self).calls.append(self)
        return [type(self)(alpha=self.alpha * t, c=self.c) for t in (1 / 3, 2 / 3)] if self.alpha > 0 else []

    def torch_binary(self):
        a, c = self.alpha, self.c
        k, big_a, c_pos, c_neg = (float(v) for v in self._constants())

        def phi(m):
            soft, sn = torch.nn.functional.softplus(-m), torch.sigmoid(-m)
            outer = big_a * soft + torch.where(m > 0, torch.full_like(m, c_pos), torch.full_like(m, c_neg))
            return torch.where(m.abs() <= c, (1 - a) * soft + 2 * a * sn * sn, outer) - c_pos

        def dphi(m):
            sn = torch.sigmoid(-m)
            return -sn * ((1 - a) + 4 * a * torch.clamp(torch.sigmoid(m) * sn, min=k))

        return phi, dphi

    def kclass(self):
        """phi of the one-vs-rest margin log q_t - log(1 - q_t) = g_t - logsumexp_{k != t} g_k."""
        phi = self.torch_binary()[0]

        def loss(logits, target, reduction="mean"):
            own = logits.gather(1, target[:, None])[:, 0]
            others = logits.masked_fill(torch.nn.functional.one_hot(target, logits.shape[1]).bool(), -math.inf)
            per = phi(own - torch.logsumexp(others, dim=1))
            return {"mean": per.mean, "sum": per.sum, "none": lambda: per}[reduction]()

        return loss


register_loss(NAME, overwrite=True)(ClippedSavageLR)
SPEC = f"{NAME}:alpha=0.6,c=1.5"


def _sample(n=400, beta=(0.3, 2.0), seed=0, outliers=12):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    y = (rng.random(n) < expit(beta[0] + beta[1] * x)).astype(float)
    x[:outliers], y[:outliers] = 4.0, 0.0  # leverage points with the wrong label
    return x[:, None], y


def test_hooks_and_formulas():
    loss = get_loss(NAME, alpha=0.6, c=1.5)
    assert isinstance(loss, ClippedSavageLR) and loss.label == f"{NAME} a=0.6"
    m = np.linspace(-12, 12, 2401)
    phi, d1, d2 = loss.derivatives(m)
    assert phi.min() >= 0 and np.all(d1 < 0)
    away = (np.abs(np.abs(m) - 1.5) > 0.02)[1:-1]  # central differences straddling a kink are O(step) off
    np.testing.assert_allclose(np.gradient(phi, m)[1:-1][away], d1[1:-1][away], atol=1e-4)
    np.testing.assert_allclose(np.gradient(d1, m)[1:-1][away], d2[1:-1][away], atol=1e-4)
    for kink in (-1.5, 1.5):  # phi and phi' are continuous there
        for left, right in loss.derivatives(np.array([kink - 1e-12, kink + 1e-12]))[:2]:
            assert left == pytest.approx(right, abs=1e-10)
    jump = loss.d2phi(np.array([1.5 - 1e-9, 1.5 + 1e-9]))
    assert abs(jump[0] - jump[1]) > 1e-2  # phi'' jumps at the declared kink
    # alpha = 0 is LR
    np.testing.assert_allclose(ClippedSavageLR(alpha=0.0).derivatives(m), LR().derivatives(m), rtol=1e-12, atol=1e-15)
    tphi, tdphi = loss.torch_binary()
    t = torch.tensor(m)
    np.testing.assert_allclose(tphi(t).numpy(), phi, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(tdphi(t).numpy(), d1, rtol=1e-12, atol=1e-14)
    # K = 2: the K-class form on logits (0, m) with target 1 is phi(m)
    logits = torch.stack([torch.zeros_like(t), t], dim=1)
    per = loss.kclass()(logits, torch.ones(len(m), dtype=torch.long), reduction="none")
    np.testing.assert_allclose(per.numpy(), phi, rtol=1e-10, atol=1e-12)


def test_estimator_reaches_the_minimum_along_the_continuation_path():
    X, y = _sample()
    ClippedSavageLR.calls.clear()
    est = RobustLogisticRegression(loss=NAME, alpha=0.6, c=1.5).fit(X, y)
    assert ClippedSavageLR.calls, "the solver did not ask the loss for its continuation path"
    loss = est.loss_
    Z = np.column_stack([np.ones(len(y)), X[:, 0]])
    ypm = 2 * y - 1

    def objective(b):
        return float(np.mean(loss.phi(ypm * (Z @ b))))

    fitted = np.array([est.intercept_[0], est.coef_[0, 0]])
    dense = min((optimize.minimize(objective, b0, method="Nelder-Mead",
                                   options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 4000})
                 for b0 in ([0.0, 0.0], [0.3, 2.0], [1.0, -1.0])), key=lambda r: r.fun)
    assert objective(fitted) <= dense.fun + 1e-10
    np.testing.assert_allclose(fitted, dense.x, atol=1e-4)


def _brute_force_ab(loss, beta):
    """A and B of Theorem 4 by adaptive quadrature over x2 ~ N(0, 1), split at the kinks t = -+c."""
    def integrand(z, i, j, which):
        x = np.array([1.0, z])
        t = beta[0] + beta[1] * z
        p = expit(t)
        _, d1p, d2p = loss.derivatives(np.array([t]))
        _, d1n, d2n = loss.derivatives(np.array([-t]))
        val = p * d1p[0] ** 2 + (1 - p) * d1n[0] ** 2 if which == "A" else p * d2p[0] + (1 - p) * d2n[0]
        return val * x[i] * x[j] * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    points = sorted((k - beta[0]) / beta[1] for k in (-loss.c, loss.c))
    out = {}
    for which in ("A", "B"):
        M = np.empty((2, 2))
        for i in range(2):
            for j in range(2):
                M[i, j] = integrate.quad(integrand, -12, 12, args=(i, j, which), points=points, limit=400,
                                         epsabs=1e-13, epsrel=1e-12)[0]
        out[which] = M
    return out["A"], out["B"]


def test_theory_engine_integrates_across_the_kinks():
    beta = np.array([0.5, 2.0])
    cov = asymptotic_covariance(SPEC, beta)
    loss = get_loss(NAME, alpha=0.6, c=1.5)
    A, B = _brute_force_ab(loss, beta)
    np.testing.assert_allclose(cov.A, A, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(cov.B, B, rtol=1e-8, atol=1e-12)
    lr = asymptotic_covariance("lr", beta)
    assert asymptotic_relative_efficiency(SPEC, beta) == pytest.approx(lr.trace / np.trace(
        np.linalg.solve(B, np.linalg.solve(B, A).T)), rel=1e-8)
    x_c = np.array([1.0, 3.0])
    expected = -np.linalg.solve(B, -1 * loss.dphi(np.array([-(beta @ x_c)]))[0] * x_c)
    np.testing.assert_allclose(influence_function(SPEC, beta, x_c, -1), expected, rtol=1e-8)


@pytest.mark.parametrize("protocol", ["estimator", "paper"])
def test_both_study_protocols(protocol, monkeypatch):
    from lsis_robust.studies import _adam
    from lsis_robust.studies.efficiency import run_efficiency
    from lsis_robust.studies.robustness import run_robustness

    # The paper protocol runs the loss's torch form in the kernels that adam_fit compiles; compiling them on a
    # CPU takes minutes, so here they run eagerly (the same torch code), and in a cache of this test's own.
    monkeypatch.setattr(torch, "compile", lambda fn, **_: fn)
    monkeypatch.setattr(_adam, "_COMPILED", {})
    asked, torch_binary = [], ClippedSavageLR.torch_binary
    monkeypatch.setattr(ClippedSavageLR, "torch_binary", lambda self: asked.append(self) or torch_binary(self))

    methods = ["lr", SPEC]
    eff, _ = run_efficiency(betas=[(0.0, 2.0)], sizes=[200], methods=methods, n_trials=3, m=200, protocol=protocol,
                            n_starts=2, progress=False)
    assert list(eff.method) == methods and np.all(np.isfinite(eff.sob_mean)) and (eff.n_used == 3).all()
    rob, _ = run_robustness(betas=[(0.0, 2.0)], methods=methods, xc2=[-3.0, 3.0], y_cs=[1], n=300, m=200,
                            protocol=protocol, n_starts=2, progress=False)
    assert set(rob.method) == set(methods) and np.all(np.isfinite(rob.sob_mean))
    assert bool(asked) == (protocol == "paper")


def test_kclass_path_trains_in_the_nn_benchmark():
    from lsis_robust.nn.data import load_digits
    from lsis_robust.nn.methods import parse_method
    from lsis_robust.nn.runner import run_benchmark
    from lsis_robust.nn.train import TrainConfig

    method = parse_method(f"{NAME}-0.4")
    assert method.name == f"{NAME}-0.4" and method.margin_loss == ClippedSavageLR(alpha=0.4)
    runs, history, _ = run_benchmark(load_digits(), [method, parse_method("lr")],
                                     TrainConfig(model="small_cnn", epochs=1, batch_size=256), 1, "cpu",
                                     progress=False, threads=1)
    assert list(runs.method) == [f"{NAME}-0.4", "lr"] and np.all(np.isfinite(runs.test_ttr))
    # test_tsr is the risk in the method's own K-class form: it fell from the untrained network's
    assert runs.test_tsr.iloc[0] < runs.tsr_untrained.iloc[0] and runs.test_tsr.iloc[0] != runs.test_tsr.iloc[1]


def test_compare_runs_the_new_loss(tmp_path):
    from lsis_robust.compare import run_compare

    comparison = run_compare(loss=SPEC, baselines=["lr"], quick=True, criteria=["are"], out=tmp_path, progress=False)
    are = comparison.criterion("are").table("are")
    column = f"{SPEC} (new)"
    # the compare table reads the theory engine's ARE of this loss
    assert are[column].iloc[0] == pytest.approx(asymptotic_relative_efficiency(SPEC, [0.0, 1.0]), rel=1e-12)


def test_compare_trains_the_new_loss_and_a_baseline_in_the_deep_net_criterion(tmp_path):
    from lsis_robust.compare import Context, criterion_nn

    methods = {SPEC: get_loss(NAME, alpha=0.4, c=1.5), "mlslr:alpha=0.4": get_loss("mlslr", alpha=0.4),
               "by": get_loss("by")}
    ctx = Context(new=SPEC, methods=methods, settings={"digits": ("small_cnn", 1, 1)}, seed=0, figdir=tmp_path,
                  progress=False, data_dir=None, device="cpu")
    runs = criterion_nn(ctx).table("nn_runs")
    # the new loss trains through its own kclass(); the baseline keeps the nn benchmark's method
    assert sorted(runs.method) == ["MLSLR a=0.4", f"{SPEC} (new)"]
    assert runs.test_ttr.between(0, 1).all()
