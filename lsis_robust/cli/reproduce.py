"""``lsis-robust reproduce``: every result of the suite on the embedded defaults, then the report."""
from __future__ import annotations

import time
from typing import NamedTuple

from .._validation import UniqueList


class Step(NamedTuple):
    name: str  # the sub-command, run with its defaults
    quick: bool  # whether the command has a --quick mode, which `reproduce --quick` passes on
    expected_s: float  # the defaults on 2 cores
    expected_quick_s: float  # with `reproduce --quick`


# The order runs the cheap exact results first and the report last, when every output it reads exists.
# Expected durations: one run of `python -m lsis_robust.bench.commands` on 2 idle cores, 2026-12-02 (the README's
# Performance section); quick times from `reproduce --quick` on a fresh clone, nn --quick from a quieter run.
STEPS = [
    Step("are", False, 1, 1),
    Step("theory-figures", False, 30, 30),
    Step("efficiency", True, 24, 2),
    Step("robustness", True, 54, 3),
    Step("realdata", True, 12, 5),
    Step("nn", True, 170, 80),
    Step("report", True, 1, 1),
]


def register(sub) -> None:
    parser = sub.add_parser(
        "reproduce",
        help="run every table and figure on the embedded defaults into results/, then the report",
        description="Runs, in order: " + ", ".join(s.name for s in STEPS) + ". Each step writes into its "
        "default folder under results/ (tables as CSV, Markdown and LaTeX, PNG figures, provenance JSON); the last "
        "builds results/index.html and results/REPORT.md from them. Each step prints its expected duration.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="pass --quick to every step that has it (reduced grids, seconds to minutes)")
    parser.add_argument("--only", nargs="+", choices=[s.name for s in STEPS], action=UniqueList, metavar="STEP",
                        help=f"run only these steps ({', '.join(s.name for s in STEPS)})")
    parser.set_defaults(func=run)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def run(args) -> int:
    parser = args._root_parser
    steps = [s for s in STEPS if not args.only or s.name in args.only]
    total = sum(s.expected_quick_s if args.quick else s.expected_s for s in steps)
    print(f"== {len(steps)} steps, expected about {_duration(total)} in all on 2 cores", flush=True)
    for i, step in enumerate(steps, 1):
        argv = [step.name, "--quick"] if args.quick and step.quick else [step.name]
        expected = step.expected_quick_s if args.quick else step.expected_s
        print(f"== lsis-robust {' '.join(argv)} (step {i}/{len(steps)}, expected about {_duration(expected)})",
              flush=True)
        start = time.perf_counter()
        sub_args = parser.parse_args(argv)
        status = int(sub_args.func(sub_args) or 0)
        print(f"== {step.name}: done in {time.perf_counter() - start:.1f} s", flush=True)
        if status:
            print(f"== {step.name} failed with status {status}; stopping")
            return status
    return 0
