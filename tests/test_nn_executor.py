"""The deep-net runs as tasks: the same metrics for any number of workers or backend, resume, GPU assignment.

The tiny configuration (2 methods x 2 trials x 2 epochs of the digits CNN)
keeps each comparison to a few seconds; every run uses one thread, as the
digits default does, so bit-identity is the expected outcome, not luck.
"""
import os
import time

import pandas as pd
import pytest
import torch

from lsis_robust.cli import main
from lsis_robust.nn import data as D
from lsis_robust.nn import runner
from lsis_robust.nn.methods import parse_methods
from lsis_robust.nn.runner import claim_slot, cluster_device, default_workers, run_benchmark, worker_device
from lsis_robust.nn.train import TrainConfig, train_run
from lsis_robust.studies._grid import N_JOBS_ENV, map_tasks

METHODS = "lr,mlslr-0.4"
CFG = TrainConfig(model="small_cnn", epochs=2, batch_size=128, lr=0.1)
# Wall-clock measurements, the only columns allowed to differ between two runs of the same configuration.
TIMING = ["images_per_s", "epoch_time", "train_time", "eval_time"]


def _metrics(df):
    return df.drop(columns=[c for c in TIMING if c in df]).reset_index(drop=True)


@pytest.fixture(scope="module")
def digits():
    return D.load_digits()


@pytest.fixture(scope="module")
def serial(digits, tmp_path_factory):
    runs, curves, _ = run_benchmark(digits, parse_methods(METHODS), CFG, 2, "cpu",
                                    tmp_path_factory.mktemp("serial"), n_jobs=1, threads=1)
    return runs, curves


def test_two_worker_processes_give_the_serial_metrics_bit_for_bit(digits, serial, tmp_path):
    runs, curves, _ = run_benchmark(digits, parse_methods(METHODS), CFG, 2, "cpu", tmp_path, n_jobs=2, threads=1)
    assert list(zip(runs.method, runs.trial)) == [("lr", 0), ("mlslr-0.4", 0), ("lr", 1), ("mlslr-0.4", 1)]
    pd.testing.assert_frame_equal(_metrics(runs), _metrics(serial[0]), check_exact=True)
    pd.testing.assert_frame_equal(_metrics(curves), _metrics(serial[1]), check_exact=True)
    # Each run checkpointed itself, as a complete run.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr-trial0.pt", "lr-trial1.pt", "mlslr-0.4-trial0.pt",
                                                          "mlslr-0.4-trial1.pt"]
    # The trials differ (their seeds do), so the comparison above is not between copies of one run.
    assert runs.test_tsr.iloc[0] != runs.test_tsr.iloc[2]


def test_an_interrupted_parallel_run_resumes_to_the_serial_metrics(digits, serial, tmp_path):
    methods = parse_methods(METHODS)
    # The state an interruption leaves: one run complete, two cut after their first epoch, one never started
    # (trained with the runs' thread budget, as the interrupted run would have been).
    with runner._thread_budget(1):
        train_run(methods[0], D.DeviceData(digits, "cpu"), CFG, 0, tmp_path)
        train_run(methods[1], D.DeviceData(digits, "cpu"), CFG, 0, tmp_path, stop_after=1)
        train_run(methods[0], D.DeviceData(digits, "cpu"), CFG, 1, tmp_path, stop_after=1)
    stamp = (tmp_path / "lr-trial0.pt").stat().st_mtime_ns
    runs, curves, _ = run_benchmark(digits, methods, CFG, 2, "cpu", tmp_path, resume=True, n_jobs=2, threads=1)
    pd.testing.assert_frame_equal(_metrics(runs), _metrics(serial[0]), check_exact=True)
    pd.testing.assert_frame_equal(_metrics(curves), _metrics(serial[1]), check_exact=True)
    assert (tmp_path / "lr-trial0.pt").stat().st_mtime_ns == stamp  # the complete run was not trained again


