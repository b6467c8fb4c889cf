"""asv benchmarks of the simulation studies: quick sweeps (time_*) and accuracy of selected cells (track_*)."""
from __future__ import annotations

from .common import Benchmark


class QuickSweeps(Benchmark):
    """The ``--quick`` grids of both studies, estimator protocol (run in seconds)."""

    timeout = 300

    def time_efficiency_quick(self):
        from lsis_robust.paper import STUDY_SETTINGS
        from lsis_robust.studies.efficiency import run_efficiency

        run_efficiency(**STUDY_SETTINGS["quick"]["efficiency"], progress=False)

    # The grid is the one timed before it was read from lsis_robust.paper: keep the history's version.
    time_efficiency_quick.version = "dc5019027f36776d740c1a120f04999175f0355185c09ce94e381f342c46e731"

    def time_robustness_quick(self):
        from lsis_robust.paper import STUDY_SETTINGS
        from lsis_robust.studies.robustness import run_robustness

        run_robustness(**STUDY_SETTINGS["quick"]["robustness"], progress=False)

    time_robustness_quick.version = "150c00fcf9e338d4f4f2dc78121db2ed3c206ed45d017c4e5febcb35d3ed1cf3"


class FullEstimatorStudies(Benchmark):
    """The issue's targets, estimator protocol on 2 cores: robustness (8 methods, 402 problems, n = 10^4, one
    beta) under 60 s; efficiency (9 betas, 6 sizes, 100 trials, 8 methods) under 120 s."""

    timeout = 1200
    number = 1
    repeat = 1

    def time_robustness_full_one_beta(self):
        from lsis_robust.studies.robustness import run_robustness

        run_robustness(betas=[(0.0, 4.0)], n_jobs=2, progress=False)

    def time_efficiency_full(self):
        from lsis_robust.studies.efficiency import run_efficiency

        run_efficiency(n_jobs=2, progress=False)


class PaperProtocolRate(Benchmark):
    """Paper protocol (150 Adam steps, fused kernels) on one sweep cell of 9e8 element updates."""

    timeout = 600

    def setup(self):
        import numpy as np

        from lsis_robust.contamination import sample_nominal
        from lsis_robust.registry import parse_loss_spec
        from lsis_robust.studies._adam import adam_fit

        s = sample_nominal(10_000, [0.0, 4.0], rng=0)
        self.args = (parse_loss_spec("mlslr:alpha=0.8"), s.X[None], s.y_pm[None], np.full((1, s.n), 1e-4),
                     np.tile([0.0, 4.0], (1, 600, 1)))
        self.fit = adam_fit
        adam_fit(*self.args)  # compile outside the measurement

    def time_adam_sweep_cell(self):
        """600 problem-starts x 10^4 rows x 150 steps = 9e8 element updates; seconds / 0.9 is s per 1e9."""
        self.fit(*self.args)


class CellAccuracy(Benchmark):
    """SoB and TTR of selected cells (lower is better): clean efficiency (beta = (0, 4), n = 200, 20 trials)
    and the anomalous point x_c2 = -10, y_c = +1 of the robustness study (beta = (0, 4), n = 10^4)."""

    params = [["clean_n200", "xc_minus10"], ["lr", "mlslr:alpha=0.8"], ["sob", "ttr"]]
    param_names = ["cell", "method", "metric"]
    unit = "SoB or TTR (see metric)"
    timeout = 300

    def setup_cache(self):
        from lsis_robust.studies.efficiency import run_efficiency
        from lsis_robust.studies.robustness import run_robustness

        methods = ["lr", "mlslr:alpha=0.8"]
        rob, _ = run_robustness(betas=[(0.0, 4.0)], methods=methods, xc2=[-10.0], y_cs=[1], progress=False)
        eff, _ = run_efficiency(betas=[(0.0, 4.0)], sizes=[200], methods=methods, n_trials=20, m=10_000,
                                progress=False)
        return {"clean_n200": eff.set_index("method"), "xc_minus10": rob.set_index("method")}

    def track_cell(self, tables, cell, method, metric):
        return float(tables[cell].loc[method, f"{metric}_mean"])


class RobustnessCommand(Benchmark):
    """``lsis-robust robustness`` as users run it (the CLI, its default jobs: $LSIS_ROBUST_N_JOBS or the cores;
    fits, population curves, tables, figures), fresh: no cache, no stored population table.
    Target of issue 13: the default under 60 s on 2 cores."""

    timeout = 1200
    number = 1
    repeat = 1
    params = [["quick", "default"]]
    param_names = ["grid"]

    def setup(self, grid):
        import tempfile

        self.tmp = tempfile.TemporaryDirectory()

    def teardown(self, grid):
        self.tmp.cleanup()

    def time_robustness_command(self, grid):
        from lsis_robust.cli import main

        argv = ["robustness", "--out", self.tmp.name, "--no-cache", "--no-progress"]
        if main(argv + (["--quick"] if grid == "quick" else [])) != 0:
            raise RuntimeError("lsis-robust robustness failed")
