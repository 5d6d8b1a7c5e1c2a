"""What each Airflow task does, as plain functions over the agreed parts (ingest, build, validate, publish,
snapshot, serving copy, alerts).

The DAG files only wire these together, so everything here takes and returns plain JSON-able values (ISO dates,
names, dicts: they travel as XCom) and loads the settings itself at run time. Heavy imports (Polars, DuckDB, dbt,
Great Expectations) happen inside the functions, never when the scheduler parses a DAG file.

Errors decide retries (transforms.orchestration.retry.RiskcardRetryPolicy, set on every task):
- transient: :class:`transforms.core.warehouse.WarehouseBusy` (the writer lock or DuckDB's file lock is held, e.g. by
  an analyst's tool) propagates unchanged and is retried with exponential backoff;
- data quality: a critical validation failure, a blocked publish or an invalid weight profile raises
  :class:`DataQualityFailure` (an ``AirflowFailException``): the run fails at once, without retries, with a
  message that says why, and the previous scorecard version stays the latest.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from typing import Any

from transforms.core.settings import Settings, load_settings
from transforms.orchestration.retry import LOCK_MESSAGES, DataQualityFailure, InvalidRunRequest

log = logging.getLogger(__name__)

BEFORE_PUBLISHING = ("plan", "build", "validate", "publish")  # scorecard tasks whose failure means no new version


# ---- which day a run is for -------------------------------------------------------------------------------------
def resolve_as_of(params: dict[str, Any] | None, data_interval_start: dt.datetime | None, timezone: str) -> dt.date:
    """The as-of date of a scorecard run.

    An explicit ``as_of_date`` param wins (manual runs, the demo, re-runs). Otherwise the run is the scheduled one
    (or a backfill run) for the data interval that starts at ``scorecard_time`` on local day D and ends at the
    same time on D + 1: its as-of date is D, the local day of the interval's start.
    """
    chosen = (params or {}).get("as_of_date")
    if chosen:
        try:
            return dt.date.fromisoformat(str(chosen))
        except ValueError:
            raise InvalidRunRequest(f"param as_of_date must be an ISO date (YYYY-MM-DD), got {chosen!r}") from None
    if data_interval_start is None:
        raise InvalidRunRequest("the run has no data interval and no as_of_date param: say which day to score")
    from zoneinfo import ZoneInfo

    return data_interval_start.astimezone(ZoneInfo(timezone)).date()


def plan_run(params: dict[str, Any] | None, data_interval_start: dt.datetime | None) -> dict[str, Any]:
    """The run's as-of date, weight profile and force flag, decided once and passed to every later task.

    The weight profile is checked here, so a mistyped or inconsistent one fails the run in seconds rather than
    after the build and validation (publish checks it again: it is the step that uses it)."""
    from transforms.scoring.profiles import ProfileInvalid, load_profile

    settings = load_settings()
    params = params or {}
    as_of = resolve_as_of(params, data_interval_start, settings.timezone)
    plan = {
        "as_of": as_of.isoformat(),
        "profile": params.get("profile") or settings.profile,
        "force": bool(params.get("force", False)),
    }
    try:
        load_profile(plan["profile"], settings)
    except ProfileInvalid as exc:
        raise DataQualityFailure(f"cannot score {as_of}: {exc}") from exc
    log.info("scorecard run for as-of %(as_of)s, profile %(profile)s, force=%(force)s", plan)
    return plan


# ---- micro-batch ingestion ----------------------------------------------------------------------------------------
def ingest_batch() -> dict[str, Any]:
    """Load every new landing file once; log what each source brought. Busy warehouse -> WarehouseBusy (retry)."""
    from transforms.ingest import ingest

    settings = load_settings()
    report = ingest(settings)
    summary = report.to_dict()
    summary["files"] = len(summary.get("files") or [])  # per-file detail stays in raw.ingested_files
    for source, s in report.sources.items():
        log.info(
            "%s: %d new file(s), %d skipped, %d failed; rows in %d, loaded %d, quarantined %d",
            source, s.files_new, s.files_skipped, s.files_failed, s.rows_in, s.rows_loaded, s.rows_quarantined,
        )  # fmt: skip
    if report.exit_code == 3:
        log.warning("ingest run %s quarantined rows or files: see raw.quarantine", report.run_id)
    summary["rows_loaded"] = int(report.rows_loaded)
    summary["run_id"] = report.run_id
    summary["landing"] = str(settings.landing)
    return summary


# ---- nightly scorecard --------------------------------------------------------------------------------------------
def build_indicators(plan: dict[str, Any]) -> dict[str, Any]:
    """dbt build of the indicators for the plan's as-of date, in one task (see the note in the scorecard DAG).

    build() holds the writer lock for the whole build and logs each dbt node as it finishes, so the task log
    names every model and test; a failing model or dbt test is not transient (no retry)."""
    from transforms.indicators.build import BuildFailed, build

    settings = load_settings()
    as_of = dt.date.fromisoformat(plan["as_of"])
    try:
        result = build(settings, as_of=as_of, progress=True)
    except BuildFailed as exc:
        if _is_lock_conflict(exc):
            from transforms.core.warehouse import WarehouseBusy

            raise WarehouseBusy(str(exc)) from exc
        raise DataQualityFailure(f"dbt build for as-of {as_of} failed: {exc}") from exc
    failed = [n.name for n in result.nodes if n.failed]
    statuses = Counter(n.status for n in result.nodes)
    log.info("dbt built %d node(s) for %s in %.1fs; leaf statuses %s", len(result.nodes), as_of, result.seconds,
             result.status_counts)  # fmt: skip
    return {
        "as_of": plan["as_of"],
        "seconds": round(result.seconds, 2),
        "rows_written": result.rows_written,
        "status_counts": dict(result.status_counts),
        "nodes": dict(statuses),
        "failed_nodes": failed,
        "build_id": result.build_id,
        "ingest_high_water": result.ingest_high_water,
    }


def validate_indicators(plan: dict[str, Any], run_id: str | None = None) -> dict[str, Any]:
    """Great Expectations over the as-of date. validate() records the run and sends the alert itself; a critical
    failure then fails this task (no retry), so publishing never starts and the previous version stays latest."""
    from transforms.quality import validate

    settings = load_settings()
    as_of = dt.date.fromisoformat(plan["as_of"])
    outcome = validate(settings, as_of, run_id=run_id, alert=True)
    docs = str(outcome.data_docs_index) if outcome.data_docs_index else None
    if outcome.critical_failed:
        names = "; ".join(
            f"{f.label} (observed {f.observed}, expected {f.expected})" for f in outcome.critical_failures
        )
        raise DataQualityFailure(
            f"critical data-quality failure for as-of {as_of}: {names}. Publishing is blocked and the previous "
            f"scorecard version stays the latest. Validation run {outcome.run_id}; Data Docs: {docs}"
        )
    for f in outcome.failures:
        log.warning("warning expectation failed: %s (observed %s, expected %s)", f.label, f.observed, f.expected)
    return {
        "as_of": plan["as_of"],
        "validation_run_id": outcome.run_id,
        "warnings": len(outcome.failures),
        "data_docs_index": docs,
    }


def publish_scorecard(plan: dict[str, Any], validation: dict[str, Any]) -> dict[str, Any]:
    """Synthesize and publish a new version, trusting the stored validation run (no second validation)."""
    from transforms.publishing.publish import PublishBlocked, publish
    from transforms.scoring.profiles import ProfileInvalid

    settings = load_settings()
    as_of = dt.date.fromisoformat(plan["as_of"])
    try:
        result = publish(
            settings,
            as_of,
            profile=plan["profile"],
            force=plan["force"],
            validation_run_id=validation["validation_run_id"],
        )
    except (PublishBlocked, ProfileInvalid) as exc:
        raise DataQualityFailure(f"publishing the scorecard for {as_of} is blocked: {exc}") from exc
    if result.status == "blocked":
        raise DataQualityFailure(f"publishing the scorecard for {as_of} is blocked: {result.message}")
    log.info("scorecard %s for %s: version %s (%s)", result.status, as_of, result.version, result.message)
    return {
        "as_of": plan["as_of"],
        "status": result.status,
        "version": int(result.version),
        "snapshot_dir": str(result.snapshot_dir) if result.snapshot_dir else None,
        "message": result.message,
        "data_docs_index": validation.get("data_docs_index"),
    }


def snapshot_scorecard(published: dict[str, Any]) -> dict[str, Any]:
    """The version's immutable Parquet snapshot exists and matches its sha256 manifest (publish wrote it; a
    snapshot lost after a crash is written again, an existing one is never overwritten). Every other committed
    version of the date without its snapshot (a publish killed between its commit and its snapshot) gets it
    too, and each one written is checked against its manifest."""
    from transforms.publishing.snapshots import repair_snapshots, snapshot_dir, verify_snapshot

    settings = load_settings()
    as_of = dt.date.fromisoformat(published["as_of"])
    repaired = repair_snapshots(settings, as_of)
    path = snapshot_dir(settings, as_of, published["version"])
    for checked in {path, *repaired}:
        problems = verify_snapshot(checked)
        if problems:
            raise DataQualityFailure(
                f"the Parquet snapshot {checked} does not match its manifest: " + "; ".join(problems)
            )
    if repaired:
        log.warning("wrote the missing snapshot(s) %s", ", ".join(str(p) for p in repaired))
    return {**published, "snapshot_dir": str(path), "snapshots_repaired": [str(p) for p in repaired]}


def refresh_serving_copy(published: dict[str, Any]) -> dict[str, Any]:
    """The analysts' read-only copy shows the version (publish swaps it in; rebuilt here when it does not)."""
    from transforms.publishing.serving import refresh_serving

    settings = load_settings()
    if not _serving_has(settings, published["as_of"], published["version"]):
        log.info("serving copy lacks %s version %s: rebuilding it", published["as_of"], published["version"])
        refresh_serving(settings)
        if not _serving_has(settings, published["as_of"], published["version"]):
            raise RuntimeError(f"the serving copy {settings.serving_db} still lacks {published['as_of']} "
                               f"version {published['version']} after a refresh")  # fmt: skip
    return {**published, "serving_db": str(settings.serving_db)}


