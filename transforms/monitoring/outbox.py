"""The monitor's alerts, written to ``ops.monitor_alerts`` in the same transaction as the episode change that caused
them, and delivered afterwards.

A killed run therefore either changed nothing (the transaction never committed: the next run sees the same change
and queues the alert again) or left its alerts queued (the next run delivers them). An alert is marked delivered
once every configured channel took it. The only window for a repeat is a kill between a channel accepting the
message and the mark being written: every message carries its ``alert_id`` (webhook payload, e-mail Message-ID) so
a receiver can drop the second copy.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import duckdb

from transforms.core.rendering import json_default
from transforms.quality.alerts import Alert, Delivery, deliver

log = logging.getLogger(__name__)

OUTBOX = "ops.monitor_alerts"
OUTBOX_DDL = (
    "CREATE SCHEMA IF NOT EXISTS ops",
    f"""
    CREATE TABLE IF NOT EXISTS {OUTBOX} (
        alert_id     VARCHAR     NOT NULL PRIMARY KEY,
        episode_id   VARCHAR     NOT NULL,  -- ops.kri_breaches or ops.source_staleness
        kind         VARCHAR     NOT NULL,  -- breach_opened | breach_escalated | breach_cleared | stale | recovered
        queued_at    TIMESTAMPTZ NOT NULL,  -- the monitor's `now`
        subject      VARCHAR     NOT NULL,
        text         VARCHAR     NOT NULL,
        payload      VARCHAR     NOT NULL,  -- JSON
        delivered_at TIMESTAMPTZ,           -- NULL until every configured channel took it
        channels     VARCHAR,               -- JSON: the channels that took it
        last_error   VARCHAR                -- the last failed delivery, if any
    )
    """,
)


@dataclass(frozen=True)
class QueuedAlert:
    alert_id: str
    episode_id: str
    kind: str
    subject: str
    text: str
    payload: dict[str, Any]


def ensure_outbox(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in OUTBOX_DDL:
        con.execute(ddl)


def queue(
    con: duckdb.DuckDBPyConnection, episode_id: str, kind: str, now: dt.datetime, subject: str, text: str, payload
) -> QueuedAlert:
    """Queue one alert (the caller's transaction decides whether it exists)."""
    alert_id = f"mon-{uuid.uuid4().hex[:16]}"
    body = {"event": f"riskcard.{kind}", "alert_id": alert_id, "provisional": True, "summary": subject, **payload}
    con.execute(
        f"INSERT INTO {OUTBOX} (alert_id, episode_id, kind, queued_at, subject, text, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [alert_id, episode_id, kind, now, subject, text, json.dumps(body, ensure_ascii=False, default=json_default)],
    )
    return QueuedAlert(alert_id, episode_id, kind, subject, text, body)


def pending(con: duckdb.DuckDBPyConnection) -> list[tuple[QueuedAlert, list[str]]]:
    """The undelivered alerts, oldest first, each with the channels that already took it."""
    rows = con.execute(
        f"SELECT alert_id, episode_id, kind, subject, text, payload, channels FROM {OUTBOX} "
        "WHERE delivered_at IS NULL ORDER BY queued_at, alert_id"
    ).fetchall()
    return [(QueuedAlert(a, e, k, s, t, json.loads(p)), json.loads(c) if c else []) for a, e, k, s, t, p, c in rows]


def deliver_pending(settings, con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Send every queued alert to the configured channels that have not taken it yet; returns what happened to each.
    Never raises for a delivery problem: an alert a channel refused stays queued for that channel, and the next run
    tries it again. With no channel configured the log is the channel."""
    report = []
    for alert, taken in pending(con):
        message = Alert(alert.subject, alert.text, alert.payload)
        deliveries: list[Delivery] = deliver(settings, message, what="KRI alert", skip=tuple(taken))
        taken = taken + [d.channel for d in deliveries if d.ok]
        failed = [d for d in deliveries if not d.ok]
        if not taken and not failed:
            log.warning("KRI alert (no alert target configured): %s", alert.subject)
            taken = ["log"]
        con.execute(
            f"UPDATE {OUTBOX} SET delivered_at = CASE WHEN ? THEN now() END, channels = ?, last_error = ? "
            "WHERE alert_id = ?",
            [not failed, json.dumps(taken), "; ".join(f"{d.channel}: {d.error}" for d in failed) or None,
             alert.alert_id],
        )  # fmt: skip
        report.append({"alert_id": alert.alert_id, "kind": alert.kind, "subject": alert.subject,
                       "delivered": not failed, "channels": taken})  # fmt: skip
    return report
