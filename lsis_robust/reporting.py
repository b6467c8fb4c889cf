"""Writing results: tables (Markdown, CSV, LaTeX), figures (PNG) and provenance.

Every file is written to a temporary name in the target folder and renamed
into place, so an interrupted run never leaves a half-written result.  The
temporary file is created like any ``open(path, "w")`` would create it, so
results get the permissions the user's umask asks for (0644 under umask 022).
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import secrets
import subprocess
from pathlib import Path

import pandas as pd

__all__ = [
    "atomic_write_text",
    "atomic_write_bytes",
    "atomic_path",
    "write_table",
    "save_figure",
    "write_provenance",
    "provenance",
    "git_commit",
    "ReportTable",
]


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not tempfile.mkstemp: it creates files with mode 0600 whatever the umask, and the rename keeps that mode.
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}{suffix or path.suffix}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def _latex_escape(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#")):
        text = text.replace(a, b)
    return text


def write_table(df: pd.DataFrame, out_dir, stem: str, caption: str = "", float_format: str = "{:.4f}",
                index: bool = False) -> dict[str, Path]:
    """Write ``df`` as ``stem.csv``, ``stem.md`` and ``stem.tex`` in ``out_dir``.

    The CSV keeps full precision; Markdown and LaTeX round floats with
    ``float_format`` and carry the caption.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"write_table needs a pandas DataFrame, got {type(df).__name__}")
    out_dir = Path(out_dir)
    shown = df.copy()
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]):
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else float_format.format(v))
    paths = {
        "csv": atomic_write_text(out_dir / f"{stem}.csv", df.to_csv(index=index)),
        "md": atomic_write_text(
            out_dir / f"{stem}.md", (f"{caption}\n\n" if caption else "") + shown.to_markdown(index=index, disable_numparse=True) + "\n"
        ),
    }
    cols = "l" * (shown.index.nlevels if index else 0) + "r" * shown.shape[1]
    body = shown.to_latex(index=index, escape=True, column_format=cols)
    tex = body
    if caption:
        tex = ("\\begin{table}[ht]\n\\centering\n\\caption{" + _latex_escape(caption) + "}\n"
               + body + "\\end{table}\n")
    paths["tex"] = atomic_write_text(out_dir / f"{stem}.tex", tex)
    return paths


class ReportTable:
    """One table, rendered alike as text, Markdown and HTML (in the manner of statsmodels' ``Summary``).

    The frame keeps full precision; rendering formats floats with ``float_format`` (or the format that
    ``formats`` gives for the column) and shows missing values as an empty cell, so the three forms show the
    same digits.
    """

    def __init__(self, df: pd.DataFrame, title: str = "", notes=(), float_format: str = "{:.4f}", formats=None):
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"ReportTable needs a pandas DataFrame, got {type(df).__name__}")
        self.df, self.title, self.notes, self.float_format = df, str(title), tuple(map(str, notes)), float_format
        self.formats = dict(formats or {})
        unknown = set(self.formats) - set(df.columns)
        if unknown:
            raise ValueError(f"formats name columns the table lacks: {', '.join(map(str, sorted(unknown)))}")

    def shown(self) -> pd.DataFrame:
        """The frame as the strings every rendering prints."""
        def column(col):
            fmt = self.formats.get(col, self.float_format)

            def cell(v):
                if v is None or v is pd.NA or (isinstance(v, float) and v != v):
                    return ""
                return fmt.format(v) if isinstance(v, float) else str(v)
            return self.df[col].map(cell)
        return pd.DataFrame({c: column(c) for c in self.df.columns}, index=self.df.index)

    def as_text(self) -> str:
        body = self.shown().to_string(index=False)
        return "\n".join(x for x in (self.title, body, *self.notes) if x)

    def as_markdown(self) -> str:
        parts = [f"**{self.title}**"] if self.title else []
        parts.append(self.shown().to_markdown(index=False, disable_numparse=True))
        parts += [f"_{n}_" for n in self.notes]
        return "\n\n".join(parts)

    def as_html(self) -> str:
        import html

        cap = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        table = self.shown().to_html(index=False, border=0, escape=True)
        table = table.replace(">", ">" + cap, 1)  # the caption is the first child of <table>
        notes = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in self.notes)
        return table + notes

    def __str__(self) -> str:
        return self.as_text()


def save_figure(fig, path, caption: str) -> Path:
    """Save a matplotlib figure as PNG with ``caption`` printed under the axes."""
    if not caption:
        raise ValueError("every figure needs a caption saying what was computed and how")
    fig.text(0.01, 0.005, caption, fontsize=7, ha="left", va="bottom", wrap=True)
    fig.subplots_adjust(bottom=max(fig.subplotpars.bottom, 0.18))
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def git_commit(cwd=None) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd or Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def provenance(**extra) -> dict:
    """Versions, commit, host and time, plus whatever the caller adds (seed, protocol, wall time)."""
    from . import __version__
    import numpy
    import scipy

    info = {
        "package": "lsis_robust",
        "version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "platform": platform.platform(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    info.update(extra)
    return info


def write_provenance(out_dir, stem: str, **extra) -> Path:
    return atomic_write_text(Path(out_dir) / f"{stem}.provenance.json",
                             json.dumps(provenance(**extra), indent=2, default=str) + "\n")
