"""Loading files, each in one DuckDB transaction: its good rows, its quarantined rows and its manifest entry.

A file is streamed batch by batch inside its transaction (memory stays bounded; DuckDB writes large appends to
the database file before commit), and either everything commits or nothing does: a process killed half-way
leaves the warehouse as if the file had not been started, and the next call takes it up again.

Reading, hashing and checking run one batch ahead of the inserts, in a background thread that goes on into the
next file while the last batch of the current one is inserted (``load_files``): DuckDB never waits for the
first batch of a file. The background thread never touches the database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import duckdb
import polars as pl
import pyarrow as pa

from transforms import contract
from transforms.ingest import discover, manifest
from transforms.ingest.batching import BatchSizes
from transforms.ingest.checks import EXTRA, check_batch, missing_columns
from transforms.ingest.discover import KnownFiles, LandedFile
from transforms.ingest.pii import Pseudonymizer
from transforms.ingest.prefetch import prefetched
from transforms.ingest.readers import ROW_NUMBER, UnreadableFile, read_batches
from transforms.ingest.report import FileResult
from transforms.ingest.tables import QUARANTINE, SCHEMA, STATUS_FAILED, STATUS_LOADED

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadContext:
    run_id: str
    timezone: str
    pseudonymizer: Pseudonymizer
    sizes: BatchSizes = BatchSizes()
    on_batch: Callable[[str], None] | None = None  # progress lines


def load_files(
    con: duckdb.DuckDBPyConnection,
    files: list[LandedFile],
    known: KnownFiles,
    ctx: LoadContext,
    on_file: Callable[[str], None] | None = None,
) -> Iterator[FileResult]:
    """Take up the new files in order: load each (its own transaction), or record it as failed, or as a duplicate
    when its bytes were loaded under another name (in an earlier call, or earlier in this one).

    A background thread hashes each file and reads, hashes and checks its batches one step ahead of the inserts,
    going on into the next file while the last batch of this one is inserted. It skips reading a file whose bytes
    it already knows to be loaded; the decision that counts is taken here, in the database's thread.
    """
    events = prefetched(_file_events(files, known, ctx))
    try:
        for f in files:
            start = next(events)
            assert isinstance(start, _Start), start  # one _Start per file, in order
            if on_file:
                on_file(f.rel_path)
            batches = _this_file(events)
            if start.sha256 is None:  # removed since the listing: nothing to ingest, nothing to record
                _drain(batches)
                log.warning("%s disappeared before it could be read; skipped", f.rel_path)
                continue
            sha = start.sha256
            if f.format is None:
                _drain(batches)
                accepted = ", ".join(contract.FILE_FORMATS)
                detail = f"unknown file type (accepted endings: {accepted}); the file is left in place"
                yield _record_failure(con, f, sha, UnreadableFile(detail, contract.FILE_UNKNOWN_EXTENSION), ctx)
                continue
            loaded_as = known.loaded.get(sha)
            if loaded_as is not None:  # the same bytes were loaded under another name
                _drain(batches)  # (read ahead only when the earlier copy was loaded in this call)
                manifest.record_duplicate(con, f, sha, loaded_as, ctx.run_id, dt.datetime.now(dt.UTC))
                yield FileResult(f.source, f.rel_path, sha, "duplicate", reason=loaded_as)
                continue
            result = _load_file(con, f, sha, ctx, batches)
            if result.status == STATUS_LOADED:
                known.loaded[sha] = f.rel_path
            yield result
    finally:
        events.close()  # stops the reader thread when a load fails half-way


def _load_file(
    con: duckdb.DuckDBPyConnection, f: LandedFile, sha256: str, ctx: LoadContext, batches: Iterator[_Ready]
) -> FileResult:
    """Ingest one new file from its checked ``batches``; a file that turns out unreadable is recorded as failed
    (its own transaction)."""
    at = dt.datetime.now(dt.UTC)
    con.execute("BEGIN TRANSACTION")
    try:
        seq = manifest.next_ingest_seq(con)
        rows_in, loaded, quarantined = _load_rows(con, f, batches, sha256, seq, at, ctx)
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
    good: pl.DataFrame
    bad: pl.DataFrame


@dataclass(frozen=True)
class _Start:
    """A file comes up: the sha256 of its bytes (None when it has disappeared since the listing)."""

    sha256: str | None


@dataclass(frozen=True)
class _End:
    """The end of a file's batches; ``error`` when it turned out to be unreadable."""

    error: UnreadableFile | None = None


def _file_events(files: list[LandedFile], known: KnownFiles, ctx: LoadContext) -> Iterator[_Start | _Ready | _End]:
    """For every file a _Start with its sha256, its checked batches, an _End (the reader side of load_files).

    Files that will not be loaded (unknown ending, bytes already loaded) get no batches; ``known.loaded`` is only
    read here, and a copy whose original is still being loaded is read anyway (and drained by the consumer).
    """
    for f in files:
        try:
            sha = discover.sha256_of(f.path)
        except FileNotFoundError:
            yield _Start(None)
            yield _End()
            continue
        yield _Start(sha)
        if f.format is None or sha in known.loaded:
            yield _End()
            continue
        try:
            yield from _checked_batches(f, ctx)
        except UnreadableFile as exc:
            yield _End(exc)
        else:
            yield _End()


def _this_file(events: Iterator[_Ready | _End]) -> Iterator[_Ready]:
    """The current file's batches out of the shared stream; its read error is raised after its last batch."""
    for item in events:
        if isinstance(item, _End):
            if item.error is not None:
                raise item.error
            return
        yield item


def _drain(batches: Iterator[_Ready]) -> None:
    with contextlib.suppress(UnreadableFile):
        for _ in batches:
            pass


def _load_rows(
    con: duckdb.DuckDBPyConnection,
    f: LandedFile,
    batches: Iterator[_Ready],
    sha256: str,
    seq: int,
    at: dt.datetime,
    ctx: LoadContext,
) -> tuple[int, int, int]:
    seen: set[str] = set()
    rows_in = loaded = quarantined = 0
    for ready in batches:
        seen.update(ready.columns)
        _insert_good(con, f, ready.good, sha256, seq, at, ctx.run_id)
        _insert_bad(con, f, ready.bad, sha256, at, ctx.run_id)
        rows_in += ready.good.height + ready.bad.height
        loaded += ready.good.height
        quarantined += ready.bad.height
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
        batch = batch.with_columns(ctx.pseudonymizer.expr(c) for c in personal if c in batch.columns)
        checked = check_batch(batch, source, ctx.timezone, f.rel_path)
        yield _Ready(columns, checked.good, checked.bad)


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
    good: pl.DataFrame,
    sha256: str,
    seq: int,
    at: dt.datetime,
    run_id: str,
) -> None:
    if good.is_empty():
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
    con: duckdb.DuckDBPyConnection, f: LandedFile, bad: pl.DataFrame, sha256: str, at: dt.datetime, run_id: str
) -> None:
    if bad.is_empty():
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


def _stream(frame: pl.DataFrame) -> pa.RecordBatchReader:
    """The frame as a one-pass Arrow stream (Arrow's C stream interface, no copy into a pyarrow Table): DuckDB
    consumes it directly, with its own threads. A pyarrow Table would be scanned through a dataset scanner that
    holds the GIL, about half as fast."""
    return pa.RecordBatchReader.from_stream(frame)


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
