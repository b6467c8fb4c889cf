"""User losses: autodiff derivatives, the validation checks, import paths and entry points."""
import importlib.util
import math
import sys

import numpy as np
import pytest
import torch

from lsis_robust import registry
from lsis_robust.losses import LSQLR
from lsis_robust.registry import available_losses, get_loss, load_object, parse_loss_spec, register_loss, register_object
from lsis_robust.user_loss import LossValidationError, UserLoss, as_margin_loss


@pytest.fixture(autouse=True)
def _registry_as_found(clean_registry):
    """Every test here registers losses; each starts from the registry as it was."""


M = np.linspace(-25, 25, 501)


def savage_torch(m):
    return 0.5 * torch.sigmoid(-m) ** 2


def test_plain_function_gets_autodiff_derivatives_equal_to_the_analytic_ones():
    register_loss("savage_ad")(savage_torch)
    loss = get_loss("savage_ad")
    assert isinstance(loss, UserLoss) and loss.autodiff
    for got, want in zip(loss.derivatives(M), LSQLR().derivatives(M)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert loss.bounded and not loss.convex  # inferred by the checks
    assert np.asarray(loss.phi(np.zeros((2, 3)))).shape == (2, 3)


def test_function_parameters_become_loss_parameters():
    def tempered(m, t=0.5):
        return (1 - torch.sigmoid(m) ** t) / t

    register_loss("tempered_t")(tempered)
    loss = parse_loss_spec("tempered_t:t=0.25")
    assert loss.get_params() == {"t": 0.25}
    np.testing.assert_allclose(loss.phi(np.array([0.0])), (1 - 0.5 ** 0.25) / 0.25, rtol=1e-14)
    assert get_loss("tempered_t").get_params() == {"t": 0.5}
    with pytest.raises(ValueError, match="does not take parameter"):
        get_loss("tempered_t", q=1.0)


def test_class_with_only_phi_and_numpy_loss_with_all_derivatives():
    @register_loss("only_phi")
    class OnlyPhi:
        def __init__(self, scale=1.0):
            self.scale = scale

        def phi(self, m):
            return self.scale * torch.nn.functional.softplus(-m)

    loss = get_loss("only_phi", scale=2.0)
    # torch.softplus is linear beyond 20 (its threshold), so its slope there is off by e^-20.
    np.testing.assert_allclose(loss.dphi(M), -2.0 / (1 + np.exp(M)), rtol=1e-8)
    assert loss.convex and not loss.bounded

    class NumpySavage:
        def phi(self, m):
            return LSQLR().phi(m)

        def dphi(self, m):
            return LSQLR().dphi(m)

        def d2phi(self, m):
            return LSQLR().d2phi(m)

    wrapped = as_margin_loss(NumpySavage(), "np_savage")
    assert not wrapped.autodiff and wrapped.derivative_source() == "analytic (given)"
    np.testing.assert_array_equal(wrapped.d2phi(M), LSQLR().d2phi(M))


@pytest.mark.parametrize("fn, check, margin", [
    (lambda m: torch.clamp(1 - m, min=0), "derivative", 1.0),  # hinge: kink at m = 1
    (lambda m: torch.nn.functional.softplus(-m) - 1, "nonnegative", -0.5),
    (lambda m: torch.nn.functional.softplus(-m) + 0.1 * m ** 2, "decreasing", 1.2),
    (lambda m: torch.exp(-m), "finite", -1e4),
    (lambda m: 1.0 + 0 * m, "calibrated", 0.0),  # flat: never decreasing, so not classification-calibrated
])
def test_bad_losses_name_the_check_and_margin(fn, check, margin):
    with pytest.raises(LossValidationError) as info:
        register_loss("bad_loss")(fn)
    assert info.value.check == check and info.value.margin == pytest.approx(margin)
    assert f"'{check}' check" in str(info.value) and "bad_loss" in str(info.value)
    assert "bad_loss" not in available_losses()


def test_wrong_given_derivative_fails_the_derivative_check():
    def phi(m):
        return torch.nn.functional.softplus(-m)

    phi.dphi = lambda m: -torch.sigmoid(-m) * 1.01
    with pytest.raises(LossValidationError, match="'derivative' check at margin m = -30"):
        register_loss("wrong_dphi")(phi)


def test_declared_kink_margins_let_a_c1_loss_through():
    def c1(m):  # phi'' jumps by 0.2 at m = 0
        return torch.nn.functional.softplus(-m) + torch.where(m < 0, 0.1 * m ** 2, torch.zeros_like(m))

    with pytest.raises(LossValidationError, match="'derivative' check at margin m = 0"):
        register_loss("c1_undeclared")(c1)
    c1.kink_margins = [0.0]
    register_loss("c1_declared")(c1)
    loss = get_loss("c1_declared")
    assert loss.dphi(np.array([0.0]))[0] == pytest.approx(-0.5)
    np.testing.assert_array_equal(loss.kinks(), [0.0])  # the declared margins answer the kinks hook


def test_user_loss_hooks_default_to_its_declarations():
    def smoothed(m, alpha=0.3):
        return torch.nn.functional.softplus(-m) * (1 + alpha)

    smoothed.kclass = lambda logits, target, reduction="mean", alpha=0.3: torch.tensor(alpha)
    register_loss("smoothed_user")(smoothed)
    loss = get_loss("smoothed_user", alpha=0.2)
    assert loss.label == "smoothed_user a=0.2" and loss.kinks().size == 0 and loss.continuation_path() == []
    assert float(loss.kclass()(None, None)) == pytest.approx(0.2)  # bound to the loss's parameters
    phi, _ = loss.torch_binary()  # a torch phi is the paper protocol's torch form, its parameters bound
    assert float(phi(torch.tensor(0.0, dtype=torch.float64))) == pytest.approx(1.2 * math.log(2))


def test_phi_returning_tensors_without_gradient_says_how_to_write_it():
    # A numpy phi now gets numerical derivatives (tests/test_numpy_loss.py); one that hands numpy's result
    # back as a torch tensor is neither a numpy function nor differentiable by torch.
    def detached_phi(m):
        return torch.as_tensor(np.logaddexp(0, -np.asarray(m)))

    with pytest.raises(TypeError, match="torch operations"):
        register_loss("detached_noderiv")(detached_phi)


def test_import_paths_say_which_part_failed(tmp_path, monkeypatch):
    (tmp_path / "userlosses.py").write_text("import torch\n\ndef savage(m):\n    return 0.5 * torch.sigmoid(-m) ** 2\n")
    (tmp_path / "brokenlosses.py").write_text("import not_a_real_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_object("userlosses:savage")(torch.zeros(1)).item() == 0.125
    with pytest.raises(ValueError, match="module 'nosuchpkg' was not found"):
        load_object("nosuchpkg.mod:obj")
    with pytest.raises(ValueError, match="'userlosses' has no attribute 'nothere'"):
        load_object("userlosses:nothere")
    with pytest.raises(ValueError, match="imports 'not_a_real_dependency_xyz', which is not installed"):
        load_object("brokenlosses:x")
    with pytest.raises(ValueError, match="looks like 'package.module:object'"):
        load_object("userlosses")
    with pytest.raises(ValueError, match="does not exist"):
        load_object(str(tmp_path / "missing.py") + ":x")
    assert register_object(f"{tmp_path / 'userlosses.py'}:savage") == "savage"


def test_entry_point_of_an_installed_distribution_is_registered(tmp_path, monkeypatch):
    (tmp_path / "fake_lsis_plugin.py").write_text(
        "import torch\n\ndef tempered_savage(m, t=1.0):\n    return 0.5 * torch.sigmoid(-m) ** (1 + t)\n")
    dist = tmp_path / "fake_lsis_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-lsis-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[lsis_robust.losses]\ntempered_savage = fake_lsis_plugin:tempered_savage\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry._ENTRY_POINTS_LOADED = False  # read the entry points again, now with the fake distribution
    assert "tempered_savage" in available_losses()
    loss = parse_loss_spec("tempered_savage:t=1")
    np.testing.assert_allclose(loss.dphi(M), LSQLR().dphi(M), rtol=1e-12, atol=1e-15)
    assert "fake_lsis_plugin" in sys.modules


def test_source_files_name_the_users_files_and_none_for_the_built_ins(tmp_path):
    """The studies' cache key reads a loss's own source_files(): a user loss's phi file, nothing for LR."""
    from lsis_robust.studies.common import loss_source_digest

    path = tmp_path / "my_phi.py"
    path.write_text("import numpy as np\n\ndef phi(m):\n    return np.logaddexp(0, -np.asarray(m, float))\n")
    spec = importlib.util.spec_from_file_location("my_phi", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    loss = as_margin_loss(module.phi)
    assert loss.source_files() == [path.resolve()]
    before = loss_source_digest(loss)
    path.write_text(path.read_text() + "# edited\n")
    assert loss_source_digest(loss) != before
    assert get_loss("lr").source_files() == [] and loss_source_digest(get_loss("lr")) is None


def test_a_torch_user_loss_gets_an_autodiff_torch_form_and_a_numpy_one_none():
    """The paper protocol compiles a torch phi like a built-in loss; phi' by autodiff equals the loss's dphi."""
    def torch_phi(m, c=2.0):
        return torch.nn.functional.softplus(-m) * c

    loss = as_margin_loss(torch_phi)
    phi, dphi = loss.torch_binary()
    m = torch.linspace(-30, 30, 61, dtype=torch.float64)
    np.testing.assert_allclose(phi(m).numpy(), loss.phi(m.numpy()), rtol=1e-15)
    np.testing.assert_allclose(dphi(m).numpy(), loss.dphi(m.numpy()), rtol=1e-14, atol=1e-300)
    assert as_margin_loss(lambda m: np.logaddexp(0, -np.asarray(m, float))).torch_binary() is None
