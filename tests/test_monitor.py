"""Intraday monitoring on a real warehouse: provisional leaves from the real dbt models, breach and staleness
episodes in DuckDB, alerts to a real HTTP server on 127.0.0.1, and a monitor killed with SIGKILL.

One generated month (2025-02-01 .. 2025-03-03) is ingested and built once; every test works on a copy of it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.warehouse_reads import records, rows, settings_in
from transforms import generate as generate_mod
from transforms import ingest as ingest_mod
from transforms.core.settings import PROJECT_DIR
from transforms.generate import intraday
from transforms.generate.intraday import write_batch
from transforms.indicators.build import build
from transforms.monitoring.monitor import monitor

pytestmark = pytest.mark.slow

START = dt.date(2025, 2, 1)
LAST = dt.date(2025, 3, 3)  # the nightly build's as-of date
NEXT = LAST + dt.timedelta(days=1)  # the intraday day
SECRET = "monitor-secret-0123456789"
QUIET = {  # staleness limits that never fire in the breach tests (the staleness test sets its own)
    "stale_after_minutes_transactions": 100_000,
    "stale_after_minutes_complaints": 100_000,
    "stale_after_minutes_incidents": 100_000,
    "stale_after_minutes_backups": 100_000,
}


def local(day: dt.date, hh: int, mm: int = 0, ss: int = 0) -> dt.datetime:
    """A naive local wall-clock time, as `riskcard monitor --now` takes it."""
    return dt.datetime(day.year, day.month, day.day, hh, mm, ss)


@pytest.fixture(scope="module")
def nightly(tmp_path_factory) -> Path:
    """A folder with a landing month, its warehouse, and the nightly build of LAST."""
    root = tmp_path_factory.mktemp("monitor-template")
    settings = settings_in(root, SECRET)
    generate_mod.generate(settings.landing, start=START, days=(LAST - START).days + 1, transactions=5_000, seed=7)
    ingest_mod.ingest(settings)
    build(settings, as_of=LAST)
    return root


@pytest.fixture
def folder(nightly, tmp_path) -> Path:
    copy = tmp_path / "w"
    shutil.copytree(nightly, copy)
    return copy


class Hook:
    """A webhook on 127.0.0.1 that records what it acknowledged (HTTP 200); it can hold the next request unanswered."""

    def __init__(self):
        self.acknowledged: list[dict] = []
        self.hold = threading.Event()  # set: the next request waits, unanswered, until released
        self.holding = threading.Event()
        self.release = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if hook.hold.is_set():
                    hook.hold.clear()
                    hook.holding.set()
                    hook.release.wait(60)
                    self.close_connection = True
                    return  # never answered: the sender died waiting
                hook.acknowledged.append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/kri"

    def since(self, n: int) -> list[tuple[str, str]]:
        return [(a["event"], a.get("indicator_id") or a.get("source")) for a in self.acknowledged[n:]]

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    h = Hook()
    try:
        yield h
    finally:
        h.close()


def settings_for(folder: Path, **values):
    return settings_in(folder, SECRET).replace(**values)


def land(settings, source: str, name: str, records_: list[dict]) -> None:
    write_batch(settings.landing, source, NEXT, name, records_)
    result = ingest_mod.ingest(settings)
    assert result.exit_code == 0, result


def software_defects(cause: str, updated: tuple[int, int]) -> list[dict]:
    return intraday.software_defects(NEXT, "Asia/Shanghai", cause=cause, at=updated)


def ordinary_transactions(batch: int, hh: int, mm: int) -> list[dict]:
    return intraday.ordinary_transactions(NEXT, "Asia/Shanghai", batch, (hh, mm))


def test_at_the_end_of_the_day_the_provisional_leaves_are_the_nightly_ones(folder):
    settings = settings_for(folder, **QUIET)
    result = monitor(settings, local(LAST, 23, 59, 59))
    assert result.refreshed and result.as_of_date == LAST
    nightly = {
        r["indicator_id"]: r
        for r in records(
            settings,
            "SELECT indicator_id, value, numerator, denominator, level, status FROM marts.fct_leaf_indicators "
            "WHERE as_of_date = ?",
            [LAST],
        )
    }
    assert len(nightly) == 30 and len(result.leaves) == 30
    for leaf in result.leaves:
        assert leaf["provisional"] is True
        expected = nightly[leaf["indicator_id"]]
        got = {k: leaf[k] for k in expected}
        assert got == pytest.approx(expected) if expected["value"] is not None else got == expected, leaf
    # kept apart: the intraday table holds the cut (00:00 local of the next day), nothing was published
    (cut,) = rows(settings, "SELECT DISTINCT as_of_time FROM marts.fct_leaf_indicators_intraday")
    assert cut[0] == dt.datetime(2025, 3, 3, 16, 0, tzinfo=dt.UTC)
    assert rows(settings, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'published'") == [(0,)]
    # an earlier cut of the same day sees less: the state as of 06:00 ignores what was recorded after it
    early = monitor(settings, local(LAST, 6, 0))
    assert early.refreshed
    (transactions_by_six,) = rows(
        settings,
        "SELECT count(DISTINCT txn_id) FROM raw.transactions WHERE event_at >= ? AND updated_at < ?",
        [dt.datetime(2025, 2, 1, 16, 0, tzinfo=dt.UTC), dt.datetime(2025, 3, 2, 22, 0, 1, tzinfo=dt.UTC)],
    )
    (ic3_denominator,) = [leaf["denominator"] for leaf in early.leaves if leaf["indicator_id"] == "IC3"]
    assert ic3_denominator == transactions_by_six[0] < nightly["IC3"]["denominator"]


def test_a_breach_alerts_once_stays_quiet_and_clears_once(folder, hook):
    settings = settings_for(folder, webhook_url=hook.url, **QUIET)
    baseline = monitor(settings, local(NEXT, 0, 30))
    (sp2,) = [leaf for leaf in baseline.leaves if leaf["indicator_id"] == "SP2"]
    assert sp2["level"] < 0.8 and sp2["numerator"] <= 2  # room to breach: SP2 thresholds 0/1/2/4 (fixed seed)
    opened_before = {(e, i) for e, i in hook.since(0)}
    assert all(e == "riskcard.breach_opened" for e, _ in opened_before)

    n = len(hook.acknowledged)
    land(settings, "incidents", "defects", software_defects("software_defect", (9, 30)))
    land(settings, "transactions", "batch0", ordinary_transactions(0, 9, 40))
    monitor(settings, local(NEXT, 10, 0))
    assert hook.since(n) == [("riskcard.breach_opened", "SP2")]
    alert = hook.acknowledged[n]
    assert alert["provisional"] is True and alert["level"] == 1.0
    assert alert["value"] == sp2["numerator"] + 5 == alert["numerator"] and alert["denominator"] is None
    assert alert["threshold"] == 4.0  # above t4: the top of the scale
    assert alert["as_of_time"].startswith("2025-03-04T10:00:00")
    (episode,) = records(settings, "SELECT * FROM ops.kri_breaches WHERE indicator_id = 'SP2'")
    assert episode["closed_at"] is None and episode["level"] == 1.0 and episode["opened_level"] == 1.0

    n = len(hook.acknowledged)
    for batch, (hh, mm) in enumerate([(10, 5), (10, 20), (10, 35)], start=1):
        land(settings, "transactions", f"batch{batch}", ordinary_transactions(batch, hh, mm))
        result = monitor(settings, local(NEXT, hh, mm + 5))
        assert result.refreshed  # each batch is read ...
    assert hook.since(n) == []  # ... and says nothing new

    land(settings, "incidents", "defects_reclassified", software_defects("hardware", (11, 0)))
    monitor(settings, local(NEXT, 11, 10))
    assert hook.since(n) == [("riskcard.breach_cleared", "SP2")]
    cleared = hook.acknowledged[-1]
    assert cleared["value"] == sp2["numerator"] and cleared["highest_level"] == 1.0
    (episode,) = records(settings, "SELECT * FROM ops.kri_breaches WHERE indicator_id = 'SP2'")
    assert episode["closed_at"] == dt.datetime(2025, 3, 4, 3, 10, tzinfo=dt.UTC)
    # every other episode is the baseline's, still open, alerted once
    still_open = {r[0] for r in rows(settings, "SELECT indicator_id FROM ops.kri_breaches WHERE closed_at IS NULL")}
    assert still_open == {i for _, i in opened_before}


def test_a_silent_source_alerts_once_and_recovers_once(folder, hook):
    limits = {**QUIET, "stale_after_minutes_backups": 120}
    settings = settings_for(folder, webhook_url=hook.url, **limits)
    ((newest,),) = rows(settings, "SELECT max(updated_at) FROM raw.backups")
    limit_passed = (newest + dt.timedelta(minutes=125)).astimezone(settings.tz).replace(tzinfo=None, second=0)
    n_before = len(hook.acknowledged)
    monitor(settings, limit_passed - dt.timedelta(minutes=10))  # 115 minutes old: fresh
    assert [s for s in hook.since(n_before) if s[1] == "backups"] == []
    monitor(settings, limit_passed)
    monitor(settings, limit_passed + dt.timedelta(minutes=30))  # still silent: no second alert
    assert [s for s in hook.since(n_before) if s[1] == "backups"] == [("riskcard.stale", "backups")]
    stale = next(a for a in hook.acknowledged if a.get("source") == "backups")
    assert stale["limit_minutes"] == 120 and stale["age_minutes"] > 120
    (episode,) = records(settings, "SELECT * FROM ops.source_staleness WHERE source = 'backups'")
    assert episode["closed_at"] is None and episode["newest_record_at"] == newest

    later = limit_passed + dt.timedelta(minutes=40)
    land(settings, "backups", "late", [{
        "backup_id": "BKP-LATE-1", "updated_at": f"{later.isoformat()}+08:00", "system": "core_banking",
        "backup_type": "full", "scheduled_at": f"{later.isoformat()}+08:00", "started_at": f"{later.isoformat()}+08:00",
        "finished_at": f"{later.isoformat()}+08:00", "status": "success", "size_bytes": 10, "offsite_copy": True,
        "restore_tested": False, "restore_ok": None,
    }])  # fmt: skip
    monitor(settings, later + dt.timedelta(minutes=5))
    monitor(settings, later + dt.timedelta(minutes=10))
    backups = [s for s in hook.since(n_before) if s[1] == "backups"]
    assert backups == [("riskcard.stale", "backups"), ("riskcard.recovered", "backups")]
    (episode,) = records(settings, "SELECT * FROM ops.source_staleness WHERE source = 'backups'")
    assert episode["closed_at"] is not None and episode["recovered_record_at"] > newest


def _monitor_child(settings, config: Path, now: dt.datetime) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKCARD_")}
    env.update({"RISKCARD_SECRET_KEY": SECRET, "RISKCARD_CONFIG": str(config)})
    return subprocess.Popen(
        [sys.executable, "-m", "transforms.cli", "monitor", "--now", now.isoformat(), "--warehouse",
         str(settings.warehouse), "--format", "json"],
        cwd=PROJECT_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def test_a_killed_monitor_leaves_no_half_episode_and_each_alert_goes_once(folder, hook):
    settings = settings_for(folder, webhook_url=hook.url, **QUIET)
    config = folder / "riskcard.toml"
    config.write_text(f'webhook_url = "{hook.url}"\n' + "".join(f"{k} = {v}\n" for k, v in QUIET.items()))
    now = local(NEXT, 0, 30)

    # killed while dbt computes the provisional leaves (its log is being written): no episode, no alert
    dbt_log = settings.warehouse_dir / "dbt" / "logs" / "dbt.log"
    before = dbt_log.stat().st_size
    child = _monitor_child(settings, config, now)
    deadline = time.monotonic() + 120
    while dbt_log.stat().st_size == before and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    child.send_signal(signal.SIGKILL)
    assert child.wait(30) == -signal.SIGKILL  # it was still running
    tables = {r[0] for r in rows(settings, "SELECT table_name FROM information_schema.tables WHERE table_schema='ops'")}
    assert not tables & {"kri_breaches", "monitor_alerts"}
    assert hook.acknowledged == []

    # killed while delivering: the first alert reaches the webhook, which never answers, and the child dies
    hook.hold.set()
    child = _monitor_child(settings, config, now)
    assert hook.holding.wait(120), "the child never delivered an alert"
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    hook.release.set()
    episodes = rows(settings, "SELECT episode_id FROM ops.kri_breaches")
    queued = rows(settings, "SELECT alert_id FROM ops.monitor_alerts WHERE delivered_at IS NULL")
    assert len(episodes) >= 1 and len(queued) == len(episodes)  # committed with their alerts, none delivered

    # the next run delivers each queued alert exactly once, and opens nothing twice
    monitor(settings, now)
    monitor(settings, now + dt.timedelta(minutes=5))
    ids = [a["alert_id"] for a in hook.acknowledged]
    assert sorted(ids) == sorted(r[0] for r in queued)
    assert rows(settings, "SELECT count(*) FROM ops.kri_breaches") == [(len(episodes),)]
    assert rows(settings, "SELECT count(*) FROM ops.monitor_alerts WHERE delivered_at IS NULL") == [(0,)]


def test_a_level_rising_inside_an_episode_escalates_once(folder, hook):
    settings = settings_for(folder, webhook_url=hook.url, **QUIET)
    baseline = monitor(settings, local(NEXT, 0, 30))
    (sp2,) = [leaf for leaf in baseline.leaves if leaf["indicator_id"] == "SP2"]
    assert sp2["numerator"] == 0  # fixed seed: three defects give 3 (level 0.8: above t3 = 2), five give 5 (1.0)
    defects = software_defects("software_defect", (9, 30))
    land(settings, "transactions", "batch0", ordinary_transactions(0, 9, 20))
    n = len(hook.acknowledged)
    land(settings, "incidents", "three", defects[:3])
    monitor(settings, local(NEXT, 9, 40))
    assert hook.since(n) == [("riskcard.breach_opened", "SP2")] and hook.acknowledged[n]["level"] == 0.8
    land(settings, "incidents", "two_more", defects[3:])
    monitor(settings, local(NEXT, 9, 50))
    monitor(settings, local(NEXT, 9, 55))  # nothing new: no second escalation
    assert hook.since(n) == [("riskcard.breach_opened", "SP2"), ("riskcard.breach_escalated", "SP2")]
    escalation = hook.acknowledged[n + 1]
    assert (escalation["previous_level"], escalation["level"], escalation["threshold"]) == (0.8, 1.0, 4.0)
    (episode,) = records(settings, "SELECT * FROM ops.kri_breaches WHERE indicator_id = 'SP2'")
    assert (episode["opened_level"], episode["level"], episode["closed_at"]) == (0.8, 1.0, None)
