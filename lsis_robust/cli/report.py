"""``lsis-robust report``: the reproduction report (HTML and Markdown) from the committed outputs."""
from __future__ import annotations

import sys

DEFAULT_RESULTS = "results"


def register(sub) -> None:
    p = sub.add_parser(
        "report", help="write results/index.html and results/REPORT.md: every paper artifact beside ours",
        description="Reads the outputs under --results (nothing is recomputed) and writes a self-contained HTML "
                    "page and a Markdown file: one section per paper artifact (Tables I-V, Figs. 2-5) and per "
                    "extension, the printed values beside ours with a computed agreement, and provenance. A missing "
                    "output makes its section 'not run'; an unreadable one marks its section and prints a warning.")
    p.add_argument("--results", default=DEFAULT_RESULTS, help=f"results folder to read (default: {DEFAULT_RESULTS})")
    p.add_argument("--quick", action="store_true",
                   help="read the *-quick folders that `reproduce --quick` writes (default outputs index-quick.html "
                        "and REPORT-quick.md)")
    p.add_argument("--html", default=None, help="HTML output (default: RESULTS/index.html)")
    p.add_argument("--markdown", default=None, help="Markdown output (default: RESULTS/REPORT.md)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..report import build_report

    res = build_report(args.results, quick=args.quick, html_path=args.html, md_path=args.markdown)
    for warning in res.warnings:
        print(f"lsis-robust report: warning: {warning}", file=sys.stderr)
    for s in res.sections:
        print(f"{s.title}: {s.status}; {s.outcome()}")
    print(f"wrote {res.html}, {res.markdown}")
    return 0
