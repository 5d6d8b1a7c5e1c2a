"""The provisional leaves of today as of ``now``: the nightly dbt models, run for today's local date with the state
cut at ``now`` (``RISKCARD_AS_OF_TIME``), written to ``marts.fct_leaf_indicators_intraday`` (never to
``marts.fct_leaf_indicators``, never published).

The cut is the end of the second ``now`` falls in: at 23:59:59 local the cut is 00:00 of the next day, the nightly
build's, and the provisional leaves equal the nightly ones. A refresh is skipped (the last one's rows are reused)
when nothing was ingested since it, it is for the same local day and cut no later than ``now``, and it is younger
than ``intraday_refresh_minutes``; every refresh is recorded in ``ops.intraday_refreshes``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import duckdb

from transforms.core.warehouse import connect, table_exists
from transforms.indicators.build import INTRADAY_MODEL
from transforms.indicators.build_runs import ingest_high_water
from transforms.indicators.dbt_runner import node_results, run_dbt
from transforms.ingest.tables import ensure_tables
from transforms.monitoring.breaches import Leaf

log = logging.getLogger(__name__)

INTRADAY_TABLE = "marts.fct_leaf_indicators_intraday"
REFRESHES = "ops.intraday_refreshes"
REFRESHES_DDL = (
    "CREATE SCHEMA IF NOT EXISTS ops",
    f"""
    CREATE TABLE IF NOT EXISTS {REFRESHES} (
        as_of_date        DATE        NOT NULL,
        as_of_time        TIMESTAMPTZ NOT NULL,  -- the cut: records with updated_at before it count
        computed_at       TIMESTAMPTZ NOT NULL,
        ingest_high_water BIGINT      NOT NULL,  -- the largest raw.ingested_files.ingest_seq it read
        seconds           DOUBLE      NOT NULL
    )
    """,
)


class ProvisionalFailed(RuntimeError):
    """The intraday dbt run failed; the message names the failing models."""


@dataclass(frozen=True)
class ProvisionalLeaves:
    as_of_date: dt.date
    as_of_time: dt.datetime
    refreshed: bool
    leaves: list[Leaf]


def cut_of(now: dt.datetime) -> dt.datetime:
    """The end of the second ``now`` falls in, in UTC."""
    return (now.replace(microsecond=0) + dt.timedelta(seconds=1)).astimezone(dt.UTC)


def _last_refresh(con: duckdb.DuckDBPyConnection, as_of: dt.date):
    if not table_exists(con, "ops", "intraday_refreshes"):
        return None
    rows = con.execute(
        f"SELECT as_of_time, ingest_high_water FROM {REFRESHES} WHERE as_of_date = ? ORDER BY computed_at DESC LIMIT 1",
        [as_of],
    ).fetchall()
    return rows[0] if rows else None


def needs_refresh(settings, con: duckdb.DuckDBPyConnection, as_of: dt.date, cut: dt.datetime) -> bool:
    last = _last_refresh(con, as_of)
    if last is None or not table_exists(con, "marts", "fct_leaf_indicators_intraday"):
        return True
    last_cut, last_high_water = last
    if ingest_high_water(con) != last_high_water or cut < last_cut:
        return True
    return cut - last_cut >= dt.timedelta(minutes=settings.intraday_refresh_minutes)


def refresh_provisional(settings, now: dt.datetime, *, force: bool = False) -> ProvisionalLeaves:
    """Refresh (when needed) and read the provisional leaves of now's local day. The caller holds the writer lock."""
    as_of = now.astimezone(settings.tz).date()
    cut = cut_of(now)
    con = connect(settings)
    try:
        ensure_tables(con)  # the dbt sources exist before the first ingestion
        refresh = force or needs_refresh(settings, con, as_of, cut)
        high_water = ingest_high_water(con)
    finally:
        con.close()
    if refresh:
        _run_intraday_models(settings, as_of, cut, high_water)
    con = connect(settings)
    try:
        leaves = read_provisional(con, as_of)
    finally:
        con.close()
    return ProvisionalLeaves(as_of, cut, refresh, leaves)


def _run_intraday_models(settings, as_of: dt.date, cut: dt.datetime, high_water: int) -> None:
    started = dt.datetime.now(dt.UTC)
    # the intraday model and what it reads (seeds included: a warehouse may not have been built yet); no tests: the
    # nightly build tests the same models
    command = ["build", "--no-write-json", "--select", f"+{INTRADAY_MODEL}", "--exclude", "fct_leaf_indicators",
               "--resource-type", "model", "--resource-type", "seed"]  # fmt: skip
    result = run_dbt(settings, command, dates=(as_of, as_of), as_of_time=cut)
    failures = [n for n in node_results(result) if n.failed]
    if failures or not result.success:
        names = ", ".join(f"{n.short_name}: {(n.message or '').strip()[:300]}" for n in failures)
        raise ProvisionalFailed(f"intraday dbt run for {as_of} as of {cut.isoformat()} failed: "
                                f"{names or result.exception}")  # fmt: skip
    seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    con = connect(settings)
    try:
        for ddl in REFRESHES_DDL:
            con.execute(ddl)
        con.execute(
            f"INSERT INTO {REFRESHES} VALUES (?, ?, ?, ?, ?)",
            [as_of, cut, dt.datetime.now(dt.UTC), high_water, seconds],
        )
    finally:
        con.close()
    log.info("provisional leaves of %s as of %s refreshed in %.1f s", as_of, cut.isoformat(), seconds)


def read_provisional(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> list[Leaf]:
    if not table_exists(con, "marts", "fct_leaf_indicators_intraday"):
        return []
    rows = con.execute(
        f"""
        SELECT f.indicator_id, d.name_en, d.unit, f.value, f.numerator, f.denominator, f.level, f.status,
               d.t1, d.t2, d.t3, d.t4
        FROM {INTRADAY_TABLE} AS f
        JOIN marts.dim_indicators AS d USING (indicator_id)
        WHERE f.as_of_date = ?
        ORDER BY d.criterion_id, f.indicator_id
        """,
        [as_of],
    ).fetchall()
    return [
        Leaf(r[0], r[1], r[2], _f(r[3]), _f(r[4]), _f(r[5]), _f(r[6]), r[7], (float(r[8]), float(r[9]), float(r[10]),
             float(r[11])))
        for r in rows
    ]  # fmt: skip


def _f(value) -> float | None:
    return None if value is None else float(value)
