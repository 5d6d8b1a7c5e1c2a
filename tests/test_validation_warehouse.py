"""A real DuckDB warehouse with the agreed table shapes, for the validation and publishing tests, and the tests
of the ingestion-health dataset built from it.

``build_warehouse`` writes raw.<source> change logs (contract columns + ingestion metadata), the manifest
raw.ingested_files (one loaded file per source per local day, path in the landing layout), raw.quarantine and
marts.fct_leaf_indicators (30 leaves for the as-of date, levels derived from the catalogue's thresholds), as the
ingestion and dbt parts write them. Tests then break one thing and check what validation and publishing say.

The builder also records its builds in ``ops.build_runs`` with the real recording functions of
``transforms.indicators.build`` (validation and publishing bind to the date's latest build and its ingest high-water mark):
``set_indicators`` is a build of its date; ``add_file`` is an ingest followed by a rebuild of the dates the mart
holds (the rows stay the builder's), unless ``built=False``: then the file landed after the last build, which
never read it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from transforms.core import contract
from transforms.core.windows import window_for
from transforms.indicators.build_runs import BUILD_SUCCESS, finish_build_record, start_build_record
from transforms.indicators.catalogue import load_catalogue
from transforms.ingest.tables import ensure_tables
from transforms.quality.health import ingestion_health_frame, longest_gap

AS_OF = dt.date(2025, 3, 31)
ROWS_PER_DAY = 4
INCIDENT_EVERY_DAYS = 3  # incidents are quiet on most days (freshness allows 7)

FCT_DDL = """
CREATE TABLE IF NOT EXISTS marts.fct_leaf_indicators (
    as_of_date DATE, indicator_id VARCHAR, criterion_id VARCHAR, value DOUBLE, numerator DOUBLE,
    denominator DOUBLE, sample_size BIGINT, level DOUBLE, status VARCHAR,
    window_start TIMESTAMPTZ, window_end TIMESTAMPTZ
)
"""


def level_for(value: float | None, thresholds) -> float:
    if value is None:
        return 0.2
    for level, t in zip((0.2, 0.4, 0.6, 0.8), thresholds, strict=True):
        if value <= t:
            return level
    return 1.0


def _default(column: contract.Column, source: str, key: str, ts: pd.Timestamp, i: int):
    if column.name == contract.CONTRACT[source].key:
        return key
    if column.nullable:
        return None
    if column.kind == "timestamp":
        return ts
    if column.kind == "enum":
        return column.enum[i % len(column.enum)]
    if column.kind == "decimal":
        return 100.0 + i
    if column.kind == "bool":
        return False
    if column.kind == "int":
        return 1
    return f"{column.name}-{i}"


def file_path(source: str, day: dt.date, suffix: str = "") -> str:
    return f"{source}/{day.isoformat()}/{source}_{day.isoformat()}{suffix}.jsonl"


class WarehouseBuilder:
    """Adds files (manifest + raw rows + quarantine) and indicator rows to a real warehouse file."""

    def __init__(self, settings, con: duckdb.DuckDBPyConnection):
        self.settings = settings
        self.con = con
        self.seq = int(con.execute("SELECT coalesce(max(ingest_seq), 0) FROM raw.ingested_files").fetchall()[0][0])

    def add_file(
        self,
        source: str,
        day: dt.date,
        rows: int = ROWS_PER_DAY,
        quarantined: int = 0,
        status: str = "loaded",
        suffix: str = "",
        hour: int = 12,
        built: bool = True,
    ) -> str:
        """One landing file of ``source`` for local ``day``: ``rows`` loaded raw rows (updated_at on that day);
        ``built``: a build of the mart's dates then reads it (see the module docstring)."""
        self.seq += 1
        path = file_path(source, day, suffix)
        sha = hashlib.sha256(f"{path}#{self.seq}".encode()).hexdigest()
        now = pd.Timestamp.now(tz="UTC")
        loaded = rows if status == "loaded" else 0
        src = contract.CONTRACT[source]
        if loaded:
            records = []
            for i in range(loaded):
                ts = pd.Timestamp(dt.datetime.combine(day, dt.time(hour, i % 60), tzinfo=self.settings.tz)).tz_convert(
                    "UTC"
                )
                key = f"{source[:3]}-{day:%Y%m%d}-{suffix}{i}"
                record = {c.name: _default(c, source, key, ts, i) for c in src.columns}
                record.update(
                    _extra=None,
                    _file_sha256=sha,
                    _file_path=path,
                    _row_number=i + 1,
                    _ingest_run_id="test-ingest",
                    _ingested_at=now,
                    _ingest_seq=self.seq,
                )
                records.append(record)
            frame = pd.DataFrame(records)
            columns = [*src.column_names, *(n for n, _ in contract.RAW_METADATA_COLUMNS)]
            self.con.register("new_raw_rows", frame[columns])
            self.con.execute(f"INSERT INTO raw.{source} SELECT * FROM new_raw_rows")
            self.con.unregister("new_raw_rows")
        rows_in = loaded + quarantined if status == "loaded" else 0
        self.con.execute(
            """
            INSERT INTO raw.ingested_files (source, path, sha256, size_bytes, format, rows_in, rows_loaded,
                rows_quarantined, status, reason, run_id, ingested_at, ingest_seq, mtime_ns)
            VALUES (?, ?, ?, 1000, 'jsonl', ?, ?, ?, ?, ?, 'test-ingest', ?, ?, 0)
            """,
            [
                source,
                path,
                sha,
                rows_in,
                loaded,
                quarantined if status == "loaded" else 0,
                status,
                None if status == "loaded" else "unreadable",
                now,
                self.seq,
            ],
        )
        for r in range(quarantined):
            self.con.execute(
                """
                INSERT INTO raw.quarantine VALUES (?, ?, ?, ?, 'status', 'enum', 'status: not an enum value',
                    '{}', 'test-ingest', ?)
                """,
                [source, path, sha, loaded + r + 1, now],
            )
        if status == "failed":
            self.con.execute(
                "INSERT INTO raw.quarantine VALUES (?, ?, ?, NULL, NULL, 'unreadable', 'truncated', NULL, "
                "'test-ingest', ?)",
                [source, path, sha, now],
            )
        if built:
            self.rebuild()
        return path

    def record_build(self, date_from: dt.date, date_to: dt.date | None = None, status: str = BUILD_SUCCESS) -> str:
        """An ops.build_runs row as `riskcard build` writes it (high-water = the manifest's max ingest_seq)."""
        build_id, _ = start_build_record(self.con, date_from, date_to or date_from, False)
        if status != "running":
            finish_build_record(self.con, build_id, status, None if status == BUILD_SUCCESS else "test: failed")
        return build_id

    def rebuild(self) -> str | None:
        """A successful build of every date the mart holds (nothing when it holds none)."""
        exists = self.con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'marts' AND table_name = 'fct_leaf_indicators'"
        ).fetchall()[0][0]
        if not exists:
            return None
        first, last = self.con.execute(
            "SELECT min(as_of_date), max(as_of_date) FROM marts.fct_leaf_indicators"
        ).fetchall()[0]
        return self.record_build(first, last) if first is not None else None

    def add_source_days(self, source: str, days: Iterable[dt.date], **kwargs) -> None:
        for day in days:
            self.add_file(source, day, **kwargs)

    def set_indicators(
        self,
        as_of: dt.date,
        overrides: dict[str, dict] | None = None,
        drop: Iterable[str] = (),
        extra: Iterable[dict] = (),
    ) -> None:
        """Replace the as-of date's 30 leaf rows (values spread over the five levels)."""
        catalogue = load_catalogue(self.settings)
        window = window_for(self.settings, as_of)
        self.con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        self.con.execute(FCT_DDL)
        self.con.execute("DELETE FROM marts.fct_leaf_indicators WHERE as_of_date = ?", [as_of])
        overrides = overrides or {}
        rows = []
        for k, ind in enumerate(catalogue.indicators):
            if ind.indicator_id in drop:
                continue
            t = ind.thresholds
            target = k % 5  # which level band the value falls in
            value = [t[0], (t[0] + t[1]) / 2, (t[1] + t[2]) / 2, (t[2] + t[3]) / 2, t[3] + 1][target]
            if ind.unit == "%":
                value = min(value, 99.0)
            row = {
                "as_of_date": as_of,
                "indicator_id": ind.indicator_id,
                "criterion_id": ind.criterion_id,
                "value": float(value),
                "numerator": float(value),
                "denominator": 100.0 if ind.kind == "ratio" else None,
                "sample_size": 25 if ind.kind in ("median", "percentile") else None,
                "level": None,
                "status": "ok",
                "window_start": window.start,
                "window_end": window.end,
            }
            row.update(overrides.get(ind.indicator_id, {}))
            if "level" not in overrides.get(ind.indicator_id, {}):
                row["level"] = None if row["status"] == "no_data" else level_for(row["value"], t)
            rows.append(row)
        rows.extend(extra)
        frame = pd.DataFrame(rows)
        self.con.register("new_leaf_rows", frame)
        self.con.execute(
            """
            INSERT INTO marts.fct_leaf_indicators
            SELECT as_of_date, indicator_id, criterion_id, value, numerator, denominator, sample_size, level, status,
                   window_start, window_end
            FROM new_leaf_rows
            """
        )
        self.con.unregister("new_leaf_rows")
        self.record_build(as_of)


