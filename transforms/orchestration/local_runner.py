"""A throwaway local Airflow for ``dag.test()`` and backfills, used by `make demo`, the docker image and the tests.

An AIRFLOW_HOME with a SQLite metadata database, the writer pool created, DAG runs reported as JSON. Airflow reads
its configuration when it is first imported, so callers run :func:`run_dag_subprocess` (a child process with the
right environment) rather than importing Airflow into their own process.

Command line (used by docker/ and by the subprocess runner)::

    python -m transforms.orchestration.local_runner ensure-pool          # create/update the writer pool (1 slot)
    python -m transforms.orchestration.local_runner run-dag DAG_ID [--conf JSON] [--logical-date ISO] [--ingest-first]
    python -m transforms.orchestration.local_runner backfill DAG_ID --from DATE --to DATE [--ingest-first]
                                                            # Airflow's backfill of as-of dates, run in this process
    python -m transforms.orchestration.local_runner describe --report FILE   # DagBag: import errors, tasks, settings
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transforms.core.settings import PROJECT_DIR, Settings, load_settings
from transforms.orchestration.dag_defaults import DAGS_DIR, INGEST_DAG_ID, POOL_DESCRIPTION

log = logging.getLogger(__name__)


# ---- a local Airflow for dag.test() -------------------------------------------------------------------------------
def airflow_env(home: Path, dags_folder: Path = DAGS_DIR) -> dict[str, str]:
    """Environment for a throwaway Airflow: SQLite metadata DB in ``home``, these DAGs only, no examples, no
    telemetry."""
    home = Path(home).absolute()
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(Path(dags_folder).absolute()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "SCARF_ANALYTICS": "false",
        "DO_NOT_TRACK": "1",
    }


def ensure_writer_pool(settings: Settings | None = None) -> str:
    """Create (or reset to one slot) the pool every warehouse-writing task runs in. Needs Airflow configured."""
    from airflow.models.pool import Pool

    settings = settings or load_settings()
    Pool.create_or_update_pool(name=settings.writer_pool, slots=1, description=POOL_DESCRIPTION, include_deferred=False)
    return settings.writer_pool


def migrate_metadata_db() -> None:
    """`airflow db migrate` (creates the SQLite schema on first use; quick no-op afterwards)."""
    from airflow.utils import db

    db.upgradedb()


def _load_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(DAGS_DIR))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {json.dumps(bag.import_errors, indent=2)}")
    dag = bag.dags.get(dag_id)
    if dag is None:
        raise KeyError(f"no DAG {dag_id!r} in {DAGS_DIR} (found {sorted(bag.dags)})")
    return dag


def _run_report(dag_run, seconds: float) -> dict[str, Any]:
    tasks = {}
    for ti in sorted(dag_run.get_task_instances(), key=lambda t: (t.start_date or dt.datetime.max.replace(
            tzinfo=dt.UTC), t.task_id)):  # fmt: skip
        tasks[ti.task_id] = {
            "state": str(ti.state.value if hasattr(ti.state, "value") else ti.state),
            "try_number": ti.try_number,
            "duration": ti.duration,
            "pool": ti.pool,
        }
    state = dag_run.state
    return {
        "xcom": _return_values(dag_run),
        "dag_id": dag_run.dag_id,
        "run_id": dag_run.run_id,
        "state": str(state.value if hasattr(state, "value") else state),
        "run_type": str(dag_run.run_type),
        "logical_date": dag_run.logical_date.isoformat() if dag_run.logical_date else None,
        "data_interval_start": _iso(dag_run.data_interval_start),
        "data_interval_end": _iso(dag_run.data_interval_end),
        "conf": dag_run.conf,
        "seconds": round(seconds, 2),
        "tasks": tasks,
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def prepare_local_airflow() -> None:
    """Metadata DB schema and the writer pool, in the Airflow this process is configured for."""
    migrate_metadata_db()
    ensure_writer_pool()


def _return_values(dag_run) -> dict[str, Any]:
    """Each task's return value (XCom), for the caller's report."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id, key="return_value"))
        return {row.task_id: XComModel.deserialize_value(row) for row in rows}


def run_dag(dag_id: str, conf: dict[str, Any] | None = None, logical_date: dt.datetime | None = None) -> dict:
    """One dag.test() run in this (already configured, prepared) process; returns the run's report."""
    dag = _load_dag(dag_id)
    started = time.perf_counter()
    kwargs: dict[str, Any] = {"run_conf": conf or None}
    if logical_date is not None:
        kwargs["logical_date"] = logical_date
    dag_run = dag.test(**kwargs)
    return _run_report(dag_run, time.perf_counter() - started)


