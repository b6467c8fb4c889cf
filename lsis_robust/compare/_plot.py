"""Figure grids and beta labels shared by the criteria."""
from __future__ import annotations

__all__ = ["beta_str", "subplots"]


def subplots(ncols, nrows=1, width=5.2, height=3.8):
    """A headless figure with an ``nrows`` x ``ncols`` grid of axes, room left under it for the caption."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows + 0.6), squeeze=False)
    return fig, axes


def beta_str(b):
    """``(0, 2)`` for beta = (0.0, 2.0)."""
    return "(" + ", ".join(f"{v:g}" for v in b) + ")"
