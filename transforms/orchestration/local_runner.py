"""A throwaway local Airflow for ``dag.test()`` and backfills, used by `make demo`, the docker image and the tests.

An AIRFLOW_HOME with a SQLite metadata database, the writer pool created, DAG runs reported as JSON. Airflow reads
its configuration when it is first imported, so callers run :func:`run_dag_subprocess` (a child process with the
right environment) rather than importing Airflow into their own process.

Command line (used by docker/ and by the subprocess runner)::

    python -m transforms.orchestration.local_runner ensure-pool          # create/update the writer pool (1 slot)
    python -m transforms.orchestration.local_runner run-dag DAG_ID [--conf JSON] [--logical-date ISO] [--ingest-first]
    python -m transforms.orchestration.local_runner backfill DAG_ID --from DATE --to DATE [--ingest-first]
    python -m transforms.orchestration.local_runner describe --report FILE   # DagBag: import errors, tasks, settings
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transforms.core.settings import PROJECT_DIR, Settings, load_settings
from transforms.orchestration.dag_defaults import DAGS_DIR, INGEST_DAG_ID, POOL_DESCRIPTION


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
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
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
        "logical_date": dag_run.logical_date.isoformat() if dag_run.logical_date else None,
        "conf": dag_run.conf,
        "seconds": round(seconds, 2),
        "tasks": tasks,
    }


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


def run_backfill(dag_id: str, date_from: dt.date, date_to: dt.date) -> dict:
    """A backfill of as-of dates, one dag.test() run per date, oldest first (like `airflow backfill create` with
    max_active_runs 1). Each run gets the logical date the scheduler would give it and its as-of date as a param
    (dag.test infers a manual data interval, which ends rather than starts at the logical date). Stops at the
    first failed run: later dates would publish over a gap."""
    from zoneinfo import ZoneInfo

    settings = load_settings()
    hh, mm = (int(x) for x in settings.scorecard_time.split(":"))
    runs = []
    day = date_from
    while day <= date_to:
        logical = dt.datetime(day.year, day.month, day.day, hh % 24, mm, tzinfo=ZoneInfo(settings.timezone))
        report = run_dag(dag_id, conf={"as_of_date": day.isoformat()}, logical_date=logical)
        runs.append(report)
        if report["state"] != "success":
            break
        day += dt.timedelta(days=1)
    return {"dag_id": dag_id, "from": date_from.isoformat(), "to": date_to.isoformat(), "runs": runs,
            "state": "success" if runs and all(r["state"] == "success" for r in runs) else "failed"}  # fmt: skip


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
        dags[dag_id] = {
            "fileloc": dag.fileloc,
            "timetable": type(dag.timetable).__name__,
            "expression": getattr(dag.timetable, "expression", None),
            "timezone": str(getattr(dag.timetable, "timezone", "")) or None,
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
        "backfill": sub.add_parser("backfill", help="one run per as-of date, oldest first"),
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
