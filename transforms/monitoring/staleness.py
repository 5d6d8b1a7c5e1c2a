"""Source staleness episodes: a source whose newest ingested record (``updated_at``) is older than its limit
(``stale_after_minutes_<source>``) opens one episode in ``ops.source_staleness`` with one alert; its next newer
record closes it with one "recovered" alert.

The transactions limit only runs during working hours (``working_hours_*``, ``working_days``): a quiet night is not
an outage; at the start of the working day the age counts from the newest record again. The other logs are checked
around the clock. The newest record per source is kept in ``ops.source_freshness`` and advanced from the raw rows
ingested since it was last read (``_ingest_seq`` above its high water), so a check never scans the history.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import duckdb

from transforms.core.contract import SOURCES
from transforms.core.warehouse import table_exists
from transforms.monitoring.outbox import QueuedAlert, queue

# Sources whose staleness limit only runs during working hours.
WORKING_HOURS_ONLY = frozenset({"transactions"})
FRESHNESS = "ops.source_freshness"
STALENESS = "ops.source_staleness"
STALENESS_DDL = (
    "CREATE SCHEMA IF NOT EXISTS ops",
    f"""
    CREATE TABLE IF NOT EXISTS {FRESHNESS} (
        source           VARCHAR     NOT NULL PRIMARY KEY,
        newest_record_at TIMESTAMPTZ,          -- max(updated_at) of raw.<source> up to high_water
        high_water       BIGINT      NOT NULL  -- the largest _ingest_seq read
    )
    """,
    f"""
    CREATE TABLE IF NOT EXISTS {STALENESS} (
        episode_id        VARCHAR     NOT NULL PRIMARY KEY,
        source            VARCHAR     NOT NULL,
        opened_at         TIMESTAMPTZ NOT NULL,  -- the monitor's `now` when the limit was passed
        newest_record_at  TIMESTAMPTZ,           -- the newest record then (NULL: the source never delivered)
        limit_minutes     INTEGER     NOT NULL,
        closed_at         TIMESTAMPTZ,           -- NULL while stale
        recovered_record_at TIMESTAMPTZ          -- the newer record that ended it
    )
    """,
)


@dataclass(frozen=True)
class SourceAge:
    source: str
    newest_record_at: dt.datetime | None
    limit_minutes: int
    checked: bool  # False outside the hours its limit runs

    def age_minutes(self, now: dt.datetime) -> float | None:
        if self.newest_record_at is None:
            return None
        return (now - self.newest_record_at).total_seconds() / 60

    def stale(self, now: dt.datetime) -> bool:
        age = self.age_minutes(now)
        return self.checked and (age is None or age > self.limit_minutes)


def ensure_staleness_tables(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in STALENESS_DDL:
        con.execute(ddl)


def newest_records(con: duckdb.DuckDBPyConnection) -> dict[str, dt.datetime | None]:
    """The newest updated_at of every source, advanced incrementally (see the module docstring)."""
    out: dict[str, dt.datetime | None] = {}
    for source in SOURCES:
        row = con.execute(f"SELECT newest_record_at, high_water FROM {FRESHNESS} WHERE source = ?", [source]).fetchall()
        newest, high_water = row[0] if row else (None, -1)
        if table_exists(con, "raw", source):
            seen, top = con.execute(
                f"SELECT max(updated_at), max(_ingest_seq) FROM raw.{source} WHERE _ingest_seq > ?", [high_water]
            ).fetchall()[0]
            if top is not None:
                newest = seen if newest is None or (seen is not None and seen > newest) else newest
                high_water = top
                con.execute(
                    f"INSERT OR REPLACE INTO {FRESHNESS} (source, newest_record_at, high_water) VALUES (?, ?, ?)",
                    [source, newest, high_water],
                )
        out[source] = newest
    return out


def source_ages(settings, con: duckdb.DuckDBPyConnection, now: dt.datetime) -> list[SourceAge]:
    newest = newest_records(con)
    working = settings.in_working_hours(now)
    return [
        SourceAge(
            source=source,
            newest_record_at=newest[source],
            limit_minutes=int(getattr(settings, f"stale_after_minutes_{source}")),
            checked=working or source not in WORKING_HOURS_ONLY,
        )
        for source in SOURCES
    ]


def open_staleness(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    cur = con.execute(f"SELECT * FROM {STALENESS} WHERE closed_at IS NULL")
    names = [d[0] for d in cur.description]
    return {row[1]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def evaluate_staleness(settings, con: duckdb.DuckDBPyConnection, now: dt.datetime) -> tuple[list[SourceAge], list]:
    """Open and close staleness episodes; returns the sources' ages and the alerts queued (caller's transaction)."""
    ages = source_ages(settings, con, now)
    episodes = open_staleness(con)
    alerts: list[QueuedAlert] = []
    for age in ages:
        episode = episodes.get(age.source)
        if episode is None and age.stale(now):
            alerts.append(_open(con, age, now))
        elif episode is not None and _recovered(episode, age):
            alerts.append(_close(con, episode, age, now))
    return ages, alerts


def _recovered(episode: dict[str, Any], age: SourceAge) -> bool:
    if age.newest_record_at is None:
        return False
    return episode["newest_record_at"] is None or age.newest_record_at > episode["newest_record_at"]


def _age_text(age: SourceAge, now: dt.datetime) -> str:
    minutes = age.age_minutes(now)
    if minutes is None:
        return "no record was ever ingested"
    return f"its newest record is from {age.newest_record_at.isoformat()}, {minutes:.0f} minutes before {now:%H:%M}"


def _open(con, age: SourceAge, now: dt.datetime) -> QueuedAlert:
    episode_id = f"stale-{uuid.uuid4().hex[:16]}"
    con.execute(
        f"INSERT INTO {STALENESS} (episode_id, source, opened_at, newest_record_at, limit_minutes) VALUES (?, ?, ?, ?, ?)",
        [episode_id, age.source, now, age.newest_record_at, age.limit_minutes],
    )
    subject = f"[riskcard] STALE source {age.source}: no new record for over {age.limit_minutes} min"
    text = (
        f"As of {now.isoformat()} the {age.source} log has delivered nothing new: {_age_text(age, now)} (limit "
        f"stale_after_minutes_{age.source} = {age.limit_minutes}). Provisional indicators that read it are "
        "computed on old data. One 'recovered' message follows when a newer record is ingested.\n"
    )
    return queue(con, episode_id, "stale", now, subject, text,
                 {"source": age.source, "episode_id": episode_id, "newest_record_at": age.newest_record_at,
                  "limit_minutes": age.limit_minutes, "age_minutes": age.age_minutes(now), "as_of_time": now})  # fmt: skip


def _close(con, episode: dict[str, Any], age: SourceAge, now: dt.datetime) -> QueuedAlert:
    con.execute(
        f"UPDATE {STALENESS} SET closed_at = ?, recovered_record_at = ? WHERE episode_id = ?",
        [now, age.newest_record_at, episode["episode_id"]],
    )
    subject = f"[riskcard] source {age.source} recovered: new records since {episode['opened_at']:%Y-%m-%d %H:%M}"
    text = (
        f"As of {now.isoformat()} the {age.source} log delivers again: newest record "
        f"{age.newest_record_at.isoformat()}. It was stale since {episode['opened_at'].isoformat()}.\n"
    )
    return queue(con, episode["episode_id"], "recovered", now, subject, text,
                 {"source": age.source, "episode_id": episode["episode_id"], "opened_at": episode["opened_at"],
                  "newest_record_at": age.newest_record_at, "as_of_time": now})  # fmt: skip
