"""Training loop, checkpoint/resume, the CIFAR path on a generated archive, and the ``lsis-robust nn`` CLI."""
import io
import json

import numpy as np
import pandas as pd
import pytest
import torch

from lsis_robust.cli import main
from lsis_robust.nn import data as D
from lsis_robust.nn.methods import parse_method, parse_methods
from lsis_robust.nn.runner import run_benchmark, summarise_run
from lsis_robust.nn.tables import compare
from lsis_robust.nn.train import TrainConfig, Trainer, checkpoint_path, resolve_device, train_run

from test_nn_data import make_cifar

TIMING = ("train_time", "eval_time", "images_per_s")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny convolutions gain nothing from threads, and threads waiting on each other are slow on a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits():
    return D.DeviceData(D.load_digits(), "cpu")


def _metrics(history):
    return [{k: v for k, v in row.items() if k not in TIMING} for row in history]


@pytest.mark.parametrize("name", ["lslr-9.4/9", "mlslr-0.4"])
def test_resume_equals_uninterrupted(digits, tmp_path, name):
    m = parse_method(name)
    cfg = TrainConfig(model="small_cnn", epochs=4, batch_size=128, lr=0.1, seed=3)
    full = train_run(m, digits, cfg, trial=1, checkpoint_dir=tmp_path / "a")
    cut = train_run(m, digits, cfg, trial=1, checkpoint_dir=tmp_path / "b", stop_after=2)
    assert cut.epoch == 2
    # The learning rate drops after epoch 2 of 4: the resumed part crosses a milestone.
    resumed = train_run(m, digits, cfg, trial=1, checkpoint_dir=tmp_path / "b", resume=True)
    assert _metrics(resumed.history) == _metrics(full.history)  # bit-identical, not approximately
    for (k, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), k
    assert [r["lr"] for r in full.history] == [0.1, 0.1, pytest.approx(0.01), pytest.approx(0.001)]
    # A finished checkpoint keeps only metrics; resuming it trains nothing and returns them.
    done = torch.load(checkpoint_path(tmp_path / "b", m, 1), weights_only=True)
    assert done["complete"] and "model" not in done
    again = train_run(m, digits, cfg, trial=1, checkpoint_dir=tmp_path / "b", resume=True)
    assert _metrics(again.history) == _metrics(full.history)


def test_training_learns_and_records_rlogit_metrics(digits):
    cfg = TrainConfig(model="small_cnn", epochs=2, batch_size=64, lr=0.1)
    tr = train_run(parse_method("lslr-0.2"), digits, cfg)
    h = tr.history
    assert h[-1]["test_ttr"] < 0.5  # far better than the 0.9 of guessing among 10 classes
    assert {"train_opder", "train_oper", "train_msor", "test_opder", "test_oper", "test_msor"} <= set(h[-1])
    row = summarise_run(tr.method, 0, 0, h)
    assert row["tsr_epoch"] in (1, 2) and row["test_tsr"] == min(r["test_tsr"] for r in h)
    assert row["test_ttr"] == min(r["test_ttr"] for r in h)
    # The evaluation is exact: recompute the test TTR and TSR in one pass without batching.
    tr.model.eval()
    with torch.no_grad():
        logits = tr.model(next(digits.batches("test", 10_000))[0]).double()
    y = digits.y_test
    assert (logits.argmax(1) != y).double().mean().item() == h[-1]["test_ttr"]
    assert tr.method.loss(logits, y).item() == pytest.approx(h[-1]["test_tsr"], rel=1e-12)


def test_argmin_labels_for_lslr_above_one(digits):
    tr = Trainer(parse_method("lslr-10/9"), digits, TrainConfig(model="small_cnn", epochs=1))
    x, y = digits.train_batch(torch.arange(8), None)
    _, errors = tr.step(x, y)
    tr.model.train()
    assert tr.method.argmin_labels and 0 <= int(errors) <= 8


def test_refuses_checkpoint_of_another_configuration(tmp_path):
    data = D.load_digits()
    methods = parse_methods("lr")
    cfg = TrainConfig(model="small_cnn", epochs=2, lr=0.1)
    train_run(methods[0], D.DeviceData(data, "cpu"), cfg, 0, tmp_path, stop_after=1)
    other = TrainConfig(model="small_cnn", epochs=2, lr=0.05)
    with pytest.raises(ValueError, match=r"refusing to resume .*train\.lr: checkpoint has 0\.1, this run has 0\.05"):
        run_benchmark(data, methods, other, 1, "cpu", tmp_path, resume=True)
    (tmp_path / "lr-trial0.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read checkpoint"):
        run_benchmark(data, methods, cfg, 1, "cpu", tmp_path, resume=True)


