"""The registry module: the one loss-spec grammar, built-ins registered through the public API, no import cycle."""
import ast
import math
from pathlib import Path

import numpy as np
import pytest

import lsis_robust
from lsis_robust import losses, registry
from lsis_robust.registry import (
    LossSpec,
    get_loss,
    parse_loss_spec,
    read_loss_spec,
    register_loss,
    resolve_loss_spec,
)

PACKAGE = Path(lsis_robust.__file__).parent


@pytest.fixture(autouse=True)
def _registry_as_found(clean_registry):
    """Tests here register losses; each starts from the registry as it was."""


@pytest.mark.parametrize("spec, expected", [
    ("lr", LossSpec("lr")),
    (" mlslr : alpha = 0.4 ", LossSpec("mlslr", {"alpha": 0.4})),
    ("BY:c=1", LossSpec("BY", {"c": 1.0})),
    ("pkg.mod:obj", LossSpec("pkg.mod:obj", {}, True)),
    ("userlosses:savage", LossSpec("userlosses:savage", {}, True)),  # not a registered name: an import path
    ("path/to/file.py:obj.attr:t=0.5,s=-2", LossSpec("path/to/file.py:obj.attr", {"t": 0.5, "s": -2.0}, True)),
])
def test_the_grammar_reads_both_forms_and_round_trips(spec, expected):
    read = read_loss_spec(spec)
    assert read == expected
    assert read_loss_spec(str(read)) == read
    assert str(read_loss_spec(str(read))) == str(read)


@pytest.mark.parametrize("spec, msg", [
    ("", "a loss spec is"),
    ("mlslr:", "ends with ':'"),
    ("pkg.mod:obj:", "ends with ':'"),
    ("mlslr:alpha", "bad loss parameter 'alpha'"),  # a registered name is never read as a module
    ("mlslr:alpha=0.4,alpha=0.5", "'alpha' is given twice"),
    ("pkg.mod:obj:t=1,t=2", "'t' is given twice"),
    ("mlslr:alpha=x", "expected a number"),
    ("mlslr:alpha=inf", "finite"),
    ("mlslr:alpha=0.4:beta=1", "one ':'"),
    ("pkg.mod", "an import path is"),
    ("pkg.mod:obj:t=1:u=2", "an import path is"),
    ("a b", "bad loss name"),
])
def test_the_grammar_refuses_malformed_specs_clearly(spec, msg):
    with pytest.raises(ValueError, match=msg):
        read_loss_spec(spec)


def test_registered_specs_build_losses_and_import_paths_are_resolved_first(tmp_path, monkeypatch):
    assert parse_loss_spec("mlslr:alpha=0.4") == get_loss("mlslr", alpha=0.4)
    with pytest.raises(ValueError, match="unknown loss 'nope'"):
        parse_loss_spec("nope")
    with pytest.raises(ValueError, match="looks like an import path"):
        parse_loss_spec("userlosses.py:savage")
    (tmp_path / "userlosses.py").write_text(
        "import torch\n\ndef tempered(m, t=1.0):\n    return 0.5 * torch.sigmoid(-m) ** (1 + t)\n")
    monkeypatch.chdir(tmp_path)
    assert resolve_loss_spec("userlosses.py:tempered:t=0.5") == "tempered:t=0.5"
    assert resolve_loss_spec("tempered:t=0.5") == "tempered:t=0.5"  # a registered spec comes back as written
    assert parse_loss_spec("tempered:t=0.5").get_params() == {"t": 0.5}
    with pytest.raises(ValueError, match="does not exist"):
        resolve_loss_spec("missing.py:phi")


class Softplus2(losses.MarginLoss):
    """A loss written like the built-ins: analytic derivatives and a parameter, nothing outside this file."""

    def __init__(self, s=2.0):
        self.s = float(s)

    def phi(self, m):
        return np.logaddexp(0, -self.s * np.asarray(m, dtype=float)) / self.s

    def dphi(self, m):
        return -1 / (1 + np.exp(self.s * np.asarray(m, dtype=float)))

    def d2phi(self, m):
        e = np.exp(-np.abs(self.s * np.asarray(m, dtype=float)))
        return self.s * e / (1 + e) ** 2


