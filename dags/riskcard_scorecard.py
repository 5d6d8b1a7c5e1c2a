"""riskcard_scorecard: the nightly scorecard for the previous local day.

Runs at ``scorecard_time`` in the bank's time zone for the day that just ended (the run's data interval starts
on that day), or by hand with params ``as_of_date`` / ``profile`` / ``force``; `airflow backfill create` gives one
run per as-of date, oldest first (max_active_runs 1).

    plan → dbt build (indicators for the as-of date) → GX validation → publish → Parquet snapshot
         → serving copy → notify (+ the riskcard_scorecard asset when a new version came out)

A critical validation failure fails the run at ``validate`` with a clear message and an alert; nothing is
published and the previous version stays the latest. ``publish`` trusts the ``validate`` run only when it checked
the same build and the same mart rows (an ingest landing in between is outside the version; a rebuild in between
fails the run, saying what to rerun). Every task that writes the DuckDB file runs in the writer
pool (one slot). Thin by design: no database access, no dbt parsing while the scheduler parses this file.
"""

from __future__ import annotations

from airflow.sdk import Metadata, Param, dag, task
from airflow.sdk.exceptions import AirflowSkipException

from transforms.core.settings import load_settings
from transforms.orchestration import dag_defaults as af
from transforms.orchestration import tasks as pipeline

settings = load_settings()
SCORECARD = af.scorecard_asset()
WRITER = af.writer_task_args(settings)


@dag(
    dag_id=af.SCORECARD_DAG_ID,
    schedule=af.scorecard_timetable(settings),
    params={
        "as_of_date": Param(
            None,
            type=["null", "string"],
            format="date",
            description="Score this local day (YYYY-MM-DD). Empty: the day of the run's data interval.",
        ),
        "profile": Param(settings.profile, type="string", description="Weight profile (seeds/ahp/profiles/)."),
        "force": Param(False, type="boolean", description="Publish a new version even if nothing changed."),
    },
    doc_md=__doc__,
    **af.dag_arguments(settings),
)
def riskcard_scorecard():
    @task(retries=0)
    def plan(params=None, data_interval_start=None) -> dict:
        """Decide the as-of date, profile and force flag once; every later task reads them from here."""
        return pipeline.plan_run(params, data_interval_start)

    @task(**WRITER)
    def build(run: dict) -> dict:
        """dbt build of the 30 leaf indicators for the as-of date: one task, one `dbt build` (transforms.indicators.build)
        holding the writer lock throughout, so no ingest batch lands between two models of the same build; the
        task log lists every dbt model and test as it finishes."""
        return pipeline.build_indicators(run)

    @task(**WRITER)
    def validate(run: dict) -> dict:
        """Great Expectations suites; a critical failure alerts and fails here (no retry)."""
        return pipeline.validate_indicators(run)

    @task(**WRITER)
    def publish(run: dict, validation: dict) -> dict:
        """AHP weights × leaf levels → W×C scorecard → a new version in published.scorecard."""
        return pipeline.publish_scorecard(run, validation)

    @task(**WRITER)
    def snapshot(published: dict) -> dict:
        """The immutable Parquet snapshot of the version, and of every other committed version of the date that
        lacks one (a publish killed between its commit and its snapshot)."""
        return pipeline.snapshot_scorecard(published)

    @task(**WRITER)
    def serving(published: dict) -> dict:
        """Refresh the analysts' read-only copy."""
        return pipeline.refresh_serving_copy(published)

    @task
    def notify(published: dict) -> dict:
        return pipeline.notify_published(published)

    @task(outlets=[SCORECARD], retries=0)
    def scorecard_updated(published: dict):
        """Asset event for consumers of the scorecard, only when a new version was published."""
        if published["status"] != "published":
            raise AirflowSkipException(f"version {published['version']} is {published['status']}: no new version")
        yield Metadata(SCORECARD, extra={"as_of": published["as_of"], "version": published["version"]})

    run = plan()
    checked = validate(run)
    build(run) >> checked
    served = serving(snapshot(publish(run, checked)))
    notify(served)
    scorecard_updated(served)


riskcard_scorecard()
