"""The robustness study and the exact Fig. 4 share work between problems without changing a single bit.

Each shortcut is checked against the computation it replaces, run in the
same process: blocked evaluation against one pass over all problems, shared
starts against starts computed per loss, runs of several methods against
each task alone, the kept nominal integrals against recomputed ones.
"""
import json

import numpy as np
import pandas as pd
import pytest

import lsis_robust._linear_loss as linear_loss
from lsis_robust._linear_loss import LinearMarginLoss
from lsis_robust.fitting import fit_batch, fit_batch_losses
from lsis_robust.cli import main
from lsis_robust.registry import parse_loss_spec
from lsis_robust.studies._grid import seed_sequence
from lsis_robust.studies.robustness import _runs, robustness_grid, robustness_task, run_robustness, \
    summarise_robustness
from lsis_robust.theory import contamination

METHODS = ["lr", "mlslr:alpha=0.6", "lsqlr", "by", "ch"]


@pytest.fixture(autouse=True)
def fresh_sweeps(monkeypatch):
    """No sweep kept from another test: each comparison below computes both of its sides."""
    monkeypatch.setattr(contamination, "_SWEEPS", {})


def _contaminated_problems(n0=300, points=(-8.0, -1.5, 0.0, 2.5, 9.0), k=15, seed=1):
    """The study's layout: nominal rows shared by all problems, each problem weighting its own point."""
    rng = np.random.default_rng(seed)
    x2 = rng.standard_normal(n0)
    y = np.where(rng.random(n0) < 1 / (1 + np.exp(-4 * x2)), 1.0, -1.0)
    X = np.column_stack([np.ones(n0 + len(points)), np.r_[x2, points]])
    probs = [(j, yc) for yc in (1.0, -1.0) for j in range(len(points))]
    Y = np.tile(np.r_[y, np.ones(len(points))], (len(probs), 1))
    W = np.tile(np.r_[np.ones(n0), np.zeros(len(points))], (len(probs), 1))
    for p, (j, yc) in enumerate(probs):
        Y[p, n0 + j], W[p, n0 + j] = yc, k
    return X, Y, W


@pytest.mark.parametrize("n_problems", [9, 10, 13])
@pytest.mark.parametrize("spec", ["lr", "mlslr:alpha=0.8", "ch"])
def test_blocked_evaluation_equals_one_pass(monkeypatch, spec, n_problems):
    X, Y, W = _contaminated_problems()
    X, Y, W = X, np.resize(Y, (n_problems, Y.shape[1])), np.resize(W, (n_problems, W.shape[1]))
    beta = np.random.default_rng(2).normal(size=(n_problems, 2)) * 2
    loss = parse_loss_spec(spec)
    # Blocks of 4 problems: 9 problems leave one over (it joins the last block), 10 leave two, 13 one.
    monkeypatch.setattr(linear_loss, "BLOCK_ELEMENTS", 4 * X.shape[0])
    blocked = LinearMarginLoss(loss, X, Y, W)
    slices = blocked._block_slices(n_problems)
    assert slices is not None and all(s.stop - s.start >= 2 for s in slices)
    assert all((s.stop - s.start) % 4 == 0 for s in slices[:-1])
    got = (blocked.objective_gradient_hessian(beta), blocked.gradient_hessian(beta), blocked.objective(beta))
    monkeypatch.setattr(linear_loss, "BLOCK_ELEMENTS", 10**12)
    whole = LinearMarginLoss(loss, X, Y, W)
    assert whole._block_slices(n_problems) is None
    want = (whole.objective_gradient_hessian(beta), whole.gradient_hessian(beta), whole.objective(beta))
    for g, w in zip(got[0] + got[1] + (got[2],), want[0] + want[1] + (want[2],)):
        assert np.array_equal(g, w)


def test_fits_of_several_losses_equal_each_fit_alone():
    X, Y, W = _contaminated_problems()
    losses = [parse_loss_spec(spec) for spec in METHODS]
    for loss, together in zip(losses, fit_batch_losses(losses, X, Y, W)):
        alone = fit_batch(loss, X, Y, W)
        for field in ("beta", "objective", "converged", "n_iter", "grad_max", "hessian", "separated"):
            assert np.array_equal(getattr(alone, field), getattr(together, field)), (loss, field)
        assert alone.start == together.start


def test_runs_group_the_methods_of_one_sample_and_give_each_task_its_own_numbers():
    grid = dict(betas=[(0, 4), (0, 1)], methods=METHODS, xc2=[-6.0, 0.5, 4.0], n=400, m=300, n_trials=2)
    tasks = robustness_grid(**grid)
    runs = _runs(tasks)
    # 5 methods of each (beta, trial): runs of 4 and 1, all on one sample (one seed key).
    assert sorted(len(members) for _, members in runs) == [1, 1, 1, 1, 4, 4, 4, 4]
    for run, members in runs:
        assert {json.dumps(list(t.seed_key)) for t in members} == {json.dumps(list(run.seed_key))}
    df, _ = run_robustness(**grid, progress=False)
    alone = summarise_robustness(tasks, [robustness_task(t.params, seed_sequence(0, t.seed_key)) for t in tasks])
    pd.testing.assert_frame_equal(df, alone, check_exact=True)


def test_paper_protocol_runs_one_method_at_a_time():
    tasks = robustness_grid(betas=[(0, 4)], methods=METHODS, xc2=[1.0], n=50, m=50, protocol="paper")
    assert [len(members) for _, members in _runs(tasks)] == [1] * len(METHODS)


