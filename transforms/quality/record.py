"""Recording validation outcomes in the warehouse: ``ops.validation_runs`` and ``ops.dq_alerts``.

Both tables are append-only. One validation_runs row per run of one or more suites; one dq_alerts row per
failed expectation of that run (critical or warning), so the data-quality owner can query what failed, when,
how badly, and whether it blocked publishing.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb

from transforms.quality.results import ValidationOutcome

OPS_DDL = (
    "CREATE SCHEMA IF NOT EXISTS ops",
    """
    CREATE TABLE IF NOT EXISTS ops.validation_runs (
        run_id VARCHAR NOT NULL,
        as_of_date DATE NOT NULL,
        suites VARCHAR NOT NULL,            -- comma-separated suite names, e.g. 'indicators,ingestion_health'
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ NOT NULL,
        success BOOLEAN NOT NULL,           -- no expectation failed
        critical_failed BOOLEAN NOT NULL,   -- a critical expectation failed: publishing is blocked
        evaluated INTEGER NOT NULL,
        passed INTEGER NOT NULL,
        failed_critical INTEGER NOT NULL,
        failed_warning INTEGER NOT NULL,
        data_docs_index VARCHAR,
        notes VARCHAR,                      -- JSON list of remarks (e.g. a missing table)
        build_id VARCHAR,                   -- the ops.build_runs row whose mart rows were checked
        ingest_high_water BIGINT,           -- the ingest_seq up to which ingestion health looked (that build's)
        indicator_rows_hash VARCHAR         -- sha256 of the marts.fct_leaf_indicators rows checked
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS ops.dq_alerts (
        as_of_date DATE NOT NULL,
        suite VARCHAR NOT NULL,
        expectation VARCHAR NOT NULL,       -- the suite file's meta.name
        expectation_type VARCHAR NOT NULL,  -- the GX expectation
        severity VARCHAR NOT NULL,          -- critical | warning
        observed_value VARCHAR,
        expected VARCHAR,
        description VARCHAR,
        publish_blocked BOOLEAN NOT NULL,   -- the run had a critical failure
        run_id VARCHAR NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        data_docs_page VARCHAR,
        details VARCHAR                     -- JSON: GX's result (counts, unexpected rows)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS ops.ingest_acks (
        path VARCHAR NOT NULL,              -- raw.ingested_files.path of the failed delivery
        source VARCHAR NOT NULL,
        ingest_seq BIGINT NOT NULL,         -- the failed delivery acknowledged (a later failure blocks again)
        sha256 VARCHAR NOT NULL,
        failure VARCHAR,                    -- why it failed (raw.ingested_files.reason)
        reason VARCHAR NOT NULL,            -- why it may be ignored (riskcard ingest ack --reason)
        acked_by VARCHAR,
        acked_at TIMESTAMPTZ NOT NULL
    )
    """,
)
# columns added to ops.validation_runs after the first release (ensure_ops_tables adds them to an older file)
_ADDED_RUN_COLUMNS = (("build_id", "VARCHAR"), ("ingest_high_water", "BIGINT"), ("indicator_rows_hash", "VARCHAR"))


def ensure_ops_tables(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in OPS_DDL:
        con.execute(ddl)
    for column, kind in _ADDED_RUN_COLUMNS:
        con.execute(f"ALTER TABLE ops.validation_runs ADD COLUMN IF NOT EXISTS {column} {kind}")


def record_outcome(con: duckdb.DuckDBPyConnection, outcome: ValidationOutcome) -> None:
    """Append the run and its failures in one transaction."""
    ensure_ops_tables(con)
    counts = outcome.counts()
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            """
            INSERT INTO ops.validation_runs (run_id, as_of_date, suites, started_at, finished_at, success,
                critical_failed, evaluated, passed, failed_critical, failed_warning, data_docs_index, notes,
                build_id, ingest_high_water, indicator_rows_hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                outcome.run_id,
                outcome.as_of,
                ",".join(outcome.suites),
                outcome.started_at,
                outcome.finished_at,
                outcome.success,
                outcome.critical_failed,
                counts["evaluated"],
                counts["passed"],
                counts["failed_critical"],
                counts["failed_warning"],
                str(outcome.data_docs_index) if outcome.data_docs_index else None,
                json.dumps(list(outcome.notes)),
                outcome.build_id,
                outcome.ingest_high_water,
                outcome.indicator_rows_hash,
            ],
        )
        created = dt.datetime.now(dt.UTC)
        for f in outcome.failures:
            con.execute(
                "INSERT INTO ops.dq_alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    outcome.as_of,
                    f.suite,
                    f.expectation,
                    f.type,
                    f.severity,
                    f.observed,
                    f.expected,
                    f.description,
                    outcome.critical_failed,
                    outcome.run_id,
                    created,
                    f.data_docs_page,
                    json.dumps(f.details, default=str),
                ],
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def stored_run(con: duckdb.DuckDBPyConnection, run_id: str, suite: str | None = None) -> dict | None:
    """The newest recorded run with this id (optionally one that ran ``suite``), as a dict, or None."""
    ensure_ops_tables(con)
    sql = "SELECT * FROM ops.validation_runs WHERE run_id = ?"
    params: list = [run_id]
    if suite:
        sql += " AND list_contains(string_split(suites, ','), ?)"
        params.append(suite)
    cur = con.execute(sql + " ORDER BY finished_at DESC LIMIT 1", params)
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cur.description], row, strict=True))