def test_cifar_path_on_generated_archive(tmp_path):
    md5, _, _ = make_cifar(tmp_path)
    data = D.load_cifar10(tmp_path, md5=md5)
    cfg = TrainConfig(model="small_cnn", epochs=2, batch_size=8, lr=0.05)
    runs, curves, _ = run_benchmark(data, parse_methods("lslr-0.4,mlslr-0.4"), cfg, 1, "cpu", tmp_path / "ck")
    assert list(runs.method) == ["lslr-0.4", "mlslr-0.4"] and len(curves) == 4
    assert runs.test_ttr.between(0, 1).all() and np.isfinite(runs.train_opder.iloc[0])
    # ResNet-18 itself: one step on the generated CIFAR images in the CIFAR pipeline (crop 4, flip).
    tr = Trainer(parse_method("mlslr-0.4"), D.DeviceData(data, "cpu"), TrainConfig(model="resnet18", epochs=1))
    before = tr.model.fc.weight.detach().clone()
    loss, _ = tr.step(*tr.data.train_batch(torch.arange(4), tr.aug_gen))
    assert torch.isfinite(loss) and not torch.equal(before, tr.model.fc.weight)


def test_config_and_device_validation():
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        TrainConfig(model="small_cnn", epochs=0)
    with pytest.raises(ValueError, match="batch_size must be at least 2"):
        TrainConfig(model="small_cnn", epochs=1, batch_size=1)
    with pytest.raises(ValueError, match="lr must be a finite number"):
        TrainConfig(model="small_cnn", epochs=1, lr=float("inf"))
    with pytest.raises(ValueError, match="auto, cpu or cuda"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda")
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="trials must be a positive integer"):
        run_benchmark(D.load_digits(), parse_methods("lr"), TrainConfig(model="small_cnn", epochs=1), 0, "cpu")


def test_rank_sum_marks():
    assert compare([1, 2, 3, 4], [5, 6, 7, 8])[0] < 0.05 < compare([1, 2, 3, 4], [5, 6, 7, 8])[1]
    assert min(compare([1.0], [2.0])) > 0.05  # one trial can never be significant


def test_cli_end_to_end(tmp_path, capsys):
    out = tmp_path / "res"
    rc = main(["nn", "--epochs", "1", "--trials", "3", "--threads", "1", "--methods", "lr,lslr-0.4,mlslr-0.4,lslr-10/9,mlslr-10/9",
               "--out", str(out), "--no-progress", "--device", "cpu", "--batch-size", "256"])
    assert rc == 0
    for stem in ("table2", "table3", "table4", "table5", "baselines"):
        for ext in ("md", "csv", "tex"):
            assert (out / f"{stem}.{ext}").stat().st_size > 0
    assert (out / "learning_curves.png").read_bytes()[:4] == b"\x89PNG"
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 15 and set(runs.trial) == {0, 1, 2}
    t2 = pd.read_csv(out / "table2.csv")
    assert set(t2.metric) == {"TSR", "TTR"} and (t2.n_trials == 3).all()
    assert r"\textbf" in (out / "table2.tex").read_text() or not t2.better.any()
    prov = json.loads((out / "nn.provenance.json").read_text())
    assert prov["device"] == "cpu" and prov["images_per_s"] > 0 and prov["epoch_time_s"] > 0
    assert prov["train_config"]["epochs"] == 1 and prov["seed"] == 0
    assert list((out / "checkpoints").glob("*.pt"))
    # Resuming the finished run reproduces the tables exactly.
    before = (out / "runs.csv").read_text()
    assert main(["nn", "--epochs", "1", "--trials", "3", "--methods", "lr,lslr-0.4,mlslr-0.4,lslr-10/9,mlslr-10/9",
                 "--out", str(out), "--no-progress", "--device", "cpu", "--batch-size", "256", "--resume"]) == 0
    cols = ["method", "trial", "test_tsr", "test_ttr", "tsr_epoch", "ttr_epoch"]
    pd.testing.assert_frame_equal(pd.read_csv(out / "runs.csv")[cols], pd.read_csv(io.StringIO(before))[cols])
    # Another learning rate against the same checkpoints: refused before training.
    assert main(["nn", "--epochs", "1", "--trials", "3", "--methods", "lr", "--out", str(out), "--no-progress",
                 "--batch-size", "256", "--lr", "0.2", "--resume"]) == 2
    assert "refusing to resume" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--methods", "lslr-1.2"], "outside the valid range"),
    (["--methods", "hinge"], "unknown method"),
    (["--dataset", "cifar10", "--data-dir", "{tmp}"], "looked for"),
    (["--dataset", "cifar10", "--data-dir", "{tmp}/x", "--download"], None),
    (["--data-dir", "{tmp}"], "apply to --dataset cifar10 only"),
    (["--resume", "--checkpoint-dir", "{tmp}/none"], "does not exist"),
    (["--batch-size", "1"], "at least 2"),
    (["--seed", "-1"], "--seed: expected an integer >= 0"),
])
def test_cli_bad_input(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.setattr(D, "CIFAR10_URL", (tmp_path / "absent.tar.gz").as_uri())
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(["nn", "--no-progress", "--out", str(tmp_path / "o")] + argv) == 2
    assert (message or "could not download") in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing trained or written


def test_cli_corrupt_archive(tmp_path, capsys):
    make_cifar(tmp_path)
    assert main(["nn", "--dataset", "cifar10", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "md5" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised where there is no CUDA")
def test_cli_cuda_requested_without_cuda(tmp_path, capsys):
    assert main(["nn", "--device", "cuda", "--out", str(tmp_path / "o")]) == 2
    assert "no CUDA device" in capsys.readouterr().err
