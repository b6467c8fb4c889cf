import numpy as np
import pandas as pd
import pytest

from lsis_robust.studies._grid import Task, run_grid, seed_sequence
from lsis_robust.studies.efficiency import efficiency_grid, efficiency_task, run_efficiency
from lsis_robust.studies.robustness import robustness_grid, run_robustness

SMALL_EFF = dict(betas=[(0, 1), (1, 2)], sizes=[30, 60], methods=["lr", "mlslr:alpha=0.6", "ch"], n_trials=6,
                 m=500)
SMALL_ROB = dict(betas=[(0, 4)], methods=["lr", "lsqlr"], xc2=[-10, -2, 3], n=600, m=400)


def test_seeds_depend_on_coordinates_only():
    a = seed_sequence(5, ((0, 1), 25)).generate_state(4)
    assert np.array_equal(a, seed_sequence(5, ((0, 1), 25)).generate_state(4))
    assert not np.array_equal(a, seed_sequence(5, ((0, 1), 50)).generate_state(4))
    assert not np.array_equal(a, seed_sequence(6, ((0, 1), 25)).generate_state(4))


def test_joblib_jobs_and_dask_give_identical_results():
    pytest.importorskip("dask.distributed")
    from dask.distributed import LocalCluster

    one, _ = run_efficiency(**SMALL_EFF, n_jobs=1, progress=False)
    two, _ = run_efficiency(**SMALL_EFF, n_jobs=2, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        dk, _ = run_efficiency(**SMALL_EFF, backend="dask", scheduler=cluster.scheduler_address, progress=False)
    assert one.equals(two) and one.equals(dk)
    # Order of tasks does not matter either.
    tasks = efficiency_grid(**SMALL_EFF)
    fwd = run_grid(efficiency_task, tasks, progress=False)
    rev = run_grid(efficiency_task, tasks[::-1], progress=False)[::-1]
    for a, b in zip(fwd, rev):
        assert np.array_equal(a["beta_hat"], b["beta_hat"])


def test_methods_share_the_same_samples():
    tasks = efficiency_grid(betas=[(0, 2)], sizes=[40], methods=["lr", "mlslr:alpha=0.2"], n_trials=3, m=100)
    assert len(tasks) == 1 and tasks[0].params["methods"] == ["lr", "mlslr:alpha=0.2"]
    res = run_grid(efficiency_task, tasks, progress=False)[0]
    assert res["beta_hat"].shape == (2, 3, 2) and res["sob"].shape == res["ok"].shape == (2, 3)
    # MLSLR with small alpha is close to LR on the same sample, far from it on a different one.
    assert np.abs(res["beta_hat"][0] - res["beta_hat"][1]).max() < 0.5


def test_a_cell_of_several_methods_equals_each_method_alone():
    """Sharing the samples and the loss-free starts across methods changes no bit of any method's result."""
    kw = dict(betas=[(1, 2)], sizes=[30], n_trials=8, m=200)
    methods = ["lr", "mlslr:alpha=0.6", "lsqlr", "ch"]
    [task] = efficiency_grid(methods=methods, **kw)
    together = efficiency_task(task.params, seed_sequence(3, task.seed_key))
    for j, spec in enumerate(methods):
        [alone] = efficiency_grid(methods=[spec], **kw)
        assert alone.seed_key == task.seed_key
        res = efficiency_task(alone.params, seed_sequence(3, alone.seed_key))
        for name, value in res.items():
            assert np.array_equal(value[0], together[name][j]), (spec, name)


def test_fit_batch_losses_equals_fit_batch_per_loss():
    from lsis_robust.fitting import fit_batch, fit_batch_losses
    from lsis_robust.contamination import sample_nominal
    from lsis_robust.registry import parse_loss_spec

    rng = np.random.default_rng(7)
    samples = [sample_nominal(25, [0.5, 3.0], rng) for _ in range(12)]  # small n and a steep beta: some separate
    X = np.stack([s.X for s in samples])
    y = np.stack([s.y_pm for s in samples])
    w = rng.integers(0, 3, size=y.shape).astype(float)
    w[:, 0] = 1.0
    losses = [parse_loss_spec(s) for s in ("by", "lr", "mlslr:alpha=0.4", "lsqlr", "ch", "lr")]
    shared = fit_batch_losses(losses, X, y, w)
    assert any(f.lr_separated.any() for f in shared) and not all(f.lr_separated.all() for f in shared)
    for loss, got in zip(losses, shared):
        ref = fit_batch(loss, X, y, w)
        for field in ("beta", "objective", "converged", "n_iter", "separated", "lr_separated", "hessian"):
            assert np.array_equal(getattr(got, field), getattr(ref, field)), (loss, field)
        assert got.start == ref.start
    with pytest.raises(ValueError, match="non-negative"):
        fit_batch_losses(losses, X, y, -w)
    with pytest.raises(ValueError, match="shape"):
        fit_batch_losses(losses, X, y[:, :-1], w)


_calls = []


def _counting_task(params, ss):
    _calls.append(params["i"])
    return {"x": np.random.default_rng(ss).random()}


def test_cache_resumes_and_results_are_atomic(tmp_path):
    tasks = [Task((i,), {"i": i}) for i in range(4)]
    first = run_grid(_counting_task, tasks, cache_dir=tmp_path, progress=False)
    assert sorted(_calls) == [0, 1, 2, 3]
    (sorted(tmp_path.glob("*.npz"))[0]).unlink()  # as if interrupted before that task finished
    _calls.clear()
    again = run_grid(_counting_task, tasks, cache_dir=tmp_path, progress=False)
    assert len(_calls) == 1
    assert [r["x"] for r in first] == [r["x"] for r in again]
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_cache_is_not_reused_by_changed_code(tmp_path, monkeypatch):
    import lsis_robust.studies._grid as grid

    fingerprint = grid.code_fingerprint()
    assert len(fingerprint) == 64 and int(fingerprint, 16) >= 0
    tasks = [Task((i,), {"i": i}) for i in range(3)]
    run_grid(_counting_task, tasks, cache_dir=tmp_path, progress=False)
    _calls.clear()
    run_grid(_counting_task, tasks, cache_dir=tmp_path, progress=False)
    assert _calls == []  # same code: every task comes from the cache
    monkeypatch.setattr(grid, "code_fingerprint", lambda: "edited source")
    run_grid(_counting_task, tasks, cache_dir=tmp_path, progress=False)
    assert sorted(_calls) == [0, 1, 2]


@pytest.mark.parametrize("kwargs, match", [
    (dict(methods=["nope"]), "not a valid loss spec"),
    (dict(protocol="fast"), "protocol"),
    (dict(sizes=[1]), "at least 2|>= 2"),
    (dict(sizes=[]), "empty"),
    (dict(betas=[]), "empty"),
])
def test_efficiency_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        efficiency_grid(**{**SMALL_EFF, **kwargs})


@pytest.mark.parametrize("kwargs, match", [
    (dict(eps=1.0), r"\[0, 1\)"), (dict(eps=-0.1), r"\[0, 1\)"), (dict(xc2=[]), "empty"),
    (dict(n=1), ">= 2"), (dict(methods=[]), "no methods"),
])
def test_robustness_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        robustness_grid(**{**SMALL_ROB, **kwargs})


def test_backend_errors_before_work():
    with pytest.raises(ValueError, match="cannot reach"):
        run_efficiency(**SMALL_EFF, backend="dask", scheduler="tcp://127.0.0.1:9", progress=False)
    with pytest.raises(ValueError, match="backend"):
        run_efficiency(**SMALL_EFF, backend="spark", progress=False)
    with pytest.raises(ValueError, match="empty"):
        run_grid(efficiency_task, [], progress=False)


def test_robustness_shared_sample_matches_per_problem_fits_and_theory():
    """Each problem's estimate equals a fit on its own sample (nominal rows + k copies of the point)."""
    from lsis_robust.estimators import RobustLogisticRegression
    from lsis_robust.contamination import sample_nominal
    from lsis_robust.studies.robustness import robustness_task

    task = robustness_grid(**SMALL_ROB)[0]
    res = robustness_task(task.params, seed_sequence(0, task.seed_key))
    rng = np.random.default_rng(seed_sequence(0, task.seed_key).spawn(2)[0])
    nominal = sample_nominal(600 - 30, [0, 4], rng)
    for i, (x2, yc) in enumerate([(-10, 1), (-2, 1), (3, 1), (-10, -1), (-2, -1), (3, -1)]):
        X = np.append(nominal.X[:, 1], [x2] * 30)[:, None]
        y = np.append(nominal.y, [(yc + 1) // 2] * 30)
        est = RobustLogisticRegression().fit(X, y)
        assert np.allclose(res["beta_hat"][i], est.params_, atol=1e-6)


def test_paper_findings_in_small_grids():
    """SoB grows with alpha on clean data; large alpha removes LR's bias at an anomalous point."""
    # ARE 0.66 for alpha = 0.8 at beta = (0, 4) (Table I): mean SoB about 20% above LR's, paired samples.
    eff, _ = run_efficiency(betas=[(0, 4)], sizes=[400], methods=["lr", "mlslr:alpha=0.8"], n_trials=60, m=200,
                            progress=False)
    sob = eff.set_index("method").sob_mean
    assert sob["lr"] * 1.08 < sob["mlslr:alpha=0.8"]
    rob, _ = run_robustness(betas=[(0, 4)], methods=["lr", "mlslr:alpha=0.8"], xc2=[-10.0], y_cs=[1], n=3000,
                            m=3000, progress=False)
    r = rob.set_index("method")
    assert r.sob_mean["lr"] > 3 and r.sob_mean["mlslr:alpha=0.8"] < 0.5
    assert r.ttr_mean["lr"] > r.ttr_mean["mlslr:alpha=0.8"] + 0.1


def test_realdata_tables_are_identical_for_any_job_count_and_backend():
    """Breast cancer (d = 31) takes the BLAS path whose sums depend on threading: each task runs on one thread."""
    pytest.importorskip("dask.distributed")
    from dask.distributed import LocalCluster

    from lsis_robust.studies.realdata import run_realdata

    kw = dict(datasets=["vaso", "breast_cancer"], methods=["lr", "lsqlr"], progress=False)
    one = run_realdata(**kw, n_jobs=1)
    two = run_realdata(**kw, n_jobs=2)
    # One worker thread: BLAS's thread limit is per process, so in-process workers must not run side by side.
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        dk = run_realdata(**kw, backend="dask", scheduler=cluster.scheduler_address)
    for a, b, c in zip(one[:3], two[:3], dk[:3]):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        pd.testing.assert_frame_equal(a, c, check_exact=True)
    coef, metrics, low, _ = one
    assert list(coef.dataset.unique()) == ["vaso", "breast_cancer"] and list(metrics.method) == ["lr", "lsqlr"] * 2
    assert coef["term"].map(type).eq(str).all() and metrics["full_converged"].dtype == bool
    assert metrics["n"].tolist() == [39, 39, 569, 569]


def test_realdata_task_round_trips_its_tables_through_the_cache(tmp_path):
    from lsis_robust.studies.realdata import run_realdata

    kw = dict(datasets=["leukemia"], methods=["lr", "mlslr:alpha=0.8"], progress=False)
    fresh = run_realdata(**kw, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 2
    cached = run_realdata(**kw, cache_dir=tmp_path)
    for a, b in zip(fresh[:3], cached[:3]):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.parametrize("kwargs, match", [
    (dict(datasets=["vaso", "vaso"]), "repeated"), (dict(datasets=[]), "no data sets"),
    (dict(datasets=["iris"]), "iris"), (dict(methods=["lr", "nope"]), "nope"),
    (dict(downweight_below=0), "downweight_below"), (dict(n_jobs=0), "n_jobs"),
])
def test_realdata_bad_input(kwargs, match):
    from lsis_robust.studies.realdata import run_realdata

    with pytest.raises(ValueError, match=match):
        run_realdata(**{"datasets": ["leukemia"], "methods": ["lr"], "progress": False, **kwargs})
