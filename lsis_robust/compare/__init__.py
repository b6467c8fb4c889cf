"""Compare a new binary loss with the baselines on every criterion of the suite, in one report.

Each criterion is one module with a function ``criterion_*(ctx) -> Section`` over the same
methods (the new loss first, then the baselines) and the same seeds:

* ``are``        asymptotic relative efficiency on the Table I designs (theory engine);
* ``influence``  influence function along x_c = (1, x_c2) and gross-error sensitivity;
* ``robustness`` the point-contamination study (SoB and TTR against x_c2, Fig. 4 style);
* ``efficiency`` the correct-model study (SoB and TTR against n, Fig. 2 style);
* ``realdata``   held-out (leave-one-out or cross-validated) misclassification and log-loss on real data;
* ``nn``         the digits deep-net benchmark (CIFAR-10 with ``data_dir`` and a GPU), run only
  when the new loss has a K-class torch form ``kclass``.

A :class:`Section` names its tables, figures and scores (``comp.criterion("are").table("are")``).
A criterion that does not apply to a method (LSLR is not Fisher-consistent
for the logit model, so it has no ARE; BY and CH have no K-class form) gets
an empty cell and a note, never a made-up number.  :func:`write_report`
writes a self-contained HTML page (figures embedded as base64 PNG), its
Markdown twin, every table as CSV/Markdown/LaTeX, the figures as PNG and the
provenance (versions, commit, seeds, settings, wall times).

Modules: ``settings`` (criteria, baselines, grids), ``specs`` (reading the new loss's spec),
``methods`` (labels, colours and K-class forms), ``result`` (the typed results), one module per
criterion, ``runner`` (:func:`run_compare`) and ``report`` (:func:`write_report`).
"""
from .are import criterion_are
from .efficiency import criterion_efficiency
from .influence import criterion_influence
from .nn import criterion_nn
from .realdata import criterion_realdata
from .report import summary_table, write_report
from .result import Comparison, Context, Figure, Score, Section, Table
from .robustness import criterion_robustness
from .runner import run_compare
from .settings import CRITERIA, DEFAULT_BASELINES, SETTINGS
from .shapes import criterion_shapes
from .specs import resolve_new_loss

__all__ = [
           "CRITERIA",
           "DEFAULT_BASELINES",
           "SETTINGS",
           "Comparison",
           "Context",
           "Figure",
           "Score",
           "Section",
           "Table",
           "criterion_are",
           "criterion_efficiency",
           "criterion_influence",
           "criterion_nn",
           "criterion_realdata",
           "criterion_robustness",
           "criterion_shapes",
           "resolve_new_loss",
           "run_compare",
           "summary_table",
           "write_report",
]
