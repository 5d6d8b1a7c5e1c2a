"""riskcard_ingest: micro-batches of the four landing logs into the DuckDB warehouse.

Every ``ingest_schedule`` (default every 5 minutes, in the bank's time zone) one run loads each new landing file
exactly once (transforms.ingest), logs what each source brought and, when rows were loaded, updates the
``riskcard_raw_logs`` asset. Thin by design: no database access and no heavy import while the scheduler parses
this file; the work is in transforms.orchestration.tasks.
"""

from __future__ import annotations

from airflow.sdk import Metadata, dag, task
from airflow.sdk.exceptions import AirflowSkipException

from transforms.core.settings import load_settings
from transforms.orchestration import dag_defaults as af
from transforms.orchestration import tasks as pipeline

settings = load_settings()
RAW_LOGS = af.raw_logs_asset()


@dag(
    dag_id=af.INGEST_DAG_ID,
    schedule=af.ingest_timetable(settings),
    doc_md=__doc__,
    **af.dag_arguments(settings),
)
def riskcard_ingest():
    @task(**af.writer_task_args(settings))
    def ingest() -> dict:
        """Load new landing files (writes the warehouse: writer pool)."""
        return pipeline.ingest_batch()

    @task(outlets=[RAW_LOGS], retries=0)
    def raw_logs_updated(summary: dict):
        """Asset event for the raw logs, only when this batch loaded rows (a skipped task emits none)."""
        if not summary["rows_loaded"]:
            raise AirflowSkipException("no new rows: the raw logs did not change")
        yield Metadata(RAW_LOGS, extra={"rows_loaded": summary["rows_loaded"], "ingest_run_id": summary["run_id"]})

    raw_logs_updated(ingest())


riskcard_ingest()
