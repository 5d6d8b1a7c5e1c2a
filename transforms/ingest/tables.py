"""The raw schema: one append-only change log per source, the manifest of ingested files, the quarantine.

Only this module says what these tables look like; ``ensure_tables`` is idempotent and runs at every ingest.
"""

from __future__ import annotations

import duckdb

from transforms.core import contract

SCHEMA = "raw"
MANIFEST = f"{SCHEMA}.ingested_files"
QUARANTINE = f"{SCHEMA}.quarantine"
DUPLICATES = f"{SCHEMA}.duplicate_files"

STATUS_LOADED = "loaded"
STATUS_FAILED = "failed"

MANIFEST_DDL = f"""
CREATE TABLE IF NOT EXISTS {MANIFEST} (
    source           VARCHAR     NOT NULL,
    path             VARCHAR     NOT NULL,  -- relative to the landing root, '/'-separated
    sha256           VARCHAR     NOT NULL,  -- of the file's bytes: the identity that makes loading exactly-once
    size_bytes       BIGINT      NOT NULL,
    format           VARCHAR,               -- jsonl | csv | parquet; NULL for an unknown extension
    rows_in          BIGINT      NOT NULL,
    rows_loaded      BIGINT      NOT NULL,
    rows_quarantined BIGINT      NOT NULL,
    status           VARCHAR     NOT NULL CHECK (status IN ('{STATUS_LOADED}', '{STATUS_FAILED}')),
    reason           VARCHAR,               -- why a file failed (also in raw.quarantine)
    run_id           VARCHAR     NOT NULL,
    ingested_at      TIMESTAMPTZ NOT NULL,
    ingest_seq       BIGINT      NOT NULL PRIMARY KEY,  -- = _ingest_seq of the file's rows
    mtime_ns         BIGINT      NOT NULL,  -- with path and size: the no-rehash fast path of the next call
    extra_columns    VARCHAR,  -- JSON [{"name", "non_null_count"}] of the columns outside the contract (values dropped)
    rewrite_of       VARCHAR,  -- sha256 loaded earlier at this path: the file was rewritten in place since
    CHECK (rows_in = rows_loaded + rows_quarantined)
)"""
# Columns added to the manifest after its first layout: an existing warehouse gets them (NULL in earlier rows).
MANIFEST_ADDED_COLUMNS = (("extra_columns", "VARCHAR"), ("rewrite_of", "VARCHAR"))

QUARANTINE_DDL = f"""
CREATE TABLE IF NOT EXISTS {QUARANTINE} (
    source         VARCHAR     NOT NULL,
    file_path      VARCHAR     NOT NULL,
    file_sha256    VARCHAR     NOT NULL,
    row_number     BIGINT,                 -- 1-based data row (JSON Lines: line); NULL when the whole file failed
    column_name    VARCHAR,                -- the column of the first broken rule
    rule           VARCHAR     NOT NULL,   -- a contract.RULE_* (row) or contract.FILE_* (file) name
    message        VARCHAR     NOT NULL,   -- every broken rule of the row, readable
    raw_record     VARCHAR,                -- the row's contract columns as JSON text, personal ones hashed, values
                                           -- cut to contract.QUARANTINE_VALUE_CHARS; other columns never kept
    run_id         VARCHAR     NOT NULL,
    quarantined_at TIMESTAMPTZ NOT NULL
)"""

DUPLICATES_DDL = f"""
CREATE TABLE IF NOT EXISTS {DUPLICATES} (
    source       VARCHAR     NOT NULL,
    path         VARCHAR     NOT NULL,  -- a file whose bytes were already loaded under another name
    sha256       VARCHAR     NOT NULL,
    size_bytes   BIGINT      NOT NULL,
    mtime_ns     BIGINT      NOT NULL,
    duplicate_of VARCHAR     NOT NULL,  -- raw.ingested_files.path of the loaded copy
    run_id       VARCHAR     NOT NULL,
    seen_at      TIMESTAMPTZ NOT NULL
)"""


def ensure_change_logs(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and the change log raw.<source> of every contract source when missing (DDL from
    ``contract.raw_table_ddl``). `riskcard build` calls this too: dbt's sources must exist before the first ingest."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    for source in contract.SOURCES:
        con.execute(contract.raw_table_ddl(source, SCHEMA))


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and its tables when missing; the only change to existing tables is adding the
    manifest's later columns (MANIFEST_ADDED_COLUMNS)."""
    ensure_change_logs(con)
    for ddl in (MANIFEST_DDL, QUARANTINE_DDL, DUPLICATES_DDL):
        con.execute(ddl)
    have = {
        name
        for (name,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = 'ingested_files'",
            [SCHEMA],
        ).fetchall()
    }
    for name, kind in MANIFEST_ADDED_COLUMNS:
        if name not in have:
            con.execute(f"ALTER TABLE {MANIFEST} ADD COLUMN {name} {kind}")


def raw_columns(source: str) -> list[str]:
    """Column names of raw.<source> in table order."""
    return [*contract.CONTRACT[source].column_names, *(name for name, _ in contract.RAW_METADATA_COLUMNS)]
