"""The comparison report: the summary ranking, report.html (self-contained), report.md, tables/ and provenance."""
from __future__ import annotations

import base64
import html
import json
import sys

import numpy as np
import pandas as pd

from ..reporting import ReportTable, atomic_write_text, provenance, write_table
from .methods import label
from .result import Comparison
from .settings import jsonable

__all__ = ["summary_table", "write_report"]

_FLOAT_FORMAT = "{:.4g}"  # every float the report shows, in its pages and in its table files


def summary_table(comp: Comparison) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ranking, scores): the new loss's rank per criterion metric, and every method's value per metric.

    Ranks count only methods with a value (1 = best; ties share the better rank).
    """
    labels = {s: label(s, comp.new) for s in comp.methods}
    ranking, scores = [], []
    for sec in comp.sections:
        for sc in sec.scores:
            vals = pd.Series({labels[s]: sc.values.get(s, np.nan) for s in comp.methods}, dtype=np.float64)
            scores.append({"criterion": sec.title, "metric": sc.metric, "better": sc.better, **vals.to_dict()})
            have = vals.dropna()
            new_val = vals[labels[comp.new]]
            asc = sc.better == "lower"
            best = have.sort_values(ascending=asc).index[0] if len(have) else None
            rank = int(have.rank(ascending=asc, method="min")[labels[comp.new]]) if not np.isnan(new_val) else None
            ranking.append({"criterion": sec.title, "metric": sc.metric, "better": sc.better,
                            "new loss": new_val, "rank": f"{rank} of {len(have)}" if rank else "n/a",
                            "best method": best, "best value": have[best] if best is not None else np.nan})
    return pd.DataFrame(ranking), pd.DataFrame(scores)


# ----------------------------------------------------------------------------------- writing

_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:12px;margin:0.5em 0}th,td{border:1px solid #ccc;padding:2px 6px;
text-align:right}th{background:#f0f0f0}figure{margin:1em 0}figure img{max-width:100%;height:auto;
border:1px solid #ddd}figcaption{font-size:13px;color:#444}.note{background:#fff6e0;padding:4px 8px}
details{margin:0.5em 0}pre{background:#f6f6f6;padding:8px;font-size:12px;overflow-x:auto}"""


def _fmt(df):
    """The report's cells: the table files' formatting (floats to 4 significant digits, NaN empty)."""
    return ReportTable(df, float_format=_FLOAT_FORMAT).shown_typed()


def _html_table(df):
    return _fmt(df).to_html(index=False, border=0, escape=True)


def _remove_stale_outputs(comp: Comparison):
    """Delete the tables and figures an earlier report left in ``comp.out`` that this one does not write.

    A rerun with other criteria into the same folder would otherwise leave, say, a robustness table of other
    settings beside a report that no longer mentions it.  Only the kinds of file a report writes are touched.
    """
    stems = {"summary", "scores"} | {t.stem for sec in comp.sections for t in sec.tables}
    keep_tables = {f"{stem}.{ext}" for stem in stems for ext in ("csv", "md", "tex")}
    keep_figures = {f.file for sec in comp.sections for f in sec.figures}
    for folder, keep, kinds in ((comp.out / "tables", keep_tables, {".csv", ".md", ".tex"}),
                                (comp.out / "figures", keep_figures, {".png"})):
        if folder.is_dir():
            for path in folder.iterdir():
                if path.is_file() and path.suffix in kinds and path.name not in keep:
                    path.unlink()


