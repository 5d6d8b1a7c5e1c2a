"""Reading landed files (JSON Lines, CSV, optionally gzipped, Parquet) into Polars frames, batch by batch.

Every batch carries ``ROW_NUMBER`` (1-based data row: the header is not counted; for JSON Lines the line number).
Text formats are read as text: every column is a String, so that a value that breaks the contract reaches the
checks as it was written (and JSON numbers keep their decimal digits instead of going through float).
Memory stays bounded: CSV (plain or gzipped) and Parquet go through Polars' streaming scans, ``rows`` at a time;
JSON Lines is cut into chunks of about ``jsonl_bytes`` at line ends.

A file that cannot be read at all raises :class:`UnreadableFile`; its message names the file's problem but never
quotes record content (which may hold personal data).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from transforms import contract
from transforms.ingest.batching import BatchSizes

ROW_NUMBER = "__row_number__"  # internal column name; never a landing-log column
_BOM = b"\xef\xbb\xbf"
# A JSON number written in value position that float64 might not carry exactly (more than 2 decimals, 16 or more
# digits, an exponent). Lines with such a number are re-read with Python's json using the number's text.
_INEXACT_NUMBER = r'"\s*:\s*-?(?:\d*\.\d{3}|(?:\d\.?){16}|[\d.]+[eE])'


class UnreadableFile(Exception):
    """The file cannot be read at all; ``rule`` is a contract.FILE_* value."""

    def __init__(self, detail: str, rule: str = contract.FILE_UNREADABLE, column: str | None = None):
        super().__init__(detail)
        self.rule = rule
        self.detail = detail
        self.column = column  # the first missing column, for FILE_MISSING_COLUMN


def read_batches(path: Path, fmt: str, sizes: BatchSizes | None = None) -> Iterator[pl.DataFrame]:
    """Yield the file's records as frames with a ``ROW_NUMBER`` column, in file order.

    For CSV and Parquet the first frame (possibly empty) always comes, so the header is known before any data.
    """
    sizes = sizes or BatchSizes()
    if fmt == "parquet":
        yield from _parquet_batches(path, sizes.rows)
    elif fmt == "csv":
        yield from _csv_batches(path, sizes.rows)
    elif fmt == "jsonl":
        yield from _jsonl_batches(path, sizes.jsonl_bytes)
    else:  # pragma: no cover - callers check format_of first
        raise UnreadableFile(f"unknown format {fmt!r}", contract.FILE_UNKNOWN_EXTENSION)


def _with_row_numbers(frame: pl.DataFrame, numbers: pl.Series) -> pl.DataFrame:
    """Add ROW_NUMBER; a file column that happens to carry the same name is kept under another one.

    Nested values (Parquet lists and structs) become JSON text here, as they do for JSON Lines, so every column
    that leaves a reader holds scalars.
    """
    if ROW_NUMBER in frame.columns:
        frame = frame.rename({ROW_NUMBER: f"{ROW_NUMBER}in_file"})
    nested = [name for name, dtype in frame.schema.items() if not _scalar(dtype)]
    if nested:
        frame = frame.with_columns(
            pl.struct(pl.col(name).alias("v")).struct.json_encode().str.json_path_match("$.v").alias(name)
            for name in nested
        )
    return frame.with_columns(numbers.alias(ROW_NUMBER))


# ---- CSV -------------------------------------------------------------------------------------------------------


def _csv_batches(path: Path, rows: int) -> Iterator[pl.DataFrame]:
    """Polars' streaming CSV scan (gzip included), every column as text, the header's names tidied."""
    scan = pl.scan_csv(path, infer_schema=False, raise_if_empty=False)
    try:
        raw_names = scan.collect_schema().names()
    except (pl.exceptions.PolarsError, OSError):
        raise UnreadableFile(_diagnose_csv(path, None)) from None
    names = _column_names(raw_names)
    yield _with_row_numbers(pl.DataFrame(schema=dict.fromkeys(names, pl.String)), pl.Series([], dtype=pl.Int64))
    numbered = scan.with_row_index(ROW_NUMBER, offset=1)
    try:
        for frame in numbered.collect_batches(chunk_size=rows):
            numbers = frame.get_column(ROW_NUMBER).cast(pl.Int64)
            frame = frame.drop(ROW_NUMBER)
            frame.columns = names
            yield _with_row_numbers(frame, numbers)
    except (pl.exceptions.PolarsError, OSError):
        raise UnreadableFile(_diagnose_csv(path, len(names))) from None


def _column_names(raw: list[str]) -> list[str]:
    """Header names without surrounding blanks; a repeated name keeps its first column, later ones are renamed."""
    names: list[str] = []
    for i, name in enumerate(raw):
        name = name.strip()
        names.append(f"{name}__duplicate_{i}" if name in names else name)
    return names


def _diagnose_csv(path: Path, width: int | None) -> str:
    """Why Polars could not read the file, found again with Python's csv module (without quoting any content)."""
    row = 0
    try:
        with _open_binary(path) as fh:
            reader = csv.reader(codecs.iterdecode(fh, "utf-8-sig"), strict=True)
            header = next(reader, None)
            width = len(header) if header is not None else width
            for row, record in enumerate(reader, start=1):
                if width is not None and len(record) > width:
                    return f"data row {row} has {len(record)} fields but the header has {width}"
    except UnicodeDecodeError:
        return f"not valid UTF-8 (after data row {row})"
    except csv.Error as exc:
        return f"malformed CSV after data row {row} ({_short(exc)})"
    except UnreadableFile as exc:
        return exc.detail
    return "cannot be parsed as CSV"


