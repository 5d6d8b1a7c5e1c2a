"""The ingestion-health dataset: one row per landing source for an as-of date D.

Built from the ingestion manifest (raw.ingested_files), the quarantine (raw.quarantine) and the raw change
logs (raw.<source>), so that the ``ingestion_health`` suite can check each source with plain column
expectations. Definitions (all in the bank's local time zone, window = the ``window_days`` local days ending
on D):

- ``records_in_window``: what dbt's ``int_source_records`` counts, the `no_data` rule of the leaves: entities in
  their state as of D (newest version with ``updated_at`` before the end of D; ties: later ``_ingest_seq``, then
  later ``_row_number``) whose own timestamp (the contract's ``event_time``: ``event_at``, ``opened_at``,
  ``started_at``, ``scheduled_at``) is in the window [00:00 of D-(window_days-1), 00:00 of D+1). A late update of
  an entity from an older window is not a record of this one (``tests/test_dbt_scenarios.py`` compares both counts).
- ``age_days``: D minus the local day of the newest ``updated_at`` up to the end of D (NULL: no record at all);
  ``allowed_age_days`` = ``freshness_days(source)`` - 1 (transactions, complaints, backups: a record on D;
  incidents: within the 7 days ending on D).
- ``longest_gap_days``: the longest run of local days in the window with no record;
  ``allowed_gap_days`` = ``allowed_age_days`` (the freshness rule applied inside the window too).
- A manifest file belongs to the local day named in its path (the landing layout
  ``<source>/<YYYY-MM-DD>/<source>_<YYYY-MM-DD>.<ext>``; the last date in the path), or, when the path names
  none, the local day it was ingested. ``quarantine_rate`` = quarantined rows / rows read over the loaded files
  of the window (NULL when none were read). ``files_failed`` = paths of the window whose latest delivery was
  refused as a whole and that nothing cleared (:func:`failed_files`): a later delivery of the same path that
  loads, a later load of the same bytes under any path or of a file of the same source and day (``superseded``:
  ``files_superseded``), or `riskcard ingest ack PATH --reason TEXT` (``ops.ingest_acks``: ``files_acknowledged``).
- ``manifest_rows_loaded`` / ``raw_rows``: rows the manifest says were loaded (all time) vs rows in
  raw.<source> (exactly-once check).

Bound to a build: with ``high_water`` (the build's ``ingest_high_water``), only the files with ``ingest_seq`` up
to it, and their raw rows, count, i.e. exactly what that build read; a file that landed after it waits for the
next build.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from transforms.core.contract import CONTRACT, SOURCES
from transforms.core.warehouse import table_exists
from transforms.core.windows import Window, window_days, window_for

HEALTH_COLUMNS = (
    "source",
    "records_in_window",
    "last_update_at",
    "age_days",
    "allowed_age_days",
    "longest_gap_days",
    "allowed_gap_days",
    "files_loaded",
    "files_failed",
    "files_acknowledged",
    "files_superseded",
    "rows_in",
    "rows_quarantined",
    "quarantine_rate",
    "top_quarantine_rule",
    "manifest_rows_loaded",
    "raw_rows",
)


# No bound: every file ever ingested (ingest_seq is a BIGINT).
NO_BOUND = 2**62


@dataclass(frozen=True)
class FailedFile:
    """A window path whose latest delivery (up to the high-water mark) was refused as a whole."""

    source: str
    path: str
    ingest_seq: int
    sha256: str
    reason: str | None
    file_day: dt.date
    superseded_by: str | None = None  # the path that later loaded the same bytes / the same source and day
    superseded_how: str | None = None  # "same bytes" | "same source and day"
    ack_reason: str | None = None
    acked_by: str | None = None
    acked_at: dt.datetime | None = None

    @property
    def blocking(self) -> bool:
        return self.superseded_by is None and self.ack_reason is None

    @property
    def cleared_by(self) -> str | None:
        if self.ack_reason is not None:
            return "acknowledged"
        return "superseded" if self.superseded_by is not None else None

    def note(self) -> str:
        head = f"{self.source} file {self.path} (ingest_seq {self.ingest_seq}) failed: {self.reason or 'refused'}"
        if self.ack_reason is not None:
            who = f" by {self.acked_by}" if self.acked_by else ""
            when = f" at {self.acked_at:%Y-%m-%d %H:%M} UTC" if self.acked_at else ""
            return f"{head}; acknowledged{who}{when}: {self.ack_reason}"
        if self.superseded_by is not None:
            return f"{head}; superseded by {self.superseded_by} ({self.superseded_how}, loaded later)"
        return (
            f"{head}; it blocks publishing until the same path is delivered again and loads, a replacement of the "
            f"same source and day (or the same bytes) loads, or `riskcard ingest ack {self.path} --reason TEXT`"
        )

    def provenance(self) -> dict:
        out = {"source": self.source, "path": self.path, "ingest_seq": self.ingest_seq, "failure": self.reason,
               "cleared_by": self.cleared_by}  # fmt: skip
        if self.ack_reason is not None:
            out.update(reason=self.ack_reason, acked_by=self.acked_by,
                       acked_at=self.acked_at.isoformat() if self.acked_at else None)  # fmt: skip
        else:
            out.update(superseded_by=self.superseded_by, how=self.superseded_how)
        return out


def failed_files(con: duckdb.DuckDBPyConnection, settings, as_of: dt.date, high_water: int | None = None):
    """Every window path (all sources) whose latest delivery up to ``high_water`` failed, with what cleared it.

    Superseded: a later delivery (ingest_seq above the failed one's, up to ``high_water``) loaded the same bytes
    (any path) or a file of the same source and file day. Acknowledged: an ``ops.ingest_acks`` row for the path
    covers this delivery (its ingest_seq is at least the failed one's)."""
    if not table_exists(con, "raw", "ingested_files"):
        return []
    window = window_for(settings, as_of)
    acks = table_exists(con, "ops", "ingest_acks")
    ack_sql = (
        """
        (SELECT arg_max(a.reason, a.acked_at) FROM ops.ingest_acks AS a
         WHERE a.path = f.path AND a.ingest_seq >= f.latest_seq) AS ack_reason,
        (SELECT arg_max(a.acked_by, a.acked_at) FROM ops.ingest_acks AS a
         WHERE a.path = f.path AND a.ingest_seq >= f.latest_seq) AS acked_by,
        (SELECT max(a.acked_at) FROM ops.ingest_acks AS a
         WHERE a.path = f.path AND a.ingest_seq >= f.latest_seq) AS acked_at
        """
        if acks
        else "NULL AS ack_reason, NULL AS acked_by, NULL AS acked_at"
    )
    out: list[FailedFile] = []
    for source in SOURCES:
        params = {"source": source, "tz": settings.timezone, "first": window.first_day, "as_of": window.as_of,
                  "hw": NO_BOUND if high_water is None else int(high_water)}  # fmt: skip
        rows = con.execute(
            _FILES_CTE
            + f"""
            , failed AS (
                SELECT path, max(ingest_seq) AS latest_seq, arg_max(sha256, ingest_seq) AS sha256,
                       arg_max(reason, ingest_seq) AS reason, arg_max(file_day, ingest_seq) AS file_day
                FROM window_files
                WHERE path IN (SELECT path FROM latest_delivery_per_path WHERE latest_status = 'failed')
                GROUP BY path
            )
            SELECT
                f.path, f.latest_seq, f.sha256, f.reason, f.file_day,
                (SELECT arg_min(l.path, l.ingest_seq) FROM raw.ingested_files AS l
                 WHERE l.status = 'loaded' AND l.sha256 = f.sha256
                   AND l.ingest_seq > f.latest_seq AND l.ingest_seq <= $hw) AS same_bytes,
                (SELECT arg_min(l.path, l.ingest_seq) FROM files AS l
                 WHERE l.status = 'loaded' AND l.file_day = f.file_day AND l.ingest_seq > f.latest_seq) AS same_day,
                {ack_sql}
            FROM failed AS f
            ORDER BY f.path
            """,
            params,
        ).fetchall()
        for path, seq, sha, reason, day, same_bytes, same_day, ack_reason, acked_by, acked_at in rows:
            how = "same bytes" if same_bytes else ("same source and day" if same_day else None)
            out.append(
                FailedFile(
                    source=source,
                    path=path,
                    ingest_seq=int(seq),
                    sha256=sha,
                    reason=reason,
                    file_day=day,
                    superseded_by=same_bytes or same_day,
                    superseded_how=how,
                    ack_reason=ack_reason,
                    acked_by=acked_by,
                    acked_at=acked_at,
                )
            )
    return out


def ingestion_health_frame(
    con: duckdb.DuckDBPyConnection, settings, as_of: dt.date, high_water: int | None = None
) -> pd.DataFrame:
    """One row per source (see the module docstring); ``high_water``: only what a build up to it read."""
    window = window_for(settings, as_of)
    hw = NO_BOUND if high_water is None else int(high_water)
    failed = failed_files(con, settings, as_of, high_water)
    rows = [_source_row(con, settings, window, source, hw, failed) for source in SOURCES]
    frame = pd.DataFrame(rows, columns=list(HEALTH_COLUMNS))
    for column in HEALTH_COLUMNS:
        if column not in ("source", "last_update_at", "top_quarantine_rule"):
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")  # NULL -> NaN
    return frame


def _source_row(con, settings, window: Window, source: str, hw: int, failed: list[FailedFile]) -> dict:
    allowed = settings.freshness_days(source) - 1
    row: dict = {
        "source": source,
        "records_in_window": 0,
        "last_update_at": None,
        "age_days": None,
        "allowed_age_days": allowed,
        "longest_gap_days": window_days(window),
        "allowed_gap_days": allowed,
        "raw_rows": 0,
    }
    if table_exists(con, "raw", source):
        row.update(_raw_facts(con, settings, window, source, hw))
    row.update(_manifest_facts(con, settings, window, source, hw))
    mine = [f for f in failed if f.source == source]
    row["files_failed"] = sum(f.blocking for f in mine)
    row["files_acknowledged"] = sum(f.cleared_by == "acknowledged" for f in mine)
    row["files_superseded"] = sum(f.cleared_by == "superseded" for f in mine)
    return row


def _raw_facts(con, settings, window: Window, source: str, hw: int) -> dict:
    raw_rows, last_update = con.execute(
        f"""
        SELECT count(*), max(updated_at) FILTER (WHERE updated_at < $end)
        FROM raw.{source}
        WHERE _ingest_seq <= $hw
        """,
        {"end": window.end, "hw": hw},
    ).fetchone()
    in_window = records_in_window(con, window, source, hw)
    days = [
        d
        for (d,) in con.execute(
            f"""
            SELECT DISTINCT CAST(timezone($tz, updated_at) AS DATE) AS local_day
            FROM raw.{source}
            WHERE updated_at >= $start AND updated_at < $end AND _ingest_seq <= $hw
            ORDER BY local_day
            """,
            {"tz": settings.timezone, "start": window.start, "end": window.end, "hw": hw},
        ).fetchall()
    ]
    age = None
    if last_update is not None:
        age = (window.as_of - last_update.astimezone(settings.tz).date()).days
    return {
        "raw_rows": raw_rows,
        "records_in_window": in_window,
        "last_update_at": last_update.astimezone(settings.tz).isoformat() if last_update else None,
        "age_days": age,
        "longest_gap_days": longest_gap(days, window),
    }


def records_in_window(con, window: Window, source: str, hw: int = NO_BOUND) -> int:
    """The entities of ``source`` whose state as of the window's as-of date has its own timestamp in the window
    (the module docstring; dbt's ``int_source_records``), from the raw rows with ``_ingest_seq`` up to ``hw``.

    Only an entity with a version timestamped in the window can have its state there, so the versions of those
    entities are all that is read."""
    key, event_time = CONTRACT[source].key, CONTRACT[source].event_time
    (count,) = con.execute(
        f"""
        WITH known AS (
            SELECT {key} AS entity, {event_time} AS event_time, updated_at, _ingest_seq, _row_number
            FROM raw.{source}
            WHERE updated_at < $end AND _ingest_seq <= $hw
        ),
        states AS (
            SELECT entity, arg_max(event_time, (updated_at, _ingest_seq, _row_number)) AS event_time
            FROM known
            WHERE entity IN (SELECT entity FROM known WHERE event_time >= $start AND event_time < $end)
            GROUP BY entity
        )
        SELECT count(*) FROM states WHERE event_time >= $start AND event_time < $end
        """,
        {"start": window.start, "end": window.end, "hw": hw},
    ).fetchone()
    return int(count)


def longest_gap(days: list[dt.date], window: Window) -> int:
    """Longest run of window days absent from ``days`` (sorted, all inside the window)."""
    bounds = [window.first_day - dt.timedelta(days=1), *days, window.as_of + dt.timedelta(days=1)]
    return max((b - a).days - 1 for a, b in zip(bounds, bounds[1:], strict=False))


# The source's manifest rows with the local day each file belongs to, the window's files, and each window
# path's latest delivery status, up to the high-water mark. Parameters: $source, $tz, $first, $as_of, $hw.
_FILES_CTE = """
WITH files AS (
    SELECT
        path, sha256, status, reason, rows_in, rows_loaded, rows_quarantined, ingest_seq,
        coalesce(
            CAST(try_strptime(list_last(regexp_extract_all(path, '\\d{4}-\\d{2}-\\d{2}')), '%Y-%m-%d') AS DATE),
            CAST(timezone($tz, ingested_at) AS DATE)
        ) AS file_day
    FROM raw.ingested_files
    WHERE source = $source AND ingest_seq <= $hw
),
window_files AS (
    SELECT * FROM files WHERE file_day BETWEEN $first AND $as_of
),
latest_delivery_per_path AS (
    SELECT path, arg_max(status, ingest_seq) AS latest_status FROM window_files GROUP BY path
)
"""


def _manifest_facts(con, settings, window: Window, source: str, hw: int) -> dict:
    empty = {
        "files_loaded": 0,
        "rows_in": 0,
        "rows_quarantined": 0,
        "quarantine_rate": None,
        "top_quarantine_rule": None,
        "manifest_rows_loaded": 0,
    }
    if not table_exists(con, "raw", "ingested_files"):
        return empty
    params = {"source": source, "tz": settings.timezone, "first": window.first_day, "as_of": window.as_of, "hw": hw}
    facts = con.execute(
        _FILES_CTE
        + """
        SELECT
            (SELECT count(*) FROM window_files WHERE status = 'loaded'),
            (SELECT coalesce(sum(rows_in), 0) FROM window_files WHERE status = 'loaded'),
            (SELECT coalesce(sum(rows_quarantined), 0) FROM window_files WHERE status = 'loaded'),
            (SELECT coalesce(sum(rows_loaded), 0) FROM files WHERE status = 'loaded')
        """,
        params,
    ).fetchone()
    files_loaded, rows_in, rows_quarantined, manifest_rows = facts
    top_rule = None
    if rows_quarantined and table_exists(con, "raw", "quarantine"):
        top = con.execute(
            _FILES_CTE
            + """
            SELECT q.rule, count(*) AS n
            FROM raw.quarantine AS q
            WHERE q.source = $source
              AND q.file_sha256 IN (SELECT sha256 FROM window_files WHERE status = 'loaded')
            GROUP BY q.rule
            ORDER BY n DESC, q.rule
            LIMIT 1
            """,
            params,
        ).fetchone()
        top_rule = f"{top[0]} ({top[1]} rows)" if top else None
    return {
        "files_loaded": files_loaded,
        "rows_in": rows_in,
        "rows_quarantined": rows_quarantined,
        "quarantine_rate": (rows_quarantined / rows_in) if rows_in else None,
        "top_quarantine_rule": top_rule,
        "manifest_rows_loaded": manifest_rows,
    }
