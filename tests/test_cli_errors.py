"""User errors at the command line: one line on stderr, a documented exit status, no traceback.

Exit status (see lsis_robust.cli): 2 usage or input error, 1 the command could
not run (file system, internal error), 130 interrupted.  Usage errors found by
argparse or after parsing print argparse's usage line before the error line.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lsis_robust.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _error_lines(err):
    """The lines of stderr that are not argparse's usage block (which starts with 'usage:' and is indented)."""
    lines = err.strip().splitlines()
    if lines and lines[0].startswith("usage:"):
        lines = [ln for ln in lines[1:] if not ln.startswith(" ")]
    return lines


def _run(argv, capsys):
    rc = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = _error_lines(err)
    assert len(lines) == 1, err
    return rc, lines[0], err


def _cli(args, cwd, timeout=120):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "lsis_robust", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


# ------------------------------------------------------------------ garbled lists are usage errors (class 9)

@pytest.mark.parametrize("argv, msg", [
    (["efficiency", "--methods", ""], "--methods"),
    (["efficiency", "--methods", "lr,,by"], "empty item"),
    (["efficiency", "--methods", "lr,mlslr:alpha=0.4,alpha=0.6"], "'alpha' is given twice"),
    (["efficiency", "--methods", "lr,lr"], "listed twice"),
    (["efficiency", "--methods", "mlslr:alpha=0.4,mlslr:alpha=0.40"], "listed twice"),
    (["efficiency", "--methods", "mlslr:"], "ends with ':'"),
    (["efficiency", "--methods", "mlslr:alpha=nan"], "finite"),
    (["efficiency", "--methods", "bogus"], "available losses: by, ch, lr"),
    (["efficiency", "--methods", "userlosses.py:phi"], "looks like an import path"),
    (["efficiency", "--sizes", "30,30"], "'30' is given twice"),
    (["efficiency", "--sizes", "30,"], "empty item"),
    (["efficiency", "--sizes", "30,nan"], "'nan' is not an integer"),
    (["efficiency", "--sizes", "2"], "n=2 is too small for 2 coefficients"),
    (["efficiency", "--betas", "0,4;0,4"], "given twice"),
    (["efficiency", "--betas", "0,4;"], "empty item"),
    (["efficiency", "--betas", "0,inf"], "not a finite number"),
    (["efficiency", "--trials", "0"], "integer >= 1"),
    (["robustness", "--xc2", ","], "empty item"),
    (["robustness", "--xc2", "1,1"], "given twice"),
    (["robustness", "--xc2", "1,inf"], "not a finite number"),
    (["robustness", "--eps", "nan"], "[0, 1)"),
    (["robustness", "--eps", "1"], "[0, 1)"),
    (["robustness", "--protocol", "fast"], "invalid choice"),
    (["robustness", "--protocol", "estimator", "--device", "cpu"], "--protocol paper only"),
    (["realdata", "--datasets", ","], "empty item"),
    (["realdata", "--datasets", "vaso,vaso"], "'vaso' is given twice"),
    (["realdata", "--datasets", "vaso,bogus"], "allowed: vaso, foodstamp, leukemia, breast_cancer"),
    (["are", "--beta", "0,4", "--beta", "0,4"], "given twice"),
    (["are", "--alpha", "0.2", "0.2"], "given twice"),
    (["are", "--alpha", "nan"], "finite"),
    (["are", "--extra", "by", "by"], "given twice"),
    (["are", "--extra", "by:c=0.5,c=1"], "'c' is given twice"),
    (["theory-figures", "--only", "fig3", "fig3"], "given twice"),
    (["theory-figures", "--beta", "0,,4"], "empty item"),
    (["theory-figures", "--eps", "inf"], "[0, 1)"),
    (["nn", "--methods", "lr,,lsqlr"], "empty item"),
    (["nn", "--methods", "lr,lr"], "given twice"),
    (["nn", "--lr", "nan"], "finite"),
    (["compare", "--loss", "lr", "--criteria", "are,are"], "given twice"),
    (["compare", "--loss", "lr", "--criteria", "are,bogus"], "allowed: are, influence"),
    (["compare", "--loss", "lr", "--baselines", "lr,,by"], "empty item"),
    (["reproduce", "--only", "are", "are"], "given twice"),
])
def test_garbled_lists_are_usage_errors(tmp_path, capsys, argv, msg):
    rc, line, err = _run(argv + ["--out", str(tmp_path / "out")] if argv[0] != "reproduce" else argv, capsys)
    assert rc == 2
    assert err.startswith("usage: lsis-robust")  # argparse style: usage line, then the error line
    assert line.startswith(f"lsis-robust {argv[0]}: error: ") and msg in line, line
    assert not (tmp_path / "out").exists()


