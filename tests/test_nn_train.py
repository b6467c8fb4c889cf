"""Training loop, checkpoint/resume, the CIFAR path on a generated archive, and the ``lsis-robust nn`` CLI."""
import io
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from lsis_robust.cli import main
from lsis_robust.nn import data as D
from lsis_robust.nn.methods import parse_method, parse_methods
from lsis_robust.nn.runner import run_benchmark, summarise_run
from lsis_robust.nn.tables import compare
from lsis_robust.nn.train import (CHANGE_MAX, PROGRESS_MIN, TrainConfig, Trainer, checkpoint_path, convergence,
                                  reference_risks, resolve_device, train_run, window_epochs)

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
    with pytest.raises(ValueError, match="epochs=0 is invalid: epochs must be an integer >= 1"):
        TrainConfig(model="small_cnn", epochs=0)
    with pytest.raises(ValueError, match=r"batch_size must be an integer >= 2 \(batch norm needs two examples\)"):
        TrainConfig(model="small_cnn", epochs=1, batch_size=1)
    with pytest.raises(ValueError, match="lr must be a finite number"):
        TrainConfig(model="small_cnn", epochs=1, lr=float("inf"))
    with pytest.raises(ValueError, match="auto, cpu or cuda"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda")
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="trials=0 is invalid: trials must be an integer >= 1"):
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


# -- convergence diagnostic ----------------------------------------------------------------------------------

def _smoothed_entropy(alpha, k):
    """Closed form of a perfect fit's LSLR/MLSLR loss: the entropy of s_alpha(t) (0 log 0 = 0)."""
    w = np.array([1 - alpha + alpha / k] + [alpha / k] * (k - 1))
    w = w[w > 0]
    return float(-(w * np.log(w)).sum())


@pytest.mark.parametrize("k", [3, 10])
@pytest.mark.parametrize("name", ["lr", "lsqlr", "lslr-0.2", "lslr-0.8", "lslr-9.2/9", "mlslr-0.4", "mlslr-0.8",
                                  "mlslr-9.2/9", "lslr-10/9"])
def test_reference_risks_match_closed_forms(name, k):
    m = parse_method(name.replace("9.2/9", "1.02").replace("10/9", "1.1") if k == 3 else name, n_classes=k)
    untrained, fit = reference_risks(m, k)
    # Equal logits: softmax uniform, so ln K for every log loss; LSQLR (1 - 1/K)^2 + (K - 1)/K^2 = (K - 1)/K.
    assert untrained == pytest.approx((k - 1) / k if m.kind == "lsqlr" else math.log(k), rel=1e-14)
    expected = 0.0 if m.alpha is None else _smoothed_entropy(m.alpha, k)
    assert fit == pytest.approx(expected, abs=1e-10)
    assert fit < untrained


def _hist(tsrs, untrained=2.0, fit=1.0, evaluated=None):
    return [{"epoch": i + 1, "train_tsr": v if evaluated is None or i + 1 in evaluated else np.nan,
             "tsr_untrained": untrained, "tsr_fit": fit} for i, v in enumerate(tsrs)]


def test_convergence_rule_on_hand_made_histories():
    # 20 epochs: window w = 2, so epochs 18 and 20 are compared; the gap untrained - fit is 1.
    flat = [2.0 - 0.9 * (1 - 0.5 ** i) for i in range(1, 21)]
    d = convergence(_hist(flat))
    assert d["window_epochs"] == 2
    assert d["train_progress"] == pytest.approx(0.9 * (1 - 0.5 ** 20))
    assert d["train_last_change"] == pytest.approx(0.9 * (0.5 ** 18 - 0.5 ** 20))
    assert d["converged"] and not d["at_untrained"]
    # Flat but stalled halfway (e.g. the step schedule froze a slow method): progress fails.
    stalled = convergence(_hist([1.5] * 20))
    assert stalled["train_progress"] == pytest.approx(0.5) and stalled["train_last_change"] == 0
    assert not stalled["converged"] and not stalled["at_untrained"]
    # Near the fit but still falling by 2% of the gap over the window: change fails.
    moving = convergence(_hist([1.2] * 17 + [1.12, 1.11, 1.10]))
    assert moving["train_last_change"] == pytest.approx(0.02) and not moving["converged"]
    # Sitting at the untrained value (MLSLR at alpha near 1 on a short budget).
    untrained = convergence(_hist([2.0 - 1e-4] * 20))
    assert untrained["at_untrained"] and not untrained["converged"]
    # One epoch: the window starts before training, at the untrained value.
    one = convergence(_hist([1.05]))
    assert one["window_epochs"] == 1 and one["train_last_change"] == pytest.approx(0.95) and not one["converged"]
    # A run cut short of its window has no diagnostic, and is not called converged.
    cut = convergence(_hist([1.0] * 20, evaluated={20}))
    assert math.isnan(cut["train_last_change"]) and not cut["converged"]
    bare = convergence([{"epoch": 1, "tsr_untrained": 2.0, "tsr_fit": 1.0}])  # training set never evaluated
    assert math.isnan(bare["train_tsr"]) and not bare["converged"]
    # A loss whose minimum is at equal logits leaves nothing to measure.
    none = convergence(_hist([1.0] * 5, untrained=1.0, fit=1.0))
    assert math.isnan(none["train_progress"]) and none["at_untrained"] and not none["converged"]
    with pytest.raises(ValueError, match="at least one epoch"):
        convergence([])
    assert [window_epochs(e) for e in (1, 9, 10, 11, 20, 150)] == [1, 1, 1, 2, 2, 15]


