"""The registry of losses by name, the one grammar of a loss spec, and loading losses from user code.

A **loss spec** names a loss and its parameters in one string.  Its grammar
is the same for the CLI, :mod:`lsis_robust.compare`, the studies and the
deep-network benchmark:

* ``name`` or ``name:param=value,param=value`` -- a registered loss
  (:func:`available_losses`) with finite numeric parameters, each given once;
* ``package.module:object[:param=value,...]`` or
  ``path/to/file.py:object[:param=value,...]`` -- an import path to user code
  (``object`` may be dotted).

A first part that is a registered name always means that loss, so
``mlslr:alpha`` is a malformed parameter, not the object ``alpha`` of a module
``mlslr``.  :func:`read_loss_spec` reads a spec into a :class:`LossSpec`;
:func:`parse_loss_spec` builds the loss of a registered spec;
:func:`resolve_loss_spec` also accepts an import path, registers its object and
returns the registered spec.  Studies accept registered specs only: their
specs travel to worker processes and name the rows of their tables.

Losses enter the registry in three ways, all through :func:`register_loss`:
the built-ins of :mod:`lsis_robust.losses` below, the ``@register_loss("name")``
decorator in user code, and the entry-point group ``lsis_robust.losses`` of an
installed package (``examples/README.md`` shows each).

Layering: this module imports :mod:`lsis_robust.losses` (the loss classes)
and :mod:`lsis_robust.user_loss` (which adapts user callables into
:class:`~lsis_robust.losses.MarginLoss`); neither imports it back.
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import math
import sys
import warnings
from dataclasses import dataclass, field
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from .losses import BUILTIN_LOSSES, MarginLoss
from .user_loss import as_margin_loss, loss_factory

__all__ = ["ENTRY_POINT_GROUP", "LossSpec", "UserModuleError", "available_losses", "get_loss", "import_user_module",
           "load_object", "parse_loss_spec", "read_loss_spec", "register_loss", "register_object",
           "resolve_loss_spec", "split_loss_specs"]

ENTRY_POINT_GROUP = "lsis_robust.losses"

_REGISTRY: dict[str, Callable[..., MarginLoss]] = {}
_ENTRY_POINTS_LOADED = False


# ---------------------------------------------------------------- registering and building losses

def register_loss(name: str, *, overwrite: bool = False, validate: bool = True):
    """Decorator that registers a loss class or factory under ``name``.

    The decorated object is a :class:`~lsis_robust.losses.MarginLoss`
    subclass, a factory called with the loss's parameters, a class with only
    ``phi``, or a plain function ``phi(m, param=default, ...)``.  It goes
    through :func:`lsis_robust.user_loss.loss_factory`, which fills in missing
    derivatives by autodiff and validates the loss once per parameter set.

    ``validate=False`` registers a :class:`~lsis_robust.losses.MarginLoss`
    subclass as it is: :func:`get_loss` calls the class with the parameters,
    with no autodiff and no checks.  The built-in losses are registered so,
    since their analytic derivatives are tested in the test suite.

    >>> @register_loss("savage2")
    ... class Savage2(MarginLoss):
    ...     def phi(self, m): ...
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"loss name must be a Python identifier string, got {name!r}")
    key = name.lower()

    def decorator(factory):
        if not callable(factory):
            raise TypeError(f"register_loss({name!r}) needs a class or callable, got {type(factory).__name__}")
        is_loss_class = isinstance(factory, type) and issubclass(factory, MarginLoss)
        if not validate and not is_loss_class:
            raise TypeError(f"register_loss({name!r}, validate=False) needs a MarginLoss subclass with its own "
                            f"derivatives, got {factory!r}")
        existing = _REGISTRY.get(key)
        if existing is not None and not overwrite and getattr(existing, "__wrapped_loss__", existing) is not factory:
            raise ValueError(f"a loss named {name!r} is already registered; pass overwrite=True to replace it")
        _REGISTRY[key] = factory if not validate else loss_factory(factory, key)
        if is_loss_class and factory.name == MarginLoss.name:
            factory.name = key
        return factory

    return decorator


for _cls in BUILTIN_LOSSES:
    register_loss(_cls.name, validate=False)(_cls)


def _load_entry_points() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name.lower() not in _REGISTRY:
            try:
                register_loss(ep.name)(ep.load())
            except Exception as exc:  # a broken plug-in must not break the suite
                warnings.warn(f"could not load loss entry point {ep.name!r} ({ep.value}): {exc}", stacklevel=2)


