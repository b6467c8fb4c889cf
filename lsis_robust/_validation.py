"""Small validators shared by the command line and the library.

Each ``check_*``/``parse_*`` function returns the cleaned value or raises ``ValueError``
(``TypeError`` for a value of the wrong kind) with a message that names the
option or parameter and says what is allowed.  :func:`arg_type` turns one of
them into an argparse ``type=``, so that a bad option is reported the way
argparse reports any usage error: the usage line, one error line, exit 2.

Lists given on the command line (comma-separated, ``;``-separated or
repeated options) follow one rule, :func:`check_list`: an empty item or an
item given twice is an error, never silently dropped or merged.
"""
from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

__all__ = ["UsageError", "check_device", "check_list", "split_list", "parse_floats", "parse_vector", "parse_ints",
           "check_out_dir", "arg_type", "int_at_least", "float_in", "UniqueList"]


class UsageError(ValueError):
    """A command-line option is wrong; the CLI reports it like argparse (usage line, one error line, exit 2)."""


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
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {path}: the folder {parent} is not writable")
    return path


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
    """An argparse ``type=``: an integer >= ``minimum``."""
    def convert(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
        return value

    convert.__name__ = "int"
    return convert


def float_in(minimum=None, maximum=None, open_min=False, open_max=False):
    """An argparse ``type=``: a finite number in [minimum, maximum]; ``open_*`` excludes that end."""
    low = "(-inf" if minimum is None else f"{'(' if open_min else '['}{minimum:g}"
    high = "inf)" if maximum is None else f"{maximum:g}{')' if open_max else ']'}"

    def convert(text):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        ok = math.isfinite(value) \
            and (minimum is None or (value > minimum if open_min else value >= minimum)) \
            and (maximum is None or (value < maximum if open_max else value <= maximum))
        if not ok:
            raise argparse.ArgumentTypeError(f"expected a finite number in {low}, {high}, got {text!r}")
        return value

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