def test_trainer_records_exact_training_tsr_on_the_window(digits):
    cfg = TrainConfig(model="small_cnn", epochs=11, batch_size=256, lr=0.1)
    tr = train_run(parse_method("mlslr-0.4"), digits, cfg)
    h = pd.DataFrame(tr.history)
    # w = 2: epochs 9, 10 and 11 are evaluated, the others are not.
    assert ["train_tsr" in r for r in tr.history] == [False] * 8 + [True] * 3
    tr.model.eval()
    with torch.no_grad():
        x, y = next(digits.batches("train", 10_000))
        exact = tr.method.loss(tr.model(x).double(), y).item()
    assert h.train_tsr.iloc[-1] == pytest.approx(exact, rel=1e-12)
    row = summarise_run(tr.method, 0, 0, tr.history)
    assert row["train_tsr"] == h.train_tsr.iloc[-1] and row["tsr_untrained"] == pytest.approx(math.log(10))
    assert row["converged"] == (row["train_progress"] >= PROGRESS_MIN and abs(row["train_last_change"]) <= CHANGE_MAX)
    # LSLR evaluates its training set every epoch (R-logit metrics), so every epoch has a training TSR.
    lslr = train_run(parse_method("lslr-0.4"), digits, TrainConfig(model="small_cnn", epochs=3, batch_size=256))
    assert all(np.isfinite(r["train_tsr"]) and "train_msor_eq30" in r for r in lslr.history)


def test_unconverged_cells_are_marked_and_never_bold(tmp_path):
    from lsis_robust.nn.tables import DAGGER, write_results

    rows = []
    for t in range(4):
        for kind, alpha, tsr_, conv in (("lslr", 0.8, 2.19, True), ("mlslr", 0.8, 2.21, False),
                                        ("lslr", 0.4, 1.50, True), ("mlslr", 0.4, 1.45, True)):
            row = {"method": f"{kind}-{alpha}", "kind": kind, "alpha": alpha, "trial": t,
                   "test_tsr": tsr_ + 1e-4 * t, "test_ttr": 0.01 + 1e-3 * t, "converged": conv or t > 0}
            if kind == "lslr":
                row.update({f"{s}_{k}": 0.1 for s in ("train", "test") for k in ("opder", "oper", "msor",
                                                                                 "msor_eq30")})
            rows.append(row)
    runs = pd.DataFrame(rows)
    hist = pd.DataFrame([{"method": r["method"], "trial": r["trial"], "epoch": 1, "test_ttr": 0.1,
                          "train_loss": 1.0} for r in rows])
    write_results(runs, hist, tmp_path, "hand-made")
    t2 = pd.read_csv(tmp_path / "table2.csv")
    tsr_rows = t2[t2.metric == "TSR"].set_index(["method", "alpha"])
    # alpha = 0.8: LSLR is lower with p < 0.05, but one MLSLR trial did not converge: no winner.
    assert tsr_rows.loc[("LSLR", 0.8), "p_better"] < 0.05 and not tsr_rows.loc[("LSLR", 0.8), "better"]
    assert tsr_rows.loc[("MLSLR", 0.8), "n_converged"] == 3 and not tsr_rows.loc[("MLSLR", 0.8), "converged"]
    assert tsr_rows.loc[("LSLR", 0.8), "n_converged"] == 4 and tsr_rows.loc[("LSLR", 0.8), "converged"]
    # alpha = 0.4: both converged, MLSLR lower: bold as before.
    assert tsr_rows.loc[("MLSLR", 0.4), "better"] and not tsr_rows.loc[("LSLR", 0.4), "better"]
    md, tex = (tmp_path / "table2.md").read_text(), (tmp_path / "table2.tex").read_text()
    cells = {(r[1].strip(), r[2].strip()): r[3:5] for r in (line.split("|") for line in md.splitlines())
             if len(r) > 5 and r[1].strip() in ("TSR", "TTR")}
    assert cells[("TSR", "MLSLR")][1].strip().endswith(DAGGER) and cells[("TTR", "MLSLR")][1].strip().endswith(DAGGER)
    assert "**" not in cells[("TSR", "LSLR")][1] and cells[("TSR", "MLSLR")][0].strip().startswith("**1.450")
    assert md.count(DAGGER) == 3 and "never bold" in md  # two MLSLR cells + the footnote
    assert r"$^\dagger$" in tex and "never bold" in tex
    t3 = pd.read_csv(tmp_path / "table3.csv")
    assert t3.converged.all() and {"MSoR (eq. 30 as printed)", "MSoR (mean over out-of-range entries)"} <= set(t3.metric)
    assert DAGGER not in (tmp_path / "table3.md").read_text()
    with pytest.raises(ValueError, match="converged"):
        write_results(runs.drop(columns="converged"), hist, tmp_path, "no flag")
