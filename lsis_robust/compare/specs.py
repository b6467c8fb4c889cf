"""The one place where compare reads a loss spec: the registry's grammar, which also takes import paths."""
from __future__ import annotations

from ..registry import read_loss_spec, resolve_loss_spec

__all__ = ["resolve_new_loss", "spec_source"]


def resolve_new_loss(spec: str) -> str:
    """The registry spec of the new loss: ``name[:p=v,...]`` or ``package.module:object[:p=v,...]``.

    An import path is imported and registered under the object's name
    (:func:`lsis_robust.registry.resolve_loss_spec`); the loss is built and
    validated now, before any study starts.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("--loss needs a loss: a registered name such as 'mlslr:alpha=0.4', or an import path "
                         "'package.module:object' / 'file.py:object' (optionally ':param=value,...')")
    return resolve_loss_spec(spec.strip())


def spec_source(spec: str) -> str:
    """Where the loss of ``spec`` comes from: its import path ``module:object``, or "registry"."""
    read = read_loss_spec(spec)
    return read.target if read.is_import_path else "registry"
