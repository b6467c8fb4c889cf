"""The shared validation rules (lsis_robust._validation): what each accepts and refuses, and that the entry
points taking the same kind of value refuse the same inputs with the same message shape."""
import argparse
import re
from pathlib import Path

import numpy as np
import pytest

from lsis_robust import RobustLogisticRegression
from lsis_robust._validation import (C_RANGE, check_alpha, check_beta, check_betas, check_bool, check_c,
                                     check_option, check_rate, check_real, check_seed, check_size, check_vector,
                                     float_in, int_at_least)
from lsis_robust.contamination import AdversarialFlip, LabelFlip, PointMass, sample_nominal
from lsis_robust.losses import validate_alpha
from lsis_robust.studies.efficiency import efficiency_grid
from lsis_robust.studies.robustness import robustness_grid
from lsis_robust.theory.contamination import contaminated_functional

HUGE_INT = 10 ** 400  # beyond the float range
WRONG_KINDS = [True, np.bool_(False), "0.5", None, 1 + 0j, np.array([0.5]), [0.5], object()]


# ------------------------------------------------------------------ real scalars

@pytest.mark.parametrize("value, expected", [(0.5, 0.5), (2, 2.0), (np.float32(0.25), 0.25), (np.int64(3), 3.0),
                                             (np.array(0.75), 0.75), (np.array(4, dtype=np.uint8), 4.0),
                                             (-0.0, 0.0), (1e308, 1e308)])
def test_real_accepts_python_and_numpy_reals_as_float(value, expected):
    got = check_real(value, "x")
    assert type(got) is float and got == expected
    assert str(check_real(-0.0, "x")) == "0.0"  # one zero: -0.0 would print (and repr) differently


@pytest.mark.parametrize("value", WRONG_KINDS)
def test_real_refuses_other_kinds_with_a_type_error(value):
    with pytest.raises(TypeError, match=r"^x must be a real number, got "):
        check_real(value, "x")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, HUGE_INT, -HUGE_INT], ids=lambda v: str(v)[:12])
def test_real_refuses_non_finite_and_huge_values(value):
    with pytest.raises(ValueError, match=r"is invalid: x must be a finite number$"):
        check_real(value, "x")


def test_real_without_finite_passes_nan_and_inf_to_the_caller():
    assert np.isnan(check_real(np.nan, "x", finite=False))
    assert check_real(-np.inf, "x", finite=False) == -np.inf


@pytest.mark.parametrize("value, ok", [(0.0, False), (1e-300, True), (1.0, True), (1.0 + 1e-15, False)])
def test_real_interval_ends(value, ok):
    if ok:
        assert check_real(value, "step", 0.0, 1.0, low_open=True) == value
    else:
        with pytest.raises(ValueError, match=re.escape("step must be a finite number in (0, 1]")):
            check_real(value, "step", 0.0, 1.0, low_open=True)


# ------------------------------------------------------------------ sizes, counts, seeds

@pytest.mark.parametrize("value", [2, np.int64(2), np.uint8(7), HUGE_INT], ids=lambda v: str(v)[:12])
def test_size_accepts_integers(value):
    assert check_size(value, "n", 2) == int(value) and type(check_size(value, "n", 2)) is int


@pytest.mark.parametrize("value", [2.0, np.float64(3), True, np.bool_(True), "3", None, np.array([3])])
def test_size_refuses_non_integers_with_a_type_error(value):
    with pytest.raises(TypeError, match=r"^n must be an integer >= 2, got "):
        check_size(value, "n", 2)


@pytest.mark.parametrize("value", [1, 0, -HUGE_INT], ids=lambda v: str(v)[:12])
def test_size_below_the_minimum(value):
    with pytest.raises(ValueError, match=r"^n=.* is invalid: n must be an integer >= 2$"):
        check_size(value, "n", 2)


def test_seed_is_a_size_from_zero():
    assert check_seed(0) == 0 and check_seed(np.int32(5)) == 5 and check_seed(HUGE_INT) == HUGE_INT
    with pytest.raises(ValueError, match="seed=-1 is invalid: seed must be an integer >= 0"):
        check_seed(-1)
    with pytest.raises(TypeError, match="seed must be an integer >= 0"):
        check_seed(1.0)


# ------------------------------------------------------------------ rates

@pytest.mark.parametrize("value", [0, 0.0, 0.5, np.float32(0.1), np.array(0.2), 1 - 2 ** -53])
def test_rate_accepts_zero_up_to_below_one(value):
    assert check_rate(value) == float(value)


@pytest.mark.parametrize("value", [1.0, 1, -1e-300, np.nan, np.inf, -np.inf, HUGE_INT], ids=lambda v: str(v)[:12])
def test_rate_refuses_values_outside_zero_one(value):
    with pytest.raises(ValueError, match=re.escape("eps must be a finite number in [0, 1)")):
        check_rate(value)


@pytest.mark.parametrize("value", WRONG_KINDS)
def test_rate_refuses_other_kinds(value):
    with pytest.raises(TypeError, match="eps must be a real number"):
        check_rate(value)


