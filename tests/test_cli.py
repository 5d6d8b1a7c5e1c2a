"""The `riskcard` command line: every subcommand is wired to its own module (its --help shows its own options), a
few cheap subcommands do their real work through ``main()`` on tiny inputs with hand-computed results, and the
console script is installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from transforms.cli.main import COMMANDS, main

# One option (or action) only that subcommand defines, written out here: a subcommand wired to the wrong module,
# or left without its arguments, shows other options.
OWN_OPTION = {
    "config": "--format",
    "generate": "--transactions",
    "ingest": "--reason",
    "rekey": "--old-key-env",
    "build": "--unit-tests",
    "indicators": "--as-of",
    "validate": "--no-alert",
    "publish": "--validation-run-id",
    "scorecard": "--against",
    "sensitivity": "--no-thresholds",
    "explain": "--wait",
    "report": "{html,pdf}",
    "monitor": "--now",
    "ahp": "paper",
}
SHARED = {"--format", "--as-of"}  # options several subcommands define


def test_every_subcommand_is_covered_here():
    assert set(COMMANDS) == set(OWN_OPTION)


@pytest.mark.parametrize("command", list(OWN_OPTION))
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: riskcard {command} ")
    assert OWN_OPTION[command] in out
    assert "--warehouse" in out and "--config" in out  # the common settings options
    others = {o for c, o in OWN_OPTION.items() if c != command and o.startswith("--") and o not in SHARED}
    assert not {o for o in others if f"{o} " in out or f"{o}\n" in out}, f"`riskcard {command}` shows another's options"


@pytest.fixture
def run(tmp_path, capsys, monkeypatch):
    """run(args...) -> (exit code, stdout, stderr), with no RISKCARD_* variable but the ones a test sets and no
    ./riskcard.toml (the working directory is the test's own)."""
    for key in [k for k in os.environ if k.startswith("RISKCARD_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)

    def _run(*args: str):
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return _run


def test_config_prints_file_env_and_flag_settings_with_secrets_masked(run, tmp_path, monkeypatch):
    config = tmp_path / "riskcard.toml"
    config.write_text('timezone = "Europe/Paris"\nwindow_days = 14\nscorecard_time = "03:15"\n')
    monkeypatch.setenv("RISKCARD_WINDOW_DAYS", "21")  # env beats the file
    monkeypatch.setenv("RISKCARD_SECRET_KEY", "s3cret-value-never-printed-0123")
    monkeypatch.setenv("RISKCARD_SMTP_PASSWORD", "mail-pass-never-printed")
    code, out, _ = run("config", "--config", str(config), "--warehouse", str(tmp_path / "w" / "x.duckdb"),
                       "--format", "json")  # fmt: skip
    assert code == 0
    values = json.loads(out)
    assert values["timezone"] == "Europe/Paris" and values["scorecard_time"] == "03:15"
    assert values["window_days"] == 21
    assert values["warehouse"] == str(tmp_path / "w" / "x.duckdb")
    assert values["profile"] == "default"  # untouched default
    assert values["secret_key"] == values["smtp_password"] == "****"
    assert "s3cret-value" not in out and "mail-pass" not in out
    assert not (tmp_path / "w").exists(), "printing the settings must not create the warehouse"


def test_config_with_an_unknown_setting_exits_2_naming_it(run, tmp_path):
    config = tmp_path / "riskcard.toml"
    config.write_text("window_dayz = 14\n")
    code, out, err = run("config", "--config", str(config))
    assert code == 2 and out == ""
    assert "window_dayz" in err


def test_ahp_check_consistent_matrix(run, tmp_path):
    """a12 = 2, a13 = 4, a23 = 2 is perfectly consistent: w = (4, 2, 1) / 7, λmax = 3, CI = CR = 0."""
    matrix = tmp_path / "m.csv"
    matrix.write_text("criterion,a,b,c\na,1,2,4\nb,1/2,1,2\nc,1/4,1/2,1\n")
    code, out, _ = run("ahp", "check", str(matrix), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["valid"] is True
    assert data["weights"] == pytest.approx({"a": 4 / 7, "b": 2 / 7, "c": 1 / 7}, abs=1e-9)
    assert data["lambda_max"] == pytest.approx(3.0, abs=1e-9)
    assert data["cr"] == pytest.approx(0.0, abs=1e-9)


def test_ahp_check_cyclic_matrix_is_rejected(run, tmp_path):
    """a ≻ b ≻ c ≻ a, each 9 times: every row is (1, 9, 1/9) in some order, so w = (1/3, 1/3, 1/3),
    λmax = 1 + 9 + 1/9 = 10.111, CI = (λmax - 3) / 2 = 3.5556 and CR = CI / RI(3) = 3.5556 / 0.58 = 6.130."""
    matrix = tmp_path / "cyclic.csv"
    matrix.write_text("criterion,a,b,c\na,1,9,1/9\nb,1/9,1,9\nc,9,1/9,1\n")
    code, out, _ = run("ahp", "check", str(matrix), "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["valid"] is False
    assert data["weights"] == pytest.approx({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, abs=1e-9)
    assert data["lambda_max"] == pytest.approx(1 + 9 + 1 / 9, abs=1e-9)
    assert data["cr"] == pytest.approx((1 + 9 + 1 / 9 - 3) / 2 / 0.58, abs=1e-6)
    assert [d["rule"] for d in data["defects"]] == ["consistency"]
    code, out, _ = run("ahp", "check", str(matrix))
    assert code == 1 and "REJECTED" in out and "CR = 6.130" in out


def test_ahp_check_missing_file_exits_2(run, tmp_path):
    code, _, err = run("ahp", "check", str(tmp_path / "absent.csv"))
    assert code == 2 and "absent.csv" in err


def test_console_script_runs():
    # the script installed beside this interpreter (the project's .venv), never another one found on PATH
    exe = Path(sys.executable).parent / "riskcard"
    assert exe.exists(), f"the `riskcard` console script is not installed in {exe.parent}"
    done = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for command in COMMANDS:
        assert command in done.stdout
