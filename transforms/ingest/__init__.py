"""Ingestion: exactly-once micro-batches from the landing logs into DuckDB's raw schema, with quarantine.

``ingest(settings)`` takes every complete file new under ``<landing>/<source>/**``:

- exactly once: a file is identified by the sha256 of its bytes; the manifest ``raw.ingested_files`` records it
  in the same transaction as its rows, so the same bytes (any name, any time) never load twice;
- atomic per file: good rows, quarantined rows and the manifest entry commit together or not at all;
- the contract (``transforms.core.contract``) is enforced in Polars; a bad row goes to ``raw.quarantine`` with its
  file, row, column, rule and a readable message; a file that cannot be read is recorded as failed;
- ``customer_id`` is replaced by its HMAC-SHA256 (``settings.hashing_key()``) before anything is written;
- values of columns outside the contract never reach the warehouse (raw tables, quarantine): the manifest records
  their names and non-null counts (``extra_columns``); a spelling variant of a personal column, a CSV header with a
  column twice, text that is not UTF-8 and a link out of the landing root fail the file;
- one bad file never stops the others: an unexpected error while reading or checking a file records it as failed
  (rule ``internal_error``) and the call goes on; a file rewritten in place is flagged (``rewrite_of``).

Modules: discover (which files are new), readers (files to Polars), pii (hashing), checks (the contract),
tables (DDL), manifest (the ledger), load (the files in order, one transaction each), prefetch (the next batch,
of this file or the next, is prepared while DuckDB appends this one), report (the outcome), run (one call),
batching (batch sizes).
"""

from transforms.core.warehouse import WarehouseBusy
from transforms.ingest.batching import BatchSizes
from transforms.ingest.report import FileResult, IngestReport, SourceSummary
from transforms.ingest.run import LandingMissing, ingest

__all__ = [
    "ingest",
    "IngestReport",
    "SourceSummary",
    "FileResult",
    "BatchSizes",
    "LandingMissing",
    "WarehouseBusy",
]
