"""The reproduction report: every paper artifact and extension, read from the committed outputs under results/.

:func:`build_report` writes ``index.html`` (self-contained: figures as data URIs, no network) and ``REPORT.md``
from what earlier commands wrote; it recomputes nothing.  The paper's printed values come from
:mod:`lsis_robust.paper`, and every agreement is computed (:mod:`lsis_robust.report.agreement`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .._validation import check_bool
from ..reporting import atomic_write_text
from .agreement import CONTRADICTS, EXACT, NOT_COMPARABLE, SAME_ORDER, agreement, summarize, verdict_counts
from .render import Check, Figure, Section, render_html, render_markdown
from .sections import SECTIONS, Unreadable, build_sections

__all__ = ["build_report", "ReportResult", "agreement", "summarize", "verdict_counts", "EXACT", "SAME_ORDER",
           "CONTRADICTS", "NOT_COMPARABLE", "Check", "Figure", "Section", "SECTIONS", "Unreadable"]

TITLE = "Label smoothing is robustification: the reproduction, artifact by artifact"


@dataclass(frozen=True)
class _Context:
    results: Path
    quick: bool


@dataclass(frozen=True)
class ReportResult:
    html: Path
    markdown: Path
    sections: list
    warnings: list


def default_paths(results, quick: bool) -> tuple[Path, Path]:
    """``index.html`` and ``REPORT.md`` in the results folder; ``--quick`` writes ``index-quick.html`` and
    ``REPORT-quick.md`` so that a quick run never overwrites the full report."""
    suffix = "-quick" if quick else ""
    return Path(results) / f"index{suffix}.html", Path(results) / f"REPORT{suffix}.md"


def build_report(results="results", quick: bool = False, html_path=None, md_path=None) -> ReportResult:
    """Write the HTML and Markdown report of the outputs under ``results``; return the paths and warnings.

    A missing output makes its section "not run" (naming the command that makes it); an unreadable one makes it
    "unreadable" and adds a warning.  Raises ValueError when ``results`` is not a folder.
    """
    quick = check_bool(quick, "quick")
    results = Path(results)
    if not results.is_dir():
        raise ValueError(f"results folder {results} does not exist or is not a folder")
    d_html, d_md = default_paths(results, quick)
    html_path, md_path = Path(html_path or d_html), Path(md_path or d_md)
    if html_path.resolve() == md_path.resolve():
        raise ValueError(f"the HTML and Markdown reports need two different paths, got {html_path} twice")
    for p in (html_path, md_path):
        if p.is_dir():
            raise ValueError(f"report path {p} is a folder; give a file name")
    sections, warnings = build_sections(_Context(results, quick))
    intro = [f"Built by `lsis-robust report{' --quick' if quick else ''}` from the outputs under {results.as_posix()}/"
             + (" (the --quick folders)" if quick else "") + " without recomputing them. The paper's printed values "
             "are stored once in lsis_robust.paper; every agreement below is computed per cell: exact to the printed "
             "digits, same ordering / sign of the effect, contradicts, or not comparable (with the reason)."]
    html_text = render_html(TITLE, intro, sections, html_path)
    md_text = render_markdown(TITLE, intro, sections, md_path)
    atomic_write_text(html_path, html_text)
    atomic_write_text(md_path, md_text)
    return ReportResult(html_path, md_path, sections, warnings)
