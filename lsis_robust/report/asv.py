"""A small history of tracked benchmark numbers, read from asv's own result files (asv 0.6, format version 2).

asv writes one JSON per (commit, environment) under ``results/asv/<machine>/``: ``commit_hash``, ``date``
(commit time, ms since the epoch), ``result_columns`` naming the fields of each row of ``results`` (the first,
``result``, holds one value per parameter combination, or None when the benchmark failed).
"""
from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["read_history", "history_table"]


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable asv result file ({exc})") from None
    need = ("commit_hash", "date", "result_columns", "results")
    if not isinstance(data, dict) or any(k not in data for k in need):
        raise ValueError(f"{path}: not an asv result file (needs {', '.join(need)})")
    if data.get("version") != 2:
        raise ValueError(f"{path}: asv result format version {data.get('version')!r}, this reader knows version 2")
    return data


def read_history(asv_dir) -> pd.DataFrame:
    """One row per (machine, commit, benchmark): the first parameter combination's value.

    Benchmarks with parameters are tracked at their first combination, so each row follows one number.
    """
    rows = []
    # asv writes machine.json into every machine's folder; others (html/ from asv publish) are not machines.
    for machine_dir in sorted(p for p in Path(asv_dir).iterdir() if (p / "machine.json").is_file()):
        for path in sorted(machine_dir.glob("*.json")):
            if path.name == "machine.json":
                continue
            data = _read(path)
            col = data["result_columns"].index("result")
            for bench, row in data["results"].items():
                result = row[col] if len(row) > col else None
                value = result[0] if isinstance(result, list) and result else result
                rows.append(dict(machine=machine_dir.name, commit=str(data["commit_hash"])[:8],
                                 date=_dt.datetime.fromtimestamp(data["date"] / 1000, _dt.UTC),
                                 benchmark=bench, value=np.nan if value is None else float(value)))
    return pd.DataFrame(rows, columns=["machine", "commit", "date", "benchmark", "value"])


def history_table(history: pd.DataFrame, n_benchmarks: int = 4) -> pd.DataFrame:
    """Commits in date order against a few tracked benchmarks: ``track_`` ones first, then the most measured."""
    if history.empty:
        return pd.DataFrame()
    measured = history.dropna(subset=["value"]).groupby("benchmark")["commit"].nunique()
    kind = pd.Series({b: 0 if b.rsplit(".", 1)[-1].startswith("track_") else 1 for b in measured.index})
    chosen = sorted(measured.index, key=lambda b: (kind[b], -measured[b], b))[:n_benchmarks]
    sub = history[history["benchmark"].isin(chosen)]
    wide = sub.groupby(["machine", "date", "commit", "benchmark"])["value"].first().unstack("benchmark")
    wide = wide.reindex(columns=chosen)
    wide = wide.sort_index().reset_index()
    wide["date"] = wide["date"].dt.strftime("%Y-%m-%d %H:%M")
    wide.columns.name = None
    return wide
