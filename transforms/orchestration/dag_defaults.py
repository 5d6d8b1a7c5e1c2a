"""What the DAG files are made of: ids, the writer pool's task arguments, retries, schedules and assets.

- Task defaults: the DuckDB writer pool (one slot) and queue, retries with exponential backoff, the retry policy
  (transforms.orchestration.retry.RiskcardRetryPolicy: a held lock is retried, a data-quality failure fails at
  once) and the failure alert.
- Schedules and assets: the nightly scorecard timetable (``scorecard_time`` local, for the previous local day),
  the ingest micro-batch timetable, the raw-logs and scorecard assets.

Importing this module imports no Airflow; each function imports what it builds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from transforms.core.settings import PROJECT_DIR, Settings

DAGS_DIR = PROJECT_DIR / "dags"
INGEST_DAG_ID = "riskcard_ingest"
SCORECARD_DAG_ID = "riskcard_scorecard"
INTRADAY_DAG_ID = "riskcard_intraday"
RAW_LOGS_ASSET = "riskcard_raw_logs"
SCORECARD_ASSET = "riskcard_scorecard"
POOL_DESCRIPTION = "DuckDB takes one writer process: every task that writes the riskcard warehouse runs here"
# A fixed start: nothing runs before it (catch-up is off), and backfills may reach back to it.
START_DATE = dt.datetime(2024, 1, 1)
MAX_RETRY_DELAY = dt.timedelta(minutes=30)


def dag_arguments(settings: Settings) -> dict[str, Any]:
    """What every riskcard DAG shares: its start, no catch-up, one run at a time, the task defaults, the tag."""
    return {
        "start_date": start_date(settings),
        "catchup": False,
        "max_active_runs": 1,
        "default_args": task_defaults(settings),
        "tags": ["riskcard"],
    }


# ---- task settings ------------------------------------------------------------------------------------------------
def task_defaults(settings: Settings) -> dict[str, Any]:
    """default_args of both DAGs: retries with exponential backoff, the retry policy, the failure alert."""
    from transforms.orchestration.retry import RiskcardRetryPolicy
    from transforms.orchestration.tasks import alert_task_failure

    return {
        "owner": "riskcard",
        "retries": settings.task_retries,
        "retry_delay": dt.timedelta(seconds=settings.retry_delay_seconds),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": MAX_RETRY_DELAY,
        "retry_policy": RiskcardRetryPolicy(),
        "on_failure_callback": alert_task_failure,
    }


def writer_task_args(settings: Settings) -> dict[str, Any]:
    """For every task that writes the DuckDB file: the one-slot pool, and the writer worker's queue."""
    return {"pool": settings.writer_pool, "pool_slots": 1, "queue": settings.writer_queue}


# ---- schedules and assets -----------------------------------------------------------------------------------------
def scorecard_timetable(settings: Settings):
    """Nightly at ``scorecard_time`` local time; the run for local day D covers [D hh:mm, D+1 hh:mm) and fires at
    D+1 hh:mm. A backfill gets one run per as-of day: give the range in local time, e.g. for Asia/Shanghai
    `airflow backfill create --dag-id riskcard_scorecard --from-date 2025-01-01T02:00:00+08:00
    --to-date 2025-03-31T02:00:00+08:00 --max-active-runs 1` (plain dates are read as UTC midnight)."""
    from airflow.sdk import CronDataIntervalTimetable

    hh, mm = (int(x) for x in settings.scorecard_time.split(":"))
    return CronDataIntervalTimetable(f"{mm} {hh % 24} * * *", timezone=settings.timezone)


def ingest_timetable(settings: Settings):
    from airflow.sdk import CronTriggerTimetable

    return CronTriggerTimetable(settings.ingest_schedule, timezone=settings.timezone)


def intraday_timetable(settings: Settings):
    """Each raw-logs asset event (a batch that loaded rows), or the ``intraday_schedule`` timer when none arrives: a
    silent source emits no event, so staleness is also checked on the clock."""
    from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable

    return AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(settings.intraday_schedule, timezone=settings.timezone),
        assets=[raw_logs_asset()],
    )


def start_date(settings: Settings) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return START_DATE.replace(tzinfo=ZoneInfo(settings.timezone))


def raw_logs_asset():
    from airflow.sdk import Asset

    return Asset(name=RAW_LOGS_ASSET, uri="x-riskcard://warehouse/raw", group="riskcard")


def scorecard_asset():
    from airflow.sdk import Asset

    return Asset(name=SCORECARD_ASSET, uri="x-riskcard://warehouse/published/scorecard", group="riskcard")
