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
    "ReportTable",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "git_commit",
    "provenance",
    "save_figure",
    "write_provenance",
    "write_table",
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


# Symbols the tables print that LaTeX's default text fonts lack, as math.
LATEX_SYMBOLS = {"±": r"$\pm$", "†": r"$^\dagger$", "α": r"$\alpha$"}
# Around an emphasised cell until rendering: control characters, which no escaping touches and no cell holds.
_BOLD = ("\x02", "\x03")


def _latex_escape(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#")):
        text = text.replace(a, b)
    for symbol, tex in LATEX_SYMBOLS.items():
        text = text.replace(symbol, tex)
    return text


def write_table(df: pd.DataFrame, out_dir, stem: str, caption: str = "", float_format: str = "{:.4f}",
                index: bool = False) -> dict[str, Path]:
    """Write ``df`` as ``stem.csv``, ``stem.md`` and ``stem.tex`` in ``out_dir``.

    The CSV keeps full precision; Markdown and LaTeX round floats with
    ``float_format`` and carry the caption.
    """
    return ReportTable(df, caption, float_format=float_format, index=index).write(out_dir, stem)


class ReportTable:
    """One table, rendered alike as text, Markdown, HTML, LaTeX and CSV (in the manner of statsmodels' ``Summary``).

    The frame keeps full precision; rendering formats floats with ``float_format`` (or the format that
    ``formats`` gives for the column) and shows missing values as ``na_rep``, so every form shows the
    same digits.  ``index`` says whether the frame's index is printed as leading columns.

    The report views (:meth:`as_markdown`, :meth:`as_html`) print every cell as a string; the files
    (:meth:`write`: CSV, Markdown, LaTeX) format only the float columns and keep the other cells as they
    are, as the committed result files always have (a float or NaN in a text column stays unformatted);
    the text (:meth:`as_text`) keeps pandas' own alignment.

    ``emphasis`` (a boolean frame shaped like ``df``, or None) marks cells to stress: bold in Markdown
    (``**x**``), LaTeX (``\\textbf{x}``) and HTML (``<b>``), plain in text.  ``compact`` writes the
    Markdown file as an unpadded pipe table (the deep-net tables' layout).  ``column_format`` is the
    LaTeX alignment (default: ``l`` per printed index level, ``r`` per column).  In LaTeX, the symbols
    of :data:`LATEX_SYMBOLS` in the cells and headers print as math, and the notes follow the tabular
    in small print.
    """

    def __init__(self, df: pd.DataFrame, title: str = "", notes=(), float_format: str = "{:.4f}", formats=None,
                 na_rep: str = "", index: bool = False, emphasis=None, compact: bool = False,
                 column_format: str | None = None):
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"{type(self).__name__} needs a pandas DataFrame, got {type(df).__name__}")
        if not isinstance(float_format, str) or not isinstance(na_rep, str):
            raise TypeError("float_format and na_rep must be strings")
        self.df, self.title, self.notes, self.float_format = df, str(title), tuple(map(str, notes)), float_format
        self.na_rep, self.index, self.compact = na_rep, bool(index), bool(compact)
        self.formats = dict(formats or {})
        unknown = set(self.formats) - set(df.columns)
        if unknown:
            raise ValueError(f"formats name columns the table lacks: {', '.join(map(str, sorted(unknown)))}")
        if emphasis is not None:
            if not isinstance(emphasis, pd.DataFrame) or emphasis.shape != df.shape \
                    or list(emphasis.columns) != list(df.columns):
                raise ValueError("emphasis must be a boolean DataFrame with the table's shape and columns")
            emphasis = emphasis.astype(bool).set_axis(df.index)
        self.emphasis = emphasis
        if column_format is not None and not isinstance(column_format, str):
            raise TypeError(f"column_format must be a string such as 'llr', got {type(column_format).__name__}")
        self.column_format = column_format

    def _marked(self, shown: pd.DataFrame) -> pd.DataFrame:
        """``shown`` with each emphasised cell between the markers that the renderers turn into bold."""
        if self.emphasis is None or not self.emphasis.to_numpy().any():
            return shown
        return shown.astype(object).mask(self.emphasis, shown.map(lambda v: f"{_BOLD[0]}{v}{_BOLD[1]}"))

    @staticmethod
    def _bold(text: str, start: str, end: str) -> str:
        return text.replace(_BOLD[0], start).replace(_BOLD[1], end)

    def _cell(self, fmt):
        def cell(v):
            if v is None or v is pd.NA or (isinstance(v, float) and v != v):
                return self.na_rep
            return fmt.format(v) if isinstance(v, float) else str(v)
        return cell

    def shown(self) -> pd.DataFrame:
        """The frame as the strings the report views print."""
        return pd.DataFrame({c: self.df[c].map(self._cell(self.formats.get(c, self.float_format)))
                             for c in self.df.columns}, index=self.df.index)

    def shown_typed(self) -> pd.DataFrame:
        """The frame as the files print it: float columns as strings, every other cell as it is."""
        shown = self.df.copy()
        for col in shown.columns:
            if col in self.formats or pd.api.types.is_float_dtype(shown[col]):
                shown[col] = shown[col].map(self._cell(self.formats.get(col, self.float_format)))
        return shown

    def as_text(self) -> str:
        """Plain text: pandas' aligned layout (a sign column before floats), with this table's formats."""
        formatters = {c: self._cell(f) for c, f in self.formats.items()}
        body = self.df.to_string(index=self.index, float_format=self.float_format.format, na_rep=self.na_rep,
                                 formatters=formatters or None)
        return "\n".join(x for x in (self.title, body, *self.notes) if x)

    def as_markdown(self) -> str:
        parts = [f"**{self.title}**"] if self.title else []
        parts.append(self._bold(self._marked(self.shown()).to_markdown(index=self.index, disable_numparse=True),
                                "**", "**"))
        parts += [f"_{n}_" for n in self.notes]
        return "\n\n".join(parts)

    def as_html(self) -> str:
        import html

        cap = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        table = self._bold(self._marked(self.shown()).to_html(index=self.index, border=0, escape=True), "<b>", "</b>")
        table = table.replace(">", ">" + cap, 1)  # the caption is the first child of <table>
        notes = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in self.notes)
        return table + notes

    def as_csv(self) -> str:
        """Full precision: the CSV is the table's data, not its rendering."""
        return self.df.to_csv(index=self.index)

    def as_markdown_file(self) -> str:
        """The Markdown of ``stem.md``: the title as a plain paragraph above the table, the notes below it."""
        shown = self._marked(self.shown_typed())
        if self.compact:
            shown = shown.reset_index() if self.index else shown
            lines = ["| " + " | ".join(map(str, shown.columns)) + " |", "|" + "|".join("---" for _ in shown) + "|"]
            lines += ["| " + " | ".join(map(str, row)) + " |" for row in shown.itertuples(index=False)]
            body = "\n".join(lines) + "\n"
        else:
            body = shown.to_markdown(index=self.index, disable_numparse=True) + "\n"
        body = self._bold(body, "**", "**") + "".join(f"\n{n}\n" for n in self.notes)
        return (f"{self.title}\n\n" if self.title else "") + body

    def as_latex(self) -> str:
        """A LaTeX tabular, inside a captioned table float (notes after the tabular) when the table has a title."""
        shown = self._marked(self.shown_typed())
        cols = self.column_format or "l" * (shown.index.nlevels if self.index else 0) + "r" * shown.shape[1]
        body = shown.to_latex(index=self.index, escape=True, column_format=cols)
        for symbol, tex in LATEX_SYMBOLS.items():
            body = body.replace(symbol, tex)
        body = self._bold(body, "\\textbf{", "}")
        if not self.title:
            return body
        notes = "".join("\\par\\footnotesize " + _latex_escape(n) + "\n" for n in self.notes)
        return ("\\begin{table}[ht]\n\\centering\n\\caption{" + _latex_escape(self.title) + "}\n"
                + body + notes + "\\end{table}\n")

    def write(self, out_dir, stem: str) -> dict[str, Path]:
        """Write ``stem.csv``, ``stem.md`` and ``stem.tex`` in ``out_dir``; return their paths."""
        out_dir = Path(out_dir)
        return {"csv": atomic_write_text(out_dir / f"{stem}.csv", self.as_csv()),
                "md": atomic_write_text(out_dir / f"{stem}.md", self.as_markdown_file()),
                "tex": atomic_write_text(out_dir / f"{stem}.tex", self.as_latex())}

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
    import numpy
    import scipy

    from . import __version__

    info = {
        "package": "lsis_robust",
        "version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "platform": platform.platform(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    info.update(extra)
    return info


def write_provenance(out_dir, stem: str, **extra) -> Path:
    return atomic_write_text(Path(out_dir) / f"{stem}.provenance.json",
                             json.dumps(provenance(**extra), indent=2, default=str) + "\n")
