"""Deep-network benchmark of LR, LSLR, MLSLR and LSQLR (paper Section IV, Appendix D).

Functional losses (``lr_loss``, ``lslr_loss``, ``mlslr_loss``,
``lsqlr_loss``) take logits (N, K) and integer targets (N,) and follow the
``torch.nn.functional`` conventions; ``LRLoss`` etc. are their modules.
"""
from .losses import LRLoss, LSLRLoss, LSQLRLoss, MLSLRLoss, lr_loss, lslr_loss, lsqlr_loss, mlslr_loss
from .methods import PAPER_METHODS, Method, parse_method, parse_methods

__all__ = [
    "lr_loss",
    "lslr_loss",
    "mlslr_loss",
    "lsqlr_loss",
    "LRLoss",
    "LSLRLoss",
    "MLSLRLoss",
    "LSQLRLoss",
    "Method",
    "parse_method",
    "parse_methods",
    "PAPER_METHODS",
]