# ------------------------------------------------------------------ flags and options

def test_bool():
    assert check_bool(True, "quick") is True and check_bool(np.bool_(False), "quick") is False
    for value in (0, 1, "True", None, np.array([True])):
        with pytest.raises(TypeError, match="quick must be True or False, got"):
            check_bool(value, "quick")


def test_option():
    assert check_option("exact", "mode", ("exact", "bernoulli")) == "exact"
    assert check_option(np.str_("exact"), "mode", ("exact", "bernoulli")) == "exact"
    for value in ("Exact", "", None, 1, ["exact"], np.array(["exact", "bernoulli"])):
        with pytest.raises(ValueError, match="mode must be one of 'exact', 'bernoulli'"):
            check_option(value, "mode", ("exact", "bernoulli"))


# ------------------------------------------------------------------ vectors and coefficient lists

def test_vector_accepts_real_sequences():
    v = check_vector([1, np.float32(2.5), np.int64(3)], "v")
    assert v.dtype == np.float64 and v.tolist() == [1.0, 2.5, 3.0]
    assert check_beta((0, 4), min_size=2).tolist() == [0.0, 4.0]


@pytest.mark.parametrize("value, error, match", [
    ([np.nan, 1.0], ValueError, "beta must be a finite 1-d vector"),
    ([0.0, np.inf], ValueError, "beta must be a finite 1-d vector"),
    ([], ValueError, "got an empty one"),
    ([[0.0, 1.0]], ValueError, r"shape \(1, 2\)"),
    (0.5, ValueError, r"shape \(\)"),
    ([[0.0], [1.0, 2.0]], ValueError, "ragged"),
    ("ab", TypeError, "beta must be a vector of real numbers"),
    (None, TypeError, "beta must be a vector of real numbers"),
    ([True, False], TypeError, "beta must be a vector of real numbers"),
    ([1.0, "x"], TypeError, "beta must be a vector of real numbers"),
])
def test_beta_refusals(value, error, match):
    with pytest.raises(error, match=match):
        check_beta(value)


def test_betas():
    assert check_betas([(0, 4), np.array([1.0, 2.0])]) == [(0.0, 4.0), (1.0, 2.0)]
    with pytest.raises(ValueError, match="the list of betas is empty"):
        check_betas([])
    with pytest.raises(ValueError, match=re.escape("betas are repeated: (0.0, 4.0) is given twice")):
        check_betas([(0, 4), (0.0, 4.0)])
    with pytest.raises(ValueError, match=re.escape("betas[1] must be a finite 1-d vector (intercept first) of at "
                                                   "least 2 entries")):
        check_betas([(0, 4), (1.0,)])
    with pytest.raises(TypeError, match="betas must be a list"):
        check_betas("0,4")


# ------------------------------------------------------------------ the loss parameters

@pytest.mark.parametrize("value, n_classes, ok", [(0.0, 2, True), (0.99, 2, True), (1.0, 2, False), (2.0, 2, True),
                                                  (2.0 + 1e-12, 2, False), (10 / 9, 10, True), (1.2, 10, False),
                                                  (-0.0, 2, True), (np.nan, 2, False), (HUGE_INT, 2, False)],
                         ids=lambda v: str(v)[:12])
def test_alpha_follows_theorem_1(value, n_classes, ok):
    if ok:
        assert check_alpha(value, n_classes) == value
    else:
        with pytest.raises(ValueError, match="alpha=.* is (outside the valid range|invalid: alpha must be a finite)"):
            check_alpha(value, n_classes)


def test_alpha_is_the_public_validate_alpha_and_checks_n_classes():
    assert validate_alpha is check_alpha
    with pytest.raises(ValueError, match="n_classes=1 is invalid: n_classes must be an integer >= 2"):
        check_alpha(0.1, 1)
    with pytest.raises(TypeError, match="n_classes must be an integer >= 2"):
        check_alpha(0.1, 2.0)


def test_c_range():
    assert check_c(C_RANGE[0]) == C_RANGE[0] and check_c(np.array(C_RANGE[1])) == C_RANGE[1]
    for value in (0.0, C_RANGE[0] * (1 - 1e-12), C_RANGE[1] * (1 + 1e-12), np.inf, np.nan):
        with pytest.raises(ValueError, match=re.escape("c must be a finite number in [0.001, 1000]")):
            check_c(value)


# ------------------------------------------------------------------ the command line's type= helpers

def test_int_at_least_applies_the_size_rule_to_text():
    convert = int_at_least(1)
    assert convert("3") == 3 and convert(" 7 ") == 7
    for text in ("0", "-1", "2.0", "1e3", "", "nan", "True"):
        with pytest.raises(argparse.ArgumentTypeError, match=re.escape(f"expected an integer >= 1, got {text!r}")):
            convert(text)


