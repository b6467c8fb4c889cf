"""The ``lsis-robust`` command line.

Each sub-command lives in its own module of this package, which exposes
``register(subparsers)``; the module adds its parser and sets ``func`` to a
callable taking the parsed arguments.  Heavy imports happen inside ``func``
so that ``lsis-robust --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__

# Order is the order of ``lsis-robust --help``.
COMMAND_MODULES: list[str] = ["reproduce", "nn", "theory", "studies", "compare"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lsis-robust",
        description="Robustness benchmarks for logistic-regression losses (label smoothing as robustification).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f".{name}", __name__).register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"lsis-robust {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
