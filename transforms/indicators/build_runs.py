"""The record of builds, ``ops.build_runs``.

Every build is recorded in ``ops.build_runs`` (:data:`BUILD_RUNS_DDL`): a row with status ``running`` and the
ingest high-water mark it reads (the largest ``ingest_seq`` of ``raw.ingested_files`` when it starts: the build
holds the writer lock, so nothing lands while it runs) is written before dbt starts; it becomes ``success`` or
``failed`` (a failing model or dbt data test, whose rows dbt may already have written to the mart) when dbt
returns. A row still ``running`` while nobody holds the writer lock is a build that was killed. Validation and
publishing bind themselves to the latest build of their as-of date (:func:`current_build`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from transforms.core.warehouse import table_exists

BUILD_RUNS = "ops.build_runs"
BUILD_RUNNING, BUILD_SUCCESS, BUILD_FAILED = "running", "success", "failed"
BUILD_RUNS_DDL = (
    "CREATE SCHEMA IF NOT EXISTS ops",
    f"""
    CREATE TABLE IF NOT EXISTS {BUILD_RUNS} (
        build_id VARCHAR NOT NULL,           -- bld-<UTC time>-<random>
        date_from DATE NOT NULL,             -- the as-of dates the build computed (inclusive)
        date_to DATE NOT NULL,
        full_refresh BOOLEAN NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ,             -- NULL while running (or when the build was killed)
        status VARCHAR NOT NULL,             -- running | success | failed
        ingest_high_water BIGINT NOT NULL,   -- max(ingest_seq) of raw.ingested_files when it started (0: none)
        message VARCHAR                      -- why it failed (dbt's failing nodes)
    )
    """,
)


def ensure_build_runs(con) -> None:
    for ddl in BUILD_RUNS_DDL:
        con.execute(ddl)


def new_build_id() -> str:
    return f"bld-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def ingest_high_water(con) -> int:
    """The largest ``ingest_seq`` of ``raw.ingested_files`` (0 before the first ingestion): what a read sees now."""
    if not table_exists(con, "raw", "ingested_files"):
        return 0
    return int(con.execute("SELECT coalesce(max(ingest_seq), 0) FROM raw.ingested_files").fetchall()[0][0])


def start_build_record(
    con, first: date, last: date, full_refresh: bool, build_id: str | None = None
) -> tuple[str, int]:
    """Record a build as ``running`` with the ingest high-water mark it reads; returns (build_id, high-water).

    The caller holds the writer lock (no file can land before dbt reads the raw tables)."""
    ensure_build_runs(con)
    build_id = build_id or new_build_id()
    high_water = ingest_high_water(con)
    con.execute(
        f"INSERT INTO {BUILD_RUNS} (build_id, date_from, date_to, full_refresh, started_at, status, ingest_high_water)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [build_id, first, last, bool(full_refresh), datetime.now(UTC), BUILD_RUNNING, high_water],
    )
    return build_id, high_water


def finish_build_record(con, build_id: str, status: str, message: str | None = None) -> None:
    con.execute(
        f"UPDATE {BUILD_RUNS} SET status = ?, finished_at = ?, message = ? WHERE build_id = ?",
        [status, datetime.now(UTC), message, build_id],
    )


def current_build(con, as_of: date) -> dict[str, Any] | None:
    """The latest recorded build whose dates include ``as_of`` (its rows are the mart's rows for that date), as a
    dict of its ops.build_runs columns, or None when no build of the date is recorded."""
    if not table_exists(con, "ops", "build_runs"):
        return None
    cur = con.execute(
        f"SELECT * FROM {BUILD_RUNS} WHERE ? BETWEEN date_from AND date_to ORDER BY started_at DESC, build_id DESC "
        "LIMIT 1",
        [as_of],
    )
    rows = cur.fetchall()
    row = rows[0] if rows else None
    return None if row is None else dict(zip([d[0] for d in cur.description], row, strict=True))
