"""The ingestion-health dataset: one row per landing source for an as-of date D.

Built from the ingestion manifest (raw.ingested_files), the quarantine (raw.quarantine) and the raw change
logs (raw.<source>), so that the ``ingestion_health`` suite can check each source with plain column
expectations. Definitions (all in the bank's local time zone, window = the ``window_days`` local days ending
on D):

- ``records_in_window``: raw rows with ``updated_at`` in [00:00 of D-(window_days-1), 00:00 of D+1).
- ``age_days``: D minus the local day of the newest ``updated_at`` up to the end of D (NULL: no record at all);
  ``allowed_age_days`` = ``freshness_days(source)`` - 1 (transactions, complaints, backups: a record on D;
  incidents: within the 7 days ending on D).
- ``longest_gap_days``: the longest run of local days in the window with no record;
  ``allowed_gap_days`` = ``allowed_age_days`` (the freshness rule applied inside the window too).
- A manifest file belongs to the local day named in its path (the landing layout
  ``<source>/<YYYY-MM-DD>/<source>_<YYYY-MM-DD>.<ext>``; the last date in the path), or, when the path names
  none, the local day it was ingested. ``quarantine_rate`` = quarantined rows / rows read over the loaded files
  of the window (NULL when none were read). ``files_failed`` = paths of the window whose latest delivery was
  refused as a whole (a later delivery of the same path that loads clears it).
- ``manifest_rows_loaded`` / ``raw_rows``: rows the manifest says were loaded (all time) vs rows in
  raw.<source> (exactly-once check).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from transforms.contract import SOURCES
from transforms.validation.datasets import table_exists

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
    "rows_in",
    "rows_quarantined",
    "quarantine_rate",
    "top_quarantine_rule",
    "manifest_rows_loaded",
    "raw_rows",
)


@dataclass(frozen=True)
class Window:
    """The as-of date's window as local days and as UTC instants (half-open)."""

    as_of: dt.date
    first_day: dt.date
    start: dt.datetime  # 00:00 local of first_day, aware
    end: dt.datetime  # 00:00 local of as_of + 1, aware


def window_for(settings, as_of: dt.date) -> Window:
    tz = settings.tz
    first = as_of - dt.timedelta(days=settings.window_days - 1)
    start = dt.datetime.combine(first, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return Window(as_of, first, start.astimezone(dt.UTC), end.astimezone(dt.UTC))


def ingestion_health_frame(con: duckdb.DuckDBPyConnection, settings, as_of: dt.date) -> pd.DataFrame:
    window = window_for(settings, as_of)
    rows = [_source_row(con, settings, window, source) for source in SOURCES]
    frame = pd.DataFrame(rows, columns=list(HEALTH_COLUMNS))
    for column in HEALTH_COLUMNS:
        if column not in ("source", "last_update_at", "top_quarantine_rule"):
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")  # NULL -> NaN
    return frame


def _source_row(con, settings, window: Window, source: str) -> dict:
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
        row.update(_raw_facts(con, settings, window, source))
    row.update(_manifest_facts(con, settings, window, source))
    return row


def window_days(window: Window) -> int:
    return (window.as_of - window.first_day).days + 1


def _raw_facts(con, settings, window: Window, source: str) -> dict:
    raw_rows, in_window, last_update = con.execute(
        f"""
        SELECT
            count(*),
            count(*) FILTER (WHERE updated_at >= $start AND updated_at < $end),
            max(updated_at) FILTER (WHERE updated_at < $end)
        FROM raw.{source}
        """,
        {"start": window.start, "end": window.end},
    ).fetchone()
    days = [
        d
        for (d,) in con.execute(
            f"""
            SELECT DISTINCT CAST(timezone($tz, updated_at) AS DATE) AS local_day
            FROM raw.{source}
            WHERE updated_at >= $start AND updated_at < $end
            ORDER BY local_day
            """,
            {"tz": settings.timezone, "start": window.start, "end": window.end},
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


def longest_gap(days: list[dt.date], window: Window) -> int:
    """Longest run of window days absent from ``days`` (sorted, all inside the window)."""
    bounds = [window.first_day - dt.timedelta(days=1), *days, window.as_of + dt.timedelta(days=1)]
    return max((b - a).days - 1 for a, b in zip(bounds, bounds[1:], strict=False))


# The source's manifest rows with the local day each file belongs to, the window's files, and each window
# path's latest delivery status. Parameters: $source, $tz, $first, $as_of.
_FILES_CTE = """
WITH files AS (
    SELECT
        path, sha256, status, rows_in, rows_loaded, rows_quarantined, ingest_seq,
        coalesce(
            CAST(try_strptime(list_last(regexp_extract_all(path, '\\d{4}-\\d{2}-\\d{2}')), '%Y-%m-%d') AS DATE),
            CAST(timezone($tz, ingested_at) AS DATE)
        ) AS file_day
    FROM raw.ingested_files
    WHERE source = $source
),
window_files AS (
    SELECT * FROM files WHERE file_day BETWEEN $first AND $as_of
),
latest_delivery_per_path AS (
    SELECT path, arg_max(status, ingest_seq) AS latest_status FROM window_files GROUP BY path
)
"""


def _manifest_facts(con, settings, window: Window, source: str) -> dict:
    empty = {
        "files_loaded": 0,
        "files_failed": 0,
        "rows_in": 0,
        "rows_quarantined": 0,
        "quarantine_rate": None,
        "top_quarantine_rule": None,
        "manifest_rows_loaded": 0,
    }
    if not table_exists(con, "raw", "ingested_files"):
        return empty
    params = {"source": source, "tz": settings.timezone, "first": window.first_day, "as_of": window.as_of}
    facts = con.execute(
        _FILES_CTE
        + """
        SELECT
            (SELECT count(*) FROM window_files WHERE status = 'loaded'),
            (SELECT count(*) FROM latest_delivery_per_path WHERE latest_status = 'failed'),
            (SELECT coalesce(sum(rows_in), 0) FROM window_files WHERE status = 'loaded'),
            (SELECT coalesce(sum(rows_quarantined), 0) FROM window_files WHERE status = 'loaded'),
            (SELECT coalesce(sum(rows_loaded), 0) FROM files WHERE status = 'loaded')
        """,
        params,
    ).fetchone()
    files_loaded, files_failed, rows_in, rows_quarantined, manifest_rows = facts
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
        "files_failed": files_failed,
        "rows_in": rows_in,
        "rows_quarantined": rows_quarantined,
        "quarantine_rate": (rows_quarantined / rows_in) if rows_in else None,
        "top_quarantine_rule": top_rule,
        "manifest_rows_loaded": manifest_rows,
    }
