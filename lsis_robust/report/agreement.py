"""Agreement of our numbers with the paper's printed ones, computed cell by cell.

A cell is

* **exact to the printed digits** when ours, rounded to the decimals the paper prints, equals the printed value;
* otherwise it is judged by ordering inside its comparison group (the cells the paper compares: LSLR against
  MLSLR at one alpha, or the alphas of one row): **same ordering / sign of the effect** when the cell has the
  same rank among its group in ours as in the paper, **contradicts** when not;
* **not comparable** when the ordering cannot be judged: a cell of the group did not converge (a comparison
  with an untrained network says nothing), the printed or our values tie, the group has one cell, or we have
  no value for it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["EXACT", "SAME_ORDER", "CONTRADICTS", "NOT_COMPARABLE", "VERDICTS", "agreement", "verdict_counts",
           "summarize"]

EXACT = "exact to the printed digits"
SAME_ORDER = "same ordering / sign of the effect"
CONTRADICTS = "contradicts"
NOT_COMPARABLE = "not comparable"
VERDICTS = (EXACT, SAME_ORDER, CONTRADICTS, NOT_COMPARABLE)


def _ranks(values: np.ndarray) -> tuple[np.ndarray, bool]:
    """Dense ranks of ``values`` and whether two of them tie."""
    order = pd.Series(values).rank(method="min").to_numpy()
    return order, len(np.unique(values)) < len(values)


def agreement(ours: pd.DataFrame, printed: pd.DataFrame, keys, group, decimals: int, value: str = "mean",
              printed_value: str | None = None) -> pd.DataFrame:
    """Place ``ours`` beside ``printed`` on ``keys`` and give every printed cell a verdict.

    ``ours`` may carry a boolean ``converged`` column (a cell whose trials did not all converge); cells without
    it count as converged.  ``group`` (a subset of ``keys``) names the columns that fix one comparison.
    Returns the keys, ``printed``, ``ours``, ``deviation`` (ours - printed), ``verdict`` and ``reason``.
    """
    keys, group = list(keys), list(group)
    if not set(group) <= set(keys):
        raise ValueError(f"group columns {group} must be among the keys {keys}")
    printed_value = printed_value or value
    for name, df, col in (("ours", ours, value), ("printed", printed, printed_value)):
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"{name} must be a pandas DataFrame, got {type(df).__name__}")
        missing = [c for c in [*keys, col] if c not in df.columns]
        if missing:
            raise ValueError(f"{name} table lacks column(s) {', '.join(missing)}")
    if not isinstance(decimals, (int, np.integer)) or decimals < 0:
        raise ValueError(f"decimals must be a non-negative integer, got {decimals!r}")
    mine = ours[keys + [value] + (["converged"] if "converged" in ours.columns else [])].copy()
    mine = mine.rename(columns={value: "ours"})
    if "converged" not in mine.columns:
        mine["converged"] = True
    if mine.duplicated(keys).any():
        raise ValueError(f"ours has more than one row for some {keys}")
    table = printed[keys + [printed_value]].rename(columns={printed_value: "printed"})
    # Float keys (alpha = 9.2/9) are joined at a fixed precision, so a CSV round trip cannot break the match.
    join = [f"_k{i}" for i in range(len(keys))]
    for df in (mine, table):
        for k, j in zip(keys, join):
            df[j] = df[k].round(9) if pd.api.types.is_float_dtype(df[k]) else df[k]
    out = table.merge(mine.drop(columns=keys), on=join, how="left").drop(columns=join)
    out["ours"] = pd.to_numeric(out["ours"], errors="coerce").astype(np.float64)
    out["converged"] = out["converged"].fillna(True).astype(bool)
    out["deviation"] = out["ours"] - out["printed"]
    tol = 10.0 ** -(decimals + 6)
    exact = (np.abs(np.round(out["ours"].to_numpy(), decimals) - out["printed"].to_numpy()) <= tol)
    verdict = pd.Series(NOT_COMPARABLE, index=out.index, dtype=object)
    reason = pd.Series("", index=out.index, dtype=object)
    for _, cells in out.groupby(group, sort=False):
        for i in cells.index:
            if np.isnan(out.at[i, "ours"]):
                reason[i] = "no value of ours"
            elif not out.at[i, "converged"]:
                reason[i] = "ours did not converge"
            elif exact[out.index.get_loc(i)]:
                verdict[i] = EXACT
            elif len(cells) < 2:
                reason[i] = "nothing to order it against"
            elif cells["ours"].isna().any() or not cells["converged"].all():
                reason[i] = "a cell it is compared with is missing or did not converge"
            else:
                p_rank, p_tie = _ranks(np.round(cells["printed"].to_numpy(), decimals))
                o_rank, o_tie = _ranks(cells["ours"].to_numpy())
                pos = cells.index.get_loc(i)
                p_ties = np.sum(p_rank == p_rank[pos]) > 1
                o_ties = np.sum(o_rank == o_rank[pos]) > 1
                if p_ties:
                    reason[i] = "the printed values tie"
                elif o_ties:
                    reason[i] = "our values tie"
                elif p_rank[pos] == o_rank[pos]:
                    verdict[i] = SAME_ORDER
                else:
                    verdict[i] = CONTRADICTS
                    reason[i] = f"rank {int(o_rank[pos])} of {len(cells)} in ours, {int(p_rank[pos])} printed"
    out["verdict"], out["reason"] = verdict, reason
    return out[keys + ["printed", "ours", "deviation", "converged", "verdict", "reason"]]


def verdict_counts(table: pd.DataFrame) -> dict[str, int]:
    """How many cells got each verdict, in the order of :data:`VERDICTS`."""
    counts = table["verdict"].value_counts()
    return {v: int(counts.get(v, 0)) for v in VERDICTS}


def summarize(table: pd.DataFrame) -> str:
    """One line: '45/45 exact to the printed digits' or '3/8 same ordering ..., 2/8 contradicts, ...'."""
    n = len(table)
    parts = [f"{c}/{n} {v}" for v, c in verdict_counts(table).items() if c]
    return ", ".join(parts) if parts else "no printed cells"