def available_losses() -> list[str]:
    """Names of all registered losses, built-in, decorated and from entry points."""
    _load_entry_points()
    return sorted(_REGISTRY)


def _is_registered(name: str) -> bool:
    _load_entry_points()
    return name.lower() in _REGISTRY


def _inspect_factory(factory):
    """(takes **kwargs, parameter names) of a registered factory."""
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return True, []
    return (any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()),
            [p for p in sig.parameters if p != "self"])


_inspect_factory_cached = functools.lru_cache(maxsize=None)(_inspect_factory)  # inspect is slow next to a fit


def _factory_parameters(factory):
    try:
        hash(factory)
    except TypeError:
        return _inspect_factory(factory)
    return _inspect_factory_cached(factory)


def get_loss(name, **params) -> MarginLoss:
    """Instantiate the registered loss ``name`` with ``params``.

    ``name`` may also be a :class:`~lsis_robust.losses.MarginLoss` instance
    (returned unchanged if no params are given) or a user's phi function or
    object (wrapped by :func:`lsis_robust.user_loss.as_margin_loss`).
    Unknown names and parameters raise ``ValueError``.
    """
    if isinstance(name, MarginLoss):
        if params:
            raise ValueError("parameters cannot be given together with a loss instance")
        return name
    # Any other object with a phi (derivatives or not) is wrapped, so that it answers the MarginLoss hooks too.
    if not isinstance(name, str) and (callable(name) or hasattr(name, "phi")):
        if params:
            raise ValueError("parameters cannot be given together with a loss function or object; bind them first")
        return as_margin_loss(name)
    if not isinstance(name, str):
        raise TypeError(f"loss must be a registered name (str) or a MarginLoss, got {type(name).__name__}")
    if not _is_registered(name):
        raise ValueError(f"unknown loss {name!r}; available losses: {', '.join(available_losses())}")
    factory = _REGISTRY[name.lower()]
    accepts_kwargs, allowed = _factory_parameters(factory)
    unknown = [k for k in params if k not in allowed]
    if unknown and not accepts_kwargs:
        raise ValueError(
            f"loss {name!r} does not take parameter(s) {', '.join(unknown)}; "
            f"it takes: {', '.join(allowed) or 'no parameters'}"
        )
    return factory(**params)


# ---------------------------------------------------------------- the loss-spec grammar

_SPEC_FORMS = ("a registered name with optional ':param=value,...' such as 'mlslr:alpha=0.4', or an import path "
               "'package.module:object' / 'file.py:object' (optionally ':param=value,...')")


@dataclass(frozen=True)
class LossSpec:
    """A loss spec as read by :func:`read_loss_spec`.

    ``target`` is the registered name, or for an import path its
    ``module:object`` part (then ``is_import_path`` is true); ``params`` maps
    each parameter to its finite float value, in the order written.
    ``str(spec)`` writes the spec back in the grammar, and reading that string
    gives an equal :class:`LossSpec`.
    """

    target: str
    params: dict = field(default_factory=dict)
    is_import_path: bool = False

    def __str__(self):
        items = ",".join(f"{k}={v!r}" for k, v in self.params.items())
        return self.target + (":" + items if items else "")


def _looks_like_module(part: str) -> bool:
    # Registered names are identifiers, so a dot, a path separator or a .py suffix can only be a module or file.
    return part.endswith(".py") or any(c in part for c in "./\\")


def _read_params(text: str, spec: str) -> dict:
    params = {}
    for item in (s.strip() for s in text.split(",")):
        key, sep, value = (s.strip() for s in item.partition("="))
        if not item:
            raise ValueError(f"empty parameter in loss spec {spec!r}: expected param=value,param=value")
        if not sep or not key.isidentifier():
            raise ValueError(f"bad loss parameter {item!r} in {spec!r}: expected param=value")
        if key in params:
            raise ValueError(f"parameter {key!r} is given twice in loss spec {spec!r}")
        try:
            params[key] = float(value)
        except ValueError:
            raise ValueError(f"bad value {value!r} for parameter {key!r} in {spec!r}: expected a number") from None
        if not math.isfinite(params[key]):
            raise ValueError(f"bad value {value!r} for parameter {key!r} in {spec!r}: expected a finite number")
    return params


