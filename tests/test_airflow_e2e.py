"""The real pipeline through Airflow: dag.test() runs of both DAGs over generated landing logs, on a throwaway
SQLite metadata database, against real DuckDB files, real dbt, real GX and a real SMTP server on 127.0.0.1.

- the ingest DAG loads the logs and records a raw-logs asset event; a second batch with nothing new emits none,
  and a warehouse lock held by another process is retried (with backoff) instead of failing the run;
- the scorecard DAG publishes a version with its Parquet snapshot and serving copy, and a scorecard asset event;
- Airflow's own backfill (airflow.models.backfill, what `airflow backfill create` calls) of three as-of dates makes
  three runs of run_type backfill, run one at a time, oldest first; each scores the local day its data interval
  starts on (no as_of_date param) and publishes that day's version 1;
- data with a source missing from the window fails at validation (no retry), e-mails an alert and publishes
  nothing; an invalid weight profile fails the run at its first task, with one alert and no retry.

Airflow runs in child processes (transforms.orchestration.local_runner.run_dag_subprocess); their logs are in the module's
AIRFLOW_HOME, named after the run, and are printed when an assertion fails.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import sqlite3
import threading
import time
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from transforms.core.settings import load_settings
from transforms.core.warehouse import writer_lock
from transforms.orchestration import dag_defaults, local_runner

pytestmark = pytest.mark.slow

SECRET = "airflow-e2e-secret-0123456789"
START = dt.date(2025, 2, 1)
DAYS = 45
LAST = START + dt.timedelta(days=DAYS - 1)  # the last day of logs
FIRST = LAST - dt.timedelta(days=2)  # the backfill scores FIRST .. LAST
WINDOW = 30


# ---- fixtures -----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("airflow")


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    from transforms.generate import generate

    out = tmp_path_factory.mktemp("landing")
    generate(out, start=START, days=DAYS, transactions=20_000, seed=11)
    return out


def riskcard_env(base: Path, landing: Path, **extra: str) -> dict[str, str]:
    config = base / "riskcard.toml"  # empty: a developer's own ./riskcard.toml never leaks into the run
    config.write_text("")
    env = {
        "RISKCARD_CONFIG": str(config),
        "RISKCARD_WAREHOUSE": str(base / "warehouse" / "riskcard.duckdb"),
        "RISKCARD_LANDING": str(landing),
        "RISKCARD_SECRET_KEY": SECRET,
    }
    env.update({f"RISKCARD_{k.upper()}": v for k, v in extra.items()})
    return env


def check(run: local_runner.ChildRun, state: str = "success") -> dict:
    assert run.state == state, (
        f"{run.report.get('dag_id')} ended {run.state}; log:\n" + run.log_path.read_text()[-6000:]
    )
    return run.report


def asset_events(home: Path, name: str) -> list[dict]:
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.name = ? ORDER BY e.id",
            [name],
        ).fetchall()
    return [json.loads(extra) if extra else {} for (extra,) in rows]


def query(warehouse: Path, sql: str, params=()) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def good(tmp_path_factory, home, landing) -> dict:
    """The ingest DAG loads the generated logs, then an Airflow backfill scores the last three days (FIRST .. LAST,
    the last one is what the nightly run would publish) - one child process, one Airflow start-up."""
    env = riskcard_env(tmp_path_factory.mktemp("good"), landing)
    args = [
        "backfill",
        dag_defaults.SCORECARD_DAG_ID,
        "--from",
        FIRST.isoformat(),
        "--to",
        LAST.isoformat(),
        "--ingest-first",
    ]
    report = check(local_runner.run_subprocess(args, home, env, "ingest_and_backfill"))
    return {"env": env, "warehouse": Path(env["RISKCARD_WAREHOUSE"]), "ingest": report["ingest"], "backfill": report}


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(message_from_bytes(envelope.original_content, policy=default_policy))
            return "250 OK"

    inbox = Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd cannot report the one port=0 would pick)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield "127.0.0.1", port, inbox
    finally:
        controller.stop()


# ---- ingest -------------------------------------------------------------------------------------------------------
def test_ingest_dag_loads_the_logs_and_updates_the_raw_logs_asset(home, good):
    summary = good["ingest"]["xcom"]["ingest"]
    assert good["ingest"]["tasks"]["ingest"]["pool"] == "duckdb_writer"
    assert summary["rows_loaded"] > 0 and summary["exit_code"] == 0
    assert set(summary["sources"]) == {"transactions", "complaints", "incidents", "backups"}
    for source, s in summary["sources"].items():
        (rows,) = query(good["warehouse"], f"SELECT count(*) FROM raw.{source}")[0]
        assert rows == s["rows_loaded"] > 0, source
    events = asset_events(home, dag_defaults.RAW_LOGS_ASSET)
    assert events == [{"rows_loaded": summary["rows_loaded"], "ingest_run_id": summary["run_id"]}]


def test_held_lock_is_retried_and_an_empty_batch_emits_no_asset_event(home, good):
    """Another process holds the writer lock when the batch starts: the task fails with WarehouseBusy, is retried
    after the backoff and then succeeds; it finds nothing new, so the asset task is skipped (no event)."""
    env = {**good["env"], "RISKCARD_LOCK_TIMEOUT_SECONDS": "0.5", "RISKCARD_RETRY_DELAY_SECONDS": "1"}
    log = home / "ingest_busy.log"
    released = threading.Event()

    def hold_lock():
        with writer_lock(load_settings(env=good["env"]), what="test: an analyst's tool"):
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if log.exists() and "WarehouseBusy" in log.read_text(errors="replace"):
                    break
                time.sleep(0.2)
        released.set()

    holder = threading.Thread(target=hold_lock, daemon=True)
    holder.start()
    time.sleep(0.5)  # the lock is held before the child starts
    run = local_runner.run_dag_subprocess(dag_defaults.INGEST_DAG_ID, home, env, log_name="ingest_busy")
    holder.join(timeout=5)
    report = check(run)
    assert released.is_set()
    assert report["tasks"]["ingest"]["try_number"] >= 2, "the busy first try should have been retried"
    log_text = log.read_text(errors="replace")
    assert "transforms.core.warehouse.WarehouseBusy" in log_text and "action=retry" in log_text
    assert report["xcom"]["ingest"]["rows_loaded"] == 0
    assert report["tasks"]["raw_logs_updated"]["state"] == "skipped"
    assert len(asset_events(home, dag_defaults.RAW_LOGS_ASSET)) == 1


# ---- scorecard ----------------------------------------------------------------------------------------------------
def airflow_rows(home: Path, sql: str, params=()) -> list[sqlite3.Row]:
    with sqlite3.connect(home / "airflow.db") as db:
        db.row_factory = sqlite3.Row
        return db.execute(sql, list(params)).fetchall()


def utc(text: str) -> dt.datetime:
    """A timestamp as Airflow's SQLite metadata stores it (naive UTC)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_airflow_backfill_runs_each_date_for_the_day_its_data_interval_starts(home, good):
    """Read from Airflow's metadata DB and the warehouse, not from the runner's report: the backfill made three
    backfill runs whose data intervals are [D 02:00, D+1 02:00) Shanghai time for D = FIRST .. LAST, ran them one
    at a time, oldest first, and each run's plan scored D, its build computed D, and D's version 1 came from it."""
    (backfill,) = airflow_rows(home, "SELECT * FROM backfill WHERE dag_id = ?", [dag_defaults.SCORECARD_DAG_ID])
    assert backfill["max_active_runs"] == 1 and backfill["completed_at"] is not None
    runs = airflow_rows(
        home,
        "SELECT r.*, b.sort_ordinal FROM dag_run r JOIN backfill_dag_run b ON b.dag_run_id = r.id "
        "WHERE b.backfill_id = ? ORDER BY b.sort_ordinal",
        [backfill["id"]],
    )
    days = [FIRST + dt.timedelta(days=i) for i in range(3)]
    assert len(runs) == 3
    for run, day in zip(runs, days, strict=True):
        assert (run["run_type"], run["triggered_by"], run["state"]) == ("backfill", "BACKFILL", "success")
        # 02:00 in Asia/Shanghai (UTC+8, no DST) is 18:00 UTC the evening before
        start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) - dt.timedelta(hours=6)
        assert utc(run["data_interval_start"]) == utc(run["logical_date"]) == start, run["run_id"]
        assert utc(run["data_interval_end"]) == start + dt.timedelta(days=1), run["run_id"]
        assert "as_of_date" not in json.loads(run["conf"] or "{}"), "the date must come from the data interval"
    for before, after in zip(runs, runs[1:], strict=False):
        assert utc(after["start_date"]) >= utc(before["end_date"]), "backfill runs overlapped"

    def xcom(run_id: str, task_id: str) -> dict:
        (row,) = airflow_rows(home, "SELECT value FROM xcom WHERE run_id = ? AND task_id = ? AND key = 'return_value'",
                              [run_id, task_id])  # fmt: skip
        return json.loads(row["value"])

    builds = {}
    for run, day in zip(runs, days, strict=True):
        assert xcom(run["run_id"], "plan")["as_of"] == day.isoformat()
        builds[day] = xcom(run["run_id"], "build")["build_id"]
        built = query(good["warehouse"], "SELECT date_from, date_to, status FROM ops.build_runs WHERE build_id = ?",
                      [builds[day]])  # fmt: skip
        assert built == [(day, day, "success")]
    versions = query(
        good["warehouse"],
        "SELECT as_of_date, version, build_id FROM published.scorecard_versions ORDER BY published_at",
    )
    assert versions == [(day, 1, builds[day]) for day in days]


