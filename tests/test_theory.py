"""Theory engine: Table I, closed forms (18), influence functions, exact contaminated functionals."""
import warnings

import numpy as np
import pytest
from scipy import integrate
from scipy.special import expit

from lsis_robust.losses import LR, MLSLR, CrouxHaesbroeck, MarginLoss
from lsis_robust.theory import (TABLE1_PRINTED, GaussianDesign, IntegrationError, are_table, asymptotic_covariance,
                                asymptotic_relative_efficiency, closed_form_ab, gross_error_sensitivity,
                                influence_function, nominal_design)
from lsis_robust.theory.contamination import _Problem, contaminated_functional, misclassification_rate

METHODS = ["lr", "mlslr:alpha=0.2", "mlslr:alpha=0.8", "lsqlr", "by", "ch"]


def test_table1_reproduces_all_45_printed_entries():
    values, errors = are_table()
    got = values.iloc[:, :5].to_numpy()
    assert got.shape == TABLE1_PRINTED.shape == (9, 5)
    np.testing.assert_array_equal(np.round(got, 4), TABLE1_PRINTED)
    assert np.abs(got - TABLE1_PRINTED).max() < 5e-5
    assert errors.to_numpy().max() < 1e-10
    assert list(values.columns[-2:]) == ["BY", "CH"]
    # The note's trap: (0, 4) LSQLR is 0.650951..., which a 200-node Gauss-Hermite rounds to .6509.
    assert values.loc["(0, 4)", "LSQLR"] == pytest.approx(0.650951, abs=1e-6)


def test_are_is_one_when_the_slope_is_zero():
    for loss in ("mlslr:alpha=0.6", "lsqlr", "ch"):
        assert asymptotic_relative_efficiency(loss, [0.7, 0.0]) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("loss", ["lr", "mlslr:alpha=0.2", "mlslr:alpha=0.6", "lsqlr"])