# ---- reading text in chunks --------------------------------------------------------------------------------------


def _open_binary(path: Path) -> io.BufferedReader:
    """The file's bytes, gunzipped when it ends in .gz; a gzip or I/O problem is an UnreadableFile."""
    raw = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")  # noqa: SIM115
    return io.BufferedReader(_Guarded(raw), buffer_size=1 << 20)


class _Guarded(io.RawIOBase):
    """A binary file whose read errors (truncated gzip, I/O) surface as UnreadableFile with a content-free reason."""

    def __init__(self, raw):
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            return self._raw.readinto(buffer)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise UnreadableFile(f"corrupt or truncated gzip data ({_short(exc)})") from None
        except OSError as exc:
            raise UnreadableFile(f"cannot read the file ({exc.strerror or type(exc).__name__})") from None

    def close(self) -> None:
        self._raw.close()
        super().close()


def _text_chunks(path: Path, chunk_bytes: int) -> Iterator[bytes]:
    """The file's bytes in pieces of about ``chunk_bytes`` that end at a line end (a UTF-8 BOM dropped)."""
    with _open_binary(path) as fh:
        carry = b""
        data = fh.read(chunk_bytes)
        if data.startswith(_BOM):
            data = data[len(_BOM) :]
        while data:
            buf = carry + data if carry else data
            cut = buf.rfind(b"\n") + 1
            carry = buf[cut:]
            if cut:
                yield buf[:cut]
            data = fh.read(chunk_bytes)
        if carry:
            yield carry


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__


# ---- JSON Lines ------------------------------------------------------------------------------------------------


def _jsonl_batches(path: Path, chunk_bytes: int) -> Iterator[pl.DataFrame]:
    next_line = 1
    for chunk in _text_chunks(path, chunk_bytes):
        lines = chunk.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        numbers = [next_line + i for i, line in enumerate(lines) if line.strip()]
        records = [line for line in lines if line.strip()]
        next_line += len(lines)
        if not records:
            continue
        yield _with_row_numbers(_decode_jsonl(records, numbers), pl.Series(numbers, dtype=pl.Int64))


def _decode_jsonl(records: list[bytes], numbers: list[int]) -> pl.DataFrame:
    """Polars decodes the chunk; lines with numbers float64 may not carry exactly are re-read from their text."""
    lines = pl.Series(records, dtype=pl.Binary).cast(pl.String, strict=False)
    try:
        if lines.null_count() or not lines.str.strip_chars_start().str.starts_with("{").all():
            raise ValueError("not all lines are UTF-8 JSON objects")
        frame = pl.read_ndjson(io.BytesIO(b"\n".join(records)), infer_schema_length=None)
        if frame.height != len(records) or not all(_scalar(t) for t in frame.dtypes):
            raise ValueError("needs the exact reader")
    except (pl.exceptions.PolarsError, ValueError):
        return _python_jsonl(records, numbers)
    frame = frame.with_columns(_as_text(name, dtype) for name, dtype in frame.schema.items())
    inexact = lines.str.contains(_INEXACT_NUMBER).fill_null(True).arg_true().to_list()
    if inexact:
        exact = _python_jsonl([records[i] for i in inexact], [numbers[i] for i in inexact])
        for name in exact.columns:
            if name in frame.columns:
                frame = frame.with_columns(frame[name].scatter(inexact, exact[name]))
    return frame


def _scalar(dtype: pl.DataType) -> bool:
    return not isinstance(dtype, (pl.Struct, pl.List, pl.Array, pl.Object))


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.Boolean:
        return pl.when(pl.col(name)).then(pl.lit("true")).when(~pl.col(name)).then(pl.lit("false")).alias(name)
    return pl.col(name).cast(pl.String)


def _python_jsonl(records: list[bytes], numbers: list[int]) -> pl.DataFrame:
    """The exact reader: numbers keep the digits they were written with; any undecodable line fails the file."""
    rows: list[dict] = []
    keys: dict[str, None] = {}
    for raw, number in zip(records, numbers, strict=True):
        try:
            obj = json.loads(raw, parse_float=str, parse_int=str)
        except UnicodeDecodeError:
            raise UnreadableFile(f"line {number} is not valid UTF-8") from None
        except json.JSONDecodeError as exc:
            raise UnreadableFile(f"line {number} is not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise UnreadableFile(f"line {number} is not a JSON object")
        rows.append(obj)
        keys.update(dict.fromkeys(obj))
    data = {key: [_text(row.get(key)) for row in rows] for key in keys}
    return pl.DataFrame(data, schema={key: pl.String for key in keys})


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# ---- Parquet ---------------------------------------------------------------------------------------------------


def _parquet_batches(path: Path, rows: int) -> Iterator[pl.DataFrame]:
    try:
        schema = pl.read_parquet_schema(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise UnreadableFile(f"not a readable Parquet file ({_short(exc)})") from None
    yield _with_row_numbers(pl.DataFrame(schema=schema), pl.Series([], dtype=pl.Int64))
    next_row = 1
    try:
        for frame in pl.scan_parquet(path).collect_batches(chunk_size=rows):
            numbers = pl.int_range(next_row, next_row + frame.height, dtype=pl.Int64, eager=True)
            yield _with_row_numbers(frame, numbers)
            next_row += frame.height
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise UnreadableFile(f"broken Parquet data after row {next_row - 1} ({_short(exc)})") from None
