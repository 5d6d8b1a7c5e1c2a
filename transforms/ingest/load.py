"""Loading files, each in one DuckDB transaction: its good rows, its quarantined rows and its manifest entry.

A file is streamed batch by batch inside its transaction (memory stays bounded; DuckDB writes large appends to
the database file before commit), and either everything commits or nothing does: a process killed half-way
leaves the warehouse as if the file had not been started, and the next call takes it up again.

Reading, hashing and checking run one batch ahead of the inserts, in a background thread (``prefetch``) that goes
on into the next file while the last batch of the current one is inserted (``load_files``): DuckDB never waits
for the first batch of a file. The background thread never touches the database; what it produces is one stream
per call (for every file a _Start, its checked batches, an _End), which ``_by_file`` cuts into files again.

One bad file never stops the others: an unexpected error while reading or checking a file (or a data error while
inserting it) rolls that file back and records it as failed (rule ``internal_error``, with the error's text), and
the call goes on with the next file. Columns outside the contract are counted and dropped here, before any check:
their values never reach a raw table or a quarantine record; their names and counts go to the manifest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import duckdb
import polars as pl
import pyarrow as pa

from transforms.core import contract
from transforms.ingest import discover, manifest
from transforms.ingest.batching import BatchSizes
from transforms.ingest.checks import EXTRA, check_batch, missing_columns
from transforms.ingest.discover import KnownFiles, LandedFile
from transforms.ingest.pii import Pseudonymizer
from transforms.ingest.prefetch import prefetched
from transforms.ingest.readers import INTERNAL_COLUMNS, ROW_NUMBER, UnreadableFile, file_column_name, read_batches
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
    timestamp_min: dt.datetime | None = None  # earliest plausible timestamp (UTC); the latest: a day after reading


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
    with contextlib.closing(prefetched(_file_events(files, known, ctx))) as events:  # closing stops the reader
        for f, start, batches in _by_file(files, events):
            if on_file:
                on_file(f.rel_path)
            result = _take_up(con, f, start, batches, known, ctx)
            if result is not None:
                yield result


def _take_up(
    con: duckdb.DuckDBPyConnection,
    f: LandedFile,
    start: _Start,
    batches: Iterator[_Ready],
    known: KnownFiles,
    ctx: LoadContext,
) -> FileResult | None:
    """What becomes of one file: nothing (it disappeared), recorded as failed or as a duplicate, or loaded."""
    if start.sha256 is None:  # removed since the listing: nothing to ingest, nothing to record
        log.warning("%s disappeared before it could be read; skipped", f.rel_path)
        return None
    sha = start.sha256
    rewrite_of = _rewritten(f, sha, known)
    if start.error is not None:  # refused before reading (a link out of the landing root, unhashable)
        return _record_failure(con, f, sha, start.error, ctx, rewrite_of)
    if f.format is None:
        accepted = ", ".join(contract.FILE_FORMATS)
        detail = f"unknown file type (accepted endings: {accepted}); the file is left in place"
        return _record_failure(con, f, sha, UnreadableFile(detail, contract.FILE_UNKNOWN_EXTENSION), ctx, rewrite_of)
    loaded_as = known.loaded.get(sha)
    if loaded_as is not None:  # the same bytes were loaded under another name (its batches, read ahead only when
        # the earlier copy was loaded in this call, are skipped)
        manifest.record_duplicate(con, f, sha, loaded_as, ctx.run_id, dt.datetime.now(dt.UTC))
        return FileResult(f.source, f.rel_path, sha, "duplicate", reason=loaded_as)
    result = _load_file(con, f, sha, ctx, batches, rewrite_of)
    if result.status == STATUS_LOADED:
        known.loaded[sha] = f.rel_path
        known.paths[f.rel_path] = sha
    return result


def _rewritten(f: LandedFile, sha256: str, known: KnownFiles) -> str | None:
    """The sha256 of the bytes loaded earlier at this path when the file was rewritten in place since, else None.

    The contract says a landed file is immutable (write, then rename): a producer that rewrites one must be told,
    so the manifest entry of the new bytes names the old ones (``rewrite_of``)."""
    previous = known.paths.get(f.rel_path)
    if previous is None or previous == sha256 or not sha256:
        return None
    log.warning("%s was rewritten in place after it was ingested (sha256 %s, now %s)", f.rel_path, previous, sha256)
    return previous


# Data errors DuckDB (or the Arrow hand-over) may raise while inserting one file's rows: that file fails, the call
# goes on. Other database errors (I/O, out of memory, a lost connection) stop the call: they are not the file's.
_INSERT_DATA_ERRORS = (
    duckdb.ConversionException,
    duckdb.ConstraintException,
    duckdb.InvalidInputException,
    duckdb.OutOfRangeException,
    duckdb.TypeMismatchException,
    pa.ArrowException,
    pl.exceptions.PolarsError,
)


def _load_file(
    con: duckdb.DuckDBPyConnection,
    f: LandedFile,
    sha256: str,
    ctx: LoadContext,
    batches: Iterator[_Ready],
    rewrite_of: str | None = None,
) -> FileResult:
    """Ingest one new file from its checked ``batches``; a file that turns out unreadable is recorded as failed
    (its own transaction)."""
    at = dt.datetime.now(dt.UTC)
    con.execute("BEGIN TRANSACTION")
    try:
        seq = manifest.next_ingest_seq(con)
        rows_in, loaded, quarantined, extras = _load_rows(con, f, batches, sha256, seq, at, ctx)
        extra_columns = _extra_columns_json(extras)
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
            extra_columns=extra_columns,
            rewrite_of=rewrite_of,
        )
        con.execute("COMMIT")
    except UnreadableFile as exc:
        con.execute("ROLLBACK")
        return _record_failure(con, f, sha256, exc, ctx, rewrite_of)
    except _INSERT_DATA_ERRORS as exc:
        _rollback_quietly(con)
        log.exception("%s: unexpected error while loading; the file is recorded as failed", f.rel_path)
        return _record_failure(con, f, sha256, internal_error(exc, "loading"), ctx, rewrite_of)
    except BaseException:
        _rollback_quietly(con)
        raise
    return FileResult(
        f.source,
        f.rel_path,
        sha256,
        STATUS_LOADED,
        rows_in,
        loaded,
        quarantined,
        seq,
        extra_columns=extra_columns,
        rewrite_of=rewrite_of,
    )


def internal_error(exc: BaseException, doing: str) -> UnreadableFile:
    """An unexpected error as the file's failure: its type and text, quoted fragments masked (an error message may
    quote a value, and values may be personal data), cut to QUARANTINE_VALUE_CHARS."""
    text = " ".join(str(exc).split()) or "(no message)"
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'...'", text)
    if len(text) > contract.QUARANTINE_VALUE_CHARS:
        text = text[: contract.QUARANTINE_VALUE_CHARS] + contract.QUARANTINE_CUT_MARKER
    return UnreadableFile(f"internal error while {doing} ({type(exc).__name__}: {text})", contract.FILE_INTERNAL_ERROR)


def _extra_columns_json(extras: dict[str, int]) -> str | None:
    """The manifest's record of the columns outside the contract: names (cut) and non-null counts, file order."""
    if not extras:
        return None
    return json.dumps(
        [{"name": _cut_name(name), "non_null_count": count} for name, count in extras.items()], ensure_ascii=False
    )