def test_scorecard_run_publishes_a_version(home, good):
    last = good["backfill"]["runs"][-1]
    assert {t: v["state"] for t, v in last["tasks"].items()} == {
        "plan": "success", "build": "success", "validate": "success", "publish": "success",
        "snapshot": "success", "serving": "success", "notify": "success", "scorecard_updated": "success",
    }  # fmt: skip
    assert {t: v["pool"] for t, v in last["tasks"].items() if v["pool"] != "default_pool"} == dict.fromkeys(
        ["build", "validate", "publish", "snapshot", "serving"], "duckdb_writer"
    )
    out = last["xcom"]["serving"]
    assert (out["as_of"], out["status"], out["version"]) == (LAST.isoformat(), "published", 1)
    counts = last["xcom"]["build"]["status_counts"]
    assert sum(counts.values()) == 30 and "no_data" not in counts
    rows = query(good["warehouse"], "SELECT profile_name, rating FROM published.scorecard_versions WHERE as_of_date = ?",
                 [LAST])  # fmt: skip
    assert len(rows) == 1 and rows[0][0] == "default"
    (n_rows,) = query(good["warehouse"], "SELECT count(*) FROM published.scorecard WHERE as_of_date = ?", [LAST])[0]
    assert n_rows > 30  # the goal, 8 criteria and 30 leaves
    snapshot = Path(out["snapshot_dir"])
    assert snapshot.is_dir() and list(snapshot.glob("*.parquet")) and (snapshot / "manifest.json").is_file()
    served = query(Path(out["serving_db"]), "SELECT as_of_date FROM published.scorecard_versions ORDER BY 1")
    assert served == [(FIRST + dt.timedelta(days=i),) for i in range(3)]
    assert Path(out["data_docs_index"]).is_file()
    events = asset_events(home, dag_defaults.SCORECARD_ASSET)
    assert events == [{"as_of": (FIRST + dt.timedelta(days=i)).isoformat(), "version": 1} for i in range(3)]