def read_loss_spec(spec: str) -> LossSpec:
    """Read ``spec`` by the one grammar of a loss spec (see the module doc); nothing is imported or built.

    Empty items, a trailing ``:``, repeated parameters and non-finite values
    are errors, not silently dropped or overridden.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"a loss spec is {_SPEC_FORMS}; got {spec!r}")
    parts = [s.strip() for s in spec.strip().split(":")]
    head = parts[0]
    is_import_path = _looks_like_module(head) or (
        len(parts) > 1 and parts[1] and "=" not in parts[1] and not _is_registered(head))
    if is_import_path:
        if len(parts) < 2 or len(parts) > 3 or not head or not parts[1]:
            raise ValueError(f"cannot read loss spec {spec!r}: an import path is "
                             "'package.module:object[:param=value,...]' or 'file.py:object[:param=value,...]'")
        target, rest = f"{head}:{parts[1]}", parts[2:]
    else:
        if not head.isidentifier():
            raise ValueError(f"bad loss name {head!r} in {spec!r}: expected a registered name such as 'mlslr'")
        if len(parts) > 2:
            raise ValueError(f"cannot read loss spec {spec!r}: expected 'name:param=value,...' with one ':'")
        target, rest = head, parts[1:]
    if rest and not rest[0]:
        raise ValueError(f"loss spec {spec!r} ends with ':' but gives no parameter; write 'name' or "
                         "'name:param=value,...'")
    return LossSpec(target, _read_params(rest[0], spec) if rest else {}, is_import_path)


def parse_loss_spec(spec: str) -> MarginLoss:
    """The loss of a registered spec ``name[:param=value,...]`` (see :func:`read_loss_spec`).

    An import path is refused here: load it first with
    :func:`resolve_loss_spec` (``lsis-robust compare --loss``) or ``--import``.
    """
    read = read_loss_spec(spec)
    if read.is_import_path:
        raise ValueError(f"{spec!r} looks like an import path 'module:object'; here a loss is a registered name "
                         "with optional ':param=value,...' (import paths are read by `lsis-robust compare --loss` "
                         "and `--import`; or register the loss with an entry point)")
    return get_loss(read.target, **read.params)


def resolve_loss_spec(spec: str) -> str:
    """The registered spec of ``spec``, which may be an import path; the loss is built and validated now.

    An import path's object is imported and registered (:func:`register_object`),
    and the path is replaced by its registry name; a registered spec is
    returned as written.
    """
    read = read_loss_spec(spec)
    if read.is_import_path:
        params_as_written = [s.strip() for s in spec.split(":")[2:]]
        spec = ":".join([register_object(read.target), *params_as_written])
    parse_loss_spec(spec)
    return spec


def split_loss_specs(text: str) -> list[str]:
    """Split a comma list of registered specs, ``'lr,mlslr:alpha=0.4,by'``, and check every spec.

    A comma starts a new spec unless the next part is ``param=value`` (then it
    continues the previous spec's parameters).  Returns the specs as written
    (stripped); an empty list, an empty item, a bad spec or a spec given twice
    raises ``ValueError``.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"expected comma-separated loss specs such as 'lr,mlslr:alpha=0.4', got {text!r}")
    specs = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            raise ValueError(f"empty item in the loss list {text!r}")
        if specs and "=" in part and ":" not in part:
            specs[-1] += "," + part
        else:
            specs.append(part)
    losses = [parse_loss_spec(s) for s in specs]
    for i, loss in enumerate(losses):
        if loss in losses[:i]:
            raise ValueError(f"loss {specs[i]!r} is listed twice in {text!r}")
    return specs


# ---------------------------------------------------------------- loading losses from user code

class UserModuleError(ValueError):
    """A user's loss module could not be imported; the message names the file, the line and the error."""


def _origin(module_name):
    """The file of an importable module, or None (a missing parent package is not an error here)."""
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return None
    return getattr(spec, "origin", None)


def _failure(exc, file, label):
    """A UserModuleError naming the file and line of the user's code where ``exc`` was raised."""
    if isinstance(exc, SyntaxError) and exc.filename:
        where, line = file or exc.filename, exc.lineno
        detail = exc.msg
    else:
        frames = [f for f in _walk_tb(exc.__traceback__) if not f.f_code.co_filename.startswith("<frozen")]
        mine = [f for f in frames if file and Path(f.f_code.co_filename).resolve() == Path(file).resolve()]
        frame = (mine or frames or [None])[-1]
        where = file or (frame.f_code.co_filename if frame else label)
        line = _tb_line(exc.__traceback__, frame)
        detail = " ".join(str(exc).split())
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        detail = f"it imports {exc.name!r}, which is not installed"
    kind = type(exc).__name__
    return UserModuleError(f"user loss module {where}" + (f", line {line}" if line else "") + f": {kind}: {detail}")


