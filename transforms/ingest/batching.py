"""How much of a file ingestion holds in memory at once (its own module so that importing it is cheap)."""

from __future__ import annotations

from dataclasses import dataclass

ROW_GROUP = 122_880  # DuckDB's row group size


@dataclass(frozen=True)
class BatchSizes:
    # CSV and Parquet: rows per batch. A whole number of DuckDB row groups: an append that ends in a partial row
    # group leaves it to be rewritten at the next checkpoint (at 500,000 rows that cost a fifth of the load); two
    # of them per batch let DuckDB append with both cores while the next batch is prepared (load.prefetched).
    rows: int = 2 * ROW_GROUP
    jsonl_bytes: int = 64 * 1024 * 1024  # JSON Lines: bytes of (uncompressed) text per batch
