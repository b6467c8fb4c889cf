"""The command line: help, errors, and reproduce's wiring of the steps."""
import subprocess
import sys

import pytest

from lsis_robust.cli import build_parser, main
from lsis_robust.cli.reproduce import STEPS


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for step in STEPS:
        assert step.name in out
    assert "reproduce" in out


@pytest.mark.parametrize("step", STEPS, ids=[s.name for s in STEPS])
def test_reproduce_steps_are_commands_with_the_declared_quick_mode(step, capsys):
    parser = build_parser()
    assert callable(parser.parse_args([step.name]).func)  # the step's defaults parse
    if step.quick:
        assert parser.parse_args([step.name, "--quick"]).quick
    else:
        with pytest.raises(SystemExit):  # reproduce --quick would have passed on an option the command lacks
            parser.parse_args([step.name, "--quick"])
        assert "unrecognized arguments: --quick" in capsys.readouterr().err


def test_reproduce_quick_passes_quick_only_to_the_steps_that_have_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "--quick", "--only", "are"]) == 0
    out = capsys.readouterr().out
    assert "== lsis-robust are (step 1/1" in out and "--quick" not in out.split("\n")[1]


def test_reproduce_runs_a_step(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "--only", "are"]) == 0
    out = capsys.readouterr().out
    assert "== lsis-robust are" in out and "done in" in out
    assert (tmp_path / "results" / "theory" / "table1_are.csv").exists()


def test_module_entry_point_and_errors():
    done = subprocess.run([sys.executable, "-m", "lsis_robust", "reproduce", "--only", "nope"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "invalid choice: 'nope'" in done.stderr