def test_float_in_applies_the_real_rule_to_text():
    rate = float_in(0, 1, open_max=True)
    assert rate("0") == 0.0 and rate("0.5") == 0.5
    for text in ("1", "-0.1", "nan", "inf", "x", ""):
        with pytest.raises(argparse.ArgumentTypeError, match=re.escape("expected a finite number in [0, 1), got")):
            rate(text)
    with pytest.raises(argparse.ArgumentTypeError, match=re.escape("expected a finite number, got 'inf'")):
        float_in()("inf")


# ------------------------------------------------------------------ one rule, every entry point

def _error(call):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    return info.type, str(info.value)


def _shape(message, name):
    """The message with the parameter's name and value taken out, to compare entry points."""
    return re.sub(rf"^{name}=\S+ ", "VALUE ", message).replace(name, "NAME")


RATE_ENTRY_POINTS = {
    "PointMass": (lambda eps: PointMass(eps, [1.0, 0.0], 1), "eps"),
    "LabelFlip": (lambda rate: LabelFlip(rate), "rate"),
    "AdversarialFlip": (lambda rate: AdversarialFlip(rate, [0.0, 1.0]), "rate"),
    "robustness study": (lambda eps: robustness_grid(betas=[(0.0, 1.0)], methods=["lr"], eps=eps, xc2=[1.0]), "eps"),
    "theory": (lambda eps: contaminated_functional("lr", (0.0, 1.0), eps, (1.0, 2.0), 1), "eps"),
}


@pytest.mark.parametrize("bad", [1.0, -0.1, np.nan, np.inf, HUGE_INT, True, "0.1", None, np.array([0.1])],
                         ids=lambda v: repr(v)[:12])
def test_every_contamination_rate_is_refused_alike(bad):
    errors = {where: _error(lambda: call(bad)) for where, (call, _) in RATE_ENTRY_POINTS.items()}
    shapes = {(kind, _shape(msg, RATE_ENTRY_POINTS[where][1])) for where, (kind, msg) in errors.items()}
    assert len(shapes) == 1, errors


SIZE_ENTRY_POINTS = {
    "sample_nominal": (lambda n: sample_nominal(n, [0.0, 1.0], rng=0), 1),
    "efficiency study": (lambda n: efficiency_grid(betas=[(0.0, 1.0)], sizes=[n], methods=["lr"]), 2),
    "robustness study": (lambda n: robustness_grid(betas=[(0.0, 1.0)], methods=["lr"], n=n, xc2=[1.0]), 2),
}


@pytest.mark.parametrize("bad", [0, -5, 1.5, 10.0, True, "100", None], ids=repr)
def test_every_sample_size_is_refused_alike(bad):
    for where, (call, minimum) in SIZE_ENTRY_POINTS.items():
        kind, msg = _error(lambda: call(bad))
        if isinstance(bad, int) and not isinstance(bad, bool):
            assert kind is ValueError and msg == f"n={bad} is invalid: n must be an integer >= {minimum}", where
        else:
            assert kind is TypeError and msg.startswith(f"n must be an integer >= {minimum}, got "), where


@pytest.mark.parametrize("bad", [[(np.nan, 1.0)], [(0.0, 1.0), (0.0, 1.0)], [], "0,1"], ids=repr)
def test_both_studies_refuse_the_same_betas_alike(bad):
    eff = _error(lambda: efficiency_grid(betas=bad, sizes=[50], methods=["lr"]))
    rob = _error(lambda: robustness_grid(betas=bad, methods=["lr"], xc2=[1.0]))
    assert eff == rob


def test_the_estimator_and_the_losses_refuse_alpha_and_c_alike():
    X = np.column_stack([np.linspace(-2, 2, 40)])
    y = (np.arange(40) % 3 == 0).astype(int)
    for loss, params in (("mlslr", {"alpha": 1.0}), ("ch", {"c": 0.0}), ("by", {"c": np.inf})):
        (name, value), = params.items()
        rule = check_alpha if name == "alpha" else check_c
        expected = _error(lambda: rule(value))
        assert _error(lambda: RobustLogisticRegression(loss=loss, **params).fit(X, y)) == expected


# ------------------------------------------------------------------ the estimator: scikit-learn's constraints

def test_the_estimator_declares_its_constraints_as_scikit_learn_checks_them():
    from sklearn.utils.estimator_checks import check_param_validation

    assert set(RobustLogisticRegression._parameter_constraints) == set(RobustLogisticRegression().get_params())
    check_param_validation("RobustLogisticRegression", RobustLogisticRegression())


def test_an_output_folder_where_nothing_can_be_created_is_refused_before_any_work(tmp_path):
    """check_out_dir makes (and removes) a probe folder: os.access says yes to root even under /proc."""
    from lsis_robust._validation import check_out_dir

    assert check_out_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert list(tmp_path.iterdir()) == []  # the probe leaves no trace
    if Path("/proc/self").is_dir():  # Linux: nothing can be created in /proc, whoever asks
        with pytest.raises(ValueError, match="the folder /proc is not writable"):
            check_out_dir("/proc/no-such/out")
