"""lsis_robust.bench.gpu_check: its CPU test mode end to end, and its checks on CUDA where there is one."""
import json

import pytest
import torch

from lsis_robust.bench import gpu_check as _gpu_check


@pytest.fixture
def gpu_check():
    return _gpu_check


def test_cpu_mode_writes_record(gpu_check, tmp_path):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rc = gpu_check.main(["--cpu", "--epochs", "1", "--n-train", "16", "--batch-size", "8", "--out", str(tmp_path)])
    finally:
        torch.set_num_threads(before)
    rec = json.loads((tmp_path / "gpu_check_cpu.json").read_text())
    assert rc == 0 and rec["ok"] and rec["mode"] == "cpu-test"
    assert len(rec["loss_checks"]) == 20 and all(r["bf16_finite"] for r in rec["loss_checks"])
    assert max(r["max_abs_logit_bf16"] for r in rec["loss_checks"]) > 1e4
    assert rec["step_check"]["update_rel_err"] < gpu_check.STEP_RTOL
    assert rec["timing_summary"]["lslr-0.4"]["images_per_s"] > 0
    md = (tmp_path / "gpu_check_cpu.md").read_text()
    assert "all checks passed: **True**" in md and "| lslr-0.4 |" in md
    assert not (tmp_path / "gpu_check.json").exists()  # a CPU run never overwrites the GPU record


def test_refuses_gpu_mode_without_cuda(gpu_check, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(SystemExit):
        gpu_check.main(["--out", str(tmp_path)])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA; the CPU path is tested above")
def test_cuda_losses_and_step_match_cpu_float64(gpu_check):
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    assert all(r["ok"] for r in gpu_check.check_losses(dev))
    assert gpu_check.check_step(dev, size=32, batch=16)["ok"]
