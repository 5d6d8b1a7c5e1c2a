"""Indicator build cost: one as-of date versus a 365-date backfill over the same raw log.

`riskcard build --from D1 --to D2` computes every date of the range in one dbt run: each transaction version is
given the range of as-of dates it counts for, so the 10-million-row transaction log is read once per run, not
once per date. This benchmark measures it: it fills a warehouse with synthetic raw change logs (written straight
into the raw tables with DuckDB, so the figure is the build's, not the generator's or the ingestion's), then times
`build(as_of=D)` and `build(date_from=D-364, date_to=D)`, each in a child process whose peak memory is reported.
Target: 365 dates cost at most 10x one date.

    python -m benchmarks.bench_indicators [--transactions N] [--days N] [--keep DIR]
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

from transforms.contract import SOURCES, SYSTEMS, raw_table_ddl

TIMEZONE = "Asia/Shanghai"
TARGET_RATIO = 10.0


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
    transactions: int,
    customers: int | None = None,
    seed: int = 7,
) -> dict[str, int]:
    """Fill raw.<source> with plausible change logs: `transactions` first versions spread over `days` local days
    from `start`, a later fraud-confirmation or reversal version for a few of them, and small complaint, incident
    and backup logs. Returns the row count per table."""
    customers = customers or max(1, transactions // 40)
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

    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE first_versions AS
        SELECT
            i,
            'T' || cast(i as varchar) AS txn_id,
            {origin} + to_seconds(cast({u(1)} * {span_seconds} as bigint)) AS event_at,
            md5('C' || cast(hash(i, {seed}, 2) % {customers} as varchar)) AS customer_id,
            {_pick(("web", "mobile", "wechat", "open_api"), 3, seed)} AS channel,
            {_pick(("online_payment", "remittance", "unionpay_debit", "atm_pos", "other"), 4, seed)} AS txn_type,
            cast(round(-ln(1 - {u(5)}) * 900, 2) as decimal(18, 2)) AS amount,
            CASE WHEN {u(6)} < 0.95 THEN 'success' WHEN {u(6)} < 0.99 THEN 'failed' ELSE 'reversed' END AS status,
            {failure_reason} AS any_failure_reason,
            CASE WHEN {u(8)} < 0.2 THEN 'password' WHEN {u(8)} < 0.6 THEN 'sms_otp'
                 WHEN {u(8)} < 0.8 THEN 'usb_key' ELSE 'biometric' END AS auth_method,
            {u(9)} < 0.05 AS new_device,
            {u(10)} < 0.01 AS risk_flag,
            {u(11)} AS later_update
        FROM range({transactions}) t(i)
    """)
    con.execute(f"""
        INSERT INTO raw.transactions
        WITH versions AS (
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
                   row_number() OVER (PARTITION BY date_diff('day', {origin}, updated_at) ORDER BY i) AS _row_number
            FROM versions
        )
        SELECT txn_id, updated_at, event_at, customer_id, channel, txn_type, amount, version_status,
               CASE WHEN version_status = 'success' THEN NULL ELSE any_failure_reason END,
               auth_method, new_device, risk_flag, fraud_confirmed, {meta}
        FROM numbered
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
    """)

    complaints = max(transactions // 10_000, days)
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
from transforms.settings import load_settings
from transforms.build import build
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_indicators", description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=10_000_000, help="first versions (default 10M)")
    parser.add_argument("--days", type=int, default=395, help="local days of log (default 395 = 365 + window)")
    parser.add_argument("--dates", type=int, default=365, help="as-of dates in the backfill (default 365)")
    parser.add_argument("--keep", type=Path, help="build the warehouse in this folder and keep it")
    parser.add_argument("--reuse", action="store_true", help="with --keep: reuse its synthetic raw log if present")
    args = parser.parse_args(argv)

    start = date(2024, 1, 1)
    last = start + timedelta(days=args.days - 1)
    with tempfile.TemporaryDirectory(prefix="bench_indicators_") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        warehouse = folder / "riskcard.duckdb"
        if not (args.reuse and args.keep and warehouse.exists()):
            warehouse.unlink(missing_ok=True)
            t = time.monotonic()
            with duckdb.connect(str(warehouse)) as con:
                con.execute("SET TimeZone = 'UTC'")
                counts = synthesize_raw(con, start, args.days, args.transactions)
            print(f"synthetic raw log: {counts} ({time.monotonic() - t:.1f}s)", flush=True)

        one = _timed_build(warehouse, last, last)
        print(
            f"1 date    ({last}): {one['build_seconds']:.1f}s build, {one['process_seconds']:.1f}s with start-up, "
            f"peak RSS {one['peak_rss_mb']:.0f} MB",
            flush=True,
        )
        first = last - timedelta(days=args.dates - 1)
        many = _timed_build(warehouse, first, last)
        print(
            f"{args.dates} dates ({first}..{last}): {many['build_seconds']:.1f}s build, "
            f"{many['process_seconds']:.1f}s with start-up, peak RSS {many['peak_rss_mb']:.0f} MB",
            flush=True,
        )
        ratio = many["build_seconds"] / one["build_seconds"]
        verdict = "within" if ratio <= TARGET_RATIO else "OVER"
        print(
            f"ratio {args.dates} dates / 1 date: {ratio:.1f}x ({verdict} the {TARGET_RATIO:.0f}x target); "
            f"{many['build_seconds'] / args.dates:.2f}s per date in the backfill",
            flush=True,
        )
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