def write_report(comp: Comparison, command: str | None = None) -> dict:
    """Write report.html (self-contained), report.md, tables/ and compare.provenance.json under ``comp.out``."""
    out = comp.out
    tabdir = out / "tables"
    _remove_stale_outputs(comp)
    ranking, scores = summary_table(comp)
    write_table(ranking, tabdir, "summary", "Rank of the new loss per criterion.", float_format=_FLOAT_FORMAT)
    write_table(scores, tabdir, "scores", "Every method's value per criterion metric.", float_format=_FLOAT_FORMAT)
    for sec in comp.sections:
        for t in sec.tables:
            write_table(t.frame, tabdir, t.stem, t.caption, float_format=_FLOAT_FORMAT)
    walls = {sec.key: round(sec.wall_s, 2) for sec in comp.sections if sec.key != "shapes"}
    prov = provenance(command=command or " ".join(["lsis-robust"] + sys.argv[1:]), seed=comp.seed,
                      seeds_note="one master seed for every method: the studies seed by grid coordinates, never by "
                                 "method; the deep nets share the initialisation per trial",
                      settings=comp.settings_name, new_loss=comp.new, new_loss_info=jsonable(comp.info),
                      methods=list(comp.methods), criteria={s.key: s.settings for s in comp.sections
                                                            if s.key != "shapes"},
                      wall_time_s=walls, total_wall_time_s=round(comp.wall_s, 2),
                      torch=_torch_version())
    atomic_write_text(out / "compare.provenance.json", json.dumps(prov, indent=2, default=str) + "\n")
    title = f"lsis_robust comparison: {comp.new} against {', '.join(s for s in comp.methods if s != comp.new)}"
    h, md = [], []
    h.append(f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>")
    md.append(f"# {title}\n")
    intro = (f"Settings: {comp.settings_name}{' (--quick)' if comp.settings_name == 'quick' else ''}; master seed "
             f"{comp.seed}, the same for every method; total wall time {comp.wall_s:.1f} s. New loss: "
             f"{comp.new} ({comp.info['class']}, from {comp.info['source']}); derivatives: "
             f"{comp.info['derivatives']}; bounded: {comp.info['bounded']}; convex: {comp.info['convex']}.")
    h.append(f"<p>{html.escape(intro)}</p><h2>Summary: rank of the new loss per criterion</h2>")
    md.append(intro + "\n\n## Summary: rank of the new loss per criterion\n")
    cap = ("Rank 1 is best; methods without a value for a metric (see the notes of its section) are not "
           "ranked.")
    h.append(f"<p>{cap}</p>{_html_table(ranking)}<h3>All methods per metric</h3>{_html_table(scores)}")
    md.append(f"{cap}\n\n{_fmt(ranking).to_markdown(index=False)}\n\n### All methods per metric\n\n"
              f"{_fmt(scores).to_markdown(index=False)}\n")
    for sec in comp.sections:
        h.append(f"<h2>{html.escape(sec.title)}</h2><p>{html.escape(sec.description)}</p>")
        md.append(f"\n## {sec.title}\n\n{sec.description}\n")
        if sec.key != "shapes":
            h.append(f"<p>Wall time: {sec.wall_s:.1f} s.</p>")
            md.append(f"Wall time: {sec.wall_s:.1f} s.\n")
        for note in sec.notes:
            h.append(f"<p class='note'>{html.escape(note)}</p>")
            md.append(f"> {note}\n")
        for fig in sec.figures:
            data = base64.b64encode((out / "figures" / fig.file).read_bytes()).decode("ascii")
            h.append(f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(fig.caption)}'>"
                     f"<figcaption>{html.escape(fig.caption)}</figcaption></figure>")
            md.append(f"![{fig.caption}](figures/{fig.file})\n\n*{fig.caption}*\n")
        for t in sec.tables:
            long = len(t.frame) > 30
            h.append(("<details><summary>" if long else "<h3>") + html.escape(t.caption)
                     + (f" ({len(t.frame)} rows; tables/{t.stem}.csv)</summary>" if long else "</h3>")
                     + _html_table(t.frame) + ("</details>" if long else ""))
            md.append(f"\n### {t.caption}\n\n" + (f"{len(t.frame)} rows: [tables/{t.stem}.csv](tables/{t.stem}.csv)\n"
                                                   if long else _fmt(t.frame).to_markdown(index=False) + "\n"))
    prov_text = json.dumps(prov, indent=2, default=str)
    h.append(f"<h2>Provenance</h2><pre>{html.escape(prov_text)}</pre></body></html>")
    md.append(f"\n## Provenance\n\n```json\n{prov_text}\n```\n")
    paths = {"html": atomic_write_text(out / "report.html", "\n".join(h) + "\n"),
             "md": atomic_write_text(out / "report.md", "\n".join(md))}
    return paths


def _torch_version():
    try:
        import torch
    except ImportError:
        return None
    return torch.__version__
