"""`riskcard monitor`: refresh the provisional indicators as of `now`, evaluate breach and staleness episodes,
deliver their alerts. The same function runs in the ``riskcard_intraday`` DAG.

One run, under the writer lock:

1. the provisional leaves of today (local) as of ``now`` (transforms.monitoring.provisional: the nightly dbt models,
   cut at ``now``), recomputed only when something was ingested since the last refresh, the local day changed, or
   the last refresh is older than ``intraday_refresh_minutes`` (time alone moves some leaves: an open incident's
   duration, a complaint's deadline);
2. in one transaction: breach episodes (transforms.monitoring.breaches) and staleness episodes
   (transforms.monitoring.staleness) with the alerts they queue (transforms.monitoring.outbox);
3. delivery of every queued alert, this run's and any a killed run left.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from transforms.core.warehouse import connect, writer_lock
from transforms.monitoring.breaches import ensure_breach_tables, evaluate_breaches, open_breaches
from transforms.monitoring.outbox import deliver_pending, ensure_outbox
from transforms.monitoring.provisional import ProvisionalLeaves, refresh_provisional
from transforms.monitoring.staleness import ensure_staleness_tables, evaluate_staleness, open_staleness

log = logging.getLogger(__name__)


@dataclass
class MonitorResult:
    now: dt.datetime
    as_of_date: dt.date
    refreshed: bool  # False: nothing new since the last refresh, its rows were reused
    leaves: list[dict[str, Any]]
    breaches: list[dict[str, Any]]  # the open breach episodes after this run
    stale_sources: list[dict[str, Any]]  # the open staleness episodes after this run
    alerts: list[dict[str, Any]] = field(default_factory=list)  # what this run delivered
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["now"] = self.now.isoformat()
        out["as_of_date"] = self.as_of_date.isoformat()
        out["provisional"] = True
        return out


def resolve_now(settings, now: dt.datetime | None) -> dt.datetime:
    """``now`` as an aware instant: a naive value is local wall-clock time in the bank's zone; none is the clock."""
    if now is None:
        return dt.datetime.now(settings.tz).replace(microsecond=0)
    return now.replace(tzinfo=settings.tz) if now.tzinfo is None else now


def monitor(settings, now: dt.datetime | None = None, *, deliver: bool = True) -> MonitorResult:
    now = resolve_now(settings, now)
    timings: dict[str, float] = {}
    with writer_lock(settings, what="riskcard monitor"):
        started = time.monotonic()
        provisional: ProvisionalLeaves = refresh_provisional(settings, now)
        timings["provisional"] = time.monotonic() - started
        con = connect(settings)
        try:
            started = time.monotonic()
            for ensure in (ensure_outbox, ensure_breach_tables, ensure_staleness_tables):
                ensure(con)
            con.execute("BEGIN TRANSACTION")
            try:
                evaluate_breaches(con, provisional.leaves, now, settings.breach_level)
                evaluate_staleness(settings, con, now)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            timings["episodes"] = time.monotonic() - started
            started = time.monotonic()
            delivered = deliver_pending(settings, con) if deliver else []
            timings["alerts"] = time.monotonic() - started
            breaches = [_plain(e) for e in open_breaches(con).values()]
            stale = [_plain(e) for e in open_staleness(con).values()]
        finally:
            con.close()
    return MonitorResult(
        now=now,
        as_of_date=provisional.as_of_date,
        refreshed=provisional.refreshed,
        leaves=[leaf.to_dict() for leaf in provisional.leaves],
        breaches=breaches,
        stale_sources=stale,
        alerts=delivered,
        seconds={k: round(v, 3) for k, v in timings.items()},
    )


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.datetime | dt.date) else v) for k, v in row.items()}
