"""KRI breach episodes: a leaf whose provisional level reaches ``breach_level`` opens one episode in
``ops.kri_breaches``; it stays open, silently, while the level stays at or above it; a higher level inside the
episode escalates it once per step; a level below it closes the episode with one "cleared" alert.

A leaf with no level (``no_data``: its source has no record in the window) neither opens nor closes an episode:
unknown is not "back to normal". Each transition and its alert are written in the caller's transaction
(transforms.monitoring.outbox), so a killed run leaves either both or neither.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import duckdb

from transforms.monitoring.outbox import QueuedAlert, queue
from transforms.scoring.levels import LEVELS

BREACHES = "ops.kri_breaches"
BREACHES_DDL = (
    "CREATE SCHEMA IF NOT EXISTS ops",
    f"""
    CREATE TABLE IF NOT EXISTS {BREACHES} (
        episode_id     VARCHAR     NOT NULL PRIMARY KEY,
        indicator_id   VARCHAR     NOT NULL,
        opened_at      TIMESTAMPTZ NOT NULL,  -- the monitor's `now` when the level first reached breach_level
        opened_level   DOUBLE      NOT NULL,
        level          DOUBLE      NOT NULL,  -- the highest level seen in the episode
        value          DOUBLE,                -- at the last change (open or escalation)
        numerator      DOUBLE,
        denominator    DOUBLE,
        threshold      DOUBLE,                -- the threshold the value is above (the floor of `level`)
        closed_at      TIMESTAMPTZ,           -- NULL while open
        closed_level   DOUBLE,
        closed_value   DOUBLE
    )
    """,
)


@dataclass(frozen=True)
class Leaf:
    """One provisional leaf with the catalogue's thresholds (t1 <= t2 <= t3 <= t4)."""

    indicator_id: str
    name_en: str
    unit: str | None
    value: float | None
    numerator: float | None
    denominator: float | None
    level: float | None
    status: str
    thresholds: tuple[float, float, float, float]

    def to_dict(self) -> dict[str, Any]:
        return {"indicator_id": self.indicator_id, "value": self.value, "numerator": self.numerator,
                "denominator": self.denominator, "level": self.level, "status": self.status,
                "provisional": True}  # fmt: skip

    def threshold_below(self, level: float) -> float | None:
        """The threshold whose crossing gives ``level``: t1 for the second step of the scale ... t4 for the top."""
        step = LEVELS.index(level)
        return None if step == 0 else self.thresholds[step - 1]


