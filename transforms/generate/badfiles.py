"""``--bad-rows`` also drops a few malformed files, each of which ingestion must refuse whole: a truncated
``.jsonl.gz``, a Parquet file cut before its footer, a CSV without a required column and a file whose extension
is not in the contract. They sit beside the day's good files and hold copies of that day's records.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from transforms.core.contract import FILE_MISSING_COLUMN, FILE_UNKNOWN_EXTENSION, FILE_UNREADABLE, SOURCES
from transforms.generate.encode import styles, text_frame
from transforms.generate.randomness import BAD_FILES, stream
from transforms.generate.writers import csv_bytes, gzip_bytes, jsonl_bytes, parquet_bytes, write_atomic

SAMPLE_ROWS = 200
DROPPED_COLUMN = {"complaints": "opened_at"}


def write_bad_files(
    out: Path, label: str, day: int, records: dict[str, pl.DataFrame], timezone: str, seed: int
) -> list[dict]:
    """Write the malformed files for one day; returns their report entries."""
    text = {}
    for source in SOURCES:
        sample = records[source].head(SAMPLE_ROWS)
        style = styles(source, sample.height, stream(seed, BAD_FILES, SOURCES.index(source), day))
        text[source] = (sample, text_frame(sample, source, style, timezone))
    folder = {s: out / s / label for s in SOURCES}
    made = []

    def emit(source: str, name: str, data: bytes, rule: str, detail: str) -> None:
        path = folder[source] / name
        write_atomic(path, data)
        made.append({"source": source, "file": path.relative_to(out).as_posix(), "rule": rule, "detail": detail})

    gz = gzip_bytes(jsonl_bytes(text["transactions"][1]))
    emit(
        "transactions",
        f"transactions_{label}_resend.jsonl.gz",
        gz[: max(len(gz) * 3 // 5, 12)],
        FILE_UNREADABLE,
        f"gzip stream cut after {max(len(gz) * 3 // 5, 12)} of {len(gz)} bytes",
    )
    pq_data = parquet_bytes(text["incidents"][0], "incidents")
    emit(
        "incidents",
        f"incidents_{label}_export.parquet",
        pq_data[: len(pq_data) // 2],
        FILE_UNREADABLE,
        f"Parquet file cut after {len(pq_data) // 2} of {len(pq_data)} bytes (no footer)",
    )
    missing = DROPPED_COLUMN["complaints"]  # a required column (not nullable in the contract)
    emit(
        "complaints",
        f"complaints_{label}_manual.csv",
        csv_bytes(text["complaints"][1].drop(missing)),
        FILE_MISSING_COLUMN,
        f"required column {missing} is missing",
    )
    rows = text["backups"][1].to_dicts()
    emit(
        "backups",
        f"backups_{label}.json",
        json.dumps(rows, ensure_ascii=False).encode(),
        FILE_UNKNOWN_EXTENSION,
        "a JSON array (.json) is not an accepted format",
    )
    return made
