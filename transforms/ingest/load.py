"""Loading one file in one DuckDB transaction: its good rows, its quarantined rows and its manifest entry.

The file is streamed batch by batch inside the transaction (memory stays bounded; DuckDB writes large appends to
the database file before commit), and either everything commits or nothing does: a process killed half-way
leaves the warehouse as if the file had not been started, and the next call takes it up again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from transforms import contract
from transforms.ingest import manifest
from transforms.ingest.batching import BatchSizes
from transforms.ingest.checks import EXTRA, check_batch, missing_columns
from transforms.ingest.discover import LandedFile
from transforms.ingest.pii import Pseudonymizer
from transforms.ingest.prefetch import prefetched
from transforms.ingest.readers import ROW_NUMBER, UnreadableFile, read_batches
from transforms.ingest.report import FileResult
from transforms.ingest.tables import QUARANTINE, SCHEMA, STATUS_FAILED, STATUS_LOADED


@dataclass(frozen=True)
class LoadContext:
    run_id: str
    timezone: str
    pseudonymizer: Pseudonymizer
    sizes: BatchSizes = BatchSizes()
    on_batch: Callable[[str], None] | None = None  # progress lines


def load_file(con: duckdb.DuckDBPyConnection, f: LandedFile, sha256: str, ctx: LoadContext) -> FileResult:
    """Ingest one new file; a file that cannot be read is recorded as failed (its own transaction)."""
    if f.format is None:
        accepted = ", ".join(contract.FILE_FORMATS)
        detail = f"unknown file type (accepted endings: {accepted}); the file is left in place"
        return _record_failure(con, f, sha256, UnreadableFile(detail, contract.FILE_UNKNOWN_EXTENSION), ctx)
    at = dt.datetime.now(dt.UTC)
    con.execute("BEGIN TRANSACTION")
    try:
        seq = manifest.next_ingest_seq(con)
        rows_in, loaded, quarantined = _load_rows(con, f, sha256, seq, at, ctx)
        manifest.record_file(
            con,
            f,
            sha256,
            rows_in=rows_in,
            rows_loaded=loaded,
            rows_quarantined=quarantined,
            status=STATUS_LOADED,
            reason=None,
            run_id=ctx.run_id,
            ingested_at=at,
            ingest_seq=seq,
        )
        con.execute("COMMIT")
    except UnreadableFile as exc:
        con.execute("ROLLBACK")
        return _record_failure(con, f, sha256, exc, ctx)
    except BaseException:
        _rollback_quietly(con)
        raise
    return FileResult(f.source, f.rel_path, sha256, STATUS_LOADED, rows_in, loaded, quarantined, seq)


@dataclass(frozen=True)
class _Ready:
    """One checked batch, as Arrow tables for DuckDB to insert."""

    columns: list[str]  # the file's columns as read
    good: pa.Table
    bad: pa.Table


def _load_rows(
    con: duckdb.DuckDBPyConnection, f: LandedFile, sha256: str, seq: int, at: dt.datetime, ctx: LoadContext
) -> tuple[int, int, int]:
    seen: set[str] = set()
    rows_in = loaded = quarantined = 0
    for ready in prefetched(_checked_batches(f, ctx)):  # the next batch is prepared while this one is inserted
        seen.update(ready.columns)
        _insert_good(con, f, ready.good, sha256, seq, at, ctx.run_id)
        _insert_bad(con, f, ready.bad, sha256, at, ctx.run_id)
        rows_in += ready.good.num_rows + ready.bad.num_rows
        loaded += ready.good.num_rows
        quarantined += ready.bad.num_rows
        if ctx.on_batch:
            ctx.on_batch(f"{f.rel_path}: {rows_in:,} rows read, {loaded:,} loaded, {quarantined:,} quarantined")
    if rows_in and f.format == "jsonl":  # JSON Lines has no header: its columns are the keys of any line
        _require_columns(f.source, seen)
    return rows_in, loaded, quarantined


def _checked_batches(f: LandedFile, ctx: LoadContext) -> Iterator[_Ready]:
    """Read, hash, check and convert, batch by batch (CSV and Parquet: the header is checked first)."""
    source = contract.CONTRACT[f.source]
    personal = [c.name for c in source.columns if c.personal]
    for i, batch in enumerate(read_batches(f.path, f.format, ctx.sizes)):
        columns = [c for c in batch.columns if c != ROW_NUMBER]
        if i == 0 and f.format != "jsonl":
            _require_columns(f.source, columns)
        if batch.is_empty():
            continue
        batch = batch.with_columns(ctx.pseudonymizer.hash_series(batch[c]) for c in personal if c in batch.columns)
        checked = check_batch(batch, source, ctx.timezone, f.rel_path)
        yield _Ready(columns, checked.good.to_arrow(), checked.bad.to_arrow())


def _require_columns(source: str, present: Iterable[str]) -> None:
    missing = missing_columns(contract.CONTRACT[source], present)
    if missing:
        raise UnreadableFile(
            f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
            contract.FILE_MISSING_COLUMN,
            column=missing[0],
        )


def _insert_good(
    con: duckdb.DuckDBPyConnection,
    f: LandedFile,
    good: pa.Table,
    sha256: str,
    seq: int,
    at: dt.datetime,
    run_id: str,
) -> None:
    if not good.num_rows:
        return
    columns = ", ".join(contract.CONTRACT[f.source].column_names)
    con.register("__ingest_good", _stream(good))
    try:
        con.execute(
            f"INSERT INTO {SCHEMA}.{f.source} SELECT {columns}, {EXTRA}, ? AS _file_sha256, ? AS _file_path, "
            f"{ROW_NUMBER} AS _row_number, ? AS _ingest_run_id, ? AS _ingested_at, ? AS _ingest_seq "
            "FROM __ingest_good",
            [sha256, f.rel_path, run_id, at, seq],
        )
    finally:
        con.unregister("__ingest_good")


def _insert_bad(
    con: duckdb.DuckDBPyConnection, f: LandedFile, bad: pa.Table, sha256: str, at: dt.datetime, run_id: str
) -> None:
    if not bad.num_rows:
        return
    con.register("__ingest_bad", _stream(bad))
    try:
        con.execute(
            f"INSERT INTO {QUARANTINE} SELECT ?, ?, ?, row_number, column_name, rule, message, raw_record, ?, ? "
            "FROM __ingest_bad",
            [f.source, f.rel_path, sha256, run_id, at],
        )
    finally:
        con.unregister("__ingest_bad")


def _stream(table: pa.Table) -> pa.RecordBatchReader:
    """The table as a one-pass stream: DuckDB consumes it directly, about twice as fast as a scan of the table
    (which goes through a pyarrow dataset scanner and holds the GIL throughout)."""
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())


def _record_failure(
    con: duckdb.DuckDBPyConnection, f: LandedFile, sha256: str, exc: UnreadableFile, ctx: LoadContext
) -> FileResult:
    at = dt.datetime.now(dt.UTC)
    message = f"{f.rel_path}: {exc.detail}"
    con.execute("BEGIN TRANSACTION")
    try:
        seq = manifest.next_ingest_seq(con)
        manifest.record_file(
            con,
            f,
            sha256,
            rows_in=0,
            rows_loaded=0,
            rows_quarantined=0,
            status=STATUS_FAILED,
            reason=message,
            run_id=ctx.run_id,
            ingested_at=at,
            ingest_seq=seq,
        )
        manifest.record_file_failure(
            con, f, sha256, rule=exc.rule, message=message, column=exc.column, run_id=ctx.run_id, at=at
        )
        con.execute("COMMIT")
    except BaseException:
        _rollback_quietly(con)
        raise
    return FileResult(f.source, f.rel_path, sha256, STATUS_FAILED, ingest_seq=seq, reason=message, rule=exc.rule)


def _rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # the original error is the one worth raising
        con.execute("ROLLBACK")
