"""Deep-network benchmark of LR, LSLR, MLSLR and LSQLR (paper Section IV, Appendix D).

Functional losses (``lr_loss``, ``lslr_loss``, ``mlslr_loss``,
``lsqlr_loss``) take logits (N, K) and integer targets (N,) and follow the
``torch.nn.functional`` conventions; ``LRLoss`` etc. are their modules.
"""
from ..kclass_losses import *  # noqa: F403 -- their public API is kclass_losses.__all__, listed once there
from ..kclass_losses import __all__ as _LOSS_API
from .methods import PAPER_METHODS, Method, parse_method, parse_methods

__all__ = [*_LOSS_API, "Method", "parse_method", "parse_methods", "PAPER_METHODS"]