def _cut_name(name: str) -> str:
    limit = contract.QUARANTINE_VALUE_CHARS
    return name if len(name) <= limit else name[:limit] + contract.QUARANTINE_CUT_MARKER


@dataclass(frozen=True)
class _Ready:
    """One checked batch, as Arrow tables for DuckDB to insert."""

    columns: list[str]  # the file's columns as read
    good: pl.DataFrame
    bad: pl.DataFrame
    extras: dict[str, int]  # columns outside the contract (names as in the file): non-null values in this batch


@dataclass(frozen=True)
class _Start:
    """A file comes up: the sha256 of its bytes (None when it has disappeared since the listing; empty when it
    was refused before its bytes were read, ``error`` saying why)."""

    sha256: str | None
    error: UnreadableFile | None = None


@dataclass(frozen=True)
class _End:
    """The end of a file's batches; ``error`` when it turned out to be unreadable."""

    error: UnreadableFile | None = None


def _file_events(files: list[LandedFile], known: KnownFiles, ctx: LoadContext) -> Iterator[_Start | _Ready | _End]:
    """For every file a _Start with its sha256, its checked batches, an _End (the reader side of load_files).

    Files that will not be loaded (unknown ending, bytes already loaded) get no batches; ``known.loaded`` is only
    read here, and a copy whose original is still being loaded is read anyway (and skipped by the consumer). An
    error that is not the file's own (those end in ``_End(error)``) stops the call, with a note naming the file.
    """
    for f in files:
        try:
            yield from _events_of(f, known, ctx)
        except Exception as exc:
            exc.add_note(f"while ingestion's reader thread was taking up {f.rel_path}")
            raise


