"""``lsis-robust reproduce``: every result of the suite on the embedded defaults."""
from __future__ import annotations

import time

from .._validation import UniqueList

# (command, extra arguments): the order runs the cheap exact results first.
STEPS = [
    ("are", []),
    ("theory-figures", []),
    ("efficiency", []),
    ("robustness", []),
    ("realdata", []),
    ("nn", []),
]


def register(sub) -> None:
    parser = sub.add_parser(
        "reproduce",
        help="run every table and figure on the embedded defaults into results/",
        description="Runs, in order: " + ", ".join(name for name, _ in STEPS) + ". Each step writes into its "
        "default folder under results/ (tables as CSV, Markdown and LaTeX, PNG figures, provenance JSON).",
    )
    parser.add_argument("--quick", action="store_true",
                        help="pass --quick to every step that has it (reduced grids, seconds to minutes)")
    parser.add_argument("--only", nargs="+", choices=[name for name, _ in STEPS], action=UniqueList, metavar="STEP",
                        help=f"run only these steps ({', '.join(name for name, _ in STEPS)})")
    parser.set_defaults(func=run)


def run(args) -> int:
    from . import build_parser

    parser = build_parser()
    steps = [(name, extra) for name, extra in STEPS if not args.only or name in args.only]
    for name, extra in steps:
        argv = [name, *extra]
        if args.quick and _has_option(parser, name, "--quick"):
            argv.append("--quick")
        print(f"== lsis-robust {' '.join(argv)}", flush=True)
        start = time.perf_counter()
        sub_args = parser.parse_args(argv)
        status = int(sub_args.func(sub_args) or 0)
        print(f"== {name}: done in {time.perf_counter() - start:.1f} s", flush=True)
        if status:
            print(f"== {name} failed with status {status}; stopping")
            return status
    return 0


def _has_option(parser, command: str, option: str) -> bool:
    sub = next(a for a in parser._subparsers._group_actions if a.dest == "command")
    return option in sub.choices[command]._option_string_actions
