"""The manifest (``raw.ingested_files``) and the duplicate log: reading what is known, recording what was done.

Writes here run inside the caller's per-file transaction, so a file's manifest entry commits with its rows.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from transforms.ingest.discover import KnownFiles, LandedFile

__all__ = ["KnownFiles", "read_known", "next_ingest_seq", "record_file", "record_file_failure", "record_duplicate"]
from transforms.ingest.tables import DUPLICATES, MANIFEST, QUARANTINE, STATUS_LOADED


def read_known(con: duckdb.DuckDBPyConnection) -> KnownFiles:
    known = KnownFiles()
    for path, size, mtime_ns in con.execute(
        f"SELECT path, size_bytes, mtime_ns FROM {MANIFEST} UNION ALL "
        f"SELECT path, size_bytes, mtime_ns FROM {DUPLICATES}"
    ).fetchall():
        known.stats.add((path, size, mtime_ns))
    for sha, path in con.execute(
        f"SELECT sha256, min(path) FROM {MANIFEST} WHERE status = ? GROUP BY sha256", [STATUS_LOADED]
    ).fetchall():
        known.loaded[sha] = path
    for path, sha in con.execute(
        f"SELECT path, arg_max(sha256, ingest_seq) FROM {MANIFEST} WHERE status = ? GROUP BY path", [STATUS_LOADED]
    ).fetchall():
        known.paths[path] = sha
    return known


def next_ingest_seq(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(f"SELECT coalesce(max(ingest_seq), 0) + 1 FROM {MANIFEST}").fetchall()[0][0]


def record_file(
    con: duckdb.DuckDBPyConnection,
    f: LandedFile,
    sha256: str,
    *,
    rows_in: int,
    rows_loaded: int,
    rows_quarantined: int,
    status: str,
    reason: str | None,
    run_id: str,
    ingested_at: dt.datetime,
    ingest_seq: int,
    extra_columns: str | None = None,
    rewrite_of: str | None = None,
) -> None:
    con.execute(
        f"INSERT INTO {MANIFEST} (source, path, sha256, size_bytes, format, rows_in, rows_loaded, rows_quarantined, "
        "status, reason, run_id, ingested_at, ingest_seq, mtime_ns, extra_columns, rewrite_of) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            f.source,
            f.rel_path,
            sha256,
            f.size_bytes,
            f.format,
            rows_in,
            rows_loaded,
            rows_quarantined,
            status,
            reason,
            run_id,
            ingested_at,
            ingest_seq,
            f.mtime_ns,
            extra_columns,
            rewrite_of,
        ],
    )


def record_file_failure(
    con: duckdb.DuckDBPyConnection,
    f: LandedFile,
    sha256: str,
    *,
    rule: str,
    message: str,
    column: str | None,
    run_id: str,
    at: dt.datetime,
) -> None:
    """The quarantine row of a whole file (no row number)."""
    con.execute(
        f"INSERT INTO {QUARANTINE} (source, file_path, file_sha256, row_number, column_name, rule, message, "
        "raw_record, run_id, quarantined_at) VALUES (?, ?, ?, NULL, ?, ?, ?, NULL, ?, ?)",
        [f.source, f.rel_path, sha256, column, rule, message, run_id, at],
    )


def record_duplicate(
    con: duckdb.DuckDBPyConnection, f: LandedFile, sha256: str, duplicate_of: str, run_id: str, at: dt.datetime
) -> None:
    con.execute(
        f"INSERT INTO {DUPLICATES} (source, path, sha256, size_bytes, mtime_ns, duplicate_of, run_id, seen_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [f.source, f.rel_path, sha256, f.size_bytes, f.mtime_ns, duplicate_of, run_id, at],
    )
