"""A real warehouse for the validation, publishing, serving, snapshot and alert tests, whose mart dbt builds.

Raw data: the builder writes small change logs through the ingestion part's own tables
(``transforms.ingest.tables.ensure_tables``): one landing file per source per local day of the as-of date's window
(incidents every third day), ``ROWS_PER_DAY`` rows each, with the manifest ``raw.ingested_files`` (and, when a test
asks, ``raw.quarantine``) written as ingestion writes them. The rows are designed (``_RECORDS`` below) so that every
one of the 30 leaves has data and the levels spread over the scale; the figures each leaf comes to are worked out
by hand below (``DESIGNED``), and tests/test_validation_warehouse.py checks dbt's result against them.

Mart: ``marts.fct_leaf_indicators`` and ``ops.build_runs`` come from a real ``transforms.indicators.build.build``
of ``EARLIER`` and ``AS_OF`` over those logs. A dbt build takes 10-30 s, so the session builds one template
(``build_template``: the session fixture ``warehouse_template`` of tests/conftest.py) and each test works on a copy
of its file (``build_warehouse``). Where a test needs other leaf values:

- it changes the raw data and runs the real build again where the rebuild is what it tests, in the template's own
  folder (fixture ``rebuild_settings``: dbt re-parses the whole project for any other warehouse path);
- otherwise it edits the dbt-built rows with ``move_leaf`` / ``set_no_events``, which take the level from the
  catalogue's thresholds in ``marts.dim_indicators`` and the ends of the method document's scale, never from a
  copy of the level rule. Deliberately broken rows (that no build writes) are plain SQL in the test.

Tests for which publishing version 1 is set-up start from a copy of ``publish_template`` (fixture ``published``).

The builder records later ingests as the real recording functions of ``transforms.indicators.build_runs`` do:
``add_file`` is an ingest followed by a rebuild of the dates the mart holds (its rows stay those of the last real
build), unless ``built=False``: then the file landed after the last build, which never read it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from tests.warehouse_reads import settings_in
from transforms.core import contract
from transforms.core.windows import window_for
from transforms.indicators.build import build
from transforms.indicators.build_runs import BUILD_SUCCESS, finish_build_record, start_build_record
from transforms.indicators.dbt_runner import dbt_work_dir
from transforms.ingest.tables import ensure_tables

AS_OF = dt.date(2025, 3, 31)
EARLIER = AS_OF - dt.timedelta(days=1)  # built too (diffs against an earlier date, snapshot history)
ROWS_PER_DAY = 4
INCIDENT_EVERY_DAYS = 3  # incidents are quiet on most days (freshness allows 7)

# The ends of the likelihood scale (method document, section 5; indicators.md, "Level" and "No events"): a value at
# or below t1 scores the lowest step, above t4 the highest; a no_events leaf scores the lowest step.
LOWEST_LEVEL, HIGHEST_LEVEL = 0.2, 1.0

_SYSTEMS = ("online_banking", "mobile_banking", "payment_gateway", "core_banking")  # the systems backed up


# ---- the raw rows -----------------------------------------------------------------------------------------------
# Row i (0..3) of the file of local day `day`, updated at `ts` (that day, `hour`:i local). `age` = AS_OF - day in
# days; the rare events sit on fixed ages of the template's files (suffix ""), all at ages 3..27, inside the windows
# of both AS_OF and EARLIER, so both dates come to the same levels but BC3 (EARLIER's first day has no backup).
# Every timestamp of a row lies on its own local day, before `ts` (with hour >= 8), except an old dispute's opening
# and closing.


def _transaction(i: int, key: str, ts: pd.Timestamp, day: dt.date, age: int | None) -> dict:
    row = dict(txn_id=key, updated_at=ts, event_at=ts, customer_id=f"cust-{key}", status="success",
               failure_reason=None, new_device=False, risk_flag=False, fraud_confirmed=False)  # fmt: skip
    if i == 0:  # a large payment (>= 5,000), a second factor but once
        row.update(channel="web", txn_type="online_payment", amount=8000.0, auth_method="sms_otp")
        if age == 10:
            row["auth_method"] = "password"
    elif i == 1:  # from a new device, a second factor but once
        row.update(channel="mobile", txn_type="remittance", amount=200.0, auth_method="usb_key", new_device=True)
        if age == 12:
            row["auth_method"] = "password"
    elif i == 2:  # small, password only; twice confirmed fraud (flagged by the risk engine once)
        row.update(channel="wechat", txn_type="unionpay_debit", amount=100.0, auth_method="password")
        if age == 8:
            row.update(amount=40.0, fraud_confirmed=True, risk_flag=True)
        elif age == 16:
            row.update(amount=12.0, fraud_confirmed=True)
    else:  # refused for lack of funds
        row.update(channel="open_api", txn_type="atm_pos", amount=50.0, status="failed",
                   failure_reason="insufficient_funds", auth_method="biometric")  # fmt: skip
    return row


def _complaint(i: int, key: str, ts: pd.Timestamp, day: dt.date, age: int | None) -> dict:
    opened = ts - pd.Timedelta(hours=8)
    row = dict(complaint_id=key, updated_at=ts, opened_at=opened, customer_id=f"cust-{key}", txn_id=None,
               closed_at=opened + pd.Timedelta(hours=6), resolution="resolved", claimed_amount=None,
               compensated_amount=None)  # fmt: skip
    hours_to_response = (1, 2, 5, 4)[i]
    if i == 0:
        row.update(category="service_unavailable", channel="phone")
    elif i == 1:
        row.update(category="other", channel="regulator" if age in (5, 15, 25) else "online")
    elif i == 2:  # a dispute opened in the window
        row.update(category="unauthorized_txn", channel="branch")
        if age == 20:
            row["resolution"] = "litigation"
        fraud = {7: (40.0, 40.0, "compensated"), 15: (12.0, None, "rejected")}.get(age)
        if fraud is not None:  # about the confirmed fraud of the day before (see _transaction)
            row.update(txn_id=f"tra-{day - dt.timedelta(days=1):%Y%m%d}-2", claimed_amount=fraud[0],
                       compensated_amount=fraud[1], resolution=fraud[2])  # fmt: skip
    else:  # a dispute opened 35 days earlier, closed after 10 days (once only after its 30-day deadline)
        row.update(category="fee_dispute", channel="phone", opened_at=ts - pd.Timedelta(days=35))
        row["closed_at"] = ts - pd.Timedelta(hours=1) if age == 12 else row["opened_at"] + pd.Timedelta(days=10)
    row["first_response_at"] = row["opened_at"] + pd.Timedelta(hours=hours_to_response)
    return row


_I3_CAUSES = {0: "hardware", 3: "intrusion", 6: "change_failure", 9: "software_defect", 12: "intrusion",
              15: "change_failure", 18: "ddos", 21: "malware", 24: "intrusion", 27: "hardware"}  # fmt: skip


def minutes(n: float) -> pd.Timedelta:
    return pd.Timedelta(minutes=n)


def _incident(i: int, key: str, ts: pd.Timestamp, day: dt.date, age: int | None) -> dict:
    row = dict(incident_id=key, updated_at=ts, customer_facing=False, planned=False, vendor=None, severity="minor",
               escalated_at=None, regulator_reported_at=None, loss_event=False, review_completed_at=None,
               recurrence_of=None)  # fmt: skip
    if i == 0:  # planned maintenance
        start = ts - pd.Timedelta(hours=4)
        row.update(system="core_banking", planned=True, cause="hardware", started_at=start,
                   detected_at=start + minutes(2), resolved_at=start + minutes(60))  # fmt: skip
    elif i == 1:  # a short customer-facing outage, restored within 20 minutes
        start = ts - pd.Timedelta(hours=5)
        row.update(system="online_banking", customer_facing=True, cause="network", started_at=start,
                   detected_at=start + minutes(6), resolved_at=start + minutes(21),
                   escalated_at=start + minutes(16))  # fmt: skip
        if age in (6, 15, 21):
            row["recurrence_of"] = f"inc-{day - dt.timedelta(days=3):%Y%m%d}-1"
    elif i == 2:  # a vendor's incident, twice beyond the vendor's contracted restore time (4 h, 2 h)
        start = ts - pd.Timedelta(hours=6)
        vendor = "cloudnet_idc" if age is None or age < 18 else "paylink_gateway"
        down = {15: 250, 24: 150}.get(age, 30)
        row.update(system="payment_gateway", cause="vendor", vendor=vendor, started_at=start,
                   detected_at=start + minutes(8), resolved_at=start + minutes(down))  # fmt: skip
    else:  # a major customer-facing incident, reviewed, reported; causes by age
        start = ts - pd.Timedelta(hours=6)
        detected = start + minutes(12)
        resolved = detected + minutes(40 if age in (3, 12, 18) else 15)
        row.update(system="mobile_banking", customer_facing=True, severity="major",
                   cause=_I3_CAUSES.get(age, "hardware"), started_at=start, detected_at=detected, resolved_at=resolved,
                   escalated_at=None if age in (21, 24) else detected + minutes(10),
                   review_completed_at=None if age == 12 else resolved + pd.Timedelta(hours=1),
                   regulator_reported_at=detected + pd.Timedelta(hours=2))  # fmt: skip
    return row


def _backup(i: int, key: str, ts: pd.Timestamp, day: dt.date, age: int | None) -> dict:
    # scheduled 00:10, finished 00:40: a success covers the end of its own day (24 h); one failure, at age 10
    start = pd.Timestamp(dt.datetime.combine(day, dt.time(0, 10), tzinfo=ts.tzinfo))
    tested = age == 7 and i != 3  # core_banking never has a restore test
    return dict(backup_id=key, updated_at=ts, system=_SYSTEMS[i], backup_type="full", scheduled_at=start,
                started_at=start, finished_at=start + minutes(30),
                status="failed" if (age, i) == (10, 0) else "success", size_bytes=1000, offsite_copy=True,
                restore_tested=tested, restore_ok=True if tested else None)  # fmt: skip


# Worked out by hand from the rows above (window of AS_OF: 30 local days, 4 rows a day;
# incidents: 10 files of 4 at ages 0, 3, ..., 27), and the catalogue's thresholds (indicators.md). value, numerator,
# denominator (or sample size); "higher is riskier": <= t1 0.2, <= t2 0.4, <= t3 0.6, <= t4 0.8, above 1.0.
DESIGNED = {
    # transactions: 120 (30 large successful, 30 new-device, 30 small password-only, 30 failed), 120 customers
    "SP1": (100 / 30, 1, 30, 0.8),  # 1 of 30 large successful by password only: 3.33 % in (2, 5]
    "SP4": (100 / 30, 1, 30, 0.6),  # 1 of 30 new-device by password only: 3.33 % in (3, 5]
    "IC3": (0.0, 0, 120, 0.2),  # no operator error
    "BC2": (1200 / 52, 12, 52, 0.8),  # fraud 40 (flagged) + 12 (not): 23.1 % in (20, 40]
    "CO3": (52 / 248852 * 10000, 52, 248852, 0.8),  # 52 of 30 * 8300 - 60 - 88 successful: 2.09 bp in (2, 5]
    "CO2": (3200 / 120, 32, 120, 0.8),  # 30 + 2 password-only customers of 120: 26.7 % in (20, 40]
    # complaints: 90 opened in the window (3 a day) + 30 disputes opened 35 days before their record
    "RP1": (7500.0, 90, 120, 1.0),  # 90 per 120 active customers * 10,000
    "RP2": (100 / 30, 3, 90, 0.6),  # 3 through the regulator: 3.33 % in (3, 5]
    "RP3": (0.0, 0, 55, 0.2),  # 45 opened at ages 15..29 + 10 old ones of ages 0..9 due, all closed in time
    "RP4": (5.0, None, 90, 0.4),  # 1, 2 and 5 hours, 30 each: the 90th percentile is 5 h, in (4, 12]
    "LG1": (4.0, 1, 25, 0.4),  # old disputes of ages 0..24 due in the window, the one of age 12 closed late
    "LG2": (1200 / 52, 12, 52, 0.6),  # claimed 40 + 12 for confirmed fraud, compensated 40: 23.1 % in (10, 25]
    "LG3": (100 / 30, 1, 30, 0.8),  # 1 of 30 closed disputes opened in the window litigated: 3.33 % in (2, 5]
    "CO1": (0.0, 0, 120, 0.2),  # no privacy leak
    # incidents: per file a planned one, a 21-minute outage, a vendor's, a major customer-facing one
    "SP2": (1.0, 1, None, 0.4),  # the software defect of age 9
    "SP3": (2.0, 2, None, 0.6),  # the change failures of ages 6 and 15
    "IC1": (7.5, 3, 40, 0.6),  # 3 recurrences of 40 incidents
    "IC2": (12.5, 1, 8, 0.6),  # majors of ages 6..27 resolved 5 days before the end of D, age 12 never reviewed
    "IC4": (8.0, None, 30, 0.4),  # minutes to detect 6, 8, 12 (10 each): median 8, in (5, 10]
    "BC1": (40.0, None, 5, 0.4),  # security incidents of ages 3, 12, 18 (40 min), 21, 24 (15 min): median 40
    "BC4": (15.0, 3, 20, 0.6),  # 3 of 20 customer-facing outages restored after more than 20 minutes
    "BC5": (555 / 302400 * 100, 555, 302400, 0.8),  # 10 * 21 + 3 * 52 + 7 * 27 minutes of 30 days * 7 systems
    "LG4": (20.0, 2, 10, 0.8),  # 10 majors to escalate, ages 21 and 24 never escalated
    "LG5": (0.0, 0, None, 0.2),  # no loss event, no suspension over 4 h
    "OS1": (20.0, 2, 10, 0.8),  # ages 15 (250 min, 4 h contract) and 24 (150 min, 2 h) of 10 vendor incidents
    "OS2": (62.5, 400, 640, 0.6),  # cloudnet_idc 5 * 30 + 250 of 400 + 3 * 30 + 150 minutes
    "OS3": (64000 / 1195, 640, 1195, 0.8),  # 640 vendor minutes of 210 + 640 + 345 unplanned ones
    # backups: 4 systems, each backed up at 00:10-00:40 every day; one failure, at age 10
    "BC3": (100 / 120, 1, 120, 0.4),  # the end of the failure's day has no success of the 24 h before
    "DC1": (25.0, 1, 4, 0.8),  # core_banking never had a restore test
    "DC2": (100 / 120, 1, 120, 0.4),  # 1 of 120 backups failed
}
# EARLIER: the same levels, but BC3: its window's first day (D-30) has no backup at all, 1 + 4 of 120 system-days
EARLIER_BC3 = (500 / 120, 5, 120, 0.8)


_RECORDS = {"transactions": _transaction, "complaints": _complaint, "incidents": _incident, "backups": _backup}


def file_path(source: str, day: dt.date, suffix: str = "") -> str:
    return f"{source}/{day.isoformat()}/{source}_{day.isoformat()}{suffix}.jsonl"


def window_day_list(settings, as_of: dt.date) -> list[dt.date]:
    first = window_for(settings, as_of).first_day
    return [first + dt.timedelta(days=i) for i in range((as_of - first).days + 1)]


class WarehouseBuilder:
    """Adds files (manifest + raw rows + quarantine) to a real warehouse file, and edits its dbt-built leaves."""

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
        age = (AS_OF - day).days if suffix == "" else None  # the designed rare events: template files only
        if loaded:
            records = []
            for i in range(loaded):
                ts = pd.Timestamp(dt.datetime.combine(day, dt.time(hour, i % 60), tzinfo=self.settings.tz))
                key = f"{source[:3]}-{day:%Y%m%d}-{suffix}{i}"
                record = _RECORDS[source](i % ROWS_PER_DAY, key, ts, day, age)
                record.update(_extra=None, _file_sha256=sha, _file_path=path, _row_number=i + 1,
                              _ingest_run_id="test-ingest", _ingested_at=now, _ingest_seq=self.seq)  # fmt: skip
                records.append(record)
            frame = pd.DataFrame(records)
            columns = [*contract.CONTRACT[source].column_names, *(n for n, _ in contract.RAW_METADATA_COLUMNS)]
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

    def add_source_days(self, source: str, days: Iterable[dt.date], **kwargs) -> None:
        for day in days:
            self.add_file(source, day, **kwargs)

    def record_build(self, date_from: dt.date, date_to: dt.date | None = None, status: str = BUILD_SUCCESS) -> str:
        """An ops.build_runs row as `riskcard build` writes it (high-water = the manifest's max ingest_seq)."""
        build_id, _ = start_build_record(self.con, date_from, date_to or date_from, False)
        if status != "running":
            finish_build_record(self.con, build_id, status, None if status == BUILD_SUCCESS else "test: failed")
        return build_id

    def rebuild(self) -> str | None:
        """A successful build recorded for every date the mart holds (nothing when it holds none)."""
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

    # ---- edits of the dbt-built leaf rows ----

    def thresholds(self, indicator_id: str) -> tuple[float, float, float, float]:
        """The catalogue's t1..t4 of a leaf, as the build loaded them (marts.dim_indicators)."""
        (row,) = self.con.execute(
            "SELECT t1, t2, t3, t4 FROM marts.dim_indicators WHERE indicator_id = ?", [indicator_id]
        ).fetchall()
        return row

    def move_leaf(self, indicator_id: str, value: float, as_of: dt.date = AS_OF) -> float:
        """Give a leaf a hand-chosen value above its t4 (level: the top of the scale) or at most its t1 (the
        lowest level); returns the level. Only value and level change (numerator and denominator stay dbt's)."""
        t1, _, _, t4 = self.thresholds(indicator_id)
        if value > t4:
            level = HIGHEST_LEVEL
        elif value <= t1:
            level = LOWEST_LEVEL
        else:
            raise ValueError(f"{indicator_id}: choose a value above t4={t4} or at most t1={t1}, not {value}")
        self._update(indicator_id, as_of, "value = ?, level = ?, status = 'ok'", [value, level])
        return level

    def set_no_events(self, indicator_ids: Iterable[str], as_of: dt.date = AS_OF) -> None:
        """Leaves whose denominator or sample is empty, as dbt writes them (value NULL, lowest level)."""
        for indicator_id in indicator_ids:
            self._update(
                indicator_id,
                as_of,
                "value = NULL, level = ?, status = 'no_events', numerator = CASE WHEN numerator IS NULL THEN NULL "
                "ELSE 0 END, denominator = CASE WHEN denominator IS NULL THEN NULL ELSE 0 END, "
                "sample_size = CASE WHEN sample_size IS NULL THEN NULL ELSE 0 END",
                [LOWEST_LEVEL],
            )

    def _update(self, indicator_id: str, as_of: dt.date, assignments: str, params: list) -> None:
        (changed,) = self.con.execute(
            f"UPDATE marts.fct_leaf_indicators SET {assignments} WHERE indicator_id = ? AND as_of_date = ?",
            [*params, indicator_id, as_of],
        ).fetchall()[0]
        assert changed == 1, f"no dbt-built row of {indicator_id} on {as_of}"


def open_builder(settings) -> WarehouseBuilder:
    con = duckdb.connect(str(settings.warehouse))
    con.execute("SET TimeZone = 'UTC'")
    return WarehouseBuilder(settings, con)


# ---- the template, built once per session -----------------------------------------------------------------------


@dataclass(frozen=True)
class WarehouseTemplate:
    """The built template: a pristine copy of the file, and the folder it was built in (the rebuild slot)."""

    pristine: Path
    slot: object  # Settings of the folder the template was built in

    def fresh_slot(self):
        """The rebuild slot emptied (dbt's own folder kept) for a test that runs the real build again: dbt parses
        the whole project again whenever the warehouse path changes (dbt-duckdb's path is part of the profile it
        compares), and the slot's path stays the template's, so its builds reuse the template's parse."""
        for item in self.slot.warehouse_dir.iterdir():
            if item.name != dbt_work_dir(self.slot).name:
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        shutil.rmtree(self.slot.landing, ignore_errors=True)
        return self.slot


def build_template(folder: Path, secret: str) -> WarehouseTemplate:
    """Raw logs for the window of AS_OF (every local day; incidents every third day), then the real dbt build of
    EARLIER and AS_OF."""
    settings = settings_in(folder / "slot", secret)
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.warehouse))
    try:
        con.execute("SET TimeZone = 'UTC'")
        ensure_tables(con)  # the ingestion part's own DDL: the agreed shapes
        builder = WarehouseBuilder(settings, con)
        days = window_day_list(settings, AS_OF)
        for source in contract.SOURCES:
            every = INCIDENT_EVERY_DAYS if source == "incidents" else 1
            builder.add_source_days(source, [d for d in days if (AS_OF - d).days % every == 0], built=False)
    finally:
        con.close()
    result = build(settings, date_from=EARLIER, date_to=AS_OF)
    assert result.status_counts == {"ok": 60}, result.status_counts  # every leaf has data on both dates
    pristine = folder / "template.duckdb"
    shutil.copyfile(settings.warehouse, pristine)
    return WarehouseTemplate(pristine, settings)


