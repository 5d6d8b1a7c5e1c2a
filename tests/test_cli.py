"""Every subcommand has --help; the console script is installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from transforms.cli.main import COMMANDS, build_parser


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_subcommand_has_help(command, capsys):
    parser = build_parser()
    with pytest.raises(SystemExit) as exc:
        parser.parse_args([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert f"riskcard {command}" in out
    assert "not implemented" not in out, f"`riskcard {command}` is still a placeholder"


def test_console_script_runs():
    # the script installed beside this interpreter (the project's .venv), never another one found on PATH
    exe = Path(sys.executable).parent / "riskcard"
    assert exe.exists(), f"the `riskcard` console script is not installed in {exe.parent}"
    done = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for command in COMMANDS:
        assert command in done.stdout
