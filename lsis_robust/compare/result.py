"""What a criterion returns and what the report is written from: named tables, figures and scores."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["Comparison", "Context", "Figure", "Score", "Section", "Table"]


@dataclass(frozen=True)
class Table:
    """A table of the report, written as ``tables/<stem>.csv|md|tex``."""

    stem: str
    caption: str
    frame: pd.DataFrame


@dataclass(frozen=True)
class Figure:
    """A figure of the report, saved as ``figures/<file>``."""

    file: str
    caption: str


@dataclass(frozen=True)
class Score:
    """One ranked metric: each method's value (keyed by spec), and whether higher or lower is better."""

    metric: str
    better: str
    values: dict

    def __post_init__(self):
        if self.better not in ("higher", "lower"):
            raise ValueError(f"Score.better must be 'higher' or 'lower', got {self.better!r}")


def _named(items, attr, name, what):
    for item in items:
        if getattr(item, attr) == name:
            return item
    known = ", ".join(repr(getattr(i, attr)) for i in items) or "none"
    raise KeyError(f"no {what} {name!r}; this one has {known}")


@dataclass
class Section:
    """What one criterion contributes to the report."""

    key: str
    title: str
    description: str
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    scores: list[Score] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    settings: dict = field(default_factory=dict)

    def table(self, stem: str) -> pd.DataFrame:
        """The frame of the table written as ``tables/<stem>.*``."""
        return _named(self.tables, "stem", stem, f"table in section {self.key!r} named").frame

    def score(self, metric: str) -> Score:
        return _named(self.scores, "metric", metric, f"score in section {self.key!r} named")


@dataclass
class Comparison:
    """Every section of one comparison; :func:`lsis_robust.compare.write_report` writes it."""

    new: str
    methods: dict  # spec -> MarginLoss, the new loss first
    sections: list[Section]
    settings_name: str
    seed: int
    out: Path
    wall_s: float = 0.0
    info: dict = field(default_factory=dict)

    def criterion(self, key: str) -> Section:
        """The section of criterion ``key`` ("shapes", "are", "influence", ...)."""
        return _named(self.sections, "key", key, "criterion")


@dataclass
class Context:
    """What every criterion gets: the methods (the new loss first), its settings, the seed and where figures go."""

    new: str
    methods: dict
    settings: dict
    seed: int
    figdir: Path
    progress: bool
    data_dir: Path | None
    device: str