@pytest.mark.parametrize("beta", [(0.0, 1.0), (2.0, 4.0)])
def test_closed_forms_18_agree_with_generic_path(loss, beta):
    A, B = closed_form_ab(loss, beta)
    res = asymptotic_covariance(loss, beta)
    np.testing.assert_allclose(res.A, A, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(res.B, B, rtol=1e-10, atol=1e-14)


def test_closed_forms_on_a_multivariate_design():
    design = GaussianDesign.with_intercept([0.5, -1.0], [[1.0, 0.4], [0.4, 2.0]])
    beta = [0.3, 1.0, -0.7]
    for loss in ("lr", "mlslr:alpha=0.4", "lsqlr"):
        A, B = closed_form_ab(loss, beta, design)
        res = asymptotic_covariance(loss, beta, design)
        np.testing.assert_allclose(res.A, A, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(res.B, B, rtol=1e-10, atol=1e-14)


def test_multivariate_design_against_tensor_gauss_hermite():
    """An independent 2-D Gauss-Hermite over z ~ N(mean, cov) for smooth losses."""
    mean, cov = np.array([0.5, -1.0]), np.array([[1.0, 0.4], [0.4, 2.0]])
    design = GaussianDesign.with_intercept(mean, cov)
    beta = np.array([0.3, 1.0, -0.7])
    x, w = np.polynomial.hermite_e.hermegauss(120)
    Z = np.stack(np.meshgrid(x, x, indexing="ij"), -1).reshape(-1, 2) @ np.linalg.cholesky(cov).T + mean
    wt = np.outer(w, w).ravel() / (2 * np.pi)
    X = np.column_stack([np.ones(len(Z)), Z])
    t = X @ beta
    for loss in (LR(), MLSLR(0.6)):
        fB = expit(t) * loss.d2phi(t) + expit(-t) * loss.d2phi(-t)
        fA = expit(t) * loss.dphi(t) ** 2 + expit(-t) * loss.dphi(-t) ** 2
        res = asymptotic_covariance(loss, beta, design)
        np.testing.assert_allclose(res.B, np.einsum("n,ni,nj->ij", wt * fB, X, X), rtol=1e-9)
        np.testing.assert_allclose(res.A, np.einsum("n,ni,nj->ij", wt * fA, X, X), rtol=1e-9)


@pytest.mark.parametrize("loss", ["by", "ch"])
def test_kinked_losses_against_adaptive_quad(loss):
    """BY/CH have a jump in phi''; scipy's quad with the kinks as split points is the reference."""
    res = asymptotic_covariance(loss, [1.0, 2.0])
    lo = res.loss
    m_c = -np.log(np.expm1(0.5))
    kinks = sorted(((m_c - 1) / 2, (-m_c - 1) / 2, -0.5))

    def b_entry(i, j):
        def f(x2):
            t = 1 + 2 * x2
            xx = (1.0, x2)
            val = expit(t) * lo.d2phi(t) + expit(-t) * lo.d2phi(-t)
            return val * xx[i] * xx[j] * np.exp(-x2 * x2 / 2) / np.sqrt(2 * np.pi)

        return integrate.quad(f, -12, 12, points=kinks, epsabs=1e-14, epsrel=1e-12, limit=400)[0]

    for i, j in ((0, 0), (0, 1), (1, 1)):
        assert res.B[i, j] == pytest.approx(b_entry(i, j), rel=1e-9, abs=1e-13)


def test_nominal_design_is_the_papers():
    d = nominal_design()
    np.testing.assert_allclose(d.mean, [1.0, 0.0])
    np.testing.assert_allclose(d.cov, [[0.0, 0.0], [0.0, 1.0]])
    explicit = GaussianDesign.with_intercept([0.0], [[1.0]])
    a = asymptotic_covariance("lsqlr", [1, 2])
    b = asymptotic_covariance("lsqlr", [1, 2], explicit)
    np.testing.assert_allclose(a.C, b.C, rtol=1e-13)


# ------------------------------------------------------------------ influence functions

@pytest.mark.parametrize("loss", ["lr", "mlslr:alpha=0.4", "ch", "by"])
@pytest.mark.parametrize("x_c, y_c", [((1.0, 1.5), -1), ((1.0, -0.7), 1)])
def test_contaminated_functional_derivative_is_the_influence_function(loss, x_c, y_c):
    beta, eps = np.array([0.5, 2.0]), 1e-5
    ifn = influence_function(loss, beta, x_c, y_c)
    t = contaminated_functional(loss, beta, eps, x_c, y_c)
    np.testing.assert_allclose((t.beta_eps - beta) / eps, ifn, rtol=2e-3, atol=1e-5)
    assert np.linalg.norm(ifn) > 0.1  # a point with real influence, so the check has teeth


def test_influence_function_closed_form_for_lr():
    beta = np.array([0.0, 1.0])
    x = np.array([[1.0, 2.0], [1.0, -3.0]])
    res = asymptotic_covariance("lr", beta)
    expected = -np.linalg.solve(res.B, (-expit(-(x @ beta)))[:, None].T * x.T).T
    np.testing.assert_allclose(influence_function("lr", beta, x, 1), expected, rtol=1e-13)


def test_gross_error_sensitivity_bounded_only_for_robust_losses():
    beta = [0.0, 2.0]

    def grid(r):
        x2 = np.linspace(-r, r, 401)
        return np.column_stack([np.ones_like(x2), x2])

    lr_small, lr_big = (gross_error_sensitivity("lr", beta, grid(r))[0] for r in (10, 100))
    assert lr_big > 5 * lr_small  # LR: unbounded influence
    ml_small, ml_big = (gross_error_sensitivity("mlslr:alpha=0.4", beta, grid(r))[0] for r in (10, 100))
    assert ml_big == pytest.approx(ml_small, rel=1e-2)


# ------------------------------------------------------------------ contaminated functionals

def test_population_gradient_and_hessian_match_finite_differences():
    for loss in ("mlslr:alpha=0.4", "ch"):
        prob = _Problem(CrouxHaesbroeck() if loss == "ch" else MLSLR(0.4), np.array([0.5, 2.0]), 0.05,
                        np.array([1.0, -3.0]), 1.0, nominal_design())
        b = np.array([0.3, 1.7])
        level = 3
        R, g, H = prob.evaluate_at(b, level)
        h = 1e-5
        for k in range(2):
            e = np.zeros(2)
            e[k] = h
            assert (prob.objective(b + e, level) - prob.objective(b - e, level)) / (2 * h) == pytest.approx(g[k], abs=1e-8)
            gp, gm = prob.evaluate_at(b + e, level)[1], prob.evaluate_at(b - e, level)[1]
            np.testing.assert_allclose((gp - gm) / (2 * h), H[:, k], atol=1e-6)


def test_population_newton_converges_and_reports_its_failures(monkeypatch):
    """The population problems run on NewtonSolver's loop with their own rules: R's gradient norm at 1e-11
    relative to R, an iteration budget shared by the quadrature levels, and an error for a runaway iterate."""
    from lsis_robust.theory import contamination

    prob = _Problem(CrouxHaesbroeck(), np.array([0.5, 2.0]), 0.05, np.array([1.0, -3.0]), 1.0, nominal_design())
    start = np.array([0.0, 0.5])
    _, R, g, H, _, n_iter = prob.newton(start)
    assert np.linalg.norm(g) <= 1e-11 * max(1.0, abs(R)) and 2 <= n_iter < contamination._MAX_ITER
    assert R < prob.evaluate(start)[0][0] and np.all(np.linalg.eigvalsh(H) > 0)
    monkeypatch.setattr(contamination, "_MAX_ITER", 1)
    with pytest.raises(ValueError, match="did not converge for .* in 1 iterations"):
        prob.newton(start)
    monkeypatch.undo()
    monkeypatch.setattr(contamination, "_DIVERGED", 0.6)
    with pytest.raises(ValueError, match="no finite minimiser reachable"):
        prob.newton(start)


def test_eps_zero_returns_beta_for_consistent_losses():
    for loss in METHODS:
        t = contaminated_functional(loss, [1.0, 2.0], 0.0, [1.0, 0.0], 1)
        np.testing.assert_allclose(t.beta_eps, [1.0, 2.0], atol=1e-9)
        assert t.sob < 1e-9


def test_eps_zero_for_lslr_is_not_beta():
    """LSLR estimates the R-logit model: its population minimiser is shrunk, and Theorem 4 refuses it."""
    t = contaminated_functional("lslr:alpha=0.4", [0.0, 2.0], 0.0, [1.0, 0.0], 1)
    assert t.beta_eps[1] < 1.9
    with pytest.raises(ValueError, match="Fisher-consistent"):
        asymptotic_covariance("lslr:alpha=0.4", [0.0, 2.0])


def test_misclassification_rate_against_quad():
    beta = np.array([0.5, 2.0])
    b = np.array([-0.3, 1.0])

    def f(x2):
        t, s = beta[0] + beta[1] * x2, b[0] + b[1] * x2
        return (expit(t) * (s < 0) + expit(-t) * (s > 0)) * np.exp(-x2 * x2 / 2) / np.sqrt(2 * np.pi)

    ref = integrate.quad(f, -12, 12, points=[0.3], epsabs=1e-14, limit=200)[0]
    rate, err = misclassification_rate(b, beta)
    assert rate == pytest.approx(ref, abs=1e-12) and err < 1e-12
    # Under F_eps the contamination point adds eps if it is misclassified.
    rate_eps, _ = misclassification_rate(b, beta, 0.1, [1.0, -3.0], 1)
    assert rate_eps == pytest.approx(0.9 * ref + 0.1)


def test_gross_outlier_moves_lr_but_not_mlslr():
    lr = contaminated_functional("lr", [0, 4], 0.05, [1, -10], 1)
    ml = contaminated_functional("mlslr:alpha=0.4", [0, 4], 0.05, [1, -10], 1)
    assert lr.sob > 3.5 and ml.sob < 1e-6
    assert lr.ttr > ml.ttr + 0.2
    assert lr.error["beta_eps"] < 1e-10


def _sample(beta, eps, x_c, y_c, n, rng):
    x2 = rng.standard_normal(n)
    X = np.column_stack([np.ones(n), x2])
    y = np.where(rng.random(n) < expit(X @ beta), 1, 0)
    bad = rng.random(n) < eps
    X[bad] = x_c
    y[bad] = 1 if y_c == 1 else 0
    return X, y


@pytest.mark.parametrize("loss, kw", [("lr", {}), ("mlslr", {"alpha": 0.4}), ("ch", {})])
def test_contaminated_functional_matches_a_large_sample_fit(loss, kw):
    from lsis_robust.estimators import RobustLogisticRegression

    beta, eps, x_c, y_c, n = np.array([0.0, 2.0]), 0.05, np.array([1.0, -3.0]), 1, 200_000
    t = contaminated_functional(":".join([loss] + [f"{k}={v}" for k, v in kw.items()]) if kw else loss,
                                beta, eps, x_c, y_c)
    X, y = _sample(beta, eps, x_c, y_c, n, np.random.default_rng(7))
    fit = RobustLogisticRegression(loss=loss, **kw).fit(X[:, 1:], y)
    b_hat = np.r_[fit.intercept_, fit.coef_.ravel()]
    se = np.sqrt(np.diag(fit.covariance_))
    assert np.all(np.abs(b_hat - t.beta_eps) < 5 * se), (b_hat, t.beta_eps, se)
    assert np.all(se < 0.03)  # the sample is large enough for the comparison to mean something


# ------------------------------------------------------------------ bad input

def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="length 2"):
        asymptotic_covariance("lr", [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"eps must be a finite number in \[0, 1\)"):
        contaminated_functional("lr", [0, 1], 1.0, [1, 0], 1)
    with pytest.raises(ValueError, match=r"eps must be a finite number in \[0, 1\)"):
        contaminated_functional("lr", [0, 1], -0.1, [1, 0], 1)
    with pytest.raises(ValueError, match="y_c must be"):
        contaminated_functional("lr", [0, 1], 0.1, [1, 0], 0)
    with pytest.raises(ValueError, match="intercept included"):
        contaminated_functional("lr", [0, 1], 0.1, [0.5], 1)
    with pytest.raises(ValueError, match="unknown loss"):
        asymptotic_covariance("nosuchloss", [0, 1])
    with pytest.raises(TypeError, match="GaussianDesign"):
        asymptotic_covariance("lr", [0, 1], design="normal")
    with pytest.raises(ValueError, match="positive semi-definite"):
        GaussianDesign([0.0, 0.0], [[1.0, 0.0], [0.0, -1.0]])
    with pytest.raises(ValueError, match="singular"):
        asymptotic_covariance("lr", [0.0, 1.0, 0.0], GaussianDesign.with_intercept([0.0, 0.0], [[1.0, 0], [0, 0]]))


class _Cusp(MarginLoss):
    """LR plus |m - 0.3|^1.5: phi'' has an integrable singularity the quadrature cannot resolve."""

    name = "cusp"

    def phi(self, m):
        return LR().phi(m) + np.abs(np.asarray(m) - 0.3) ** 1.5

    def dphi(self, m):
        m = np.asarray(m)
        return LR().dphi(m) + 1.5 * np.sign(m - 0.3) * np.abs(m - 0.3) ** 0.5

    def d2phi(self, m):
        m = np.asarray(m)
        with np.errstate(divide="ignore"):
            return LR().d2phi(m) + 0.75 * np.abs(m - 0.3) ** -0.5


def test_non_converging_integral_is_an_error_not_nan():
    with pytest.raises(IntegrationError, match="did not converge"):
        asymptotic_covariance(_Cusp(), [0.0, 1.0])


def test_degenerate_slope_is_a_clear_error_not_nan():
    # B ~ 4e-10 with a 1e-28 corner: C would be all rounding error; the slope is past the engine's range.
    with pytest.raises(ValueError, match="outside the range"):
        asymptotic_covariance("lr", [0.3, 1e9])
    # A large but resolvable slope still integrates accurately: E[sigma sigma'] ~ phi(0) / b2.
    res = asymptotic_covariance("lr", [0.3, 1e3])
    # (the next term of the expansion is (pi^2/6) / b2^2 relative, 1.6e-6)
    assert res.B[0, 0] == pytest.approx(np.exp(-0.5 * 0.3e-3 ** 2) / np.sqrt(2 * np.pi) / 1e3, rel=1e-5)


class _NoSecondDerivative(MarginLoss):
    name = "nosecond"

    def phi(self, m):
        return LR().phi(m)

    def dphi(self, m):
        return LR().dphi(m)


def test_loss_without_phi2_uses_a_flagged_numerical_derivative():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = asymptotic_covariance(_NoSecondDerivative(), [0.0, 2.0])
    assert any("no analytic phi''" in str(w.message) for w in caught)
    np.testing.assert_allclose(res.B, asymptotic_covariance("lr", [0.0, 2.0]).B, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("loss", ["lr", "ch"])
def test_if_limit_on_a_three_dimensional_design(loss):
    """Two independent scores (b'x, beta'x) make the population integrals two-dimensional."""
    design = GaussianDesign.with_intercept([0.5, -1.0], [[1.0, 0.4], [0.4, 2.0]])
    beta, x_c, eps = np.array([0.3, 1.0, -0.7]), np.array([1.0, 2.0, 1.0]), 1e-5
    t = contaminated_functional(loss, beta, eps, x_c, -1, design)
    np.testing.assert_allclose((t.beta_eps - beta) / eps, influence_function(loss, beta, x_c, -1, design),
                               rtol=2e-3, atol=1e-3)
    assert t.error["beta_eps"] < 1e-12


def test_contamination_grid_rejects_bad_eps_before_work():
    from lsis_robust.theory.contamination import contamination_grid

    with pytest.raises(ValueError, match=r"eps must be a finite number in \[0, 1\)"):
        contamination_grid(["lr"], [0.0, 4.0], -1.0, np.array([[1.0, -10.0]]), progress=False)