def test_every_list_option_rejects_an_empty_item_the_same_way(capsys, tmp_path):
    # One rule for every list: the empty item is named, never dropped.
    for argv in (["efficiency", "--sizes", "50,,200"], ["robustness", "--xc2", "1,,2"],
                 ["realdata", "--datasets", "vaso,,leukemia"], ["nn", "--methods", "lr,,lsqlr"]):
        rc, line, _ = _run(argv + ["--out", str(tmp_path)], capsys)
        assert rc == 2 and "empty item" in line


# ------------------------------------------------------------------ output folders and devices (class 8)

@pytest.mark.parametrize("command", [
    ["efficiency", "--quick", "--methods", "lr", "--sizes", "30"],
    ["robustness", "--quick", "--methods", "lr"],
    ["realdata", "--quick"],
    ["are", "--beta", "0,4", "--alpha", "0.2"],
    ["theory-figures", "--only", "fig3"],
    ["nn", "--epochs", "1", "--trials", "1", "--methods", "lr"],
    ["compare", "--loss", "lr", "--criteria", "are", "--quick"],
])
def test_out_that_is_a_file_or_under_a_file_fails_before_work(tmp_path, capsys, command):
    a_file = tmp_path / "a_file"
    a_file.write_text("keep me")
    extra = [] if command[0] in ("are", "theory-figures") else ["--no-progress"]
    for out, msg in ((a_file, "is a file, not a folder"), (a_file / "x", "cannot be created")):
        rc, line, _ = _run(command + extra + ["--out", str(out)], capsys)
        assert rc == 2 and msg in line and str(out) in line, line
    assert a_file.read_text() == "keep me"


@pytest.mark.parametrize("out", ["/proc/lsis-robust-test/x", "/sys/lsis-robust-test/x"])
def test_out_the_system_refuses_is_one_line(capsys, out):
    # Not always caught by the up-front check (root may write almost anywhere): the OSError handler reports it,
    # 2 for a missing path, 1 for a refused one.
    rc, line, _ = _run(["theory-figures", "--only", "fig3", "--out", out], capsys)
    assert rc in (1, 2) and line.startswith("lsis-robust theory-figures: error: ") and out.rsplit("/", 1)[0] in line


@pytest.mark.parametrize("argv", [
    ["efficiency", "--quick", "--protocol", "paper", "--methods", "lr", "--sizes", "30"],
    ["robustness", "--quick", "--protocol", "paper", "--methods", "lr"],
])
@pytest.mark.parametrize("device, msg", [("bogus", "use auto, cpu, cuda or cuda:N"), ("cuda:x", "cuda:N")])
def test_bad_device_for_the_studies(tmp_path, capsys, argv, device, msg):
    rc, line, _ = _run(argv + ["--device", device, "--out", str(tmp_path / "o"), "--no-progress"], capsys)
    assert rc == 2 and msg in line
    assert not (tmp_path / "o").exists()


