"""The one place where compare reads a loss spec: a registered name or an import path of a user's loss."""
from __future__ import annotations

from ..losses import parse_loss_spec

__all__ = ["resolve_new_loss", "spec_source"]


def _import_path_parts(spec: str):
    """``spec`` split at ':' when its first two parts are an import path ``module:object``, else None.

    An import path has an object part without '='; ``name:p=v`` is a registered name with parameters.
    """
    parts = spec.split(":")
    return parts if len(parts) >= 2 and "=" not in parts[1] else None


def resolve_new_loss(spec: str) -> str:
    """The registry spec of the new loss: ``name[:p=v,...]`` or ``package.module:object[:p=v,...]``.

    An import path (a module part with a dot or ending in .py, or an object
    part without '=') is imported and registered under the object's name.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("--loss needs a loss: a registered name such as 'mlslr:alpha=0.4', or an import path "
                         "'package.module:object' / 'file.py:object' (optionally ':param=value,...')")
    parts = _import_path_parts(spec.strip())
    if parts is not None:
        from ..user_loss import register_object

        if len(parts) > 3:
            raise ValueError(f"cannot read --loss {spec!r}: expected 'package.module:object[:param=value,...]'")
        name = register_object(":".join(parts[:2]))
        spec = name + (":" + parts[2] if len(parts) == 3 else "")
    parse_loss_spec(spec)  # builds and validates it now, before any study starts
    return spec


def spec_source(spec: str) -> str:
    """Where the loss of ``spec`` comes from: its import path ``module:object``, or "registry"."""
    parts = _import_path_parts(spec)
    return ":".join(parts[:2]) if parts is not None else "registry"
