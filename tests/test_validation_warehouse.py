"""The test warehouse of tests/warehouse_builder.py: the mart a real dbt build makes of its designed raw logs
(against the figures worked out by hand there, DESIGNED), and the ingestion-health dataset built from its raw logs
and manifest."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from tests.warehouse_builder import (
    AS_OF,
    DESIGNED,
    EARLIER,
    EARLIER_BC3,
    INCIDENT_EVERY_DAYS,
    ROWS_PER_DAY,
    build_warehouse,
    window_day_list,
)
from tests.warehouse_reads import records
from transforms.core import contract
from transforms.core.windows import window_for
from transforms.quality.health import ingestion_health_frame, longest_gap

# ---- the dbt-built mart of the designed raw logs ----------------------------------------------------------------


def test_the_mart_is_dbts_build_of_the_designed_logs(settings, warehouse_template):
    build_warehouse(warehouse_template, settings).con.close()
    rows = records(
        settings,
        "SELECT * FROM marts.fct_leaf_indicators WHERE as_of_date = ? ORDER BY indicator_id",
        [AS_OF],
    )
    assert sorted(r["indicator_id"] for r in rows) == sorted(DESIGNED)
    for r in rows:
        value, numerator, denominator, level = DESIGNED[r["indicator_id"]]
        count = r["denominator"] if r["sample_size"] is None else r["sample_size"]
        assert r["status"] == "ok", r
        assert r["value"] == pytest.approx(value, abs=1e-8), r
        assert (r["numerator"], count, r["level"]) == (numerator, denominator, level), r
    # the rare events sit inside both windows: the date before comes to the same levels, but BC3
    earlier = {r["indicator_id"]: r for r in records(
        settings, "SELECT * FROM marts.fct_leaf_indicators WHERE as_of_date = ?", [EARLIER]
    )}  # fmt: skip
    expected = {**DESIGNED, "BC3": EARLIER_BC3}
    assert {i: (r["status"], r["level"]) for i, r in earlier.items()} == {i: ("ok", d[3]) for i, d in expected.items()}
    bc3 = earlier["BC3"]
    assert (bc3["value"], bc3["numerator"], bc3["denominator"]) == pytest.approx(EARLIER_BC3[:3])
    (build,) = records(settings, "SELECT * FROM ops.build_runs")
    assert (build["status"], build["date_from"], build["date_to"]) == ("success", EARLIER, AS_OF)
    assert build["ingest_high_water"] == 3 * 30 + 10  # every file of the template


# ---- tests of the ingestion-health dataset ----------------------------------------------------------------------


@pytest.fixture
def healthy(settings, warehouse_template):
    builder = build_warehouse(warehouse_template, settings)
    yield builder
    builder.con.close()


def _by_source(frame: pd.DataFrame) -> dict[str, dict]:
    return {r["source"]: r for r in frame.to_dict("records")}


def test_healthy_sources_are_fresh_complete_and_counted(healthy, settings):
    rows = _by_source(ingestion_health_frame(healthy.con, settings, AS_OF))
    assert set(rows) == set(contract.SOURCES)
    tx = rows["transactions"]
    assert tx["records_in_window"] == 30 * ROWS_PER_DAY
    assert tx["age_days"] == 0 and tx["allowed_age_days"] == 0
    assert tx["longest_gap_days"] == 0
    assert tx["files_loaded"] == 30 and tx["files_failed"] == 0
    assert tx["quarantine_rate"] == 0
    assert tx["manifest_rows_loaded"] == tx["raw_rows"] == 30 * ROWS_PER_DAY
    inc = rows["incidents"]
    assert inc["allowed_age_days"] == 6 and inc["age_days"] == 0
    assert inc["longest_gap_days"] == INCIDENT_EVERY_DAYS - 1


def test_window_is_local_days_and_later_records_do_not_count(healthy, settings):
    # a record on D+1 (local) is after the end of D: it neither freshens D nor counts in D's window
    healthy.add_file("transactions", AS_OF + dt.timedelta(days=1))
    # 23:30 local on D is still D (15:30 UTC): counts
    healthy.add_file("backups", AS_OF, rows=1, hour=23, suffix="late")
    rows = _by_source(ingestion_health_frame(healthy.con, settings, AS_OF))
    assert rows["transactions"]["records_in_window"] == 30 * ROWS_PER_DAY
    assert rows["transactions"]["age_days"] == 0  # not -1: D+1 does not freshen D
    assert rows["backups"]["records_in_window"] == 30 * ROWS_PER_DAY + 1
    w = window_for(settings, AS_OF)
    assert w.start == dt.datetime(2025, 3, 1, 16, 0, tzinfo=dt.UTC)  # 00:00 Asia/Shanghai on D-29
    assert w.end == dt.datetime(2025, 3, 31, 16, 0, tzinfo=dt.UTC)


def test_stale_source_quarantine_and_failed_files_are_measured(settings, warehouse_template):
    builder = build_warehouse(warehouse_template, settings, skip_sources=["complaints"])
    try:
        days = window_day_list(settings, AS_OF)
        builder.add_source_days("complaints", days[:-2])  # nothing on D-1 and D
        builder.add_file("transactions", AS_OF, suffix="bad", rows=10, quarantined=90)
        failed = builder.add_file("backups", AS_OF, suffix="broken", status="failed")
        rows = _by_source(ingestion_health_frame(builder.con, settings, AS_OF))
        assert rows["complaints"]["age_days"] == 2
        assert rows["complaints"]["longest_gap_days"] == 2
        tx = rows["transactions"]
        assert tx["rows_quarantined"] == 90
        assert tx["quarantine_rate"] == pytest.approx(90 / (30 * ROWS_PER_DAY + 100))
        assert tx["top_quarantine_rule"] == "enum (90 rows)"
        assert rows["backups"]["files_failed"] == 1
        # a later delivery of the same path that loads clears the failure
        builder.seq += 1
        builder.con.execute(
            """INSERT INTO raw.ingested_files (source, path, sha256, size_bytes, format, rows_in, rows_loaded,
                   rows_quarantined, status, reason, run_id, ingested_at, ingest_seq, mtime_ns)
               SELECT source, path, 'fixed', size_bytes, format, 0, 0, 0, 'loaded', NULL, run_id, ingested_at, ?,
                   mtime_ns FROM raw.ingested_files WHERE path = ?""",
            [builder.seq, failed],
        )
        assert _by_source(ingestion_health_frame(builder.con, settings, AS_OF))["backups"]["files_failed"] == 0
    finally:
        builder.con.close()


def test_missing_tables_give_empty_sources_not_errors(settings):
    settings.warehouse.parent.mkdir(parents=True)
    con = duckdb.connect(str(settings.warehouse))
    try:
        rows = _by_source(ingestion_health_frame(con, settings, AS_OF))
    finally:
        con.close()
    assert all(r["records_in_window"] == 0 for r in rows.values())
    assert all(pd.isna(r["age_days"]) for r in rows.values())


def test_longest_gap_counts_missing_days_at_both_ends():
    w = window_for(type("S", (), {"tz": dt.UTC, "window_days": 10})(), dt.date(2025, 1, 10))
    assert longest_gap([], w) == 10
    assert longest_gap([dt.date(2025, 1, d) for d in range(1, 11)], w) == 0
    assert longest_gap([dt.date(2025, 1, 4), dt.date(2025, 1, 5)], w) == 5  # 6..10
    assert longest_gap([dt.date(2025, 1, 4), dt.date(2025, 1, 10)], w) == 5  # 5..9
