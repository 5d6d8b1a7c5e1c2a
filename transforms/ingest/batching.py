"""How much of a file ingestion holds in memory at once (its own module so that importing it is cheap)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BatchSizes:
    rows: int = 500_000  # CSV and Parquet: rows per batch
    jsonl_bytes: int = 64 * 1024 * 1024  # JSON Lines: bytes of (uncompressed) text per batch