def test_a_builtin_style_class_registers_as_is_through_the_public_api():
    register_loss("softplus2", validate=False)(Softplus2)
    loss = parse_loss_spec("softplus2:s=3")
    assert type(loss) is Softplus2 and loss.s == 3.0 and Softplus2.name == "softplus2"
    assert get_loss("softplus2") is not get_loss("softplus2")  # the class itself is called, no cache, no wrapper
    assert math.isclose(float(loss.phi(0.0)), math.log(2) / 3)
    with pytest.raises(TypeError, match="validate=False"):
        register_loss("softplus_fn", validate=False)(lambda m: np.logaddexp(0, -m))
    for builtin in losses.BUILTIN_LOSSES:
        assert type(get_loss(builtin.name)) is builtin
    # The estimator finds it by name like a built-in: softplus(-s m)/s at s = 1 is LR's loss.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 2))
    y = (X @ [1.0, -2.0] + rng.logistic(size=200) > 0).astype(int)
    fits = [lsis_robust.RobustLogisticRegression(loss=loss).fit(X, y)
            for loss in ("softplus2", parse_loss_spec("softplus2:s=1"), "lr")]
    assert fits[0].converged_ and repr(fits[0].loss_) == "Softplus2(s=2.0)"
    np.testing.assert_allclose(fits[1].coef_, fits[2].coef_, rtol=1e-8)


def _imports(path):
    """The lsis_robust modules a file imports, at module level or inside functions."""
    tree = ast.parse(path.read_text())
    package = ".".join(("lsis_robust", *path.relative_to(PACKAGE).parent.parts))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module) if p)
            found |= {module} | {f"{module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def test_losses_and_user_loss_never_import_the_registry_and_no_one_else_knows_how_built_ins_are_told_apart():
    assert not {"lsis_robust.registry", "lsis_robust.user_loss"} & _imports(PACKAGE / "losses.py")
    assert "lsis_robust.registry" not in _imports(PACKAGE / "user_loss.py")
    registry_source = (PACKAGE / "registry.py").read_text()
    assert "__module__" not in registry_source
    for path in PACKAGE.rglob("*.py"):  # the registry's state is its own
        if path.name != "registry.py":
            text = path.read_text()
            assert "_REGISTRY" not in text and "_ENTRY_POINTS_LOADED" not in text, path


def test_registering_a_user_object_goes_through_register_loss_only(tmp_path, monkeypatch):
    calls = []
    public = registry.register_loss
    monkeypatch.setattr(registry, "register_loss", lambda name, **kw: calls.append(name) or public(name, **kw))
    (tmp_path / "mylosses.py").write_text("import torch\n\ndef savage(m):\n    return 0.5 * torch.sigmoid(-m) ** 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert registry.register_object("mylosses:savage") == "savage"
    assert calls == ["savage"] and "savage" in registry.available_losses()
    assert registry.register_object("mylosses:savage") == "savage"  # the same object again: nothing to do
    assert calls == ["savage"]


def test_a_duck_typed_loss_object_is_wrapped_and_answers_the_hooks():
    """An object with phi and dphi that is not a MarginLoss still gets kinks, continuation path and label."""
    from scipy.special import expit

    from lsis_robust import RobustLogisticRegression
    from lsis_robust.theory import asymptotic_relative_efficiency

    class Logistic:
        def phi(self, m):
            return np.logaddexp(0, -np.asarray(m, dtype=float))

        def dphi(self, m):
            return -expit(-np.asarray(m, dtype=float))

    loss = registry.get_loss(Logistic())
    assert loss.kinks().size == 0 and loss.continuation_path() == [] and isinstance(loss.label, str)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = (rng.random(300) < expit(X @ [1.0, -1.0])).astype(int)
    coef = RobustLogisticRegression(loss=Logistic()).fit(X, y).coef_
    np.testing.assert_allclose(coef, RobustLogisticRegression(loss="lr").fit(X, y).coef_, rtol=1e-5)
    assert asymptotic_relative_efficiency(Logistic(), [0.0, 1.0]) == pytest.approx(1.0, rel=1e-6)
