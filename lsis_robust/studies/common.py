"""Shared pieces of the simulation studies: methods, protocols and plot colours."""
from __future__ import annotations

import hashlib

import numpy as np

from ..paper import METHOD_COLORS
from ..registry import parse_loss_spec, split_loss_specs

__all__ = ["PROTOCOLS", "resolve_methods", "predict_pm", "method_label", "method_color", "loss_source_digest"]

PROTOCOLS = ("estimator", "paper")


def method_color(spec, i):
    """The paper's colour of a method's loss spec; the i-th colour of matplotlib's cycle for any other."""
    return METHOD_COLORS.get(spec, f"C{i % 10}")


def resolve_methods(methods):
    """Parse loss specs (``lr``, ``mlslr:alpha=0.4``, any registered loss); errors name the bad spec."""
    if isinstance(methods, str):
        methods = split_loss_specs(methods)  # the registry's list rule: 'lr,mlslr:alpha=0.4,by'
    methods = [str(m).strip() for m in methods]
    if not methods:
        raise ValueError("no methods given: name at least one loss spec such as 'lr' or 'mlslr:alpha=0.4'")
    if len(set(methods)) != len(methods):
        raise ValueError(f"methods are repeated: {methods}")
    losses = {}
    for spec in methods:
        try:
            losses[spec] = parse_loss_spec(spec)
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"method {spec!r} is not a valid loss spec: {exc}") from exc
    return losses


def loss_source_digest(loss):
    """A hash of the files outside this package that define ``loss`` (its ``source_files``); None for none.

    Grid tasks are cached under a hash of this package's code; a user's loss
    lives in its own file, which therefore joins the task's parameters so
    that editing the loss recomputes its cells instead of reusing them.
    """
    files = loss.source_files()
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def predict_pm(loss, scores):
    """Predicted labels in {-1, +1}: sign of the score, reversed where the loss labels by arg min (LSLR alpha > 1)."""
    pred = np.where(scores > 0, 1.0, -1.0)
    return -pred if getattr(loss, "labels_by_argmin", False) else pred


def method_label(spec):
    """The display label of a method's loss spec, the loss's own: ``mlslr:alpha=0.4`` -> ``MLSLR a=0.4``."""
    return parse_loss_spec(spec).label