def window_day_list(settings, as_of: dt.date) -> list[dt.date]:
    first = window_for(settings, as_of).first_day
    return [first + dt.timedelta(days=i) for i in range((as_of - first).days + 1)]


_TEMPLATES: dict[tuple, Path] = {}  # (as_of, timezone, window_days) -> a healthy warehouse file to copy


def _template(settings, as_of: dt.date) -> Path:
    key = (as_of, settings.timezone, settings.window_days)
    if key not in _TEMPLATES:
        path = Path(tempfile.mkdtemp(prefix="riskcard-template-")) / "riskcard.duckdb"
        con = duckdb.connect(str(path))
        con.execute("SET TimeZone = 'UTC'")
        ensure_tables(con)  # the ingestion part's own DDL: the agreed shapes
        builder = WarehouseBuilder(settings, con)
        days = window_day_list(settings, as_of)
        for source in contract.SOURCES:
            if source == "incidents":
                builder.add_source_days(source, [d for d in days if (as_of - d).days % INCIDENT_EVERY_DAYS == 0])
            else:
                builder.add_source_days(source, days)
        builder.set_indicators(as_of)
        con.close()
        _TEMPLATES[key] = path
    return _TEMPLATES[key]


def build_warehouse(settings, as_of: dt.date = AS_OF, skip_sources: Iterable[str] = (), indicators: bool = True):
    """A healthy warehouse for ``as_of`` at ``settings.warehouse``: every source fresh, no quarantine, 30 valid
    leaves (``skip_sources``: those sources have no file at all; ``indicators=False``: the mart was never built).
    Returns a builder on an open connection (close ``.con`` before validating)."""
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_template(settings, as_of), settings.warehouse)
    builder = open_builder(settings)
    for source in skip_sources:
        builder.con.execute(f"DELETE FROM raw.{source}")
        builder.con.execute("DELETE FROM raw.ingested_files WHERE source = ?", [source])
    if not indicators:
        builder.con.execute("DROP TABLE marts.fct_leaf_indicators")
    return builder


