"""Indicator build cost against the length of the history: a nightly date, and a 365-date backfill.

A build reads what the window of its dates needs, not the whole log (dbt_project/macros/run_scope.sql), so one
nightly date should cost the same after a month or after years of history. This benchmark measures it: it fills two
warehouses with synthetic raw change logs at the same daily volume (written straight into the raw tables with
DuckDB, in ingestion order, so the figure is the build's, not the generator's or the ingestion's), one with a short
history and one with a history `--scale` times longer. Each is built for D-1 first (the state production has the
night before), then D is timed; then a 365-date backfill is timed on the long one. Every build runs in a child
process whose own wall time and peak RSS are reported.

Targets (issue 11): one nightly date on 12x the history <= 1.3x the time of the short history; peak RSS of one
nightly date <= 2 GB whatever the history; about 60 M rows of history (2,400 days at 25,000 a day): one nightly date
<= 15 s; the 365-date backfill <= 3x one date.

    python -m benchmarks.bench_indicators [--daily N] [--short-days N] [--scale N] [--dates N] [--keep DIR [--reuse]]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from transforms.core.contract import SOURCES, SYSTEMS, raw_table_ddl

TIMEZONE = "Asia/Shanghai"
TARGET_HISTORY_RATIO = 1.3  # one nightly date, long history / short history
TARGET_PEAK_RSS_MB = 2048
TARGET_LONG_SECONDS = 15.0
TARGET_BACKFILL_RATIO = 3.0  # 365 dates / one date, same warehouse


def _uniform(salt: int, seed: int) -> str:
    """A deterministic uniform [0, 1) per row `i`, independent for each salt (no RNG state: parallel-safe)."""
    return f"((hash(i, {seed}, {salt}) % 1000003) / 1000003.0)"


def _pick(values: tuple[str, ...], salt: int, seed: int) -> str:
    items = ", ".join(f"'{v}'" for v in values)
    return f"[{items}][1 + cast(hash(i, {seed}, {salt}) % {len(values)} as bigint)]"


def synthesize_raw(
    con: duckdb.DuckDBPyConnection,
    start: date,
    days: int,
    daily: int,
    customers: int | None = None,
    seed: int = 7,
    chunk_days: int = 100,
) -> dict[str, int]:
    """Fill raw.<source> with plausible change logs: `daily` first transaction versions on each of `days` local days
    from `start`, a later fraud-confirmation or reversal version (1 to 13 days later) for a few of them, and small
    complaint, incident and backup logs at a constant daily rate. Rows are appended in ingestion order, one
    `_ingest_seq` per day, as `riskcard ingest` appends day files; the transaction log is written `chunk_days` at a
    time so that memory does not grow with the history. Returns the row count per table."""
    transactions = days * daily
    customers = customers or max(1, daily * 12)  # the same customer base whatever the history
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for source in SOURCES:
        con.execute(raw_table_ddl(source))
    origin = f"timezone('{TIMEZONE}', TIMESTAMP '{start.isoformat()} 00:00:00')"
    span_seconds = days * 86400
    u = lambda salt: _uniform(salt, seed)  # noqa: E731
    failure_reason = _pick(
        ("insufficient_funds", "auth_failed", "system_error", "operator_error", "risk_blocked", "other"), 7, seed
    )
    cause = _pick(
        ("hardware", "software_defect", "change_failure", "operator_error", "network", "power", "vendor", "intrusion",
         "ddos", "malware"),
        27,
        seed,
    )  # fmt: skip
    category = _pick(
        ("unauthorized_txn", "fraud_scam", "privacy_leak", "service_unavailable", "fee_dispute", "operation_error",
         "other"),
        43,
        seed,
    )  # fmt: skip
    meta = """
        NULL AS _extra, 'synthetic' AS _file_sha256, 'synthetic/' || cast(_ingest_seq as varchar) AS _file_path,
        _row_number, 'bench' AS _ingest_run_id, now() AS _ingested_at, _ingest_seq"""

    for first_day in range(0, days, chunk_days):
        last_day = min(days, first_day + chunk_days)
        # every version whose day (_ingest_seq) falls in the chunk: first versions of the chunk's transactions (and
        # of the next day's, whose UTC day may be the chunk's last) and later versions of the 15 days before it
        lo, hi = max(0, (first_day - 15) * daily), min(transactions, (last_day + 1) * daily)
        seq_filter = f"_ingest_seq >= {first_day + 1}" + (f" AND _ingest_seq <= {last_day}" if last_day < days else "")
        con.execute(f"""
            INSERT INTO raw.transactions
            WITH first_versions AS (
                SELECT
                    i,
                    'T' || cast(i as varchar) AS txn_id,
                    {origin} + to_seconds(cast((i // {daily}) * 86400 + {u(1)} * 86400 as bigint)) AS event_at,
                    md5('C' || cast(hash(i, {seed}, 2) % {customers} as varchar)) AS customer_id,
                    {_pick(("web", "mobile", "wechat", "open_api"), 3, seed)} AS channel,
                    {_pick(("online_payment", "remittance", "unionpay_debit", "atm_pos", "other"), 4, seed)}
                        AS txn_type,
                    cast(round(-ln(1 - {u(5)}) * 900, 2) as decimal(18, 2)) AS amount,
                    CASE WHEN {u(6)} < 0.95 THEN 'success' WHEN {u(6)} < 0.99 THEN 'failed' ELSE 'reversed' END
                        AS status,
                    {failure_reason} AS any_failure_reason,
                    CASE WHEN {u(8)} < 0.2 THEN 'password' WHEN {u(8)} < 0.6 THEN 'sms_otp'
                         WHEN {u(8)} < 0.8 THEN 'usb_key' ELSE 'biometric' END AS auth_method,
                    {u(9)} < 0.05 AS new_device,
                    {u(10)} < 0.01 AS risk_flag,
                    {u(11)} AS later_update
                FROM range({lo}, {hi}) t(i)
            ),
            versions AS (
                SELECT *, event_at + to_seconds(cast(1 + {u(12)} * 30 as bigint)) AS updated_at,
                       false AS fraud_confirmed, status AS version_status
                FROM first_versions
                UNION ALL
                -- a few are confirmed as fraud (or reversed) days later: a second version of the same transaction
                SELECT *, event_at + to_seconds(cast(86400 * (1 + {u(13)} * 12) as bigint)) AS updated_at,
                       later_update < 0.002 AS fraud_confirmed,
                       CASE WHEN later_update < 0.002 THEN status ELSE 'reversed' END AS version_status
                FROM first_versions
                WHERE later_update < 0.004
            ),
            numbered AS (
                SELECT *,
                       date_diff('day', {origin}, updated_at) + 1 AS _ingest_seq,
                       row_number() OVER (PARTITION BY date_diff('day', {origin}, updated_at) ORDER BY i, updated_at)
                           AS _row_number
                FROM versions
            )
            SELECT txn_id, updated_at, event_at, customer_id, channel, txn_type, amount, version_status,
                   CASE WHEN version_status = 'success' THEN NULL ELSE any_failure_reason END,
                   auth_method, new_device, risk_flag, fraud_confirmed, {meta}
            FROM numbered
            WHERE {seq_filter}
            ORDER BY _ingest_seq, _row_number  -- appended file by file, as ingestion does
        """)

    incidents = max(days, 1)
    con.execute(f"""
        INSERT INTO raw.incidents
        WITH base AS (
            SELECT i,
                   {origin} + to_seconds(cast({u(21)} * {span_seconds} as bigint)) AS started_at,
                   {u(22)} * 30 AS detect_minutes,
                   {u(23)} * {u(23)} * 600 AS restore_minutes
            FROM range({incidents}) t(i)
        ),
        versions AS (
            SELECT *, started_at + to_seconds(cast(60 * (detect_minutes + restore_minutes) as bigint) + 60)
                      AS updated_at
            FROM base
        ),
        numbered AS (
            SELECT *, date_diff('day', {origin}, updated_at) + 1 AS _ingest_seq, i + 1 AS _row_number FROM versions
        )
        SELECT 'I' || cast(i as varchar), updated_at, {_pick(SYSTEMS, 24, seed)}, {u(25)} < 0.6, {u(26)} < 0.2,
               {cause},
               CASE WHEN {u(28)} < 0.3 THEN {_pick(("cloudnet_idc", "paylink_gateway", "coresoft"), 29, seed)} END,
               CASE WHEN {u(30)} < 0.8 THEN 'minor' WHEN {u(30)} < 0.95 THEN 'major' ELSE 'critical' END,
               started_at,
               started_at + to_seconds(cast(60 * detect_minutes as bigint)),
               started_at + to_seconds(cast(60 * (detect_minutes + 10) as bigint)),
               started_at + to_seconds(cast(60 * (detect_minutes + restore_minutes) as bigint)),
               NULL, {u(31)} < 0.05, NULL,
               CASE WHEN {u(32)} < 0.05 THEN 'I0' END,
               {meta}
        FROM numbered
        ORDER BY _ingest_seq, _row_number  -- appended file by file, as ingestion does
    """)

    complaints = max(transactions // 10_000, days)  # 2.5 a day at 25,000 transactions a day
    con.execute(f"""
        INSERT INTO raw.complaints
        WITH base AS (
            SELECT i, {origin} + to_seconds(cast({u(41)} * {span_seconds} as bigint)) AS opened_at,
                   {u(42)} * 20 AS close_days
            FROM range({complaints}) t(i)
        ),
        versions AS (
            SELECT *, opened_at + INTERVAL 1 MINUTE AS updated_at, false AS closed FROM base
            UNION ALL
            SELECT *, opened_at + to_seconds(cast(86400 * close_days as bigint)) + INTERVAL 2 MINUTE, true FROM base
        ),
        numbered AS (
            SELECT *, date_diff('day', {origin}, updated_at) + 1 AS _ingest_seq,
                   row_number() OVER (PARTITION BY date_diff('day', {origin}, updated_at) ORDER BY i, closed)
                       AS _row_number
            FROM versions
        )
        SELECT 'K' || cast(i as varchar), updated_at, opened_at, md5('C' || cast(i as varchar)),
               {category},
               {_pick(("branch", "phone", "online", "online", "online", "regulator"), 44, seed)},
               'T' || cast(hash(i, {seed}, 45) % {transactions} as varchar),
               opened_at + INTERVAL 30 MINUTE,
               CASE WHEN closed THEN opened_at + to_seconds(cast(86400 * close_days as bigint)) END,
               CASE WHEN closed THEN 'resolved' ELSE 'open' END,
               100.00, CASE WHEN closed THEN 80.00 END,
               {meta}
        FROM numbered
        ORDER BY _ingest_seq, _row_number  -- appended file by file, as ingestion does
    """)

    con.execute(f"""
        INSERT INTO raw.backups
        WITH base AS (
            SELECT d, s, system,
                   timezone('{TIMEZONE}', TIMESTAMP '{start.isoformat()} 01:00:00') + to_days(cast(d as integer))
                       AS scheduled_at
            FROM range({days}) r(d), (SELECT unnest(range({len(SYSTEMS)})) AS s, unnest({list(SYSTEMS)}) AS system)
        ),
        numbered AS (
            SELECT *, d * {len(SYSTEMS)} + s AS i, d + 1 AS _ingest_seq, s + 1 AS _row_number FROM base
        )
        SELECT 'B' || cast(i as varchar), scheduled_at + INTERVAL 2 HOUR, system, 'full', scheduled_at,
               scheduled_at, scheduled_at + INTERVAL 1 HOUR,
               CASE WHEN {u(51)} < 0.99 THEN 'success' ELSE 'failed' END, 1000000, {u(52)} < 0.98,
               d % 7 = 0, CASE WHEN d % 7 = 0 THEN true END,
               {meta}
        FROM numbered
        ORDER BY _ingest_seq, _row_number  -- appended file by file, as ingestion does
    """)
    return {s: con.execute(f"SELECT count(*) FROM raw.{s}").fetchone()[0] for s in SOURCES}


def _timed_build(warehouse: Path, date_from: date, date_to: date) -> dict:
    """Run one build in a fresh child process (dbt's start-up included); its own wall time and peak RSS."""
    config = warehouse.with_name("riskcard.toml")
    config.touch()  # an empty settings file: defaults, whatever the working directory holds
    code = f"""
import json
from datetime import date
from pathlib import Path
from transforms.core.settings import load_settings
from transforms.indicators.build import build
settings = load_settings(env={{}}, config_file=Path({str(config)!r}), warehouse={str(warehouse)!r})
result = build(settings, date_from=date.fromisoformat({date_from.isoformat()!r}),
               date_to=date.fromisoformat({date_to.isoformat()!r}))
# VmHWM: this process's own peak RSS (ru_maxrss would carry the parent's high-water mark across exec)
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({{"build": result.seconds, "rows": result.rows_written, "rss_kb": peak_kb}}))
"""
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    process_seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"build {date_from}..{date_to} failed:\n{proc.stderr[-4000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "build_seconds": out["build"],
        "process_seconds": process_seconds,
        "rows": out["rows"],
        "peak_rss_mb": out["rss_kb"] / 1024,
    }


def _warehouse(folder: Path, start: date, days: int, daily: int, reuse: bool) -> Path:
    warehouse = folder / f"history_{days}d.duckdb"
    if reuse and warehouse.exists():
        return warehouse
    warehouse.unlink(missing_ok=True)
    t = time.monotonic()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("SET TimeZone = 'UTC'")
        counts = synthesize_raw(con, start, days, daily)
    size_mb = warehouse.stat().st_size / 1e6
    print(f"synthetic raw log, {days} days: {counts} ({time.monotonic() - t:.0f}s, {size_mb:,.0f} MB)", flush=True)
    return warehouse


def _verdict(ok: bool) -> str:
    return "within target" if ok else "OVER target"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_indicators", description=__doc__.splitlines()[0])
    parser.add_argument("--daily", type=int, default=25_000, help="first transaction versions a day (default 25,000)")
    parser.add_argument("--short-days", type=int, default=200, help="days of the short history (default 200)")
    parser.add_argument("--scale", type=int, default=12, help="the long history is this many times longer (12)")
    parser.add_argument("--dates", type=int, default=365, help="as-of dates in the backfill (default 365)")
    parser.add_argument("--keep", type=Path, help="build the warehouses in this folder and keep them")
    parser.add_argument("--reuse", action="store_true", help="with --keep: reuse its synthetic raw logs if present")
    args = parser.parse_args(argv)

    start = date(2020, 1, 1)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench_indicators_") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for label, days in (("short", args.short_days), ("long", args.short_days * args.scale)):
            warehouse = _warehouse(folder, start, days, args.daily, args.reuse and args.keep is not None)
            last = start + timedelta(days=days - 1)
            night_before = _timed_build(warehouse, last - timedelta(days=1), last - timedelta(days=1))
            one = _timed_build(warehouse, last, last)
            with duckdb.connect(str(warehouse), read_only=True) as con:
                one["transactions"] = con.execute("SELECT count(*) FROM raw.transactions").fetchone()[0]
            results[label] = one
            print(
                f"{label:>5} history: {days:,} days, {one['transactions'] / 1e6:.1f} M transaction rows; "
                f"D-1 {night_before['build_seconds']:.1f}s; "
                f"D ({last}) {one['build_seconds']:.1f}s build, {one['process_seconds']:.1f}s with start-up, "
                f"peak RSS {one['peak_rss_mb']:,.0f} MB",
                flush=True,
            )
            if label == "long":
                first = last - timedelta(days=args.dates - 1)
                backfill = _timed_build(warehouse, first, last)
                print(
                    f" long history: {args.dates} dates ({first}..{last}) {backfill['build_seconds']:.1f}s build, "
                    f"peak RSS {backfill['peak_rss_mb']:,.0f} MB",
                    flush=True,
                )

    short, long_ = results["short"], results["long"]
    time_ratio = long_["build_seconds"] / short["build_seconds"]
    rss_ratio = long_["peak_rss_mb"] / short["peak_rss_mb"]
    backfill_ratio = backfill["build_seconds"] / long_["build_seconds"]
    peak = max(short["peak_rss_mb"], long_["peak_rss_mb"])
    checks = [
        (f"one date, {args.scale}x history / short history: {time_ratio:.2f}x time, {rss_ratio:.2f}x peak RSS "
         f"(target <= {TARGET_HISTORY_RATIO}x time)", time_ratio <= TARGET_HISTORY_RATIO),
        (f"peak RSS of one date: {peak:,.0f} MB (target <= {TARGET_PEAK_RSS_MB:,} MB)", peak <= TARGET_PEAK_RSS_MB),
        (f"one date on {long_['transactions'] / 1e6:.1f} M rows: {long_['build_seconds']:.1f}s "
         f"(target <= {TARGET_LONG_SECONDS:.0f}s)", long_["build_seconds"] <= TARGET_LONG_SECONDS),
        (f"{args.dates}-date backfill / one date: {backfill_ratio:.2f}x (target <= {TARGET_BACKFILL_RATIO:.0f}x); "
         f"{backfill['build_seconds'] / args.dates:.2f}s per date", backfill_ratio <= TARGET_BACKFILL_RATIO),
    ]  # fmt: skip
    for text, ok in checks:
        print(f"{text}: {_verdict(ok)}", flush=True)
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
