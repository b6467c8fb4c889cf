"""The ``lsis-robust`` command line.

Each sub-command lives in its own module of this package, which exposes
``register(subparsers)``; the module adds its parser and sets ``func`` to a
callable taking the parsed arguments.  Heavy imports happen inside ``func``
so that ``lsis-robust --help`` stays fast.

Errors are handled once, in :func:`main`: every failure ends in one line on
stderr and an exit status, never a traceback (``--debug`` re-raises instead):

* 2: a usage or input error.  Options argparse rejects, and options found
  wrong after parsing (:class:`~lsis_robust._validation.UsageError`), print
  the usage line and one error line; invalid input found by the library
  (``ValueError``, ``TypeError``, a missing input file, a user loss module
  that fails to import or validate) prints one error line.
* 1: the command could not run: any other file-system error (``OSError``:
  permission denied, a full disk) or an unexpected internal error, which
  names its type and points to ``--debug``.
* 130: interrupted (Ctrl-C), after printing ``interrupted``.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from .._validation import UsageError

# Order is the order of ``lsis-robust --help``.
COMMAND_MODULES: list[str] = ["reproduce", "nn", "theory", "studies", "compare", "report"]

EXIT_USAGE, EXIT_FAILURE, EXIT_INTERRUPTED = 2, 1, 130
_DEBUG_HELP = "show the full traceback of an error instead of the one-line message"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lsis-robust",
        description="Robustness benchmarks for logistic-regression losses (label smoothing as robustification).",
        epilog="Exit status: 0 done, 1 the command failed (file system, internal error), 2 usage or input error, "
               "130 interrupted.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f".{name}", __name__).register(sub)
    for command in sub.choices.values():
        # Also after the command; SUPPRESS keeps the sub-parser from resetting a --debug given before it.
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP)
        command.set_defaults(_parser=command)
    # A command that runs other commands (reproduce) parses their argv with this parser; passed down rather than
    # imported, so that no command module imports this package back.
    parser.set_defaults(_root_parser=parser)
    return parser


def _one_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _describe(exc: OSError) -> str:
    if not exc.strerror:
        return _one_line(exc)
    files = [str(f) for f in (exc.filename, exc.filename2) if f is not None]
    return f"{exc.strerror}" + (f": {' -> '.join(files)}" if files else "")


def main(argv=None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``) and return the exit status.

    Only ``--help`` and ``--version`` leave through ``SystemExit(0)``, as argparse does.
    """
    parser = build_parser()
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    prog = "lsis-robust"
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # argparse's usage errors: it has printed usage and message
            if exc.code in (0, None):
                raise
            return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
        debug = args.debug
        if not getattr(args, "func", None):
            parser.print_help()
            return EXIT_USAGE
        prog = f"lsis-robust {args.command}"
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except UsageError as exc:
        if debug:
            raise
        args._parser.print_usage(sys.stderr)
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        if debug:
            raise
        usage = isinstance(exc, (ValueError, TypeError, FileNotFoundError))
        if isinstance(exc, OSError):
            message = _describe(exc)
        elif usage:
            message = _one_line(exc)
        else:
            message = f"internal error, {type(exc).__name__}: {_one_line(exc)} (run with --debug for the traceback)"
        print(f"{prog}: error: {message}", file=sys.stderr)
        return EXIT_USAGE if usage else EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