def open_builder(settings) -> WarehouseBuilder:
    con = duckdb.connect(str(settings.warehouse))
    con.execute("SET TimeZone = 'UTC'")
    return WarehouseBuilder(settings, con)


# ---- tests of the ingestion-health dataset ----------------------------------------------------------------------


@pytest.fixture
def healthy(settings):
    builder = build_warehouse(settings)
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
    healthy.add_file("complaints", AS_OF + dt.timedelta(days=1))
    # 23:30 local on D is still D (15:30 UTC): counts
    healthy.add_file("backups", AS_OF, rows=1, hour=23, suffix="late")
    rows = _by_source(ingestion_health_frame(healthy.con, settings, AS_OF))
    assert rows["complaints"]["records_in_window"] == 30 * ROWS_PER_DAY
    assert rows["backups"]["records_in_window"] == 30 * ROWS_PER_DAY + 1
    w = window_for(settings, AS_OF)
    assert w.start == dt.datetime(2025, 3, 1, 16, 0, tzinfo=dt.UTC)  # 00:00 Asia/Shanghai on D-29
    assert w.end == dt.datetime(2025, 3, 31, 16, 0, tzinfo=dt.UTC)


def test_stale_source_quarantine_and_failed_files_are_measured(settings):
    builder = build_warehouse(settings, skip_sources=["complaints"])
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
