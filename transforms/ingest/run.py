"""One ingest call: one micro-batch of every complete file that is new under the landing root.

The writer lock is held for the whole call (a second ingest waits, then gets WarehouseBusy); each file then
commits on its own, so an interrupted call keeps the files it finished and the next call resumes with the rest.
Polars and the loading machinery are imported only when there is a file to load: a call with nothing new (the
common case of a frequent schedule) needs DuckDB and the file system only.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import uuid
from pathlib import Path

from transforms.core import contract
from transforms.core.progress import Progress
from transforms.core.settings import Settings
from transforms.core.warehouse import connect, writer_lock
from transforms.ingest import manifest
from transforms.ingest.batching import BatchSizes
from transforms.ingest.discover import LandedFile, find_landed_files, unseen_files
from transforms.ingest.key_identity import check_key
from transforms.ingest.report import IngestReport
from transforms.ingest.tables import ensure_tables

log = logging.getLogger(__name__)


class LandingMissing(FileNotFoundError):
    """The landing root does not exist (a configuration mistake, not an empty batch)."""


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return f"ingest-{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def ingest(
    settings: Settings, landing: Path | None = None, progress: bool = False, *, sizes: BatchSizes | None = None
) -> IngestReport:
    """Ingest every complete file new since the last call; see the package docstring for the guarantees."""
    root = Path(landing or settings.landing).expanduser().absolute()
    if not root.is_dir():
        raise LandingMissing(f"the landing folder {root} does not exist (set --landing or RISKCARD_LANDING)")
    key = settings.hashing_key()  # fails before the lock when no secret is configured
    started = dt.datetime.now(dt.UTC)
    report = IngestReport(run_id=new_run_id(started), landing=str(root), started_at=started)

    with writer_lock(settings, what=f"riskcard ingest {report.run_id}"):
        con = connect(settings)
        try:
            # rows carry their file and row number, so DuckDB may write them in any order
            con.execute("SET preserve_insertion_order = false")
            ensure_tables(con)
            check_key(con, key, settings, root)  # another key (or the demo key) is refused before any file is touched
            known = manifest.read_known(con)
            todo = _unseen(root, known, report)
            if todo:
                _load_all(con, todo, known, report, settings, key, progress, sizes or BatchSizes())
        finally:
            con.close()

    report.finished_at = dt.datetime.now(dt.UTC)
    totals = report.totals()
    log.info(
        "ingest %s: %d file(s) new, %d skipped, %d row(s) loaded, %d quarantined, %d file(s) failed",
        report.run_id, totals.files_new, totals.files_skipped, totals.rows_loaded, totals.rows_quarantined,
        totals.files_failed,
    )  # fmt: skip
    return report


def _unseen(root: Path, known: manifest.KnownFiles, report: IngestReport) -> list[LandedFile]:
    """The files to take up, every source in contract order; the others are counted as skipped."""
    landed = find_landed_files(root)
    todo: list[LandedFile] = []
    for source in contract.SOURCES:
        candidates, skipped = unseen_files(landed[source], known)
        report.sources[source].files_skipped += skipped
        todo += candidates
    return todo


def timestamp_min(settings: Settings) -> dt.datetime:
    """settings.timestamp_min as a UTC instant (a date or a time without offset is in the bank's zone)."""
    earliest = dt.datetime.fromisoformat(settings.timestamp_min)
    if earliest.tzinfo is None:
        earliest = earliest.replace(tzinfo=settings.tz)
    return earliest.astimezone(dt.UTC)


def _load_all(con, todo: list[LandedFile], known, report, settings, key, progress, sizes) -> None:
    from transforms.ingest.load import LoadContext, load_files
    from transforms.ingest.pii import Pseudonymizer

    say = (lambda line: print(f"  {line}", file=sys.stderr, flush=True)) if progress else None
    ctx = LoadContext(
        report.run_id, settings.timezone, Pseudonymizer(key), sizes, on_batch=say, timestamp_min=timestamp_min(settings)
    )
    with Progress("ingest", total=len(todo), enabled=progress) as steps:
        for result in load_files(con, todo, known, ctx, on_file=steps.step):
            log.debug("%s: %s", result.path, result)
            report.add(result)
