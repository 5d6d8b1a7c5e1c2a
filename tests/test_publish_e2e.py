"""End to end on demo data: generate -> ingest -> dbt build -> validate -> publish, with real SMTP and HTTP servers.

- demo data publishes version 1; an unchanged re-run creates nothing;
- a late update to the logs (three change-failure incidents recorded on D arrive in a late file) followed by a
  rebuild publishes version 2, and `scorecard diff` shows what moved;
- a corrupted input (a re-sent complaints file full of broken rows: the quarantine rate far above the limit),
  once a build has read it, fails a critical expectation: no new version, scorecard_latest still shows version 2, a dq_alerts row, and
  both alert servers received a message naming the failed expectation;
- the snapshots round-trip: each version's Parquet equals its table rows and matches its manifest.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest

from tests.test_alerts import smtp_server, webhook  # noqa: F401 - fixtures (real servers on 127.0.0.1)
from tests.warehouse_reads import LEAN_PUBLISH
from tests.warehouse_reads import rows as _query
from transforms import generate as generate_mod
from transforms import ingest as ingest_mod
from transforms.cli.main import main
from transforms.core.settings import load_settings
from transforms.indicators import build as build_mod
from transforms.publishing.publish import PublishBlocked, publish
from transforms.publishing.snapshots import DATA_FILE, snapshot_dir, verify_snapshot

pytestmark = pytest.mark.slow

START = dt.date(2025, 2, 1)
DAYS = 31  # the 30-day window of the last day, plus one
LAST = START + dt.timedelta(days=DAYS - 1)


def _local(day: dt.date, hh: int, mm: int) -> str:
    return f"{day.isoformat()}T{hh:02d}:{mm:02d}:00+08:00"


def _write_jsonl(path, records) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
    tmp.rename(path)  # the landing contract: write, then rename


def _late_change_failures(day: dt.date, n: int) -> list[dict]:
    return [
        {
            "incident_id": f"INC-LATE-{k}",
            "updated_at": _local(day, 11, k),
            "system": "core_banking",
            "customer_facing": False,
            "planned": False,
            "cause": "change_failure",
            "vendor": None,
            "severity": "minor",
            "started_at": _local(day, 9, k),
            "detected_at": _local(day, 9, 10 + k),
            "escalated_at": None,
            "resolved_at": _local(day, 10, k),
            "regulator_reported_at": None,
            "loss_event": False,
            "review_completed_at": None,
            "recurrence_of": None,
        }
        for k in range(n)
    ]


def _broken_complaints(day: dt.date, n: int) -> list[dict]:
    return [
        {
            "complaint_id": f"CMP-RESENT-{k}",
            "updated_at": _local(day, 15, k % 60),
            "opened_at": _local(day, 14, 0),
            "customer_id": f"C{k:06d}",
            "category": "other",
            "channel": "fax",  # not a contract channel
            "txn_id": None,
            "first_response_at": None,
            "closed_at": None,
            "resolution": "open",
            "claimed_amount": None,
            "compensated_amount": None,
        }
        for k in range(n)
    ]


def test_demo_data_versions_diff_and_a_blocked_corruption(tmp_path, smtp_server, webhook, capsys):  # noqa: F811
    inbox, smtp_port = smtp_server
    url, received = webhook
    config = tmp_path / "riskcard.toml"
    config.write_text("")
    settings = load_settings(
        env={"RISKCARD_SECRET_KEY": "e2e-secret-0123456789"},
        config_file=config,
        warehouse=tmp_path / "warehouse" / "riskcard.duckdb",
        landing=tmp_path / "landing",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        **LEAN_PUBLISH,
        smtp_to="dq-owner@bank.example",
        webhook_url=url,
    )
    generate_mod.generate(settings.landing, start=START, days=DAYS, transactions=10_000, seed=7)
    ingest_mod.ingest(settings)
    build_mod.build(settings, as_of=LAST)

    # version 1, then an unchanged re-run
    first = publish(settings, LAST)
    assert (first.status, first.version) == ("published", 1)
    again = publish(settings, LAST)
    assert (again.status, again.version) == ("unchanged", 1)
    assert _query(settings, "SELECT count(*) FROM published.scorecard_versions") == [(1,)]

    # a late update to the logs, a rebuild, version 2
    (sp3_before,) = _query(settings, "SELECT value, level FROM published.scorecard_latest WHERE indicator_id = 'SP3'")
    assert sp3_before[1] < 1.0  # room to move (fixed seed)
    late = settings.landing / "incidents" / LAST.isoformat() / f"incidents_{LAST.isoformat()}_late.jsonl"
    _write_jsonl(late, _late_change_failures(LAST, 3))
    ingest_mod.ingest(settings)
    build_mod.build(settings, as_of=LAST)
    second = publish(settings, LAST)
    assert (second.status, second.version) == ("published", 2)
    info = _query(settings, "SELECT version, input_files, input_digest FROM published.scorecard_versions ORDER BY 1")
    assert info[1][1] == info[0][1] + 1 and info[1][2] != info[0][2]  # the late file fed version 2

    assert (
        main(
            [
                "scorecard",
                "diff",
                "--as-of",
                LAST.isoformat(),
                "--format",
                "json",
                "--config",
                str(config),
                "--warehouse",
                str(settings.warehouse),
            ]
        )
        == 0
    )
    changes = json.loads(capsys.readouterr().out)
    assert changes["against"] == {"as_of_date": LAST.isoformat(), "version": 1}
    sp3 = next(leaf for leaf in changes["leaves"] if leaf["indicator_id"] == "SP3")
    assert (sp3["value_before"], sp3["value_after"]) == (sp3_before[0], sp3_before[0] + 3)
    assert sp3["level_before"] == sp3_before[1] and sp3["level_after"] > sp3_before[1]
    assert changes["composite"]["after"] > changes["composite"]["before"]

    # a corrupted input: a re-sent complaints file full of broken rows
    messages_before = len(inbox.messages)
    resent = settings.landing / "complaints" / LAST.isoformat() / f"complaints_{LAST.isoformat()}_resent.jsonl"
    _write_jsonl(resent, _broken_complaints(LAST, 40))
    assert ingest_mod.ingest(settings).exit_code == 3  # rows quarantined
    build_mod.build(settings, as_of=LAST)  # the version is bound to a build: the file counts once a build read it
    with pytest.raises(PublishBlocked) as blocked:
        publish(settings, LAST, force=True)
    assert "ingestion_health.quarantine_rate_under_limit" in str(blocked.value)
    assert _query(settings, "SELECT count(*) FROM published.scorecard_versions") == [(2,)]
    assert _query(settings, "SELECT DISTINCT version FROM published.scorecard_latest") == [(2,)]
    alerts = _query(
        settings,
        "SELECT severity, observed_value, publish_blocked FROM ops.dq_alerts "
        "WHERE expectation = 'quarantine_rate_under_limit'",
    )
    assert len(alerts) == 1 and alerts[0][0] == "critical" and alerts[0][2] is True
    assert alerts[0][1].startswith("1 of 4 rows: complaints: quarantine_rate=")
    assert len(inbox.messages) == messages_before + 1
    message = inbox.messages[-1]
    assert "ingestion_health.quarantine_rate_under_limit" in message["Subject"]
    assert "publishing blocked" in message["Subject"]
    payload = received[-1]["json"]
    assert payload["publish_blocked"] is True
    assert "ingestion_health.quarantine_rate_under_limit" in [f["label"] for f in payload["failures"]]

    # snapshots round-trip
    for version in (1, 2):
        path = snapshot_dir(settings, LAST, version)
        assert verify_snapshot(path) == []
        con = duckdb.connect(str(settings.warehouse), read_only=True)
        try:
            table = con.execute(
                "SELECT * EXCLUDE (as_of_date, version) FROM published.scorecard WHERE version = ? ORDER BY row_order",
                [version],
            ).fetchall()
            parquet = con.execute(
                f"SELECT * FROM read_parquet('{path / DATA_FILE}', hive_partitioning = false) ORDER BY row_order"
            ).fetchall()
        finally:
            con.close()
        assert parquet == table
