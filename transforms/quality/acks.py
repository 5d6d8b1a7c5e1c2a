"""`riskcard ingest ack PATH --reason TEXT`: accept that a failed landing file will not be re-delivered.

A file refused as a whole (an unknown ending such as ``notes.txt``, a truncated gzip, ...) blocks every publish
whose window contains it (``ingestion_health.no_failed_files``). What clears it:

- the same path is delivered again and loads;
- it is *superseded*: later, the same bytes load under any path, or a file of the same source and day loads
  (the usual fix: re-sending under a new name);
- an operator acknowledges it here: one ``ops.ingest_acks`` row with the path, the failed delivery's
  ``ingest_seq`` and sha256, the reason, who and when. The acknowledgement covers that delivery (and earlier
  ones); a later failed delivery of the same path blocks again. Validation notes and the published version's
  provenance (``failed_files_cleared``) show it.
"""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path

from transforms.core.warehouse import table_exists
from transforms.quality.record import ensure_ops_tables


class AckRefused(ValueError):
    """Nothing to acknowledge (unknown path, last delivery loaded) or no reason given."""


def manifest_path(settings, path: str | Path) -> str:
    """The path as raw.ingested_files records it: relative to the landing root, '/'-separated."""
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            return candidate.resolve().relative_to(Path(settings.landing).resolve()).as_posix()
        except ValueError:
            return candidate.as_posix()
    return candidate.as_posix().removeprefix("./")


def acknowledge(settings, path: str | Path, reason: str, acked_by: str | None = None) -> dict:
    """Record the acknowledgement of the latest (failed) delivery of ``path``; returns the row written."""
    from transforms.core.warehouse import connect, writer_lock
    from transforms.quality.run import refresh_serving_safely

    reason = (reason or "").strip()
    if not reason:
        raise AckRefused("say why the file may be ignored: --reason TEXT")
    rel = manifest_path(settings, path)
    if not settings.warehouse.exists():
        raise AckRefused(f"no warehouse at {settings.warehouse}")
    with writer_lock(settings, what=f"ingest ack {rel}"):
        con = connect(settings)
        try:
            if not table_exists(con, "raw", "ingested_files"):
                raise AckRefused("nothing has been ingested yet (no raw.ingested_files)")
            row = con.execute(
                """
                SELECT source, status, ingest_seq, sha256, reason FROM raw.ingested_files
                WHERE path = ? ORDER BY ingest_seq DESC LIMIT 1
                """,
                [rel],
            ).fetchone()
            if row is None:
                raise AckRefused(
                    f"no delivery of {rel} is recorded in raw.ingested_files (give the path relative to the "
                    "landing folder, as `riskcard validate` names it)"
                )
            source, status, seq, sha, failure = row
            if status != "failed":
                raise AckRefused(f"the latest delivery of {rel} (ingest_seq {seq}) loaded: nothing to acknowledge")
            ensure_ops_tables(con)
            record = {
                "path": rel,
                "source": source,
                "ingest_seq": int(seq),
                "sha256": sha,
                "failure": failure,
                "reason": reason,
                "acked_by": acked_by or _user(),
                "acked_at": dt.datetime.now(dt.UTC),
            }
            names = list(record)
            con.execute(
                f"INSERT INTO ops.ingest_acks ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                [record[n] for n in names],
            )
            refresh_serving_safely(settings, con)
        finally:
            con.close()
    return record


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