def _events_of(f: LandedFile, known: KnownFiles, ctx: LoadContext) -> Iterator[_Start | _Ready | _End]:
    if f.refusal is not None:
        yield _Start("", UnreadableFile(f.refusal[1], f.refusal[0]))
        yield _End()
        return
    try:
        sha = discover.sha256_of(f.path)
    except FileNotFoundError:
        yield _Start(None)
        yield _End()
        return
    except OSError as exc:  # e.g. no permission to read it: recorded as failed, the others go on
        reason = exc.strerror or type(exc).__name__
        yield _Start("", UnreadableFile(f"cannot read the file ({reason})"))
        yield _End()
        return
    yield _Start(sha)
    if f.format is None or sha in known.loaded:
        yield _End()
        return
    try:
        yield from _checked_batches(f, ctx)
    except UnreadableFile as exc:
        yield _End(exc)
    except Exception as exc:  # noqa: BLE001 - any other error fails this file only
        log.exception("%s: unexpected error while reading; the file is recorded as failed", f.rel_path)
        yield _End(internal_error(exc, "reading and checking"))
    else:
        yield _End()


def _by_file(
    files: list[LandedFile], events: Iterator[_Start | _Ready | _End]
) -> Iterator[tuple[LandedFile, _Start, Iterator[_Ready]]]:
    """The reader's stream cut into files: each with its _Start and its batches (which raise the file's read error
    after the last one). Batches the consumer did not take (a file not loaded, or one that failed half-way) are
    skipped when it asks for the next file."""
    for f in files:
        start = next(events)
        assert isinstance(start, _Start), start  # one _Start per file, in order
        batches = _this_file(events)
        yield f, start, batches
        _skip(batches)


def _this_file(events: Iterator[_Start | _Ready | _End]) -> Iterator[_Ready]:
    for item in events:
        if isinstance(item, _End):
            if item.error is not None:
                raise item.error
            return
        yield item


def _skip(batches: Iterator[_Ready]) -> None:
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
) -> tuple[int, int, int, dict[str, int]]:
    seen: set[str] = set()
    extras: dict[str, int] = {}
    rows_in = loaded = quarantined = 0
    for ready in batches:
        seen.update(ready.columns)
        for name, count in ready.extras.items():
            extras[name] = extras.get(name, 0) + count
        _insert_good(con, f, ready.good, sha256, seq, at, ctx.run_id)
        _insert_bad(con, f, ready.bad, sha256, at, ctx.run_id)
        rows_in += ready.good.height + ready.bad.height
        loaded += ready.good.height
        quarantined += ready.bad.height
        if ctx.on_batch:
            ctx.on_batch(f"{f.rel_path}: {rows_in:,} rows read, {loaded:,} loaded, {quarantined:,} quarantined")
    if rows_in and f.format == "jsonl":  # JSON Lines has no header: its columns are the keys of any line
        _require_columns(f.source, seen)
    return rows_in, loaded, quarantined, extras