def test_invalid_weight_profile_fails_fast_without_retry_and_alerts(home, good, smtp_server):
    """Anything that fails for good, not only validation, reaches the on-call engineer: here a mistyped weight
    profile stops the run at `plan`, before any build, with one alert and no retry."""
    host, port, inbox = smtp_server
    env = {**good["env"], "RISKCARD_SMTP_HOST": host, "RISKCARD_SMTP_PORT": str(port),
           "RISKCARD_SMTP_TO": "risk-oncall@bank.test"}  # fmt: skip
    run = local_runner.run_dag_subprocess(dag_defaults.SCORECARD_DAG_ID, home, env, conf={"as_of_date": LAST.isoformat(),
                                "profile": "no_such_profile"}, log_name="scorecard_bad_profile")  # fmt: skip
    tasks = check(run, "failed")["tasks"]
    assert (tasks["plan"]["state"], tasks["plan"]["try_number"]) == ("failed", 1)
    assert {v["state"] for t, v in tasks.items() if t != "plan"} == {"upstream_failed"}
    (message,) = inbox.messages
    assert message["Subject"] == "[riskcard] FAILED riskcard_scorecard.plan: DataQualityFailure"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "no_such_profile" in body and "previous scorecard version stays the latest" in body
    assert query(good["warehouse"], "SELECT count(*) FROM published.scorecard_versions") == [(3,)]