def test_kept_nominal_integrals_change_no_bit(monkeypatch):
    losses, beta, pts = ["lr", "mlslr:alpha=0.8", "ch"], [0.0, 4.0], np.column_stack([np.ones(7), np.linspace(-9, 9, 7)])
    kept = contamination.contamination_grid(losses, beta, 0.05, pts, n_jobs=1, progress=False)

    def recompute(self, key, b, compute):
        return compute()

    monkeypatch.setattr(contamination._NominalMoments, "_lookup", recompute)
    monkeypatch.setattr(contamination, "_SWEEPS", {})
    fresh = contamination.contamination_grid(losses, beta, 0.05, pts, n_jobs=1, progress=False)
    pd.testing.assert_frame_equal(kept, fresh, check_exact=True)


def test_grids_for_several_betas_equal_one_grid_each():
    pts = np.column_stack([np.ones(4), np.linspace(-5, 5, 4)])
    together = contamination.contamination_grids(["lr", "ch"], [[0.0, 4.0], [0.0, 1.0]], 0.05, pts, n_jobs=1,
                                                 progress=False)
    for beta, df in zip([[0.0, 4.0], [0.0, 1.0]], together):
        contamination._SWEEPS.clear()
        pd.testing.assert_frame_equal(df, contamination.contamination_grid(["lr", "ch"], beta, 0.05, pts,
                                                                           progress=False), check_exact=True)


def test_a_sweep_made_earlier_in_the_process_is_reused_only_for_the_same_inputs(monkeypatch):
    pts = np.column_stack([np.ones(3), np.linspace(-5, 5, 3)])
    first = contamination.contamination_grid(["lr", "mlslr:alpha=0.8"], [0.0, 4.0], 0.05, pts, progress=False)
    made = []
    sweep = contamination._sweep

    def counting(*args):
        made.append(args[0])
        return sweep(*args)

    monkeypatch.setattr(contamination, "_sweep", counting)
    again = contamination.contamination_grid(["lr", "mlslr:alpha=0.8"], [0.0, 4.0], 0.05, pts, progress=False)
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    assert made == []
    # Another eps, beta, point set or alpha is another sweep.
    contamination.contamination_grid(["mlslr:alpha=0.8"], [0.0, 4.0], 0.1, pts, progress=False)
    contamination.contamination_grid(["mlslr:alpha=0.8"], [0.0, 2.0], 0.05, pts, progress=False)
    contamination.contamination_grid(["mlslr:alpha=0.8"], [0.0, 4.0], 0.05, pts[:2], progress=False)
    contamination.contamination_grid(["mlslr:alpha=0.6"], [0.0, 4.0], 0.05, pts, progress=False)
    assert len(made) == 4 * 2  # two labels each


def test_a_user_loss_is_never_taken_from_another_sweep():
    from lsis_robust.losses import MLSLR

    class Renamed(MLSLR):  # same parameters, but the type alone does not say what its phi is
        pass

    assert contamination._sweep_key(Renamed(alpha=0.8), np.zeros(2), 0.05, np.ones((1, 2)), 1.0, None) is None
    assert contamination._sweep_key(MLSLR(alpha=0.8), np.zeros(2), 0.05, np.ones((1, 2)), 1.0, None) is not None


def test_grids_reject_bad_betas_before_work():
    pts = np.array([[1.0, 0.0]])
    with pytest.raises(ValueError):
        contamination.contamination_grids(["lr"], [[0.0, 4.0], [0.0, np.nan]], 0.05, pts, progress=False)
    with pytest.raises(ValueError):
        contamination.contamination_grids(["lr"], [[0.0, 4.0, 1.0]], 0.05, pts, progress=False)


SMALL_CLI = ["robustness", "--betas", "0,4", "--methods", "lr", "--xc2=-1,1", "--n", "200", "--m", "100",
             "--no-population", "--no-cache", "--no-progress"]


def test_studies_default_job_count_comes_from_the_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LSIS_ROBUST_N_JOBS", "3")
    assert main(SMALL_CLI + ["--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "robustness.provenance.json").read_text())["n_jobs"] == 3
    assert main(SMALL_CLI + ["--out", str(tmp_path), "--n-jobs", "1"]) == 0
    assert json.loads((tmp_path / "robustness.provenance.json").read_text())["n_jobs"] == 1


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_bad_job_count_in_the_environment_is_one_line(tmp_path, monkeypatch, capsys, value):
    monkeypatch.setenv("LSIS_ROBUST_N_JOBS", value)
    for argv in (SMALL_CLI, ["theory-figures", "--only", "fig4", "--points", "3"]):
        assert main(argv + ["--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "LSIS_ROBUST_N_JOBS" in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "o" / "robustness.csv").exists()


def test_help_states_the_default_job_count(capsys):
    for command in ("robustness", "theory-figures"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "LSIS_ROBUST_N_JOBS" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("spec", ["lr", "mlslr:alpha=0.4", "lsqlr", "by", "ch"])
def test_line_search_risk_is_the_same_from_either_integrand(spec):
    """The full step's R comes from the phi, phi', phi'' integrals, the halved steps' from phi's alone."""
    from lsis_robust.theory.asymptotics import resolve_loss
    from lsis_robust.theory.design import moments_at, nominal_design

    nominal = contamination._NominalMoments(resolve_loss(spec), np.array([0.0, 4.0]), nominal_design())
    for b in np.random.default_rng(3).normal(size=(10, 2)) * 3:
        for level in (0, 1):
            full = moments_at(nominal.design, b, nominal.beta, nominal._all, nominal.margins, level).m0[0]
            phi = moments_at(nominal.design, b, nominal.beta, nominal._phi, nominal.margins, level).m0[0]
            assert full == phi