def _serving_has(settings: Settings, as_of: str, version: int) -> bool:
    import duckdb

    from transforms.core.warehouse import connect_serving

    try:
        con = connect_serving(settings)
    except (FileNotFoundError, duckdb.Error):
        return False
    try:
        row = con.execute(
            "SELECT count(*) FROM published.scorecard_versions WHERE as_of_date = ? AND version = ?",
            [dt.date.fromisoformat(as_of), version],
        ).fetchone()
        return bool(row and row[0])
    except duckdb.Error:
        return False
    finally:
        con.close()


def notify_published(published: dict[str, Any]) -> dict[str, Any]:
    """Say that a version is out. Machines (the webhook) hear about every publication; people are only e-mailed
    about failures (validation alerts, :func:`alert_task_failure`)."""
    settings = load_settings()
    message = (
        f"riskcard scorecard for {published['as_of']}: version {published['version']} {published['status']}; "
        f"snapshot {published.get('snapshot_dir')}; serving copy {published.get('serving_db')}"
    )
    log.info(message)
    delivered = None
    if settings.webhook_url:
        from transforms.quality.alerts import Alert, post_webhook

        payload = {"event": "riskcard.scorecard_published", "summary": message, **published}
        try:
            post_webhook(settings, Alert(subject=message, text=message, payload=payload))
            delivered = True
        except Exception as exc:  # noqa: BLE001 - a notification target being down must not fail a published run
            log.error("publication notice to the webhook failed: %s: %s", type(exc).__name__, exc)
            delivered = False
    return {**published, "summary": message, "webhook_delivered": delivered}