def test_a_checkpoint_of_another_configuration_is_refused_before_any_worker_starts(digits, tmp_path):
    methods = parse_methods(METHODS)
    train_run(methods[1], D.DeviceData(digits, "cpu"), CFG, 1, tmp_path, stop_after=1)
    other = TrainConfig(model="small_cnn", epochs=2, batch_size=128, lr=0.05)
    with pytest.raises(ValueError, match="refusing to resume"):
        run_benchmark(digits, methods, other, 2, "cpu", tmp_path, resume=True, n_jobs=2, threads=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlslr-0.4-trial1.pt"]


def test_dask_local_cluster_of_two_processes_writes_the_serial_runs_csv(tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    from dask.distributed import LocalCluster

    # The digits default scaled down: its model, batch size, rate and seed; fewer methods, epochs and trials.
    common = ["nn", "--methods", METHODS, "--epochs", "2", "--trials", "2", "--no-progress"]
    assert main([*common, "--n-jobs", "1", "--out", str(tmp_path / "serial")]) == 0
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert main([*common, "--backend", "dask", "--scheduler", cluster.scheduler_address,
                     "--out", str(tmp_path / "dask")]) == 0
    err = capsys.readouterr().err
    assert "in dask cluster tcp://" in err
    serial = pd.read_csv(tmp_path / "serial" / "runs.csv")
    dask = pd.read_csv(tmp_path / "dask" / "runs.csv")
    assert len(serial) == 4
    pd.testing.assert_frame_equal(_metrics(dask), _metrics(serial), check_exact=True)


def test_progress_is_a_bar_over_runs_with_a_line_per_finished_run(digits, capsys):
    one = TrainConfig(model="small_cnn", epochs=1)
    run_benchmark(digits, parse_methods("lr"), one, 2, "cpu", progress=True, threads=1)
    err = capsys.readouterr().err
    assert "lr trial 0: test TSR" in err and "lr trial 1: test TSR" in err and "s on cpu" in err
    assert "runs:" in err
    run_benchmark(digits, parse_methods("lr"), one, 1, "cpu", progress=False, threads=1)
    assert capsys.readouterr().err == ""


def test_the_executor_uses_separate_processes():
    pids = {pid for _, pid in map_tasks(_pid_after, [(0.5,)] * 4, n_jobs=2)}
    assert len(pids) == 2 and os.getpid() not in pids


def _pid_after(seconds):
    time.sleep(seconds)
    return os.getpid()


def _slot_of_worker(lock_dir, seconds):
    time.sleep(seconds)
    return os.getpid(), claim_slot(lock_dir)


def test_worker_processes_claim_distinct_slots(tmp_path):
    got = [r for _, r in map_tasks(_slot_of_worker, [(tmp_path, 0.5)] * 6, n_jobs=2)]
    slot_of = {}
    for pid, slot in got:
        assert slot_of.setdefault(pid, slot) == slot  # a worker keeps its slot
    assert sorted(slot_of.values()) == [0, 1]


def test_slots_are_exclusive_and_freed_with_their_holder(tmp_path, monkeypatch):
    # One process stands in for several workers: flock locks conflict between open files even in one process.
    monkeypatch.setattr(runner, "_SLOT", None)
    assert claim_slot(tmp_path) == 0
    assert claim_slot(tmp_path) == 0  # the holder keeps its slot
    held = runner._SLOT
    monkeypatch.setattr(runner, "_SLOT", None)  # as if another process asked
    assert claim_slot(tmp_path) == 1
    monkeypatch.setattr(runner, "_SLOT", None)
    assert claim_slot(tmp_path) == 2
    os.close(held[2])  # slot 0's holder exits
    monkeypatch.setattr(runner, "_SLOT", None)
    assert claim_slot(tmp_path) == 0


def test_each_worker_gets_one_gpu_of_a_faked_device_list(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    devices = []
    for _ in range(5):  # five workers on a machine with three GPUs
        monkeypatch.setattr(runner, "_SLOT", None)
        devices.append(worker_device("cuda", tmp_path))
    assert [str(d) for d in devices] == ["cuda:0", "cuda:1", "cuda:2", "cuda:0", "cuda:1"]
    assert worker_device("cuda:2", tmp_path) == torch.device("cuda:2")  # an explicit GPU is kept
    assert worker_device("cpu", tmp_path) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setattr(runner, "_SLOT", None)
    with pytest.raises(ValueError, match="no CUDA device"):
        worker_device("cuda", tmp_path)


def test_default_workers_one_per_gpu_else_the_cores(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert default_workers("cuda") == 4
    monkeypatch.setenv(N_JOBS_ENV, "3")
    assert default_workers("cpu") == 3
    assert default_workers(torch.device("cuda")) == 4


class _FakeClient:
    def __init__(self, answers):
        self.answers = answers

    def run(self, func):
        assert func is torch.cuda.is_available
        return self.answers


def test_device_on_a_dask_cluster_is_decided_by_its_workers():
    gpus = _FakeClient({"tcp://a:1": True, "tcp://b:1": True})
    cpus = _FakeClient({"tcp://a:1": False})
    mixed = _FakeClient({"tcp://a:1": True, "tcp://b:1": False})
    assert cluster_device(gpus, "auto") == torch.device("cuda")
    assert cluster_device(cpus, "auto") == torch.device("cpu")
    assert cluster_device(mixed, "cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"some dask workers have CUDA and these do not: \['tcp://b:1'\]"):
        cluster_device(mixed, "auto")
    with pytest.raises(ValueError, match="find no CUDA device"):
        cluster_device(cpus, "cuda")
    with pytest.raises(ValueError, match="no workers"):
        cluster_device(_FakeClient({}), "auto")
    with pytest.raises(ValueError, match="auto, cpu or cuda"):
        cluster_device(gpus, "tpu")


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "2"])
def test_bad_thread_budget_is_refused(digits, threads):
    with pytest.raises((ValueError, TypeError), match="threads must be an integer >= 1"):
        run_benchmark(digits, parse_methods("lr"), CFG, 1, "cpu", threads=threads)


@pytest.mark.parametrize("argv, msg", [
    (["--backend", "dask"], "needs a scheduler address"),
    (["--scheduler", "tcp://127.0.0.1:9"], "applies only to backend='dask'"),
    (["--backend", "dask", "--scheduler", "tcp://127.0.0.1:9", "--n-jobs", "2"],
     "--n-jobs applies to --backend joblib"),
    (["--backend", "dask", "--scheduler", "tcp://127.0.0.1:9"], "cannot reach the dask scheduler"),
    (["--n-jobs", "0"], "expected an integer >= 1"),
    (["--backend", "spark"], "invalid choice"),
])
def test_execution_options_fail_in_one_line_before_any_work(tmp_path, capsys, argv, msg):
    out = tmp_path / "o"
    rc = main(["nn", "--epochs", "1", "--trials", "1", "--methods", "lr", "--no-progress", "--out", str(out), *argv])
    err = capsys.readouterr().err
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith(("usage:", " "))]
    assert rc == 2 and len(lines) == 1 and msg in lines[0] and "Traceback" not in err
    assert not out.exists()


def test_device_data_layout_does_not_depend_on_how_the_arrays_were_made(digits):
    import pickle

    # sklearn's split leaves the channel axis of the digits with stride 1; a pickled copy has stride 64.
    copy = pickle.loads(pickle.dumps(digits))
    assert digits.x_test.strides != copy.x_test.strides
    a, b = D.DeviceData(digits, "cpu"), D.DeviceData(copy, "cpu")
    assert a.x_test.stride() == b.x_test.stride() == (64, 64, 8, 1)
    assert a.x_train.stride() == b.x_train.stride() == (64, 64, 8, 1)
