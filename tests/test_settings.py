"""Settings: defaults < riskcard.toml < RISKCARD_* env < explicit overrides; secrets never printed."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from transforms.cli.main import main
from transforms.core.settings import DEMO_SECRET_KEY, SettingsError, load_settings


def _no_file(tmp_path: Path) -> Path:
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    return empty


def test_defaults(tmp_path):
    s = load_settings(env={}, config_file=_no_file(tmp_path))
    assert s.warehouse.name == "riskcard.duckdb" and s.warehouse.parent.name == "warehouse"
    assert s.warehouse.is_absolute()
    assert s.landing.name == "landing"
    assert s.timezone == "Asia/Shanghai"
    assert s.window_days == 30
    assert s.working_day_numbers() == (1, 2, 3, 4, 5)
    assert s.quarantine_rate_limit == 0.01


def test_file_then_env_then_override(tmp_path):
    cfg = tmp_path / "riskcard.toml"
    cfg.write_text(
        'window_days = 14\ntimezone = "Europe/Berlin"\nsmtp_to = ["a@x", "b@x"]\n'
        '[alerts]\nwebhook_url = "http://127.0.0.1:9/hook?token=abc"\n'
    )
    s = load_settings(env={"RISKCARD_WINDOW_DAYS": "7"}, config_file=cfg)
    assert s.window_days == 7  # env beats file
    assert s.timezone == "Europe/Berlin"  # file beats default
    assert s.smtp_to == ("a@x", "b@x")
    assert s.webhook_url.endswith("token=abc")
    s2 = load_settings(env={"RISKCARD_WINDOW_DAYS": "7"}, config_file=cfg, window_days=3)
    assert s2.window_days == 3  # explicit override beats env


def test_env_list_and_bool(tmp_path):
    s = load_settings(
        env={"RISKCARD_SMTP_TO": "ops@bank, dq@bank", "RISKCARD_DEMO": "yes", "RISKCARD_SMTP_PORT": "2525"},
        config_file=_no_file(tmp_path),
    )
    assert s.smtp_to == ("ops@bank", "dq@bank")
    assert s.demo is True
    assert s.smtp_port == 2525


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"RISKCARD_TIMEZONE": "Mars/Olympus"}, "timezone"),
        ({"RISKCARD_WINDOW_DAYS": "zero"}, "RISKCARD_WINDOW_DAYS"),
        ({"RISKCARD_WORKING_DAYS": "mon,funday"}, "funday"),
        ({"RISKCARD_WORKING_HOURS_START": "9am"}, "working_hours_start"),
        ({"RISKCARD_AHP_METHOD": "guess"}, "ahp_method"),
    ],
)
def test_bad_values_are_named(tmp_path, env, needle):
    with pytest.raises(SettingsError, match=needle):
        load_settings(env=env, config_file=_no_file(tmp_path))


def test_unknown_key_in_file_is_an_error(tmp_path):
    cfg = tmp_path / "riskcard.toml"
    cfg.write_text("windw_days = 3\n")
    with pytest.raises(SettingsError, match="windw_days"):
        load_settings(env={}, config_file=cfg)


def test_secret_key_rules(tmp_path):
    with pytest.raises(SettingsError, match="RISKCARD_SECRET_KEY"):
        load_settings(env={}, config_file=_no_file(tmp_path)).hashing_key()
    demo = load_settings(env={"RISKCARD_DEMO": "1"}, config_file=_no_file(tmp_path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert demo.hashing_key() == DEMO_SECRET_KEY.encode()
    assert any("demo key" in str(w.message) for w in caught)
    real = load_settings(env={"RISKCARD_SECRET_KEY": "s3cr3t"}, config_file=_no_file(tmp_path))
    assert real.hashing_key() == b"s3cr3t"


def test_config_command_masks_secrets(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RISKCARD_SECRET_KEY", "very-secret-value")
    monkeypatch.setenv("RISKCARD_SMTP_PASSWORD", "mail-password")
    monkeypatch.setenv("RISKCARD_WEBHOOK_URL", "https://user:pw@hooks.example/x?token=t0k3n")
    assert main(["config", "--format", "json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["secret_key"] == "****" and data["smtp_password"] == "****"
    for secret in ("very-secret-value", "mail-password", "t0k3n", "pw@"):
        assert secret not in out
    assert data["warehouse"] == str(tmp_path / "warehouse" / "riskcard.duckdb")
    assert main(["config"]) == 0
    table = capsys.readouterr().out
    assert "very-secret-value" not in table and "timezone" in table


def test_config_error_exit_code(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RISKCARD_WINDOW_DAYS", "-3")
    assert main(["config"]) == 2
    assert "window_days" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("url", "shown", "secrets"),
    [
        (
            "https://hooks.slack.com/services/T0AAA/B0BBB/xoxbSECRETtoken",
            "https://hooks.slack.com/***",
            ["T0AAA", "B0BBB", "SECRET"],
        ),
        (
            "https://bank.webhook.office.com/webhookb2/g-1@t-2/IncomingWebhook/teamsSECRET/o-3",
            "https://bank.webhook.office.com/***",
            ["teamsSECRET", "g-1@t-2", "webhookb2"],
        ),
        (
            "https://oapi.dingtalk.com/robot/send?access_token=dingSECRET",
            "https://oapi.dingtalk.com/***",
            ["dingSECRET"],
        ),
        (
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wecomSECRET",
            "https://qyapi.weixin.qq.com/***",
            ["wecomSECRET"],
        ),
        (
            "https://user:pw@chat.bank.internal:8443/hooks/riskcard",
            "https://***@chat.bank.internal:8443/***",
            ["user:pw", "pw@", "hooks/riskcard"],
        ),
    ],
)
def test_config_masks_webhook_tokens_in_path_and_query(tmp_path, capsys, monkeypatch, url, shown, secrets):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RISKCARD_WEBHOOK_URL", url)
    assert main(["config", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["webhook_url"] == shown
    assert main(["config"]) == 0
    out += capsys.readouterr().out
    for secret in secrets:
        assert secret not in out


def test_the_alert_log_and_the_config_mask_alike():
    from transforms.core import settings
    from transforms.quality import alerts

    assert alerts.mask_url is settings.mask_url  # one masking function


def test_the_demo_key_as_secret_key_needs_demo_mode(tmp_path):
    s = load_settings(env={"RISKCARD_SECRET_KEY": DEMO_SECRET_KEY}, config_file=_no_file(tmp_path))
    with pytest.raises(SettingsError, match="public demo key"):
        s.hashing_key()
    demo = load_settings(
        env={"RISKCARD_SECRET_KEY": DEMO_SECRET_KEY, "RISKCARD_DEMO": "1"}, config_file=_no_file(tmp_path)
    )
    assert demo.hashing_key() == DEMO_SECRET_KEY.encode()


def test_smtp_tls_settings(tmp_path):
    s = load_settings(env={}, config_file=_no_file(tmp_path))
    assert (s.smtp_ssl, s.smtp_starttls, s.smtp_allow_plaintext_auth, s.smtp_tls_ca_file) == (False, False, False, None)
    cfg = tmp_path / "riskcard.toml"
    cfg.write_text('[alerts]\nsmtp_allow_plaintext_auth = true\nsmtp_tls_ca_file = "/etc/bank-ca.pem"\n')
    s = load_settings(env={}, config_file=cfg)
    assert s.smtp_allow_plaintext_auth is True and s.smtp_tls_ca_file == Path("/etc/bank-ca.pem")
    with pytest.raises(SettingsError, match="smtp_ssl and smtp_starttls"):
        load_settings(env={"RISKCARD_SMTP_SSL": "1", "RISKCARD_SMTP_STARTTLS": "1"}, config_file=_no_file(tmp_path))


def test_working_hours_follow_the_settings_in_the_banks_zone(tmp_path):
    import datetime as dt

    (tmp_path / "riskcard.toml").write_text("")
    settings = load_settings(env={}, config_file=tmp_path / "riskcard.toml")  # 09:00-17:00, Mon-Fri, Asia/Shanghai
    shanghai = dt.timezone(dt.timedelta(hours=8))
    # Tuesday 2025-03-04, local: 08:59:59 no, 09:00 yes, 16:59:59 yes, 17:00 no; 01:00 UTC is 09:00 local
    cases = {(8, 59, 59): False, (9, 0, 0): True, (16, 59, 59): True, (17, 0, 0): False}
    for (hh, mm, ss), expected in cases.items():
        assert settings.in_working_hours(dt.datetime(2025, 3, 4, hh, mm, ss, tzinfo=shanghai)) is expected
    assert settings.in_working_hours(dt.datetime(2025, 3, 4, 1, 0, tzinfo=dt.UTC)) is True
    assert settings.in_working_hours(dt.datetime(2025, 3, 8, 10, 0, tzinfo=shanghai)) is False  # Saturday
    around_the_clock = settings.replace(working_hours_start="00:00", working_hours_end="24:00")
    assert around_the_clock.in_working_hours(dt.datetime(2025, 3, 4, 23, 59, 59, tzinfo=shanghai)) is True