def build_warehouse(
    template: WarehouseTemplate, settings, skip_sources: Iterable[str] = (), indicators: bool = True
) -> WarehouseBuilder:
    """A copy of the template at ``settings.warehouse``: every source fresh, no quarantine, 30 valid leaves for
    AS_OF and EARLIER built by dbt (``skip_sources``: those sources have no file at all, the mart is not rebuilt;
    ``indicators=False``: the mart was never built). Returns a builder on an open connection (close ``.con``
    before validating)."""
    assert (settings.timezone, settings.window_days) == (template.slot.timezone, template.slot.window_days)
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template.pristine, settings.warehouse)
    builder = open_builder(settings)
    for source in skip_sources:
        builder.con.execute(f"DELETE FROM raw.{source}")
        builder.con.execute("DELETE FROM raw.ingested_files WHERE source = ?", [source])
    if not indicators:
        builder.con.execute("DROP TABLE marts.fct_leaf_indicators")
        builder.con.execute("DELETE FROM ops.build_runs")
    return builder


def publish_template(template: WarehouseTemplate, folder: Path, secret: str):
    """A copy of the template with version 1 of AS_OF published (snapshot, serving copy, Data Docs): the starting
    point of the tests for which that first publish is set-up, not what they test. Returns its settings."""
    from transforms.publishing.publish import publish

    settings = settings_in(folder, secret)
    build_warehouse(template, settings).con.close()
    result = publish(settings, AS_OF)
    assert (result.status, result.version) == ("published", 1), result
    return settings


def copy_published(base, settings) -> None:
    """The folder of ``publish_template`` (warehouse, published snapshots, serving copy, Data Docs) at
    ``settings``' warehouse folder. The validation run recorded with version 1 names the base's Data Docs page."""
    shutil.copytree(base.warehouse_dir, settings.warehouse_dir, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("dbt", "*.lock"))  # fmt: skip
