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
    for name, *_ in STEPS:
        assert name in out
    assert "reproduce" in out


def test_reproduce_steps_are_registered_commands():
    parser = build_parser()
    sub = next(a for a in parser._subparsers._group_actions if a.dest == "command")
    for name, extra, *_ in STEPS:
        assert name in sub.choices
        parser.parse_args([name, *extra])  # the step's arguments parse


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