# ---- corrupted data -----------------------------------------------------------------------------------------------
def test_source_missing_in_the_window_fails_at_validation_alerts_and_publishes_nothing(
    tmp_path, home, landing, smtp_server
):
    host, port, inbox = smtp_server
    corrupted = tmp_path / "landing"
    shutil.copytree(landing, corrupted)
    window_start = LAST - dt.timedelta(days=WINDOW - 1)
    removed = [d for d in (corrupted / "backups").iterdir() if dt.date.fromisoformat(d.name) >= window_start]
    assert removed
    for folder in removed:
        shutil.rmtree(folder)  # the backup feed stopped a month ago
    env = riskcard_env(tmp_path, corrupted, smtp_host=host, smtp_port=str(port), smtp_to="risk-oncall@bank.test")
    scorecard_events = len(asset_events(home, dag_defaults.SCORECARD_ASSET))

    run = local_runner.run_dag_subprocess(dag_defaults.SCORECARD_DAG_ID, home, env, conf={"as_of_date": LAST.isoformat()},
                                log_name="corrupted", ingest_first=True)  # fmt: skip
    report = check(run, "failed")
    assert report["ingest"]["state"] == "success"
    tasks = report["tasks"]
    assert tasks["build"]["state"] == "success"
    assert tasks["validate"]["state"] == "failed"
    assert tasks["validate"]["try_number"] == 1, "a data-quality failure must not be retried"
    assert {tasks[t]["state"] for t in ("publish", "snapshot", "serving", "notify", "scorecard_updated")} == {
        "upstream_failed"
    }
    log_text = run.log_path.read_text(errors="replace")
    assert f"critical data-quality failure for as-of {LAST}" in log_text
    assert "previous scorecard version stays the latest" in log_text

    # the alert reached the SMTP server: it names the date, the failing source and that publishing is blocked
    subjects = [m["Subject"] for m in inbox.messages]
    assert any("CRITICAL" in s and str(LAST) in s and "publishing blocked" in s for s in subjects), subjects
    body = "\n".join(m.get_body(preferencelist=("plain",)).get_content() for m in inbox.messages)
    assert "backups" in body
    assert all(m["To"] == "risk-oncall@bank.test" for m in inbox.messages)
    # validate() sent the full report; the task-failure alert does not repeat it
    assert not [s for s in subjects if s.startswith("[riskcard] FAILED")], subjects

    warehouse = Path(env["RISKCARD_WAREHOUSE"])
    published_tables = query(
        warehouse, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'published'"
    )
    assert published_tables == [], "nothing may be published: publish never ran on this fresh warehouse"
    assert not (warehouse.parent / "published" / "scorecard" / f"as_of_date={LAST}").exists()
    assert len(asset_events(home, dag_defaults.SCORECARD_ASSET)) == scorecard_events


def test_the_writer_pool_exists_with_one_slot(home, good):
    with sqlite3.connect(home / "airflow.db") as db:
        assert db.execute("SELECT slots FROM slot_pool WHERE pool = 'duckdb_writer'").fetchall() == [(1,)]


# ---- intraday -----------------------------------------------------------------------------------------------------
def test_intraday_dag_writes_the_provisional_leaves_and_opens_staleness_episodes(home, good):
    """After the ingest run's asset event, the intraday DAG's one task (writer pool) computes today's provisional
    leaves into their own table and, the logs being months old, opens a staleness episode per log it checks."""
    versions = query(good["warehouse"], "SELECT count(*) FROM published.scorecard_versions")
    run = local_runner.run_dag_subprocess(dag_defaults.INTRADAY_DAG_ID, home, good["env"], log_name="intraday")
    report = check(run)
    assert report["tasks"]["monitor"]["pool"] == "duckdb_writer"
    out = report["xcom"]["monitor"]
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert out["refreshed"] is True and out["as_of_date"] in {today.isoformat(), (today - dt.timedelta(1)).isoformat()}
    rows = query(
        good["warehouse"],
        "SELECT count(*), count(*) FILTER (WHERE status = 'no_data'), bool_and(provisional) "
        "FROM marts.fct_leaf_indicators_intraday WHERE as_of_date = ?",
        [dt.date.fromisoformat(out["as_of_date"])],
    )
    assert rows == [(30, 30, True)]  # nothing in today's window: the logs end in 2025
    stale = {episode["source"] for episode in out["stale_sources"]}
    assert {"complaints", "incidents", "backups"} <= stale  # transactions only count in working hours
    assert query(good["warehouse"], "SELECT count(*) FROM ops.source_staleness WHERE closed_at IS NULL") == [
        (len(stale),)
    ]
    # never published: the intraday run added no version
    assert query(good["warehouse"], "SELECT count(*) FROM published.scorecard_versions") == versions
