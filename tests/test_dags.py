"""The DAG files: they import with no errors and no parse-time work, have the expected tasks and dependencies, run
every warehouse writer in the one-slot pool with retries and backoff, read the same settings as everything else,
and the retry policy retries a held lock but never a data-quality failure.

Airflow reads its configuration (and sets up logging) when first imported, so everything Airflow runs in child
processes with a throwaway AIRFLOW_HOME (transforms.orchestration.local_runner); the tests read their JSON reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from transforms.core.settings import PROJECT_DIR
from transforms.orchestration import dag_defaults, local_runner

pytestmark = pytest.mark.slow

SCORECARD_CHAIN = ["plan", "build", "validate", "publish", "snapshot", "serving"]
WRITERS = {
    "riskcard_ingest": {"ingest"},
    "riskcard_scorecard": {"build", "validate", "publish", "snapshot", "serving"},
    "riskcard_intraday": {"monitor"},
}


def describe(home: Path, env: dict[str, str]) -> dict:
    home.mkdir(parents=True, exist_ok=True)
    config = home / "riskcard.toml"  # empty: a developer's own ./riskcard.toml never leaks into the DAGs
    config.write_text("")
    run = local_runner.run_subprocess(["describe"], home, {"RISKCARD_CONFIG": str(config), **env}, "describe")
    assert run.returncode == 0, run.log_path.read_text()[-4000:]
    return run.report


def run_python(code: str, home: Path, env: dict[str, str] | None = None) -> dict:
    """Run a snippet in a child with a local Airflow; it prints one JSON document last."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("RISKCARD_", "AIRFLOW"))}
    child_env.update(local_runner.airflow_env(home))
    child_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=PROJECT_DIR, env=child_env, capture_output=True,
        text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:] + proc.stdout[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def dags(tmp_path_factory) -> dict:
    report = describe(tmp_path_factory.mktemp("airflow"), {"RISKCARD_SECRET_KEY": "test"})
    return report


@pytest.fixture(scope="module")
def custom(tmp_path_factory) -> tuple[dict, Path]:
    """The DAGs parsed with non-default settings and a warehouse/landing that do not exist."""
    base = tmp_path_factory.mktemp("custom")
    env = {
        "RISKCARD_WAREHOUSE": str(base / "absent" / "wh" / "riskcard.duckdb"),
        "RISKCARD_LANDING": str(base / "absent-landing"),
        "RISKCARD_TIMEZONE": "Europe/Paris",
        "RISKCARD_SCORECARD_TIME": "23:30",
        "RISKCARD_INGEST_SCHEDULE": "*/2 * * * *",
        "RISKCARD_INTRADAY_SCHEDULE": "*/7 * * * *",
        "RISKCARD_WRITER_POOL": "wh_writer",
        "RISKCARD_WRITER_QUEUE": "riskcard_writer",
        "RISKCARD_TASK_RETRIES": "5",
        "RISKCARD_RETRY_DELAY_SECONDS": "7",
    }
    return describe(base / "airflow", env), base


def test_dags_import_with_no_errors(dags):
    assert dags["import_errors"] == {}
    assert set(dags["dags"]) == {"riskcard_ingest", "riskcard_scorecard", "riskcard_intraday"}
    for dag in dags["dags"].values():
        assert Path(dag["fileloc"]).parent == PROJECT_DIR / "dags"


def test_parsing_does_no_work(custom):
    report, base = custom
    assert report["import_errors"] == {}
    # no database or folder was touched, and nothing heavy was imported while the DagBag parsed the files
    assert not (base / "absent").exists()
    assert not (base / "absent-landing").exists()
    assert report["heavy_modules_loaded"] == []


def test_ingest_dag(dags):
    dag = dags["dags"]["riskcard_ingest"]
    assert dag["timetable"] == "CronTriggerTimetable"
    assert (dag["expression"], dag["timezone"]) == ("*/5 * * * *", "Asia/Shanghai")
    assert dag["catchup"] is False and dag["max_active_runs"] == 1
    tasks = dag["tasks"]
    assert set(tasks) == {"ingest", "raw_logs_updated"}
    assert tasks["raw_logs_updated"]["upstream"] == ["ingest"]
    assert tasks["raw_logs_updated"]["outlets"] == [dag_defaults.RAW_LOGS_ASSET]
    assert tasks["ingest"]["outlets"] == []


def test_scorecard_dag(dags):
    dag = dags["dags"]["riskcard_scorecard"]
    assert dag["timetable"] == "CronDataIntervalTimetable"
    assert (dag["expression"], dag["timezone"]) == ("0 2 * * *", "Asia/Shanghai")
    assert dag["catchup"] is False and dag["max_active_runs"] == 1
    assert dag["params"] == {"as_of_date": None, "profile": "default", "force": False}
    tasks = dag["tasks"]
    assert set(tasks) == {*SCORECARD_CHAIN, "notify", "scorecard_updated"}
    for before, after in zip(SCORECARD_CHAIN, SCORECARD_CHAIN[1:], strict=False):
        assert before in tasks[after]["upstream"], f"{before} must run before {after}"
    # the plan feeds the tasks that need the as-of date; the tail fans out after the serving copy
    assert set(tasks["plan"]["downstream"]) == {"build", "validate", "publish"}
    assert tasks["notify"]["upstream"] == ["serving"] and tasks["scorecard_updated"]["upstream"] == ["serving"]
    assert tasks["scorecard_updated"]["outlets"] == [dag_defaults.SCORECARD_ASSET]
    assert all(t["trigger_rule"].endswith("ALL_SUCCESS") for t in tasks.values())


def test_intraday_dag_runs_on_each_raw_logs_event_or_the_timer(dags):
    dag = dags["dags"]["riskcard_intraday"]
    assert dag["timetable"] == "AssetOrTimeSchedule"
    assert dag["schedule_assets"] == [dag_defaults.RAW_LOGS_ASSET]  # what riskcard_ingest's raw_logs_updated emits
    assert (dag["expression"], dag["timezone"]) == ("*/15 * * * *", "Asia/Shanghai")
    assert dag["catchup"] is False and dag["max_active_runs"] == 1
    assert set(dag["tasks"]) == {"monitor"}
    assert dag["tasks"]["monitor"]["outlets"] == []


def test_writers_run_in_the_pool_with_retries_and_backoff(dags):
    for dag_id, dag in dags["dags"].items():
        for task_id, task in dag["tasks"].items():
            assert task["retry_policy"] == "RiskcardRetryPolicy", task_id
            assert task["has_failure_callback"], task_id
            if task_id in WRITERS[dag_id]:
                assert task["pool"] == "duckdb_writer", f"{dag_id}.{task_id} writes DuckDB outside the pool"
                assert task["retries"] == 3
                assert task["retry_delay"] == 30.0
                assert task["retry_exponential_backoff"] == 2.0
                assert task["max_retry_delay"] == 1800.0
            else:
                assert task["pool"] == "default_pool", f"{dag_id}.{task_id} holds the writer slot for nothing"


def test_settings_reach_the_dags(custom):
    report, _ = custom
    ingest, scorecard = report["dags"]["riskcard_ingest"], report["dags"]["riskcard_scorecard"]
    assert (ingest["expression"], ingest["timezone"]) == ("*/2 * * * *", "Europe/Paris")
    assert (scorecard["expression"], scorecard["timezone"]) == ("30 23 * * *", "Europe/Paris")
    intraday = report["dags"]["riskcard_intraday"]
    assert (intraday["expression"], intraday["timezone"]) == ("*/7 * * * *", "Europe/Paris")
    for dag_id, dag in report["dags"].items():
        for task_id in WRITERS[dag_id]:
            task = dag["tasks"][task_id]
            assert (task["pool"], task["queue"]) == ("wh_writer", "riskcard_writer")
            assert (task["retries"], task["retry_delay"]) == (5, 7.0)


def test_retry_policy_retries_a_held_lock_but_not_bad_data(tmp_path):
    decisions = run_python(
        """
        import json
        from transforms.orchestration.retry import DataQualityFailure, InvalidRunRequest, RiskcardRetryPolicy
        from transforms.core.warehouse import WarehouseBusy
        from transforms.publishing.publish import PublishBlocked
        from transforms.scoring.profiles import ProfileInvalid
        from transforms.indicators.build import BuildFailed

        policy = RiskcardRetryPolicy()
        errors = {
            "busy": WarehouseBusy("writer lock held by pid 42"),
            "duckdb_lock": RuntimeError('IO Error: Could not set lock on file "w.duckdb": Conflicting lock is held'),
            "dbt_lock": BuildFailed("dbt build failed: IO Error: Could not set lock on file x.duckdb"),
            "data_quality": DataQualityFailure("critical failure"),
            "bad_request": InvalidRunRequest("as_of_date must be an ISO date"),
            "blocked": PublishBlocked("blocked", None),
            "profile": ProfileInvalid("CR 0.2 > 0.1"),
            "dbt_test": BuildFailed("dbt build failed: test not_null_x: fail"),
            "other": OSError("disk hiccup"),
        }
        print(json.dumps({k: policy.evaluate(e, 1, 4).action.value for k, e in errors.items()}))
        """,
        tmp_path / "airflow",
    )
    assert decisions == {
        "busy": "retry", "duckdb_lock": "retry", "dbt_lock": "retry",
        "data_quality": "fail", "bad_request": "fail", "blocked": "fail", "profile": "fail", "dbt_test": "fail",
        "other": "default",
    }  # fmt: skip


def test_schedule_and_backfill_dates_map_to_as_of_days(tmp_path):
    """The runs Airflow's backfill planner creates for logical dates D1..D3 score exactly D1..D3, each run after
    its day ended; a manual run with no as_of_date scores the last complete day."""
    result = run_python(
        """
        import json, datetime as dt
        from zoneinfo import ZoneInfo
        from airflow.dag_processing.dagbag import DagBag
        from airflow.serialization.serialized_objects import DagSerialization
        from airflow.serialization.encoders import coerce_to_core_timetable
        from transforms.orchestration.tasks import resolve_as_of

        tz = ZoneInfo("Asia/Shanghai")
        dag = DagBag("dags").dags["riskcard_scorecard"]
        sdag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
        infos = sdag.iter_dagrun_infos_between(dt.datetime(2025, 3, 1, tzinfo=tz), dt.datetime(2025, 3, 3, 23, tzinfo=tz))
        runs = [
            {"as_of": resolve_as_of({}, i.data_interval.start, "Asia/Shanghai").isoformat(),
             "run_after": i.run_after.astimezone(tz).isoformat()}
            for i in infos
        ]
        manual = coerce_to_core_timetable(dag.timetable).infer_manual_data_interval(
            run_after=dt.datetime(2025, 3, 10, 9, 0, tzinfo=tz))
        explicit = resolve_as_of({"as_of_date": "2025-01-31"}, manual.start, "Asia/Shanghai")
        print(json.dumps({"runs": runs, "manual": resolve_as_of({}, manual.start, "Asia/Shanghai").isoformat(),
                          "explicit": explicit.isoformat()}))
        """,
        tmp_path / "airflow",
        {"RISKCARD_SECRET_KEY": "test"},
    )
    assert result["runs"] == [
        {"as_of": "2025-03-01", "run_after": "2025-03-02T02:00:00+08:00"},
        {"as_of": "2025-03-02", "run_after": "2025-03-03T02:00:00+08:00"},
        {"as_of": "2025-03-03", "run_after": "2025-03-04T02:00:00+08:00"},
    ]
    assert result["manual"] == "2025-03-09"
    assert result["explicit"] == "2025-01-31"
