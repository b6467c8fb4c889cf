"""Named training methods of the deep-network benchmark: a loss with a K-class form plus its labelling rule.

A method is written ``NAME`` or ``NAME-ALPHA``: NAME is a registered loss
whose :meth:`~lsis_robust.losses.MarginLoss.kclass` gives a K-class torch
form (the built-ins ``lr``, ``lslr``, ``mlslr`` and ``lsqlr``), and ALPHA,
required exactly when the loss has a smoothing level ``alpha``, is a decimal
or a fraction (``lslr-9.2/9``).  ``PAPER_METHODS`` lists the 20 methods of
Tables II-V: LR, LSQLR, and LSLR and MLSLR at alpha in {0.2, 0.4, 0.6, 0.8}
(Section IV) and {9.2, 9.4, 9.6, 9.8, 10}/9 (Appendix D).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from .._validation import check_alpha as validate_alpha
from ..losses import MarginLoss
from ..paper import NN_METHODS as PAPER_METHODS
from ..registry import available_losses, get_loss, read_loss_spec

__all__ = ["Method", "parse_method", "parse_methods", "PAPER_METHODS"]



@dataclass(frozen=True)
class Method:
    """``kind`` (the loss's registered name), ``alpha`` (None without one), the name as given, and the loss."""

    kind: str
    alpha: float | None
    name: str
    margin_loss: MarginLoss

    def check(self, n_classes: int) -> Method:
        if self.alpha is not None:
            validate_alpha(self.alpha, n_classes)
        return self

    def loss(self, logits, target, reduction: str = "mean"):
        """The loss's K-class form on logits (N, K) and targets (N,)."""
        return self.margin_loss.kclass()(logits, target, reduction=reduction)

    @property
    def argmin_labels(self) -> bool:
        """Labels go by the smallest logit (LSLR with alpha > 1, Corollary 3)."""
        return self.margin_loss.labels_by_argmin

    @property
    def has_rlogit(self) -> bool:
        """The loss estimates probabilities with the R-logit model (eq. 10), whose range metrics apply."""
        return self.margin_loss.has_r_logit


def _parse_alpha(text: str) -> float:
    try:
        num, _, den = text.partition("/")
        return float(Fraction(num) / Fraction(den)) if den else float(text)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"cannot read alpha {text!r}: write a decimal (0.4) or a fraction (9.2/9)") from None


def parse_method(spec: str, n_classes: int = 10) -> Method:
    """The method ``NAME`` or ``NAME-ALPHA`` (see the module doc) for ``n_classes`` classes.

    The registry's loss-spec grammar names the same methods: ``mlslr:alpha=0.4`` is ``mlslr-0.4``.
    """
    if not isinstance(spec, str):
        raise TypeError(f"a method is a string such as 'mlslr-0.4', got {type(spec).__name__}")
    s = spec.strip().lower()
    if ":" in s:
        read = read_loss_spec(s)
        if read.is_import_path or set(read.params) - {"alpha"}:
            raise ValueError(f"method {spec!r}: a deep-net method is a registered loss with at most a smoothing "
                             "level alpha, e.g. 'mlslr:alpha=0.4'")
        kind, alpha_text = read.target, (repr(read.params["alpha"]) if "alpha" in read.params else "")
    else:
        kind, _, alpha_text = s.partition("-")
    if kind not in available_losses():
        raise ValueError(f"unknown method {spec!r}: a method is a registered loss with a K-class form, such as "
                         "lr, lsqlr, lslr-ALPHA, mlslr-ALPHA")
    default = get_loss(kind)
    if default.kclass() is None:
        raise ValueError(f"method {spec!r}: the loss {kind!r} has no K-class torch form to train a network with")
    if "alpha" not in default.get_params():
        if alpha_text:
            raise ValueError(f"method {kind} takes no alpha, got {spec!r}")
        return Method(kind, None, kind, default)
    if not alpha_text:
        raise ValueError(f"method {kind} needs a smoothing level, e.g. {kind}-0.4 or {kind}-9.2/9")
    alpha = _parse_alpha(alpha_text)
    if not math.isfinite(alpha) or alpha == 0:
        raise ValueError(f"{spec!r}: alpha must be positive (alpha = 0 is plain lr)")
    validate_alpha(alpha, n_classes)  # the K-class range first: the binary loss accepts alpha up to 2
    return Method(kind, alpha, f"{kind}-{alpha_text}", get_loss(kind, alpha=alpha))


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
