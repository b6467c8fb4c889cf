"""The report's model (sections of tables, figures, checks and provenance) and its two renderings.

One model is rendered twice, so the Markdown and the HTML say the same things: ``REPORT.md`` links the
figures by relative path, ``index.html`` embeds them as data URIs and loads nothing from a network.
"""
from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..reporting import ReportTable

__all__ = ["Check", "Figure", "Section", "overview_table", "render_markdown", "render_html"]

OK, NOT_RUN, UNREADABLE = "ok", "not run", "unreadable"


@dataclass
class Check:
    """A claim of the paper and whether our outputs bear it out (``passed`` None: could not be checked)."""

    claim: str
    passed: bool | None
    detail: str

    @property
    def status(self) -> str:
        return {True: "pass", False: "fail", None: "not checked"}[self.passed]


@dataclass
class Figure:
    path: Path
    caption: str


@dataclass
class Section:
    key: str
    title: str
    kind: str  # "paper artifact" or "extension"
    status: str = OK
    summary: str = ""
    paragraphs: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    tables: list[ReportTable] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    links: list[tuple[str, Path]] = field(default_factory=list)
    provenance: list[str] = field(default_factory=list)

    def outcome(self) -> str:
        """The one line the overview shows: the agreement summary, the checks passed, or why there is none."""
        if self.status != OK:
            return self.summary
        parts = [self.summary] if self.summary else []
        if self.checks:
            done = [c for c in self.checks if c.passed is not None]
            parts.append(f"{sum(c.passed for c in done)}/{len(self.checks)} checks pass")
        return "; ".join(parts) or "shown"


def overview_table(sections) -> ReportTable:
    df = pd.DataFrame([dict(artifact=s.title, kind=s.kind, status=s.status, agreement=s.outcome()) for s in sections])
    return ReportTable(df, "Overview: every paper artifact and extension, and how ours agrees")


def _checks_table(checks) -> ReportTable:
    return ReportTable(pd.DataFrame([dict(claim=c.claim, check=c.status, evidence=c.detail) for c in checks]),
                       "The paper's claim, checked on our outputs")


def _rel(path: Path, start: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), Path(start).resolve())).as_posix()


def render_markdown(title: str, intro: list[str], sections, md_path: Path) -> str:
    base = Path(md_path).parent
    out = [f"# {title}", *intro, overview_table(sections).as_markdown()]
    for s in sections:
        out.append(f"## {s.title}")
        out.append(f"*{s.kind}; status: {s.status}*" + (f" — **{s.outcome()}**" if s.outcome() else ""))
        out += s.paragraphs
        if s.checks:
            out.append(_checks_table(s.checks).as_markdown())
        out += [t.as_markdown() for t in s.tables]
        out += [f"![{f.caption}]({_rel(f.path, base)})\n\n*{f.caption}*" for f in s.figures]
        out += [f"- [{text}]({_rel(p, base)})" for text, p in s.links]
        if s.provenance:
            out.append("Provenance:\n\n" + "\n".join(f"- {line}" for line in s.provenance))
    return "\n\n".join(out) + "\n"


_CSS = ("body{font-family:sans-serif;max-width:72em;margin:auto;padding:1em;line-height:1.4}"
        "table{border-collapse:collapse;margin:.5em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:2px 6px}"
        "caption{font-weight:bold;text-align:left}img{max-width:100%}.note{font-size:.85em;color:#444}"
        ".status{font-style:italic}figure{margin:1em 0}")


def render_html(title: str, intro: list[str], sections, html_path: Path) -> str:
    base = Path(html_path).parent
    esc = html.escape
    h = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
         f"<style>{_CSS}</style></head><body><h1>{esc(title)}</h1>"]
    h += [f"<p>{esc(p)}</p>" for p in intro]
    h.append(overview_table(sections).as_html())
    for s in sections:
        h.append(f"<section id='{esc(s.key)}'><h2>{esc(s.title)}</h2>")
        h.append(f"<p class='status'>{esc(s.kind)}; status: {esc(s.status)}"
                 + (f" — <b>{esc(s.outcome())}</b>" if s.outcome() else "") + "</p>")
        h += [f"<p>{esc(p)}</p>" for p in s.paragraphs]
        if s.checks:
            h.append(_checks_table(s.checks).as_html())
        h += [t.as_html() for t in s.tables]
        for f in s.figures:
            data = base64.b64encode(Path(f.path).read_bytes()).decode("ascii")
            h.append(f"<figure><img src='data:image/png;base64,{data}' alt='{esc(f.caption)}'>"
                     f"<figcaption>{esc(f.caption)}</figcaption></figure>")
        if s.links:
            h.append("<ul>" + "".join(f"<li><a href='{esc(_rel(p, base))}'>{esc(text)}</a></li>" for text, p in s.links)
                     + "</ul>")
        if s.provenance:
            h.append("<p>Provenance:</p><ul>" + "".join(f"<li>{esc(line)}</li>" for line in s.provenance) + "</ul>")
        h.append("</section>")
    h.append("</body></html>")
    return "\n".join(h) + "\n"
