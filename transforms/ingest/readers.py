"""Reading landed files (JSON Lines, CSV, optionally gzipped, Parquet) into Polars frames, batch by batch.

Every batch carries ``ROW_NUMBER`` (1-based data row: the header is not counted; for JSON Lines the line number).
Text formats are read as text: every column is a String, so that a value that breaks the contract reaches the
checks as it was written (and JSON numbers keep their decimal digits instead of going through float).
Memory stays bounded: CSV (plain or gzipped) and Parquet go through Polars' streaming scans, ``rows`` at a time;
JSON Lines is cut into chunks of about ``jsonl_bytes`` at line ends.

A file that cannot be read at all raises :class:`UnreadableFile`; its message names the file's problem but never
quotes record content (which may hold personal data). Text files are looked at before they are parsed, so that an
empty file, a file that is not UTF-8 (UTF-16, NUL bytes) and a ``.gz`` that is not gzip say so. A CSV header with
the same column twice is ambiguous and refused (never resolved by renaming).

JSON Lines batches may carry two more internal columns, per line: ``DUPLICATE_KEY`` (a key the line holds twice)
and ``NOT_TEXT`` (a column of ``strings`` whose value is not a JSON string). Lines that may have either (found
by cheap vectorised screens) are re-read exactly, so the answer never depends on which reader took the line.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import polars as pl

from transforms.core import contract
from transforms.ingest.batching import BatchSizes

ROW_NUMBER = "__row_number__"  # internal column names; a file column of the same name is renamed (see below)
DUPLICATE_KEY = "__duplicate_key__"  # JSON Lines: the first key the line holds more than once, else null
NOT_TEXT = "__not_text__"  # JSON Lines: the first of ``strings`` whose value is not a JSON string, else null
INTERNAL_COLUMNS = (ROW_NUMBER, DUPLICATE_KEY, NOT_TEXT)
_RENAMED = "\x00in_file"  # suffix of a file column renamed because it carries an internal name
_BOM = b"\xef\xbb\xbf"
_SNIFF_BYTES = 64 * 1024  # how much of a text file is looked at before parsing
_PERSONAL = frozenset(c.name for source in contract.CONTRACT.values() for c in source.columns if c.personal)
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


def read_batches(
    path: Path, fmt: str, sizes: BatchSizes | None = None, strings: Iterable[str] = ()
) -> Iterator[pl.DataFrame]:
    """Yield the file's records as frames with a ``ROW_NUMBER`` column, in file order.

    For CSV and Parquet the first frame (possibly empty) always comes, so the header is known before any data.
    ``strings``: columns whose JSON Lines values must be JSON strings (``NOT_TEXT`` names a line's first other one).
    """
    sizes = sizes or BatchSizes()
    if fmt == "parquet":
        yield from _parquet_batches(path, sizes.rows)
    elif fmt == "csv":
        _look_at_text(path, empty_is_error=True)
        yield from _csv_batches(path, sizes.rows)
    elif fmt == "jsonl":
        _look_at_text(path, empty_is_error=False)
        yield from _jsonl_batches(path, sizes.jsonl_bytes, tuple(strings))
    else:  # pragma: no cover - callers check format_of first
        raise UnreadableFile(f"unknown format {fmt!r}", contract.FILE_UNKNOWN_EXTENSION)


def file_column_name(name: str) -> str:
    """The name a column has in the file (undoing the renaming of a file column that carries an internal name)."""
    original = name.removesuffix(_RENAMED)
    return original if original != name and original in INTERNAL_COLUMNS else name


def _look_at_text(path: Path, empty_is_error: bool) -> None:
    """Refuse, with what the file is, a ``.gz`` that is not gzip, text that is UTF-16 (or holds NUL bytes) and
    (CSV) an empty file; otherwise a parser would report them as a file without the contract's columns."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if not magic:
        if empty_is_error:
            raise UnreadableFile("the file is empty (0 bytes: not even a header row)", contract.FILE_EMPTY)
        return
    if path.name.lower().endswith(".gz") and magic != b"\x1f\x8b":
        raise UnreadableFile("not gzip data: the name ends in .gz but the file does not start with the gzip signature")
    with _open_binary(path) as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head:
        if empty_is_error:
            raise UnreadableFile(
                "the file is empty (its gzip data holds 0 bytes: not even a header row)", contract.FILE_EMPTY
            )
        return
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableFile("not UTF-8 text: it starts with a UTF-16 byte order mark", contract.FILE_ENCODING)
    if b"\x00" in head:
        line = head.count(b"\n", 0, head.index(b"\x00")) + 1
        raise UnreadableFile(
            f"not UTF-8 text: line {line} holds NUL bytes (UTF-16 or binary data?)", contract.FILE_ENCODING
        )


def _with_row_numbers(frame: pl.DataFrame, numbers: pl.Series) -> pl.DataFrame:
    """Add ROW_NUMBER; a file column that happens to carry an internal name is kept under another one
    (``file_column_name`` gives its name back).

    Nested values (Parquet lists and structs) become JSON text here, as they do for JSON Lines, so every column
    that leaves a reader holds scalars.
    """
    return _with_internal(frame).with_columns(numbers.alias(ROW_NUMBER))


def _with_internal(frame: pl.DataFrame) -> pl.DataFrame:
    clash = [name for name in INTERNAL_COLUMNS if name in frame.columns]
    if clash:
        frame = frame.rename({name: name + _RENAMED for name in clash})
    if not all(_scalar(dtype) for dtype in frame.dtypes):  # by Series: a file's name may look like a regex to pl.col
        frame = pl.DataFrame([_json_text(column) if not _scalar(column.dtype) else column for column in frame])
    return frame


def _json_text(column: pl.Series) -> pl.Series:
    """A nested column as JSON text, value by value."""
    wrapped = column.alias("v").to_frame().select(pl.struct("v").struct.json_encode().str.json_path_match("$.v"))
    return wrapped.to_series().alias(column.name)


# ---- CSV -------------------------------------------------------------------------------------------------------


def _csv_batches(path: Path, rows: int) -> Iterator[pl.DataFrame]:
    """Polars' streaming CSV scan (gzip included), every column as text, the header's names tidied."""
    scan = pl.scan_csv(path, infer_schema=False, raise_if_empty=False)
    try:
        raw_names = scan.collect_schema().names()
    except (pl.exceptions.PolarsError, OSError):
        raise UnreadableFile(*_diagnose_csv(path, None)) from None
    names = _column_names(_csv_header(path, len(raw_names)))
    if not names:
        raise UnreadableFile("no header row (the file holds only blank lines)", contract.FILE_EMPTY)
    yield _with_row_numbers(pl.DataFrame(schema=dict.fromkeys(names, pl.String)), pl.Series([], dtype=pl.Int64))
    index = next(name for i in range(len(raw_names) + 1) if (name := f"{ROW_NUMBER}{i}") not in raw_names)
    numbered = scan.with_row_index(index, offset=1)
    try:
        for frame in numbered.collect_batches(chunk_size=rows):
            numbers = frame.get_column(index).cast(pl.Int64)
            frame = frame.drop(index)
            frame.columns = names
            yield _with_row_numbers(frame, numbers)
    except (pl.exceptions.PolarsError, OSError):
        raise UnreadableFile(*_diagnose_csv(path, len(names))) from None


def _csv_header(path: Path, width: int) -> list[str]:
    """The header's names as written (Polars renames a repeated name, e.g. to ``amount_duplicated_0``, so the
    header is read again here, with Python's csv module; leading blank lines are skipped, as Polars does)."""
    try:
        with _open_binary(path) as fh:
            for header in csv.reader(codecs.iterdecode(fh, "utf-8-sig"), strict=True):
                if header:
                    break
            else:
                header = []
    except UnicodeDecodeError:
        raise UnreadableFile("not valid UTF-8 text (in the header row)", contract.FILE_ENCODING) from None
    except csv.Error as exc:
        raise UnreadableFile(f"malformed CSV header row ({_short(exc)})") from None
    if len(header) != width:
        raise UnreadableFile(f"malformed CSV header row ({len(header)} names read, {width} columns found)")
    return header


def _column_names(raw: list[str]) -> list[str]:
    """Header names without surrounding blanks; a name that comes twice makes the file ambiguous: refused."""
    names = [name.strip() for name in raw]
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if name in seen:
            shown = _cut(name) if name else "(blank)"
            personal = " (a personal column)" if name in _PERSONAL else ""
            raise UnreadableFile(
                f"the header has column {shown}{personal} twice (columns {seen[name]} and {i}): breaks "
                f"{contract.FILE_DUPLICATE_COLUMN} (ambiguous); the file is refused whole",
                contract.FILE_DUPLICATE_COLUMN,
                column=name or None,
            )
        seen[name] = i
    return names


def _cut(name: str) -> str:
    limit = contract.QUARANTINE_VALUE_CHARS
    return name if len(name) <= limit else name[:limit] + contract.QUARANTINE_CUT_MARKER


def _diagnose_csv(path: Path, width: int | None) -> tuple[str, str]:
    """Why Polars could not read the file, found again with Python's csv module (without quoting any content)."""
    row = 0
    header = None
    try:
        with _open_binary(path) as fh:
            reader = csv.reader(codecs.iterdecode(fh, "utf-8-sig"), strict=True)
            header = next(reader, None)
            width = len(header) if header is not None else width
            for row, record in enumerate(reader, start=1):
                if width is not None and len(record) > width:
                    return (
                        f"data row {row} has {len(record)} fields but the header has {width}",
                        contract.FILE_UNREADABLE,
                    )
    except UnicodeDecodeError:
        where = "in the header row" if header is None else f"after data row {row}"
        return f"not valid UTF-8 text ({where})", contract.FILE_ENCODING
    except csv.Error as exc:
        return f"malformed CSV after data row {row} ({_short(exc)})", contract.FILE_UNREADABLE
    except UnreadableFile as exc:
        return exc.detail, exc.rule
    return "cannot be parsed as CSV", contract.FILE_UNREADABLE


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


def _jsonl_batches(path: Path, chunk_bytes: int, strings: tuple[str, ...]) -> Iterator[pl.DataFrame]:
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
        frame = _decode_jsonl(records, numbers, strings)  # file columns renamed already, values scalar
        yield frame.with_columns(pl.Series(ROW_NUMBER, numbers, dtype=pl.Int64))


# A key that holds a backslash (an escape: "\u0061mount" is the key amount): such lines are read exactly.
_ESCAPED_KEY = r'\\.[^"]*"\s*:'


def _decode_jsonl(records: list[bytes], numbers: list[int], strings: tuple[str, ...]) -> pl.DataFrame:
    """Polars decodes the chunk; lines that may hold a number float64 cannot carry exactly, a repeated key or a
    non-string value in one of ``strings`` are re-read from their text by the exact reader."""
    try:
        lines = pl.Series(records, dtype=pl.Binary).cast(pl.String, strict=False)
    except pl.exceptions.PolarsError:  # invalid UTF-8 somewhere in the chunk
        _raise_for_utf8(records, numbers)
        raise
    try:
        if lines.null_count() or not lines.str.strip_chars_start().str.starts_with("{").all():
            raise ValueError("not all lines are UTF-8 JSON objects")
        frame = pl.read_ndjson(io.BytesIO(b"\n".join(records)), infer_schema_length=None)
        if frame.height != len(records) or not all(_scalar(t) for t in frame.dtypes):
            raise ValueError("needs the exact reader")
    except (pl.exceptions.PolarsError, ValueError):
        return _python_jsonl(records, numbers, strings)
    keys = frame.columns
    frame = _with_internal(frame)
    frame = pl.DataFrame([_as_text(column) for column in frame])  # by Series: names may look like regexes
    frame = frame.with_columns(pl.lit(None, pl.String).alias(DUPLICATE_KEY), pl.lit(None, pl.String).alias(NOT_TEXT))
    exact = lines.str.contains(_INEXACT_NUMBER).fill_null(True) | _maybe_repeated_key(lines, keys)
    for name in strings:
        if name in frame.columns:
            exact = exact | lines.str.contains(rf'"{re.escape(name)}"\s*:\s*[^"\sn]')
    inexact = exact.arg_true().to_list()
    if inexact:
        exact = _python_jsonl([records[i] for i in inexact], [numbers[i] for i in inexact], strings)
        for name in exact.columns:
            if name in frame.columns:
                frame = frame.with_columns(frame[name].scatter(inexact, exact[name]))
    return frame


def _maybe_repeated_key(lines: pl.Series, keys: list[str]) -> pl.Series:
    """Lines that may hold a key twice: one of the chunk's keys, quoted, occurs twice (as a key, or as a value
    equal to a key's name: the exact reader tells), or a key is written with an escape.

    Finding the chunk's quoted keys in one Aho-Corasick pass is a third of the cost of a regex over every key.
    """
    found = lines.str.extract_many([json.dumps(key, ensure_ascii=False) for key in keys])
    return (found.list.n_unique() < found.list.len()).fill_null(True) | lines.str.contains(_ESCAPED_KEY)


def _raise_for_utf8(records: list[bytes], numbers: list[int]) -> None:
    """The first line of the chunk that is not UTF-8, as an UnreadableFile (found by Python's decoder)."""
    data = b"\n".join(records)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = numbers[data.count(b"\n", 0, exc.start)]
        raise UnreadableFile(f"not valid UTF-8 text (line {line})", contract.FILE_ENCODING) from None


def _scalar(dtype: pl.DataType) -> bool:
    return not isinstance(dtype, (pl.Struct, pl.List, pl.Array, pl.Object))


def _as_text(column: pl.Series) -> pl.Series:
    if column.dtype == pl.Boolean:
        flag = pl.first()
        text = pl.when(flag).then(pl.lit("true")).when(~flag).then(pl.lit("false"))
        return column.to_frame().select(text).to_series().alias(column.name)
    return column.cast(pl.String)


class _Number(str):
    """A JSON number, as the text it was written with."""


class _Object(dict):
    """A JSON object; ``repeated`` is its first key written more than once."""

    repeated: str | None = None


def _object(pairs: list[tuple[str, object]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                obj.repeated = key
                break
            seen.add(key)
    return obj


def _python_jsonl(records: list[bytes], numbers: list[int], strings: tuple[str, ...] = ()) -> pl.DataFrame:
    """The exact reader: numbers keep the digits they were written with; any undecodable line fails the file;
    a repeated key and a non-string value in ``strings`` are named per line (DUPLICATE_KEY, NOT_TEXT)."""
    rows: list[dict] = []
    keys: dict[str, None] = {}
    repeated: list[str | None] = []
    not_text: list[str | None] = []
    for raw, number in zip(records, numbers, strict=True):
        try:
            obj = json.loads(raw, parse_float=_Number, parse_int=_Number, object_pairs_hook=_object)
        except UnicodeDecodeError:
            raise UnreadableFile(f"not valid UTF-8 text (line {number})", contract.FILE_ENCODING) from None
        except json.JSONDecodeError as exc:
            what = exc.msg.removesuffix(" at")  # "Unterminated string starting at" + " at column n"
            raise UnreadableFile(f"line {number} is not valid JSON ({what} at column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise UnreadableFile(f"line {number} is not a JSON object")
        rows.append(obj)
        keys.update(dict.fromkeys(obj))
        repeated.append(obj.repeated)
        not_text.append(next((k for k in strings if _not_text(obj.get(k))), None))
    data = {key: [_text(row.get(key)) for row in rows] for key in keys}
    frame = pl.DataFrame(data, schema={key: pl.String for key in keys})
    return _with_internal(frame).with_columns(
        pl.Series(DUPLICATE_KEY, repeated, dtype=pl.String), pl.Series(NOT_TEXT, not_text, dtype=pl.String)
    )


def _not_text(value: object) -> bool:
    return value is not None and (not isinstance(value, str) or isinstance(value, _Number))


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return str(value) if isinstance(value, _Number) else value
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
