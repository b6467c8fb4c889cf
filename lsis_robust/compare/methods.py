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
    return getattr(loss, "kclass", None)


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


def nn_method(spec):
    """The K-class form of a baseline spec in lsis_robust.nn, or None (BY and CH have none)."""
    from ..nn.methods import parse_method

    name, _, rest = spec.partition(":")
    if name in ("lr", "lsqlr") and not rest:
        return parse_method(name)
    if name in ("lslr", "mlslr") and rest.startswith("alpha="):
        return parse_method(f"{name}-{rest[len('alpha='):]}")
    return None
