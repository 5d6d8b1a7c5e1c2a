"""Every subcommand has --help; the console script is installed."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from transforms.cli import COMMANDS, build_parser


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
    exe = shutil.which("riskcard") or str(__import__("pathlib").Path(sys.executable).parent / "riskcard")
    done = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for command in COMMANDS:
        assert command in done.stdout
