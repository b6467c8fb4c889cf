"""asv benchmarks of the theory engine: Table I, one contaminated functional, the exact Fig. 4 grid."""
import numpy as np

from lsis_robust.paper import TABLE1_COLUMNS, TABLE1_ROWS

from .common import Benchmark


class TableI(Benchmark):
    """All 45 entries of Table I (plus the BY and CH columns); target under 2 s."""

    timeout = 60

    def setup(self):
        from lsis_robust.theory import are_table

        are_table(betas=[(0, 1)])  # import and first-call costs are not the table's

    def time_table1(self):
        from lsis_robust.theory import are_table

        are_table()

    def track_table1_max_abs_deviation(self):
        """Largest |computed - printed| over the 45 entries (printed to 4 decimals: < 5e-5 means all match)."""
        from lsis_robust.theory import TABLE1_PRINTED, are_table

        values, _ = are_table()
        return float(np.abs(values.iloc[:, :5].to_numpy() - TABLE1_PRINTED).max())

    track_table1_max_abs_deviation.unit = "ARE"


class TableIEntries(Benchmark):
    """|computed - printed| of each of the 45 entries, so a move in any one of them shows, not only the worst."""

    params = [TABLE1_ROWS, TABLE1_COLUMNS]
    param_names = ["beta", "column"]
    unit = "ARE"

    def setup_cache(self):
        from lsis_robust.theory import TABLE1_PRINTED, are_table

        values, _ = are_table()
        return {(row, col): abs(float(values.loc[row, col]) - float(TABLE1_PRINTED[i, j]))
                for i, row in enumerate(TABLE1_ROWS) for j, col in enumerate(TABLE1_COLUMNS)}

    def track_deviation(self, deviations, beta, column):
        return deviations[(beta, column)]


class ContaminatedFunctional(Benchmark):
    """One exact T(F_eps); target under 50 ms."""

    params = ["lr", "mlslr:alpha=0.4", "ch"]
    param_names = ["loss"]

    def setup(self, loss):
        from lsis_robust.theory.contamination import contaminated_functional

        contaminated_functional(loss, [0.0, 4.0], 0.05, [1.0, -1.0], 1)

    def time_contaminated_functional(self, loss):
        from lsis_robust.theory.contamination import contaminated_functional

        contaminated_functional(loss, [0.0, 4.0], 0.05, [1.0, -1.0], 1)


class ExactFig4Grid(Benchmark):
    """201 points x 2 labels x 8 methods on 2 processes; target under 60 s."""

    timeout = 600
    number = 1
    repeat = 1

    def time_exact_fig4_grid(self):
        from lsis_robust.theory.contamination import contamination_grid
        from lsis_robust.theory.outputs import fig4_methods

        x2 = np.linspace(-10, 10, 201)
        contamination_grid(fig4_methods(), [0.0, 4.0], 0.05, np.column_stack([np.ones_like(x2), x2]),
                           n_jobs=2, progress=False)


class TheoryFiguresFig4Command(Benchmark):
    """``lsis-robust theory-figures --only fig4`` as users run it (CLI defaults: 201 points, default jobs).
    Target of issue 13: under 25 s on 2 cores."""

    timeout = 900
    number = 1
    repeat = 1

    def setup(self):
        import tempfile

        self.tmp = tempfile.TemporaryDirectory()

    def teardown(self):
        self.tmp.cleanup()

    def time_theory_figures_fig4(self):
        from lsis_robust.cli import main

        if main(["theory-figures", "--only", "fig4", "--out", self.tmp.name]) != 0:
            raise RuntimeError("lsis-robust theory-figures --only fig4 failed")
