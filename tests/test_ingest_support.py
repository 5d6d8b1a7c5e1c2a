"""Helpers shared by the ingestion tests (no tests here): contract-valid rows and writers for every format.

Rows are plain dicts of text, as a producer would write them; ``None`` is an empty CSV field / JSON null.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from tests.conftest import TEST_SECRET
from tests.warehouse_reads import rows as query
from transforms.core import contract
from transforms.core.settings import PROJECT_DIR

# one valid record per source, as text (timestamps with and without offsets, booleans in several spellings)
GOOD = {
    "transactions": {
        "txn_id": "T0001",
        "updated_at": "2024-01-01T10:00:00+08:00",
        "event_at": "2024-01-01T09:59:00+08:00",
        "customer_id": "RAWCUST-0001",
        "channel": "web",
        "txn_type": "online_payment",
        "amount": "12.30",
        "status": "success",
        "failure_reason": None,
        "auth_method": "password",
        "new_device": "false",
        "risk_flag": "0",
        "fraud_confirmed": "FALSE",
    },
    "complaints": {
        "complaint_id": "C0001",
        "updated_at": "2024-01-02T10:00:00+08:00",
        "opened_at": "2024-01-02 09:00:00",
        "customer_id": "RAWCUST-0002",
        "category": "fee_dispute",
        "channel": "phone",
        "txn_id": "T0001",
        "first_response_at": None,
        "closed_at": None,
        "resolution": "open",
        "claimed_amount": "100.00",
        "compensated_amount": None,
    },
    "incidents": {
        "incident_id": "I0001",
        "updated_at": "2024-01-03T12:00:00Z",
        "system": "online_banking",
        "customer_facing": "true",
        "planned": "false",
        "cause": "hardware",
        "vendor": None,
        "severity": "minor",
        "started_at": "2024-01-03T09:00:00+08:00",
        "detected_at": "2024-01-03T09:05:00+08:00",
        "escalated_at": None,
        "resolved_at": "2024-01-03T11:00:00+08:00",
        "regulator_reported_at": None,
        "loss_event": "0",
        "review_completed_at": None,
        "recurrence_of": None,
    },
    "backups": {
        "backup_id": "B0001",
        "updated_at": "2024-01-04T03:00:00+08:00",
        "system": "core_banking",
        "backup_type": "full",
        "scheduled_at": "2024-01-04T02:00:00+08:00",
        "started_at": "2024-01-04T02:00:05+08:00",
        "finished_at": "2024-01-04T02:40:00+08:00",
        "status": "success",
        "size_bytes": "1048576",
        "offsite_copy": "true",
        "restore_tested": "1",
        "restore_ok": "true",
    },
}


def good_row(source: str, i: int = 1, **changes) -> dict:
    """A valid record of ``source`` with a key (and customer id) made unique by ``i``, then ``changes``."""
    row = dict(GOOD[source])
    key = contract.CONTRACT[source].key
    row[key] = f"{row[key][0]}{i:06d}"
    if "customer_id" in row:
        row["customer_id"] = f"RAWCUST-{source[:3].upper()}-{i:06d}"
    row.update(changes)
    return row


def write_csv(path: Path, rows: list[dict], columns: list[str] | None = None, gz: bool = False) -> Path:
    columns = columns or list(rows[0])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
    return _write(path, buf.getvalue().encode(), gz)


def write_jsonl(path: Path, rows: list[dict | str], gz: bool = False) -> Path:
    """Dicts are dumped; a str is written as the line itself (for hand-written JSON numbers or broken lines)."""
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    return _write(path, ("\n".join(lines) + "\n").encode(), gz)


def write_parquet(path: Path, rows: list[dict], typed: bool = False) -> Path:
    """All-string Parquet, or (``typed``) the generator's types: UTC timestamps, decimal(18,2), bool, int64."""
    source = _source_of(path)
    frame = pl.DataFrame(rows, schema={c: pl.String for c in rows[0]})
    if typed:
        casts = []
        for c in contract.CONTRACT[source].columns:
            col = pl.col(c.name)
            if c.kind == "timestamp":
                casts.append(_parse_any(col))
            elif c.kind == "decimal":
                casts.append(col.cast(pl.Decimal(18, 2)))
            elif c.kind == "bool":
                casts.append(col.str.to_lowercase().is_in(["true", "1"]).and_(col.is_not_null()).alias(c.name))
            elif c.kind == "int":
                casts.append(col.cast(pl.Int64))
        frame = frame.with_columns(casts)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path)
    return path


def _parse_any(col: pl.Expr) -> pl.Expr:
    with_offset = col.str.to_datetime("%Y-%m-%dT%H:%M:%S%:z", strict=False, time_unit="us")
    zulu = col.str.to_datetime("%Y-%m-%dT%H:%M:%SZ", strict=False, time_unit="us").dt.replace_time_zone("UTC")
    local = (
        col.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us")
        .dt.replace_time_zone("Asia/Shanghai")
        .dt.convert_time_zone("UTC")
    )
    return pl.coalesce(with_offset, zulu, local).cast(pl.Datetime("us", "UTC"))


def _source_of(path: Path) -> str:
    for part in path.parts[::-1]:
        if part in contract.SOURCES:
            return part
    raise ValueError(f"{path} is not under a source folder")


def _write(path: Path, data: bytes, gz: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def quarantine(settings) -> list[dict]:
    cols = ["source", "file_path", "row_number", "column_name", "rule", "message", "raw_record"]
    rows = query(settings, f"SELECT {', '.join(cols)} FROM raw.quarantine ORDER BY file_path, row_number")
    return [dict(zip(cols, r, strict=True)) for r in rows]


def manifest(settings) -> dict[str, dict]:
    cols = [
        "path",
        "source",
        "sha256",
        "status",
        "rows_in",
        "rows_loaded",
        "rows_quarantined",
        "reason",
        "ingest_seq",
        "format",
    ]
    rows = query(settings, f"SELECT {', '.join(cols)} FROM raw.ingested_files ORDER BY ingest_seq")
    return {r[0]: dict(zip(cols, r, strict=True)) for r in rows}


def table_counts(settings) -> dict[str, int]:
    return {s: query(settings, f"SELECT count(*) FROM raw.{s}")[0][0] for s in contract.SOURCES}


def run_ingest_cli(settings, *args: str, lock_timeout_seconds: float = 1) -> subprocess.CompletedProcess:
    """`riskcard ingest` in a child process against this test's warehouse and landing folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKCARD_")}
    env |= {"RISKCARD_SECRET_KEY": TEST_SECRET, "RISKCARD_LOCK_TIMEOUT_SECONDS": str(lock_timeout_seconds)}
    command = [sys.executable, "-m", "transforms.cli.main", "ingest"]
    command += ["--warehouse", str(settings.warehouse), "--landing", str(settings.landing), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=PROJECT_DIR, timeout=120, check=False)
