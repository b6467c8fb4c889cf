"""Named training methods of the deep-network benchmark: a loss plus its labelling rule.

A method is written ``lr``, ``lsqlr``, ``lslr-ALPHA`` or ``mlslr-ALPHA`` where
ALPHA is a decimal or a fraction (``lslr-9.2/9``).  ``PAPER_METHODS`` lists
the 20 methods of Tables II-V: LR, LSQLR, and LSLR and MLSLR at
alpha in {0.2, 0.4, 0.6, 0.8} (Section IV) and {9.2, 9.4, 9.6, 9.8, 10}/9
(Appendix D).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from .._validation import check_alpha as validate_alpha
from ..paper import NN_METHODS as PAPER_METHODS
from . import losses as L

__all__ = ["Method", "parse_method", "parse_methods", "PAPER_METHODS"]

_KINDS = ("lr", "lslr", "mlslr", "lsqlr")


@dataclass(frozen=True)
class Method:
    """``kind`` in lr/lslr/mlslr/lsqlr, ``alpha`` (None for lr/lsqlr) and the name as given."""

    kind: str
    alpha: float | None
    name: str

    def check(self, n_classes: int) -> "Method":
        if self.alpha is not None:
            validate_alpha(self.alpha, n_classes)
        return self

    def loss(self, logits, target, reduction: str = "mean"):
        if self.kind == "lr":
            return L.lr_loss(logits, target, reduction=reduction)
        if self.kind == "lsqlr":
            return L.lsqlr_loss(logits, target, reduction=reduction)
        fn = L.lslr_loss if self.kind == "lslr" else L.mlslr_loss
        return fn(logits, target, alpha=self.alpha, reduction=reduction)

    @property
    def argmin_labels(self) -> bool:
        """LSLR with alpha > 1 reverses the order of the logits (Corollary 3)."""
        return self.kind == "lslr" and self.alpha > 1

    @property
    def has_rlogit(self) -> bool:
        """LSLR estimates probabilities with the R-logit model (eq. 10), whose range metrics apply."""
        return self.kind == "lslr"


def _parse_alpha(text: str) -> float:
    try:
        num, _, den = text.partition("/")
        return float(Fraction(num) / Fraction(den)) if den else float(text)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"cannot read alpha {text!r}: write a decimal (0.4) or a fraction (9.2/9)") from None


def parse_method(spec: str, n_classes: int = 10) -> Method:
    if not isinstance(spec, str):
        raise TypeError(f"a method is a string such as 'mlslr-0.4', got {type(spec).__name__}")
    s = spec.strip().lower()
    kind, _, alpha_text = s.partition("-")
    if kind not in _KINDS:
        raise ValueError(f"unknown method {spec!r}: allowed are lr, lsqlr, lslr-ALPHA, mlslr-ALPHA")
    if kind in ("lr", "lsqlr"):
        if alpha_text:
            raise ValueError(f"method {kind} takes no alpha, got {spec!r}")
        return Method(kind, None, kind)
    if not alpha_text:
        raise ValueError(f"method {kind} needs a smoothing level, e.g. {kind}-0.4 or {kind}-9.2/9")
    alpha = _parse_alpha(alpha_text)
    if not math.isfinite(alpha) or alpha == 0:
        raise ValueError(f"{spec!r}: alpha must be positive (alpha = 0 is plain lr)")
    return Method(kind, alpha, f"{kind}-{alpha_text}").check(n_classes)


def parse_methods(text: str, n_classes: int = 10) -> list[Method]:
    """A comma-separated list of methods, or ``all`` for :data:`PAPER_METHODS`."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("--methods needs a comma-separated list such as 'lr,lslr-0.4,mlslr-0.4' or 'all'")
    names = PAPER_METHODS if text.strip().lower() == "all" else [p for p in text.split(",") if p.strip()]
    methods = [parse_method(n, n_classes) for n in names]
    seen = set()
    for m in methods:
        key = (m.kind, m.alpha)
        if key in seen:
            raise ValueError(f"method {m.name!r} is listed twice")
        seen.add(key)
    return methods