def _checked_batches(f: LandedFile, ctx: LoadContext) -> Iterator[_Ready]:
    """Read, hash, check and convert, batch by batch (CSV and Parquet: the header is checked first).

    Columns outside the contract are counted and dropped before anything else, so that neither their values nor
    a name that collides with a working column of the checks goes further; a spelling variant of a personal
    column fails the file."""
    source = contract.CONTRACT[f.source]
    personal = [c.name for c in source.columns if c.personal]
    plausible = None
    if ctx.timestamp_min is not None:
        plausible = (ctx.timestamp_min, dt.datetime.now(dt.UTC) + PLAUSIBLE_AHEAD)
    for i, batch in enumerate(read_batches(f.path, f.format, ctx.sizes, strings=personal)):
        columns = [file_column_name(c) for c in batch.columns if c not in INTERNAL_COLUMNS]
        _refuse_personal_variants(source, columns)
        if i == 0 and f.format != "jsonl":
            _require_columns(f.source, columns)
        contract_columns = set(source.column_names)
        outside = [c for c in batch.columns if c not in contract_columns and c not in INTERNAL_COLUMNS]
        if batch.is_empty():
            if outside:
                yield _Ready(columns, _EMPTY, _EMPTY, {file_column_name(c): 0 for c in outside})
            continue
        # by Series, not expressions: a file's column name may look like a regular expression to pl.col
        extras = {file_column_name(c): batch.height - batch.get_column(c).null_count() for c in outside}
        batch = batch.select(c for c in batch.columns if c in contract_columns or c in INTERNAL_COLUMNS)
        batch = batch.with_columns(ctx.pseudonymizer.expr(c) for c in personal if c in batch.columns)
        checked = check_batch(batch, source, ctx.timezone, f.rel_path, plausible)
        yield _Ready(columns, checked.good, checked.bad, extras)


def _require_columns(source: str, present: Iterable[str]) -> None:
    missing = missing_columns(contract.CONTRACT[source], present)
    if missing:
        raise UnreadableFile(
            f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
            contract.FILE_MISSING_COLUMN,
            column=missing[0],
        )


PLAUSIBLE_AHEAD = dt.timedelta(days=1)  # a timestamp more than this after its file is read is implausible
_EMPTY = pl.DataFrame()


def _refuse_personal_variants(source: contract.Source, columns: list[str]) -> None:
    """A case or spelling variant of a personal column (``Customer_ID``, ``customer id``) fails the file: its
    values would be personal data under a name the pipeline does not hash."""
    variants = [(name, personal) for name in columns if (personal := contract.personal_variant_of(source, name))]
    if variants:
        shown = ", ".join(
            f"{_cut_name(name)!r} (a variant of personal column {personal})" for name, personal in variants
        )
        raise UnreadableFile(
            f"the file has column{'s' if len(variants) > 1 else ''} {shown}: breaks "
            f"{contract.FILE_PERSONAL_COLUMN_VARIANT} (a personal column must come once, under its contract name); "
            "the file is refused whole",
            contract.FILE_PERSONAL_COLUMN_VARIANT,
            column=variants[0][1],
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
    con: duckdb.DuckDBPyConnection,
    f: LandedFile,
    sha256: str,
    exc: UnreadableFile,
    ctx: LoadContext,
    rewrite_of: str | None = None,
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
            rewrite_of=rewrite_of,
        )
        manifest.record_file_failure(
            con, f, sha256, rule=exc.rule, message=message, column=exc.column, run_id=ctx.run_id, at=at
        )
        con.execute("COMMIT")
    except BaseException:
        _rollback_quietly(con)
        raise
    return FileResult(
        f.source,
        f.rel_path,
        sha256,
        STATUS_FAILED,
        ingest_seq=seq,
        reason=message,
        rule=exc.rule,
        rewrite_of=rewrite_of,
    )


def _rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # the original error is the one worth raising
        con.execute("ROLLBACK")