def ensure_breach_tables(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in BREACHES_DDL:
        con.execute(ddl)


def open_breaches(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    cur = con.execute(f"SELECT * FROM {BREACHES} WHERE closed_at IS NULL ORDER BY indicator_id")
    names = [d[0] for d in cur.description]
    return {row[1]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def evaluate_breaches(
    con: duckdb.DuckDBPyConnection, leaves: list[Leaf], now: dt.datetime, breach_level: float
) -> list[QueuedAlert]:
    """Open, escalate and close episodes for these leaves; returns the alerts queued (in the caller's transaction)."""
    episodes = open_breaches(con)
    alerts: list[QueuedAlert] = []
    for leaf in leaves:
        episode = episodes.get(leaf.indicator_id)
        if leaf.level is None:
            continue
        if episode is None and leaf.level >= breach_level:
            alerts.append(_open(con, leaf, now))
        elif episode is not None and leaf.level > episode["level"]:
            alerts.append(_escalate(con, episode, leaf, now))
        elif episode is not None and leaf.level < breach_level:
            alerts.append(_close(con, episode, leaf, now))
    return alerts


def _facts(leaf: Leaf) -> dict[str, Any]:
    return {"indicator_id": leaf.indicator_id, "name_en": leaf.name_en, "unit": leaf.unit, "value": leaf.value,
            "numerator": leaf.numerator, "denominator": leaf.denominator, "level": leaf.level,
            "thresholds": list(leaf.thresholds)}  # fmt: skip


def _describe(leaf: Leaf) -> str:
    unit = f" {leaf.unit}" if leaf.unit else ""
    ratio = ""
    if leaf.numerator is not None and leaf.denominator is not None:
        ratio = f" ({leaf.numerator:g} of {leaf.denominator:g})"
    elif leaf.numerator is not None:
        ratio = f" ({leaf.numerator:g})"
    value = "n/a" if leaf.value is None else f"{leaf.value:g}"
    return f"{leaf.indicator_id} {leaf.name_en} = {value}{unit}{ratio}"


def _open(con, leaf: Leaf, now: dt.datetime) -> QueuedAlert:
    episode_id = f"kri-{uuid.uuid4().hex[:16]}"
    threshold = leaf.threshold_below(leaf.level)
    con.execute(
        f"INSERT INTO {BREACHES} (episode_id, indicator_id, opened_at, opened_level, level, value, numerator, "
        "denominator, threshold) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [episode_id, leaf.indicator_id, now, leaf.level, leaf.level, leaf.value, leaf.numerator, leaf.denominator,
         threshold],
    )  # fmt: skip
    subject = f"[riskcard] KRI BREACH {leaf.indicator_id} at level {leaf.level:g} (provisional, {now:%Y-%m-%d %H:%M})"
    text = (
        f"Provisional intraday value as of {now.isoformat()}: {_describe(leaf)}, above the threshold {threshold:g} "
        f"(thresholds {', '.join(f'{t:g}' for t in leaf.thresholds)}), level {leaf.level:g}.\n"
        "This is a provisional figure, not a published scorecard. No further alert is sent while the level stays "
        "at or above the breach level; one 'cleared' message follows when it falls below.\n"
    )
    return queue(con, episode_id, "breach_opened", now, subject, text,
                 {**_facts(leaf), "episode_id": episode_id, "threshold": threshold, "as_of_time": now})  # fmt: skip


def _escalate(con, episode: dict[str, Any], leaf: Leaf, now: dt.datetime) -> QueuedAlert:
    threshold = leaf.threshold_below(leaf.level)
    con.execute(
        f"UPDATE {BREACHES} SET level = ?, value = ?, numerator = ?, denominator = ?, threshold = ? "
        "WHERE episode_id = ?",
        [leaf.level, leaf.value, leaf.numerator, leaf.denominator, threshold, episode["episode_id"]],
    )
    subject = (
        f"[riskcard] KRI ESCALATION {leaf.indicator_id} {episode['level']:g} -> {leaf.level:g} "
        f"(provisional, {now:%Y-%m-%d %H:%M})"
    )
    text = (
        f"Provisional intraday value as of {now.isoformat()}: {_describe(leaf)}, now above the threshold "
        f"{threshold:g}: the breach open since {episode['opened_at']:%Y-%m-%d %H:%M} rose from level "
        f"{episode['level']:g} to {leaf.level:g}.\n"
    )
    return queue(con, episode["episode_id"], "breach_escalated", now, subject, text,
                 {**_facts(leaf), "episode_id": episode["episode_id"], "threshold": threshold,
                  "previous_level": episode["level"], "as_of_time": now})  # fmt: skip


def _close(con, episode: dict[str, Any], leaf: Leaf, now: dt.datetime) -> QueuedAlert:
    con.execute(
        f"UPDATE {BREACHES} SET closed_at = ?, closed_level = ?, closed_value = ? WHERE episode_id = ?",
        [now, leaf.level, leaf.value, episode["episode_id"]],
    )
    subject = f"[riskcard] KRI cleared {leaf.indicator_id}: level {leaf.level:g} (provisional, {now:%Y-%m-%d %H:%M})"
    text = (
        f"Provisional intraday value as of {now.isoformat()}: {_describe(leaf)}, level {leaf.level:g}, below the "
        f"breach level. The breach opened {episode['opened_at']:%Y-%m-%d %H:%M} (highest level "
        f"{episode['level']:g}) is closed.\n"
    )
    return queue(con, episode["episode_id"], "breach_cleared", now, subject, text,
                 {**_facts(leaf), "episode_id": episode["episode_id"], "opened_at": episode["opened_at"],
                  "highest_level": episode["level"], "as_of_time": now})  # fmt: skip
