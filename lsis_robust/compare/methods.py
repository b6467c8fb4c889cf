"""How compare shows a method and finds its K-class form: the one small place that asks about a loss."""
from __future__ import annotations

from dataclasses import dataclass

from .settings import NEW_COLOR

__all__ = ["KClassMethod", "kclass_form", "label", "nn_method", "style"]


def label(spec, new):
    """The display label of ``spec``; the new loss is marked "(new)"."""
    from ..studies.common import method_label

    if spec == new:
        return f"{spec} (new)"
    return method_label(spec)


def style(ctx, spec, i):
    """Line style of the ``i``-th method: the new loss stands out in :data:`NEW_COLOR`."""
    from ..studies.common import method_color

    if spec == ctx.new:
        return {"color": NEW_COLOR, "lw": 2.6, "zorder": 5}
    return {"color": method_color(spec, i), "lw": 1.3}


def kclass_form(loss):
    """The K-class torch form ``f(logits, target, reduction="mean")`` of a loss, or None."""
    return loss.kclass()


@dataclass(frozen=True)
class KClassMethod:
    """The new loss as a deep-net method: what :mod:`lsis_robust.nn.train` needs of a Method."""

    name: str
    fn: object
    kind: str = "user"
    alpha: float | None = None
    argmin_labels: bool = False
    has_rlogit: bool = False

    def check(self, n_classes):
        return self

    def loss(self, logits, target, reduction="mean"):
        return self.fn(logits, target, reduction=reduction)


def nn_method(spec, loss):
    """The deep-net method of a baseline ``spec`` (its ``loss``), or None when the loss has no K-class form."""
    from ..nn.methods import parse_method

    return None if loss.kclass() is None else parse_method(spec)
