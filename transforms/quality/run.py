"""Validation entry points: the data suites for an as-of date, and the scorecard suite before publishing.

:func:`validate` is the top-level writer (it takes the warehouse writer lock, records the outcome in ``ops``,
refreshes the analysts' serving copy, then alerts outside the lock). The ``run_*`` functions do the work on an
open connection for a caller that already holds the lock (publishing).

A data validation is bound to what it checked (the "Proof" of the architecture): the date's latest build
(``ops.build_runs``; the ``indicators`` suite fails critically unless it succeeded), that build's ingest
high-water mark (ingestion health looks only at the files it read) and the hash of the mart rows checked;
``ops.validation_runs`` records all three and publishing refuses a validation whose build or rows are not the
ones it is about to publish. Its notes name every failed file of the window (what clears it, or what cleared
it) and every published version, of any date, whose Parquet snapshot is missing.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

import duckdb
import pandas as pd

from transforms.quality.datasets import indicator_frame, indicator_rows_hash
from transforms.quality.health import failed_files, ingestion_health_frame
from transforms.quality.record import record_outcome
from transforms.quality.results import ValidationOutcome
from transforms.quality.suites import load_suite
from transforms.scoring.levels import LEVELS as LEVELS  # the likelihood scale; publishing imports it from here

log = logging.getLogger(__name__)

DATA_SUITES = ("ingestion_health", "indicators")


def new_run_id(prefix: str = "val") -> str:
    return f"{prefix}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def validate(settings, as_of: dt.date, run_id: str | None = None, alert: bool = True) -> ValidationOutcome:
    """Validate the data for ``as_of`` (ingestion health and the indicators), record it, alert on failures.

    Raises WarehouseBusy when the writer lock cannot be had; never raises for an alert that cannot be sent.
    """
    from transforms.core.warehouse import connect, writer_lock
    from transforms.quality.alerts import send_alerts

    require_warehouse(settings)
    run_id = run_id or new_run_id()
    with writer_lock(settings, what=f"validate {as_of}"):
        con = connect(settings)
        try:
            outcome = run_data_suites(settings, con, as_of, run_id)
            record_outcome(con, outcome)
            refresh_serving_safely(settings, con)
        finally:
            con.close()
    log_outcome(outcome)
    if alert:
        send_alerts(settings, outcome)
    return outcome


def refresh_serving_safely(settings, con) -> Exception | None:
    """Refresh the serving copy; a failure is logged and returned, never raised (alerts must still go out)."""
    from transforms.publishing.serving import refresh_serving_from

    try:
        refresh_serving_from(settings, con)
    except Exception as exc:  # noqa: BLE001 - the live warehouse holds the truth; the next refresh retries
        log.error("the serving copy %s was not refreshed: %s: %s", settings.serving_db, type(exc).__name__, exc)
        return exc
    return None


def require_warehouse(settings) -> None:
    """Validating or publishing an empty, just-created file would only report that everything is missing."""
    if not settings.warehouse.exists():
        raise FileNotFoundError(
            f"no warehouse at {settings.warehouse}: run `riskcard ingest` and `riskcard build` first"
        )


def run_data_suites(settings, con: duckdb.DuckDBPyConnection, as_of: dt.date, run_id: str) -> ValidationOutcome:
    """Run the ingestion_health and indicators suites on the warehouse (caller holds the writer lock)."""
    from transforms.indicators.build_runs import current_build
    from transforms.indicators.catalogue import load_catalogue
    from transforms.publishing.snapshots import missing_snapshots
    from transforms.quality.runner import SuiteBatch, run_suites

    started = dt.datetime.now(dt.UTC)
    catalogue = load_catalogue(settings)
    build = current_build(con, as_of)
    high_water = int(build["ingest_high_water"]) if build else None
    indicators, notes = indicator_frame(con, as_of, catalogue, build)
    notes.extend(build_notes(build, as_of))
    health = ingestion_health_frame(con, settings, as_of, high_water)
    notes.extend(f.note() for f in failed_files(con, settings, as_of, high_water))
    notes.extend(
        f"version {version} of {day} has no Parquet snapshot ({path}): `riskcard publish --as-of {day}` writes it"
        for day, version, path in missing_snapshots(settings, con)
    )
    batches = [
        SuiteBatch(
            load_suite(settings, "ingestion_health"),
            health,
            {"quarantine_rate_limit": settings.quarantine_rate_limit},
        ),
        SuiteBatch(
            load_suite(settings, "indicators"),
            indicators,
            {"leaf_count": len(catalogue.indicators), "indicator_ids": list(catalogue.indicator_ids)},
        ),
    ]
    results, docs = run_suites(settings, batches, run_id, started)
    return ValidationOutcome(
        run_id=run_id,
        as_of=as_of,
        suites=DATA_SUITES,
        started_at=started,
        finished_at=dt.datetime.now(dt.UTC),
        results=results,
        data_docs_index=docs,
        notes=tuple(notes),
        build_id=build["build_id"] if build else None,
        ingest_high_water=high_water,
        indicator_rows_hash=indicator_rows_hash(con, as_of),
    )


def build_notes(build: dict | None, as_of: dt.date) -> list[str]:
    """What is wrong with the date's build, if anything (the indicators suite fails on it too)."""
    if build is None:
        return [f"no build of {as_of} is recorded in ops.build_runs: run `riskcard build --as-of {as_of}`"]
    if build["status"] == "running":
        return [
            f"build {build['build_id']} of {as_of} (started {build['started_at'].isoformat()}) never finished "
            f"(killed?): rerun `riskcard build --as-of {as_of}`"
        ]
    if build["status"] != "success":
        why = ((build.get("message") or "").splitlines() or ["no message"])[0][:300]
        return [
            f"build {build['build_id']} of {as_of} failed ({why}): its rows are not published; fix the cause and "
            f"rerun `riskcard build --as-of {as_of}`"
        ]
    return []


