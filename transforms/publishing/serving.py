"""The analysts' read-only serving copy of the published scorecard (``settings.serving_db``).

DuckDB lets one process write a database file, and a reader cannot open the live file while a writer holds it.
So at every publish (and every validation) a fresh, small DuckDB file is built next to the serving path with the
published tables, the data-quality tables and the views, and moved over the old one with ``os.replace`` (atomic
on one filesystem). An analyst's open connection keeps reading the old file; a new connection sees the new one.
Nothing ever writes the serving file in place. A refresh killed half-way leaves its
``.riskcard_serving.duckdb.<random>.tmp`` (and ``.tmp.wal``) behind; the next refresh removes them (refreshes run
under the writer lock, so no other refresh owns one).

What an analyst types (from a shell, while ingestion or a build runs)::

    duckdb -readonly warehouse/serving/riskcard_serving.duckdb
    -- the latest scorecard of the newest date
    SELECT row_type, criterion_id, indicator_id, name_en, global_weight, level, likelihood, score, rank, band
    FROM published.scorecard_latest
    WHERE as_of_date = (SELECT max(as_of_date) FROM published.scorecard_latest)
    ORDER BY row_order;
    -- how a criterion moved over time (latest version per date)
    SELECT as_of_date, criterion_id, score, rank, band FROM published.scorecard_latest
    WHERE row_type = 'criterion' ORDER BY criterion_id, as_of_date;
    -- every version ever published, and why a date was not published
    SELECT as_of_date, version, published_at, profile_name, content_hash FROM published.scorecard_versions;
    SELECT as_of_date, suite, expectation, severity, observed_value FROM ops.dq_alerts ORDER BY created_at DESC;
    -- the Parquet snapshots through a view (same rows as published.scorecard_history's table part)
    SELECT * FROM published.scorecard_snapshots WHERE as_of_date = DATE '2025-01-31';

or in Python: ``duckdb.connect("warehouse/serving/riskcard_serving.duckdb", read_only=True)``
(``transforms.core.warehouse.connect_serving(settings)``).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import duckdb

from transforms.core.warehouse import table_exists
from transforms.indicators.build_runs import BUILD_RUNS_DDL
from transforms.publishing.snapshots import DATA_FILE, snapshot_glob, snapshot_root
from transforms.publishing.tables import TABLES_DDL, VIEWS_DDL
from transforms.quality.record import OPS_DDL

SERVED_TABLES = (
    ("published", "scorecard_versions"),
    ("published", "scorecard"),
    ("published", "scorecard_sensitivity_runs"),
    ("published", "scorecard_sensitivity"),
    ("ops", "validation_runs"),
    ("ops", "dq_alerts"),
    ("ops", "build_runs"),
    ("ops", "ingest_acks"),
)


def clean_leftovers(target: Path) -> list[Path]:
    """Remove the temporary files of killed refreshes next to ``target`` (caller holds the writer lock)."""
    removed = []
    for pattern in (f".{target.name}.*.tmp", f".{target.name}.*.tmp.wal"):
        for leftover in target.parent.glob(pattern):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
                removed.append(leftover)
    return removed


def refresh_serving_from(settings, con: duckdb.DuckDBPyConnection) -> Path:
    """Rebuild the serving copy from an open connection to the live warehouse and swap it in atomically."""
    target = Path(settings.serving_db)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(target)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        new = duckdb.connect(str(tmp))
        try:
            new.execute("SET TimeZone = 'UTC'")
            for ddl in (*TABLES_DDL, *OPS_DDL, *BUILD_RUNS_DDL):  # empty tables with their types
                new.execute(ddl)
            for schema, table in SERVED_TABLES:
                if table_exists(con, schema, table):
                    data = con.sql(f"SELECT * FROM {schema}.{table}").to_arrow_table()
                    new.register("served_rows", data)
                    new.execute(f"INSERT INTO {schema}.{table} BY NAME SELECT * FROM served_rows")
                    new.unregister("served_rows")
            for ddl in VIEWS_DDL:
                new.execute(ddl)
            _snapshot_view(settings, new)
            new.execute("CHECKPOINT")
        finally:
            new.close()
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return target


def refresh_serving(settings) -> Path:
    """Public entry point: rebuild the serving copy from the live warehouse (takes the writer lock)."""
    from transforms.core.warehouse import connect, writer_lock
    from transforms.publishing.tables import ensure_published_tables
    from transforms.quality.record import ensure_ops_tables

    with writer_lock(settings, what="refresh serving copy"):
        con = connect(settings)
        try:
            ensure_published_tables(con)
            ensure_ops_tables(con)
            return refresh_serving_from(settings, con)
        finally:
            con.close()


def _snapshot_view(settings, con: duckdb.DuckDBPyConnection) -> None:
    """A view over the Parquet snapshots (absolute glob), when there is at least one snapshot to read."""
    if next(snapshot_root(settings).glob(f"as_of_date=*/version=*/{DATA_FILE}"), None) is None:
        return  # read_parquet on a glob that matches nothing fails when the view is created
    pattern = snapshot_glob(settings)
    quoted = pattern.replace("'", "''")
    con.execute(
        f"""
        CREATE OR REPLACE VIEW published.scorecard_snapshots AS
        SELECT * FROM read_parquet('{quoted}', hive_partitioning = true)
        """
    )
