"""The one set of validation rules shared by the library and the command line.

Each ``check_*``/``parse_*`` function returns the cleaned value or raises ``ValueError``
(``TypeError`` for a value of the wrong kind) with a message that names the
option or parameter and says what is allowed.  Library checks read
``"{name}={value!r} is invalid: {name} must be {rule}"`` (``"{name} must be
{rule}, got {kind}"`` for a wrong kind); the command line's ``type=`` helpers
:func:`int_at_least` and :func:`float_in` apply the same rule to text and say
``"expected {rule}, got {text!r}"``.  :func:`arg_type` turns any check into an
argparse ``type=``, so that a bad option is reported the way argparse reports
any usage error: the usage line, one error line, exit 2.

The kinds of value, one rule each:

* real scalars (:func:`check_real`): Python or numpy reals and 0-d real arrays; bools, strings, None and
  arrays with entries are refused (a bool is an ``int`` to Python, never a number here);
* sizes and counts (:func:`check_size`), seeds (:func:`check_seed`) and worker counts (:func:`check_n_jobs`):
  integers (numpy ones included) from a minimum on, never a float such as 3.0;
* rates (:func:`check_rate`): contamination shares in [0, 1);
* flags (:func:`check_bool`) and options (:func:`check_option`, one of a fixed set);
* vectors (:func:`check_vector`, :func:`check_beta`, :func:`check_betas`): finite 1-d float arrays;
* the smoothing level (:func:`check_alpha`, Theorem 1), the BY/CH tuning constant (:func:`check_c`)
  and the device (:func:`check_device`).

Lists given on the command line (comma-separated, ``;``-separated or
repeated options) follow one rule, :func:`check_list`: an empty item or an
item given twice is an error, never silently dropped or merged.
"""
from __future__ import annotations

import argparse
import math
import numbers
import os
import reprlib
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["UsageError", "check_real", "check_size", "check_seed", "check_n_jobs", "check_rate", "check_bool",
           "check_option", "check_vector", "check_beta", "check_betas", "check_alpha", "C_RANGE", "check_c",
           "check_device", "check_list", "split_list", "parse_floats", "parse_vector", "parse_ints", "check_out_dir",
           "arg_type", "int_at_least", "float_in", "UniqueList"]


class UsageError(ValueError):
    """A command-line option is wrong; the CLI reports it like argparse (usage line, one error line, exit 2)."""


def _kind(value) -> str:
    """What a refused value is, for a TypeError: its type, and its shape for an array."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"{type(value).__name__} {reprlib.repr(value)}"


def _refuse(name, value, rule, why=None):
    reason = f" ({why})" if why else ""
    return ValueError(f"{name}={reprlib.repr(value)} is invalid: {name} must be {rule}{reason}")


def _interval(low, high, low_open, high_open) -> str:
    """[low, high) and the like; a missing end is -inf or inf (always open)."""
    left = "(-inf" if low is None else f"{'(' if low_open else '['}{low:g}"
    right = "inf)" if high is None else f"{high:g}{')' if high_open else ']'}"
    return f"{left}, {right}"


def _real_rule(low, high, low_open, high_open) -> str:
    if low is None and high is None:
        return "a finite number"
    return f"a finite number in {_interval(low, high, low_open, high_open)}"


def _in_interval(value, low, high, low_open, high_open) -> bool:
    """Finite and inside the interval (NaN never is)."""
    return math.isfinite(value) \
        and (low is None or (value > low if low_open else value >= low)) \
        and (high is None or (value < high if high_open else value <= high))


def _int_rule(minimum) -> str:
    return f"an integer >= {minimum}"


def check_real(value, name, low=None, high=None, *, low_open=False, high_open=False, finite=True, why=None) -> float:
    """A real scalar as a float (-0.0 becomes 0.0): finite and in [low, high] (``*_open`` excludes that end).

    Python and numpy reals and 0-d real arrays are accepted; bools, strings,
    None, complex numbers and arrays with entries raise ``TypeError``.  With
    ``finite=False`` and no bounds, NaN and +-inf pass (the caller gives them
    their meaning).  ``why`` is added to the message of a value out of range.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {_kind(value)}")
    try:
        value = float(value) + 0.0
    except OverflowError:  # an int beyond the float range
        raise _refuse(name, value, _real_rule(low, high, low_open, high_open)) from None
    bounded = finite or low is not None or high is not None
    if bounded and not _in_interval(value, low, high, low_open, high_open):
        raise _refuse(name, value, _real_rule(low, high, low_open, high_open), why)
    return value