def run_scorecard_suite(
    settings, rows: list[dict[str, Any]], as_of: dt.date, run_id: str, catalogue, bands: list[str]
) -> ValidationOutcome:
    """Run the scorecard suite on the rows about to be published (no database needed)."""
    from transforms.quality.runner import SuiteBatch, run_suites

    started = dt.datetime.now(dt.UTC)
    frame = pd.DataFrame(rows)
    for column in ("local_weight", "global_weight", "level", "likelihood", "score", "rank"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    batch = SuiteBatch(
        load_suite(settings, "scorecard"),
        frame,
        {
            "criterion_count": len(catalogue.criteria),
            "criterion_ids": list(catalogue.criterion_ids),
            "leaf_count": len(catalogue.indicators),
            "indicator_ids": list(catalogue.indicator_ids),
            "bands": sorted(set(bands)),
        },
    )
    results, docs = run_suites(settings, [batch], run_id, started)
    return ValidationOutcome(
        run_id=run_id,
        as_of=as_of,
        suites=("scorecard",),
        started_at=started,
        finished_at=dt.datetime.now(dt.UTC),
        results=results,
        data_docs_index=docs,
    )


def log_outcome(outcome: ValidationOutcome) -> None:
    counts = outcome.counts()
    if outcome.critical_failed:
        log.error(
            "validation %s for %s: %d critical and %d warning failure(s): %s",
            outcome.run_id,
            outcome.as_of,
            counts["failed_critical"],
            counts["failed_warning"],
            ", ".join(f.label for f in outcome.failures),
        )
    elif outcome.failures:
        log.warning(
            "validation %s for %s: %d warning(s): %s",
            outcome.run_id,
            outcome.as_of,
            counts["failed_warning"],
            ", ".join(f.label for f in outcome.failures),
        )
    else:
        log.info("validation %s for %s: all %d expectations passed", outcome.run_id, outcome.as_of, counts["evaluated"])
