"""Writing a day's records of one source as a producing system would drop them: one file per source per local
day, ``<out>/<source>/<YYYY-MM-DD>/<source>_<YYYY-MM-DD>.<ext>``, written under a temporary name and renamed.

Byte-for-byte deterministic: gzip headers carry no time stamp or name, Parquet is written by the pinned pyarrow.
"""

from __future__ import annotations

import gzip
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from transforms.core.contract import SOURCES
from transforms.generate.badrows import BadRowInjector, apply_to_csv, apply_to_jsonl
from transforms.generate.encode import arrow_table, styles, text_frame
from transforms.generate.randomness import BAD_ROWS, TEXT_STYLE, stream

FORMATS = ("jsonl", "csv", "parquet", "mixed")
MIXED_ROTATION = ("jsonl", "csv", "parquet", "jsonl.gz", "csv.gz")
TMP_SUFFIX = ".tmp"


def file_format(fmt: str, source: str, day: int) -> str:
    """The file format of one file: the chosen one, or under ``mixed`` a rotation across days and sources."""
    if fmt != "mixed":
        return fmt
    return MIXED_ROTATION[(day + SOURCES.index(source)) % len(MIXED_ROTATION)]


def jsonl_bytes(text: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    text.write_ndjson(buf)
    return buf.getvalue()


def csv_bytes(text: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    text.write_csv(buf, include_header=True, null_value="", line_terminator="\n")
    return buf.getvalue()


def parquet_bytes(records: pl.DataFrame, source: str) -> bytes:
    buf = io.BytesIO()
    pq.write_table(arrow_table(records, source), buf, compression="zstd")
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def write_atomic(path: Path, data: bytes) -> None:
    """Write to ``<name>.tmp`` beside the target, then rename: a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + TMP_SUFFIX)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@dataclass
class SourceTally:
    files: int = 0
    rows: int = 0
    first_versions: int = 0
    updates: int = 0
    bad_rows: int = 0


@dataclass
class DayFileWriter:
    out: Path
    fmt: str
    timezone: str
    seed: int
    injector: BadRowInjector | None = None
    tally: dict[str, SourceTally] = field(default_factory=lambda: {s: SourceTally() for s in SOURCES})
    files: list[dict] = field(default_factory=list)

    def path(self, source: str, label: str, file_fmt: str) -> Path:
        return self.out / source / label / f"{source}_{label}.{file_fmt}"

    def write(self, source: str, day: int, label: str, records: pl.DataFrame) -> Path:
        """Write one day's records of ``source`` (typed, with the ``_first`` marker column)."""
        file_fmt = file_format(self.fmt, source, day)
        path = self.path(source, label, file_fmt)
        bad = 0
        if file_fmt == "parquet":
            data = parquet_bytes(records, source)
        else:
            kind = file_fmt.removesuffix(".gz")
            style = styles(source, records.height, stream(self.seed, TEXT_STYLE, SOURCES.index(source), day))
            text = text_frame(records, source, style, self.timezone)
            data = jsonl_bytes(text) if kind == "jsonl" else csv_bytes(text)
            if self.injector is not None:
                rng = stream(self.seed, BAD_ROWS, SOURCES.index(source), day)
                injections = self.injector.plan(source, records, text, style, kind, rng)
                data = (apply_to_jsonl if kind == "jsonl" else apply_to_csv)(data, text, injections)
                self.injector.record(source, self.relative(path), injections)
                bad = len(injections)
            if file_fmt.endswith(".gz"):
                data = gzip_bytes(data)
        write_atomic(path, data)
        first = int(records["_first"].sum()) if records.height else 0
        t = self.tally[source]
        t.files += 1
        t.rows += records.height
        t.first_versions += first
        t.updates += records.height - first
        t.bad_rows += bad
        self.files.append(
            {"source": source, "file": self.relative(path), "format": file_fmt, "rows": records.height, "bad_rows": bad}
        )
        return path

    def relative(self, path: Path) -> str:
        return path.relative_to(self.out).as_posix()