def _walk_tb(tb):
    while tb is not None:
        yield tb.tb_frame
        tb = tb.tb_next


def _tb_line(tb, frame):
    while tb is not None:
        if tb.tb_frame is frame:
            return tb.tb_lineno
        tb = tb.tb_next
    return None


def _put_cwd_on_path():
    # A console script does not put the current directory on sys.path; `python -m` does.  Make both behave alike.
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))


def _import_module(module_part, path):
    if module_part.endswith(".py"):
        file = Path(module_part)
        if not file.is_file():
            raise ValueError(f"cannot import {path!r}: the file {module_part!r} does not exist")
        mod_name = f"lsis_robust_user_{file.stem}"
        spec = importlib.util.spec_from_file_location(mod_name, file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[mod_name]
            raise _failure(exc, str(file), path) from exc
        return module
    try:
        return importlib.import_module(module_part)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_part
        if module_part == missing or module_part.startswith(missing + "."):
            raise ValueError(f"cannot import {path!r}: module {missing!r} was not found (looked on sys.path and in "
                             f"the current directory)") from None
        raise ValueError(f"cannot import {path!r}: module {module_part!r} was found but it imports {missing!r}, "
                         "which is not installed") from None
    except Exception as exc:
        raise _failure(exc, _origin(module_part), path) from exc


def import_user_module(name):
    """Import a user's module by dotted name or ``path/to/file.py`` (the CLI's ``--import``).

    The current folder is searched as ``python -m`` would; any failure raises
    :class:`UserModuleError` or ``ValueError`` naming the file, line and error.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a module to import is a dotted name or a file.py path, got {name!r}")
    name = name.strip()
    if not name.endswith(".py") and not all(p.isidentifier() for p in name.split(".")):
        raise ValueError(f"cannot import {name!r}: expected a dotted module name (package.module) or a .py file")
    _put_cwd_on_path()
    return _import_module(name, name)


def load_object(path: str):
    """Import ``package.module:object`` (or ``path/to/file.py:object``; ``object`` may be dotted).

    Errors say which part failed: the syntax, the module, or the attribute.
    """
    if not isinstance(path, str) or path.count(":") != 1:
        raise ValueError(f"an import path looks like 'package.module:object' or 'file.py:object', got {path!r}")
    module_part, attr_part = (s.strip() for s in path.split(":"))
    if not module_part or not attr_part or not all(p.isidentifier() for p in attr_part.split(".")):
        raise ValueError(f"an import path looks like 'package.module:object' or 'file.py:object', got {path!r}")
    _put_cwd_on_path()
    module = _import_module(module_part, path)
    obj = module
    for i, part in enumerate(attr_part.split(".")):
        if not hasattr(obj, part):
            so_far = ".".join([module_part] + attr_part.split(".")[:i])
            raise ValueError(f"cannot import {path!r}: module {module_part!r} was imported but {so_far!r} has no "
                             f"attribute {part!r}")
        obj = getattr(obj, part)
    return obj


def register_object(path: str) -> str:
    """Import a loss by ``package.module:object`` path and register it; return its registry name.

    The name is the object's ``name`` attribute, else the object's name in the path; an
    object already registered under that name (by the module's own
    ``@register_loss``) is not registered twice.
    """
    obj = load_object(path)
    if not callable(obj) and not callable(getattr(obj, "phi", None)):
        raise TypeError(f"cannot use {path!r}: it is a {type(obj).__name__}, not a loss; name a function "
                        "phi(m, ...), a class or an object with a phi(m) method")
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name.isidentifier() or name == MarginLoss.name:
        name = path.rsplit(":", 1)[1].rsplit(".", 1)[-1].strip()
    key = name.lower()
    existing = _REGISTRY.get(key)
    if existing is not None and getattr(existing, "__wrapped_loss__", existing) is obj:
        return key
    if existing is not None:
        raise ValueError(f"{path!r} would be registered as {key!r}, but another loss already has that name; "
                         "give the object a different `name` attribute")
    register_loss(key)(obj)
    return key