def sync_dags_to_db() -> None:
    """Parse the DAGs folder and write the DAGs into the metadata DB (what the dag-processor does; dag.test() does the
    same before its run): a backfill is planned from the serialized DAG."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        if not bundle.is_initialized:
            bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        if bag.import_errors:
            raise RuntimeError(f"DAG import errors: {json.dumps(bag.import_errors, indent=2)}")
        sync_bag_to_db(bag, bundle.name, bundle.version)


def run_backfill(dag_id: str, date_from: dt.date, date_to: dt.date) -> dict:
    """Airflow's own backfill of the as-of dates ``date_from`` .. ``date_to``, run in this process.

    - Planned by Airflow: ``airflow.models.backfill._create_backfill`` (what `airflow backfill create` and the REST
      API call) makes one queued DagRun of run_type ``backfill`` per as-of day D, with the logical date and data
      interval the DAG's timetable gives it ([D scorecard_time, D+1 scorecard_time) local) and no as_of_date param:
      the plan task derives D from the data interval, as for a scheduled run. Max active runs 1; a date that already
      has a run is run again (reprocess behaviour "completed", as in the README's command).
    - Started by the scheduler's own rule (``SchedulerJobRunner._start_queued_dagruns``): one run at a time, in the
      backfill's order, oldest first.
    - Each started run's tasks are executed here the way dag.test() executes them (no executor, no API server).

    The first failed run cancels the rest, as `cancel` does in the REST API (later dates would publish over a gap).
    The DAG is unpaused first: the scheduler starts no run of a paused DAG, backfills included."""
    from zoneinfo import ZoneInfo

    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.backfill import ReprocessBehavior, _create_backfill
    from airflow.utils.session import create_session

    settings = load_settings()
    dag = _load_dag(dag_id)
    sync_dags_to_db()
    _unpause(dag_id)
    hh, mm = (int(x) for x in settings.scorecard_time.split(":"))
    tz = ZoneInfo(settings.timezone)
    backfill = _create_backfill(
        dag_id=dag_id,
        from_date=dt.datetime.combine(date_from, dt.time(hh % 24, mm), tz),
        to_date=dt.datetime.combine(date_to, dt.time(hh % 24, mm), tz),
        max_active_runs=1,
        reverse=False,
        dag_run_conf=None,
        triggering_user_name="riskcard",
        reprocess_behavior=ReprocessBehavior.COMPLETED,
    )
    scheduler = SchedulerJobRunner(job=Job())
    runs: list[dict[str, Any]] = []
    while True:
        with create_session() as session:
            scheduler._start_queued_dagruns(session)
        started = _backfill_runs(backfill.id, state="running")
        if not started:
            break
        for run_id in started:
            runs.append(_execute_run(dag, run_id))
        if runs[-1]["state"] != "success":
            _cancel_backfill(backfill.id)
            break
    with create_session() as session:
        scheduler._mark_backfills_complete(session=session)
    report = _backfill_report(backfill.id)
    # success: every date of the backfill has a run and every run succeeded (none skipped, cancelled or failed)
    ok = bool(report["dag_runs"]) and all(r["state"] == "success" for r in report["dag_runs"])
    return {
        "dag_id": dag_id,
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "backfill": report,
        "runs": runs,
        "state": "success" if ok else "failed",
    }


def _unpause(dag_id: str) -> None:
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import update

    with create_session() as session:
        session.execute(update(DagModel).where(DagModel.dag_id == dag_id).values(is_paused=False))


def _backfill_runs(backfill_id: int, state: str | None = None) -> list[str]:
    """Run ids of the backfill's DagRuns (optionally only those in ``state``), in the backfill's order."""
    from airflow.models.backfill import BackfillDagRun
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    query = (
        select(DagRun.run_id)
        .join(BackfillDagRun, BackfillDagRun.dag_run_id == DagRun.id)
        .where(BackfillDagRun.backfill_id == backfill_id)
        .order_by(BackfillDagRun.sort_ordinal)
    )
    if state is not None:
        query = query.where(DagRun.state == state)
    with create_session() as session:
        return list(session.scalars(query))


def _execute_run(dag, run_id: str) -> dict[str, Any]:
    """Run a started DagRun's tasks in this process until the run finishes: dag.test()'s loop (the run's own state
    machine decides what is ready, retries included; each task runs through Airflow's in-process task runner), on
    a run someone else created."""
    from airflow import settings as airflow_settings
    from airflow.models.dagrun import DagRun
    from airflow.sdk import timezone
    from airflow.sdk.definitions.dag import _run_task
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.state import DagRunState, TaskInstanceState
    from sqlalchemy import select

    started = time.perf_counter()
    scheduler_dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    session = airflow_settings.Session()
    try:
        dag_run = session.scalar(select(DagRun).where(DagRun.dag_id == dag.dag_id, DagRun.run_id == run_id))
        dag_run.dag = scheduler_dag
        while dag_run.state == DagRunState.RUNNING:
            session.expire_all()
            schedulable, _ = dag_run.update_state(session=session)
            for ti in schedulable:
                if ti.state != TaskInstanceState.UP_FOR_RESCHEDULE:
                    ti.try_number += 1
                ti.state = TaskInstanceState.SCHEDULED
                ti.scheduled_dttm = timezone.utcnow()
            session.commit()
            scheduled = [ti for ti in dag_run.get_task_instances(session=session)
                         if ti.state == TaskInstanceState.SCHEDULED]  # fmt: skip
            if not scheduled and dag_run.state == DagRunState.RUNNING:
                time.sleep(1)  # a task waits for its retry delay
            for ti in scheduled:
                try:
                    _run_task(ti=ti, task=dag.task_dict[ti.task_id], run_triggerer=True)
                except Exception:  # noqa: BLE001 - as dag.test(): the task's state says what happened
                    log.exception("task %s of %s failed", ti.task_id, run_id)
        return _run_report(dag_run, time.perf_counter() - started)
    finally:
        session.close()


def _cancel_backfill(backfill_id: int) -> None:
    """Pause the backfill and fail its queued runs (what the REST API's cancel does); completed by the scheduler's
    rule afterwards."""
    from airflow.models.backfill import Backfill, BackfillDagRun
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from sqlalchemy import select, update

    with create_session() as session:
        session.execute(update(Backfill).where(Backfill.id == backfill_id).values(is_paused=True))
        runs = select(BackfillDagRun.dag_run_id).where(BackfillDagRun.backfill_id == backfill_id)
        session.execute(
            update(DagRun)
            .where(DagRun.id.in_(runs), DagRun.state == DagRunState.QUEUED)
            .values(state=DagRunState.FAILED)
            .execution_options(synchronize_session=False)
        )


def _backfill_report(backfill_id: int) -> dict[str, Any]:
    from airflow.models.backfill import Backfill, BackfillDagRun
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        backfill = session.get(Backfill, backfill_id)
        rows = session.execute(
            select(BackfillDagRun.sort_ordinal, BackfillDagRun.logical_date, BackfillDagRun.exception_reason,
                   DagRun.run_id, DagRun.state)
            .join(DagRun, DagRun.id == BackfillDagRun.dag_run_id, isouter=True)
            .where(BackfillDagRun.backfill_id == backfill_id)
            .order_by(BackfillDagRun.sort_ordinal)
        ).all()  # fmt: skip
        return {
            "id": backfill.id,
            "from_date": backfill.from_date.isoformat(),
            "to_date": backfill.to_date.isoformat(),
            "max_active_runs": backfill.max_active_runs,
            "completed_at": backfill.completed_at.isoformat() if backfill.completed_at else None,
            "dag_runs": [
                {
                    "sort_ordinal": n,
                    "logical_date": logical.isoformat() if logical else None,
                    "run_id": run_id,
                    "state": str(state) if state else None,
                    "exception_reason": reason,
                }
                for n, logical, reason, run_id, state in rows
            ],  # fmt: skip
        }


def describe_dags() -> dict:
    """The DagBag as data: import errors, parse time, and per DAG its schedule, params and tasks."""
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(str(DAGS_DIR))
    parse_seconds = time.perf_counter() - started
    dags = {}
    for dag_id, dag in bag.dags.items():
        tasks = {}
        for task in dag.tasks:
            tasks[task.task_id] = {
                "operator": type(task).__name__,
                "upstream": sorted(task.upstream_task_ids),
                "downstream": sorted(task.downstream_task_ids),
                "pool": task.pool,
                "queue": task.queue,
                "retries": task.retries,
                "retry_delay": task.retry_delay.total_seconds() if task.retry_delay else None,
                "retry_exponential_backoff": task.retry_exponential_backoff,
                "max_retry_delay": task.max_retry_delay.total_seconds() if task.max_retry_delay else None,
                "retry_policy": type(task.retry_policy).__name__ if task.retry_policy else None,
                "has_failure_callback": bool(task.on_failure_callback),
                "outlets": [getattr(o, "name", str(o)) for o in task.outlets],
                "trigger_rule": str(task.trigger_rule),
            }
        clock = getattr(dag.timetable, "timetable", dag.timetable)  # an asset-or-time schedule's timer
        condition = getattr(dag.timetable, "asset_condition", None)
        dags[dag_id] = {
            "fileloc": dag.fileloc,
            "timetable": type(dag.timetable).__name__,
            "expression": getattr(clock, "expression", None),
            "timezone": str(getattr(clock, "timezone", "")) or None,
            "schedule_assets": sorted(a.name for a in getattr(condition, "objects", [condition]) if a is not None),
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "params": {k: dag.params.get_param(k).value for k in dag.params},
            "tags": sorted(dag.tags),
            "tasks": tasks,
        }
    heavy = ("duckdb", "polars", "pyarrow", "pandas", "dbt", "great_expectations")
    return {
        "import_errors": bag.import_errors,
        "parse_seconds": round(parse_seconds, 3),
        "heavy_modules_loaded": sorted(m for m in heavy if m in sys.modules),
        "dags": dags,
    }


# ---- the subprocess runner (what the demo and the tests call) -----------------------------------------------------
@dataclass
class ChildRun:
    returncode: int
    report: dict[str, Any]
    seconds: float
    log_path: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> str | None:
        return self.report.get("state")


def run_subprocess(args: list[str], home: Path, env: dict[str, str], log_name: str, timeout: float = 900) -> ChildRun:
    """Run ``python -m transforms.orchestration.local_runner ARGS --report FILE`` with a local Airflow in ``home`` and the
    given RISKCARD_* environment; Airflow's own output goes to ``home/<log_name>.log``."""
    home = Path(home).absolute()
    home.mkdir(parents=True, exist_ok=True)
    report_path = home / f"{log_name}.json"
    log_path = home / f"{log_name}.log"
    report_path.unlink(missing_ok=True)
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("RISKCARD_", "AIRFLOW"))}
    child_env.update(airflow_env(home))
    child_env["PYTHONUNBUFFERED"] = "1"  # the log file follows the run as it happens
    child_env.update(env)
    started = time.perf_counter()
    with log_path.open("w") as log:
        proc = subprocess.run(
            [sys.executable, "-m", "transforms.orchestration.local_runner", *args, "--report", str(report_path)],
            cwd=str(PROJECT_DIR),
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    seconds = time.perf_counter() - started
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    return ChildRun(proc.returncode, report, seconds, log_path)


def run_dag_subprocess(
    dag_id: str,
    home: Path,
    env: dict[str, str],
    conf: dict[str, Any] | None = None,
    logical_date: dt.datetime | None = None,
    log_name: str | None = None,
    ingest_first: bool = False,
) -> ChildRun:
    """One dag.test() run in a child (optionally after an ingest run in the same child: the report then has the
    ingest run's report under "ingest")."""
    args = ["run-dag", dag_id] + (["--ingest-first"] if ingest_first else [])
    if conf:
        args += ["--conf", json.dumps(conf)]
    if logical_date:
        args += ["--logical-date", logical_date.isoformat()]
    return run_subprocess(args, home, env, log_name or dag_id)


# ---- command line -------------------------------------------------------------------------------------------------
COMMANDS = ("ensure-pool", "run-dag", "backfill", "describe")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m transforms.orchestration.local_runner", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    commands = {
        "ensure-pool": sub.add_parser("ensure-pool", help="create or update the DuckDB writer pool (1 slot)"),
        "run-dag": sub.add_parser("run-dag", help="one dag.test() run"),
        "backfill": sub.add_parser("backfill", help="Airflow's backfill: one run per as-of date, oldest first"),
        "describe": sub.add_parser("describe", help="the DagBag as JSON"),
    }
    commands["run-dag"].add_argument("dag_id")
    commands["run-dag"].add_argument("--conf", default=None, help="run conf / params as JSON")
    commands["run-dag"].add_argument("--logical-date", default=None)
    commands["backfill"].add_argument("dag_id")
    commands["backfill"].add_argument("--from", dest="date_from", required=True)
    commands["backfill"].add_argument("--to", dest="date_to", required=True)
    for name in ("run-dag", "backfill"):
        commands[name].add_argument(
            "--ingest-first", action="store_true", help=f"run {INGEST_DAG_ID} first (in the same process)"
        )
    for p in commands.values():
        p.add_argument("--report", type=Path, default=None, help="also write the JSON result here")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    if args.command == "ensure-pool":
        result: dict[str, Any] = {"pool": ensure_writer_pool(), "slots": 1}
    elif args.command in ("run-dag", "backfill"):
        prepare_local_airflow()
        ingest = run_dag(INGEST_DAG_ID) if args.ingest_first else None
        if ingest is not None and ingest["state"] != "success":
            result = {"state": "failed", "ingest": ingest}
        elif args.command == "run-dag":
            logical = dt.datetime.fromisoformat(args.logical_date) if args.logical_date else None
            result = run_dag(args.dag_id, json.loads(args.conf) if args.conf else None, logical)
        else:
            result = run_backfill(
                args.dag_id, dt.date.fromisoformat(args.date_from), dt.date.fromisoformat(args.date_to)
            )
        if ingest is not None:
            result["ingest"] = ingest
    else:
        result = describe_dags()
    text = json.dumps(result, indent=2, default=str)
    if args.report:
        args.report.write_text(text)
    print(text)
    ok = result.get("state", "success") == "success" and not result.get("import_errors")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
