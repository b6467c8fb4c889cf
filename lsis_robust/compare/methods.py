"""How compare shows a method and finds its K-class form: the one small place that asks about a loss."""
from __future__ import annotations

from .settings import NEW_COLOR

__all__ = ["label", "new_loss_method", "nn_method", "style"]


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


def nn_method(spec, loss):
    """The deep-net method of a baseline ``spec`` (its ``loss``), or None when the loss has no K-class form."""
    from ..nn.methods import parse_method

    return None if loss.kclass() is None else parse_method(spec)


def new_loss_method(name, loss):
    """The new loss as a deep-net method named ``name``, trained through its own ``kclass()`` form."""
    from ..nn.methods import Method

    return Method("user", None, name, loss)
