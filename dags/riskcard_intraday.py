"""riskcard_intraday: provisional KRI monitoring after every micro-batch.

Runs on each ``riskcard_raw_logs`` asset event (a batch that loaded rows) or, when none arrives, on the
``intraday_schedule`` timer (a silent source emits no event, so staleness is checked on the clock too). One task in
the writer pool: the provisional leaves of today as of now (the nightly dbt models, cut at now), breach and
staleness episodes, notify-once alerts. Nothing here is published. The work is in transforms.orchestration.tasks.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from transforms.core.settings import load_settings
from transforms.orchestration import dag_defaults as af
from transforms.orchestration import tasks as pipeline

settings = load_settings()


@dag(
    dag_id=af.INTRADAY_DAG_ID,
    schedule=af.intraday_timetable(settings),
    doc_md=__doc__,
    **af.dag_arguments(settings),
)
def riskcard_intraday():
    @task(**af.writer_task_args(settings))
    def monitor(triggering_asset_events=None) -> dict:
        """Provisional leaves as of now, open/close breach and staleness episodes, deliver their alerts (writer pool:
        it writes the intraday table and ops.*)."""
        return pipeline.monitor_intraday(triggering_asset_events)

    monitor()


riskcard_intraday()