# ---- intraday monitoring ----------------------------------------------------------------------------------------
def monitor_intraday(triggering_asset_events=None) -> dict[str, Any]:
    """Provisional indicators as of now, breach and staleness episodes, their alerts (`riskcard monitor`)."""
    from transforms.monitoring.monitor import monitor

    for asset, events in (triggering_asset_events or {}).items():
        for event in events:
            log.info("triggered by %s: %s", getattr(asset, "name", asset), getattr(event, "extra", None))
    if not triggering_asset_events:
        log.info("triggered by the timer (no raw-logs event): staleness check and, when due, a refresh")
    settings = load_settings()
    result = monitor(settings)
    log.info(
        "provisional leaves of %s as of %s (%s): %d open breach(es), %d stale source(s), %d alert(s) delivered",
        result.as_of_date, result.now.isoformat(), "refreshed" if result.refreshed else "nothing new",
        len(result.breaches), len(result.stale_sources), len(result.alerts),
    )  # fmt: skip
    out = result.to_dict()
    return {k: out[k] for k in ("now", "as_of_date", "refreshed", "breaches", "stale_sources", "alerts", "seconds")}


# ---- failure alerts -----------------------------------------------------------------------------------------------
def alert_task_failure(context: dict[str, Any]) -> None:
    """on_failure_callback: e-mail/webhook the engineer when a task fails for good.

    Critical validation failures already alerted with their full report (validate() sends it), so they are not
    repeated here; everything else (a dbt model failing, a blocked publish, retries exhausted on a held lock, a
    bug) gets one message naming the DAG, task, try and error.
    """
    exc = context.get("exception")
    ti = context.get("ti") or context.get("task_instance")
    task_id = getattr(ti, "task_id", "?")
    if isinstance(exc, DataQualityFailure) and task_id.endswith("validate"):
        return
    try:
        settings = load_settings()
        dag_id = getattr(ti, "dag_id", "?")
        run_id = getattr(ti, "run_id", "?")
        subject = f"[riskcard] FAILED {dag_id}.{task_id}: {type(exc).__name__ if exc else 'task failed'}"
        text = (
            f"Airflow task {dag_id}.{task_id} (run {run_id}, try {getattr(ti, 'try_number', '?')}) failed:\n\n{exc}\n"
        )
        if task_id in BEFORE_PUBLISHING:
            text += "\nNothing was published by this run; the previous scorecard version stays the latest.\n"
        payload = {"event": "riskcard.task_failed", "dag_id": dag_id, "task_id": task_id, "run_id": run_id,
                   "error": f"{type(exc).__name__}: {exc}" if exc else None, "summary": subject}  # fmt: skip
        send_pipeline_alert(settings, subject, text, payload)
    except Exception:  # noqa: BLE001 - a failing alert must not mask the task's own failure
        log.exception("could not send the failure alert for %s", task_id)


def send_pipeline_alert(settings: Settings, subject: str, text: str, payload: dict[str, Any]) -> list[str]:
    """Send one operational alert to every configured channel; returns the channels that took it. Never raises."""
    from transforms.quality.alerts import Alert, deliver

    deliveries = deliver(settings, Alert(subject=subject, text=text, payload=payload), what="pipeline alert")
    if not deliveries:
        log.warning("no alert target configured (smtp_host/smtp_to, webhook_url): %s", subject)
    return [d.channel for d in deliveries if d.ok]


# ---- helpers ------------------------------------------------------------------------------------------------------
def _is_lock_conflict(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(m in text for m in LOCK_MESSAGES)