def check_size(value, name="n", minimum=2, why=None) -> int:
    """A size or count: a Python or numpy integer >= ``minimum`` (never a bool or a float such as 3.0).

    ``why`` is added to the message of a value below the minimum.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {_int_rule(minimum)}, got {_kind(value)}")
    if value < minimum:
        raise _refuse(name, value, _int_rule(minimum), why)
    return int(value)


def check_seed(value, name="seed") -> int:
    """A master seed: an integer >= 0 (numpy's SeedSequence takes any size)."""
    return check_size(value, name, minimum=0)


def check_n_jobs(value, name="n_jobs") -> int:
    """A worker count: an integer >= 1, or -1 for every usable core (joblib's convention)."""
    rule = "an integer >= 1, or -1 for every usable core"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {rule}, got {_kind(value)}")
    if value != -1 and value < 1:
        raise _refuse(name, value, rule)
    return int(value)


def check_rate(value, name="eps") -> float:
    """A contamination rate (the share of the sample or distribution replaced): a number in [0, 1)."""
    return check_real(value, name, 0.0, 1.0, high_open=True)


def check_bool(value, name) -> bool:
    """True or False (numpy's bool included); 0, 1 and strings are refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_kind(value)}")
    return bool(value)


def check_option(value, name, options):
    """One of ``options``: equal to one and of its kind (a str subclass such as numpy's str passes)."""
    if not any(isinstance(value, type(option)) and value == option for option in options):
        raise _refuse(name, value, f"one of {', '.join(map(repr, options))}")
    return value


def check_vector(value, name, min_size=1, what="") -> np.ndarray:
    """A finite 1-d float64 vector of at least ``min_size`` entries; ``what`` says what the entries mean."""
    rule = f"a finite 1-d vector{what} of at least {min_size} entr{'y' if min_size == 1 else 'ies'}"
    try:
        raw = np.asarray(value)
    except ValueError:  # a ragged sequence
        raise ValueError(f"{name} must be {rule}, got a ragged sequence") from None
    if raw.dtype.kind == "O" and value is not None:  # e.g. a list mixing Python and numpy numbers
        try:
            raw = raw.astype(np.float64)
        except (TypeError, ValueError):
            pass
    if raw.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a vector of real numbers{what}, got {_kind(value)}")
    vector = raw.astype(np.float64)
    if vector.ndim != 1:
        raise ValueError(f"{name} must be {rule}, got an array of shape {vector.shape}")
    if vector.size < min_size:
        raise ValueError(f"{name} must be {rule}, got {'an empty one' if vector.size == 0 else vector.size}")
    if not np.all(np.isfinite(vector)):
        raise _refuse(name, vector.tolist(), rule)
    return vector


def check_beta(value, name="beta", min_size=1) -> np.ndarray:
    """Coefficients of the logistic model, intercept first: a finite 1-d vector."""
    return check_vector(value, name, min_size, what=" (intercept first)")


def check_betas(values, name="betas", min_size=2) -> list[tuple[float, ...]]:
    """A non-empty list of distinct coefficient vectors, each as a tuple of floats."""
    if isinstance(values, (str, bytes)) or not np.iterable(values):
        raise TypeError(f"{name} must be a list of coefficient vectors, got {_kind(values)}")
    out = [tuple(check_beta(b, f"{name}[{i}]", min_size).tolist()) for i, b in enumerate(values)]
    if not out:
        raise ValueError(f"the list of {name} is empty: give at least one coefficient vector")
    repeated = [b for i, b in enumerate(out) if b in out[:i]]
    if repeated:
        raise ValueError(f"{name} are repeated: {repeated[0]} is given twice")
    return out


def check_alpha(alpha, n_classes: int = 2) -> float:
    """A smoothing level allowed by Theorem 1: [0, 1) or (1, K/(K-1)] for K = ``n_classes``."""
    alpha = check_real(alpha, "alpha", finite=False)
    n_classes = check_size(n_classes, "n_classes", minimum=2)
    upper = n_classes / (n_classes - 1)
    if not math.isfinite(alpha) or alpha < 0 or alpha == 1 or alpha > upper:
        raise ValueError(
            f"alpha={alpha!r} is outside the valid range [0, 1) or (1, {upper:g}] "
            f"for K={n_classes} classes (Theorem 1; alpha=1 makes the smoothed "
            "distribution uniform and the model unidentifiable)"
        )
    return alpha


# The BY/CH closed forms are checked against high-precision references for c in this range
# (tests/test_losses_finite.py); BY's eta subtracts terms of size 1/c, so a smaller c loses digits.
C_RANGE = (1e-3, 1e3)


def check_c(c) -> float:
    """The BY/CH tuning constant: a number in :data:`C_RANGE`."""
    return check_real(c, "c", *C_RANGE, why="the range where the BY/CH closed forms are checked")


DEVICES = ("auto", "cpu", "cuda")


def check_device(name, option="--device"):
    """'auto', 'cpu', 'cuda' or 'cuda:N'; a CUDA device must exist.  Returns the name ('auto' unresolved)."""
    if not isinstance(name, str):
        raise TypeError(f"{option} must be a string, got {type(name).__name__}")
    kind, _, index = name.partition(":")
    if kind not in DEVICES or (index and (kind != "cuda" or not index.isdigit())):
        raise ValueError(f"{option} {name!r} is unknown: use auto, cpu, cuda or cuda:N")
    if kind == "cuda":
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count <= int(index or 0):
            raise ValueError(f"{option} {name} was requested but torch finds "
                             f"{'no CUDA device' if count == 0 else f'only {count} CUDA device(s)'} "
                             f"(torch {torch.__version__}, built with CUDA {torch.version.cuda}); use --device cpu")
    return name


def _prefix(name):
    return f"{name}: " if name else ""


def check_list(items, name=None, allowed=None):
    """A non-empty list without empty or repeated items (and, if given, only ``allowed`` ones).

    ``name`` (the option) starts the messages; leave it out where argparse names the option itself.
    """
    items = list(items)
    if not items:
        raise ValueError(f"{_prefix(name)}the list is empty; give at least one item")
    if any(isinstance(item, str) and not item.strip() for item in items):
        raise ValueError(f"{_prefix(name)}an item is empty")
    for i, item in enumerate(items):
        if item in items[:i]:
            raise ValueError(f"{_prefix(name)}{item!r} is given twice")
    if allowed is not None:
        bad = [item for item in items if item not in allowed]
        if bad:
            raise ValueError(f"{_prefix(name)}unknown {', '.join(map(repr, bad))}; allowed: {', '.join(allowed)}")
    return items


def split_list(text, name=None, sep=",", allowed=None) -> list[str]:
    """'a,b,c' -> ['a', 'b', 'c'] under the rules of :func:`check_list` (an empty item is an error)."""
    if not isinstance(text, str):
        raise TypeError(f"{_prefix(name)}expected a string, got {type(text).__name__}")
    items = [s.strip() for s in text.split(sep)]
    if not all(items):
        raise ValueError(f"{_prefix(name)}empty item in {text!r}; separate items by a single {sep!r}")
    return check_list(items, name, allowed)


def _number(text, kind, name):
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or (kind is float and not math.isfinite(value)):
        raise ValueError(f"{_prefix(name)}{text!r} is not {'an integer' if kind is int else 'a finite number'}")
    return value


def parse_floats(text, name=None, sep=",") -> list[float]:
    """Separated finite numbers, no empty or repeated item."""
    return check_list([_number(s, float, name) for s in split_list(text, name, sep)], name)


def parse_vector(text, name=None, sep=",") -> list[float]:
    """Separated finite numbers forming one vector (a coefficient vector may repeat a value)."""
    if not isinstance(text, str):
        raise TypeError(f"{_prefix(name)}expected a string, got {type(text).__name__}")
    parts = [s.strip() for s in text.split(sep)]
    if not all(parts):
        raise ValueError(f"{_prefix(name)}empty item in {text!r}; separate numbers by a single {sep!r}")
    return [_number(s, float, name) for s in parts]


def parse_ints(text, name=None, minimum=None, sep=",") -> list[int]:
    """Separated integers (each >= ``minimum`` when given), no empty or repeated item."""
    values = check_list([_number(s, int, name) for s in split_list(text, name, sep)], name)
    low = [v for v in values if minimum is not None and v < minimum]
    if low:
        raise ValueError(f"{_prefix(name)}{low[0]} is below the minimum {minimum}")
    return values


def check_out_dir(path, option="--out") -> Path:
    """An output folder that exists or can be created: no file in the way, a writable folder above it.

    Nothing is created here, so that a command that fails validation later leaves no trace.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{option} {path} is a file, not a folder; give a folder (it is created if missing)")
    parent = path
    while not parent.exists():
        if parent.is_symlink():  # a dangling link cannot be created through
            raise ValueError(f"{option} {path}: {parent} is a broken symbolic link")
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{option} {path} cannot be created: {parent} is a file, not a folder")
    if not _can_create_in(parent):
        raise ValueError(f"{option} {path}: the folder {parent} is not writable")
    return path


def _can_create_in(folder: Path) -> bool:
    """Whether a folder can be made in ``folder``, by making (and removing) one: ``os.access`` says yes to root
    everywhere, even where nothing can be created (``/proc``, a read-only mount)."""
    try:
        probe = tempfile.mkdtemp(prefix=".lsis-robust-probe-", dir=folder)
    except OSError:
        return False
    os.rmdir(probe)
    return True


def arg_type(check, *args, **kwargs):
    """An argparse ``type=`` that calls ``check(text, *args, **kwargs)`` and reports its error as argparse does."""
    def convert(text):
        try:
            return check(text, *args, **kwargs)
        except (ValueError, TypeError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = getattr(check, "__name__", "value")
    return convert


def int_at_least(minimum):
    """An argparse ``type=``: an integer >= ``minimum`` (the rule of :func:`check_size`)."""
    def convert(text):
        try:
            return check_size(int(text), minimum=minimum)
        except (ValueError, TypeError):
            raise argparse.ArgumentTypeError(f"expected {_int_rule(minimum)}, got {text!r}") from None

    convert.__name__ = "int"
    return convert


def float_in(minimum=None, maximum=None, open_min=False, open_max=False):
    """An argparse ``type=``: a finite number in [minimum, maximum] (``open_*`` excludes that end); see check_real."""
    def convert(text):
        try:
            return check_real(float(text), "value", minimum, maximum, low_open=open_min, high_open=open_max)
        except (ValueError, TypeError):
            raise argparse.ArgumentTypeError(
                f"expected {_real_rule(minimum, maximum, open_min, open_max)}, got {text!r}") from None

    convert.__name__ = "float"
    return convert


class UniqueList(argparse.Action):
    """``nargs``/``append`` options whose items must not repeat (the rule of :func:`check_list`)."""

    def __init__(self, *args, append=False, **kwargs):
        self.append = append
        super().__init__(*args, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        if self.append:
            values = list(getattr(namespace, self.dest, None) or []) + [values]
        repeated = [v for i, v in enumerate(values) if v in values[:i]]
        if repeated:  # an empty list is nargs' business (``*`` allows it, ``+`` does not)
            parser.error(f"argument {'/'.join(self.option_strings)}: {repeated[0]!r} is given twice")
        setattr(namespace, self.dest, values)
