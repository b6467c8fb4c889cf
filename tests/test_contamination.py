import numpy as np
import pytest

from lsis_robust.contamination import (AdversarialFlip, Compose, LabelFlip, LeverageOutliers, PointMass, Sample,
                                       contaminate, sample_mvn_logistic, sample_nominal)


def test_nominal_sample_follows_the_logistic_model():
    s = sample_nominal(40_000, [0.5, 2.0], rng=1)
    assert np.all(s.X[:, 0] == 1) and not s.contaminated.any()
    assert abs(s.X[:, 1].mean()) < 0.02 and abs(s.X[:, 1].std() - 1) < 0.02
    # P(Y=1 | x2 near 0) = sigma(0.5)
    near = np.abs(s.X[:, 1]) < 0.05
    assert abs(s.y[near].mean() - 1 / (1 + np.exp(-0.5))) < 0.04
    # The ML fit recovers beta (statsmodels as the independent reference).
    import statsmodels.api as sm

    fit = sm.Logit(s.y, s.X).fit(disp=0)
    assert np.allclose(fit.params, [0.5, 2.0], atol=0.06)


def test_mvn_logistic_moments():
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    s = sample_mvn_logistic(50_000, [0, 1, -1], mean=[1, -1], cov=cov, rng=2)
    assert np.allclose(s.X[:, 1:].mean(axis=0), [1, -1], atol=0.03)
    assert np.allclose(np.cov(s.X[:, 1:].T), cov, atol=0.05)
    with pytest.raises(ValueError, match="cov"):
        sample_mvn_logistic(10, [0, 1], cov=[[-1.0]])


def test_same_seed_same_sample_and_input_untouched():
    a, b = sample_nominal(50, [0, 1], rng=3), sample_nominal(50, [0, 1], rng=3)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    y0 = a.y.copy()
    LabelFlip(0.5)(a, 0)
    assert np.array_equal(a.y, y0)


def test_point_mass_exact_and_bernoulli():
    s = sample_nominal(1000, [0, 4], rng=4)
    c = PointMass(0.05, [1, -10], +1)(s, 5)
    assert c.contaminated.sum() == 50
    assert np.all(c.X[c.contaminated] == [1, -10]) and np.all(c.y[c.contaminated] == 1)
    assert np.array_equal(c.X[~c.contaminated], s.X[~c.contaminated])
    counts = [PointMass(0.05, [1, 3], -1, mode="bernoulli")(s, k).contaminated.sum() for k in range(200)]
    assert abs(np.mean(counts) - 50) < 2.5 and np.std(counts) > 3  # Binomial(1000, 0.05): sd 6.9
    assert np.all(PointMass(0.1, [1, 3], -1)(s, 1).y[PointMass(0.1, [1, 3], -1)(s, 1).contaminated] == 0)


def test_label_flip_flips_exactly_the_masked_rows():
    s = sample_nominal(500, [0, 1], rng=6)
    c = LabelFlip(0.2)(s, 7)
    assert c.contaminated.sum() == 100
    assert np.array_equal(c.y != s.y, c.contaminated)


def test_adversarial_flip_takes_most_confident_first():
    s = sample_nominal(300, [0, 2], rng=8)
    beta = np.array([0, 2.0])
    c = AdversarialFlip(0.1, beta)(s, 9)
    margin = s.y_pm * (s.X @ beta)
    assert c.contaminated.sum() == 30
    assert margin[c.contaminated].min() >= margin[~c.contaminated].max()
    assert np.array_equal(c.y != s.y, c.contaminated)


def test_leverage_outliers_are_far_and_misclassified():
    s = sample_nominal(400, [0, 1, 1], rng=10)
    beta = np.array([0, 1.0, 1.0])
    c = LeverageOutliers(0.05, beta, distance=8)(s, 11)
    out = c.contaminated
    assert out.sum() == 20
    assert np.allclose(np.linalg.norm(c.X[out, 1:], axis=1), 8)
    assert np.all((2 * c.y[out] - 1) * (c.X[out] @ beta) <= 0)


def test_compose_ors_masks_and_is_seeded():
    s = sample_nominal(1000, [0, 2], rng=12)
    steps = [LabelFlip(0.1), PointMass(0.05, [1, 5], -1)]
    a, b = contaminate(s, steps, seed=13), Compose(steps)(s, 13)
    assert np.array_equal(a.y, b.y) and np.array_equal(a.X, b.X)
    assert 100 <= a.contaminated.sum() <= 150
    assert not np.array_equal(contaminate(s, steps, seed=14).y, a.y)


@pytest.mark.parametrize("bad, match", [
    (lambda: PointMass(1.0, [1, 0], 1), r"\[0, 1\)"),
    (lambda: PointMass(-0.1, [1, 0], 1), r"\[0, 1\)"),
    (lambda: PointMass(0.1, [1, 0], 0), "y_c"),
    (lambda: LabelFlip(0.1, mode="sometimes"), "mode"),
    (lambda: sample_nominal(0, [0, 1]), "n must be an integer >= 1"),
    (lambda: LeverageOutliers(0.1, [0, 1], distance=-1), "distance"),
    (lambda: Sample(np.ones((3, 2)), np.array([0, 1, 2])), "0 or 1"),
])
def test_bad_input_is_rejected(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


def test_point_dimension_mismatch():
    with pytest.raises(ValueError, match="columns"):
        PointMass(0.1, [1, 0, 0], 1)(sample_nominal(10, [0, 1], rng=0), 0)
    with pytest.raises(TypeError):
        LabelFlip(0.1)("not a sample", 0)