def test_cuda_without_a_gpu_for_studies_nn_and_compare(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    for argv in (["efficiency", "--quick", "--protocol", "paper", "--device", "cuda", "--methods", "lr",
                  "--sizes", "30", "--no-progress"],
                 ["nn", "--device", "cuda", "--no-progress"],
                 ["compare", "--loss", "lr", "--device", "cuda", "--no-progress"]):
        rc, line, _ = _run(argv + ["--out", str(tmp_path / "o")], capsys)
        assert rc == 2 and "no CUDA device" in line and "--device cpu" in line
    assert not (tmp_path / "o").exists()


def test_sizes_too_small_fail_before_the_csv_is_written(tmp_path, capsys):
    out = tmp_path / "o"
    rc, line, _ = _run(["efficiency", "--quick", "--sizes", "2,50", "--out", str(out), "--no-progress"], capsys)
    assert rc == 2 and "use sizes >= 3" in line
    assert not out.exists()


def test_all_fits_excluded_writes_the_table_and_warns_instead_of_crashing_in_the_plot(tmp_path, capsys):
    # n = 3 points in the plane are nearly always separated: the counts are the result, there is nothing to plot.
    out = tmp_path / "o"
    assert main(["efficiency", "--betas", "0,4", "--sizes", "3", "--trials", "3", "--m", "50", "--methods", "lr",
                 "--out", str(out), "--no-progress", "--no-cache"]) == 0
    err = capsys.readouterr().err
    import pandas as pd

    df = pd.read_csv(out / "efficiency.csv")
    assert "Traceback" not in err
    if df.n_used.sum() == 0:
        assert "no figure" in err and "(0.0, 4.0)" in err and not (out / "efficiency.png").exists()
    else:
        assert (out / "efficiency.png").exists()


# ------------------------------------------------------------------ user loss modules (class 8)

@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    (tmp_path / "bad_syntax.py").write_text("import torch\n\ndef phi(m)\n    return m\n")
    (tmp_path / "bad_raise.py").write_text("x = 1\n\nraise RuntimeError('boom at import')\n")
    (tmp_path / "bad_missing.py").write_text("import math\nimport not_a_real_pkg_xyz\n")
    (tmp_path / "not_a_loss.py").write_text("value = 3\n\ndef rising(m):\n    return m * m + m\n")
    (tmp_path / "good_loss.py").write_text(
        "import torch\nfrom lsis_robust import register_loss\n\n\n@register_loss('cwd_savage')\n"
        "def cwd_savage(m):\n    return 0.5 * torch.sigmoid(-m) ** 2\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


# Cases that already gave one line on main (a missing file, object or module, a failed check) stay beside the new ones.
USER_LOSS_CASES = [
    ("bad_syntax.py:phi", "user loss module bad_syntax.py, line 3: SyntaxError: "),
    ("bad_raise.py:phi", "user loss module bad_raise.py, line 3: RuntimeError: boom at import"),
    ("bad_missing.py:phi", "user loss module bad_missing.py, line 2: ModuleNotFoundError: it imports "
                           "'not_a_real_pkg_xyz', which is not installed"),
    ("not_a_loss.py:value", "it is a int, not a loss"),
    ("not_a_loss.py:nothere", "has no attribute 'nothere'"),
    ("not_a_loss.py:rising", "failed the"),
    ("missing_file.py:phi", "does not exist"),
]
IMPORT_CASES = [
    ("bad_syntax", "bad_syntax.py, line 3: SyntaxError"),
    ("bad_raise", "bad_raise.py, line 3: RuntimeError: boom at import"),
    ("bad_missing", "imports 'not_a_real_pkg_xyz', which is not installed"),
    ("no_such_module_xyz", "module 'no_such_module_xyz' was not found"),
]


def test_broken_user_loss_module_is_one_line_naming_file_and_line(user_dir, capsys):
    for spec, msg in USER_LOSS_CASES:
        rc, line, _ = _run(["compare", "--loss", spec, "--criteria", "are", "--quick", "--out", str(user_dir / "o"),
                            "--no-progress"], capsys)
        assert rc == 2 and line.startswith("lsis-robust compare: error: ") and msg in line, line


def test_broken_import_module_is_one_line(user_dir, capsys):
    for module, msg in IMPORT_CASES:
        rc, line, _ = _run(["compare", "--import", module, "--loss", "lr", "--criteria", "are", "--quick",
                            "--out", str(user_dir / "o"), "--no-progress"], capsys)
        assert rc == 2 and line.startswith(f"lsis-robust compare: error: --import {module}: ") and msg in line, line


def test_import_of_a_module_in_the_current_folder_and_errors_in_a_subprocess(user_dir):
    done = _cli(["compare", "--import", "good_loss", "--loss", "cwd_savage", "--criteria", "are", "--quick",
                 "--out", "o", "--no-progress"], cwd=user_dir)
    assert done.returncode == 0, done.stderr
    assert (user_dir / "o" / "report.md").exists()
    done = _cli(["compare", "--loss", "bad_syntax.py:phi", "--criteria", "are", "--out", "o2"], cwd=user_dir)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "lsis-robust compare: error: user loss module bad_syntax.py, line 3: SyntaxError: expected ':'"]


# ------------------------------------------------------------------ --debug, internal errors, Ctrl-C

def test_debug_shows_the_traceback(tmp_path):
    a_file = tmp_path / "f"
    a_file.write_text("")
    plain = _cli(["are", "--out", str(a_file)], cwd=tmp_path)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr and len(plain.stderr.splitlines()) == 1
    for argv in (["--debug", "are", "--out", str(a_file)], ["are", "--out", str(a_file), "--debug"]):
        debug = _cli(argv, cwd=tmp_path)
        assert debug.returncode != 0 and "Traceback" in debug.stderr and "is a file, not a folder" in debug.stderr


def test_unexpected_error_is_one_line_pointing_to_debug(monkeypatch, capsys, tmp_path):
    from lsis_robust.theory import outputs

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(outputs, "plot_rho_transforms", broken)
    rc, line, _ = _run(["theory-figures", "--only", "fig3", "--out", str(tmp_path)], capsys)
    assert rc == 1 and "internal error, ZeroDivisionError: division by zero" in line and "--debug" in line


def test_keyboard_interrupt_in_process(monkeypatch, capsys, tmp_path):
    from lsis_robust.theory import outputs

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(outputs, "plot_rho_transforms", interrupted)
    rc, line, _ = _run(["theory-figures", "--only", "fig3", "--out", str(tmp_path)], capsys)
    assert rc == 130 and line == "lsis-robust theory-figures: interrupted"


def test_ctrl_c_exits_130_with_one_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cache = tmp_path / "cache"
    # The full default sweep runs long enough to be interrupted on any machine; the signal is sent once the
    # first task's cache entry exists, i.e. once the command is at work (a fixed sleep raced the imports on a
    # loaded machine, where Python's default handler, not the CLI's, received the signal).
    proc = subprocess.Popen([sys.executable, "-m", "lsis_robust", "robustness", "--n-jobs", "1", "--no-progress",
                             "--out", str(tmp_path / "o"), "--cache", str(cache)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while not (cache.is_dir() and any(cache.glob("*.npz"))):
        assert proc.poll() is None, "the command ended before it started its work"
        assert time.monotonic() < deadline, "no task finished within 10 minutes"
        time.sleep(0.1)
    assert proc.poll() is None, "the command finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert err.strip().splitlines() == ["lsis-robust robustness: interrupted"]


def test_a_skipped_figure_does_not_leave_an_earlier_runs_figure_beside_the_new_table(tmp_path, capsys):
    out = tmp_path / "o"
    (out).mkdir()
    (out / "efficiency.png").write_bytes(b"an earlier run's figure")
    common = ["efficiency", "--betas", "0,4", "--trials", "2", "--m", "50", "--methods", "lr", "--out", str(out),
              "--no-progress", "--no-cache"]
    # n = 3 with one seed: every trial's sample is separated, so there is nothing to plot
    assert main([*common, "--sizes", "3"]) == 0
    import pandas as pd

    if pd.read_csv(out / "efficiency.csv").n_used.sum() == 0:
        assert not (out / "efficiency.png").exists()
    else:
        assert (out / "efficiency.png").read_bytes() != b"an earlier run's figure"
