"""Intraday monitoring: from a landed file to its breach alert, and a refresh with nothing new.

A warehouse gets about 10 M rows of synthetic raw history (benchmarks.bench_indicators.synthesize_raw, straight into
the raw tables) and the nightly build of the day before D. Then, as separate `riskcard` processes (what the
riskcard_intraday DAG's task and an operator run; Python and dbt start-up included):

1. `riskcard monitor --now D 08:00`: the first provisional refresh of D (opens whatever is already in breach);
2. a batch lands: five major software-defect incidents (SP2 goes to the top of its scale) and three transactions;
   `riskcard ingest`, then `riskcard monitor --now D 09:45`, and a local webhook receives the SP2 breach alert;
3. `riskcard monitor --now D 09:46` with nothing new: the previous refresh's rows are reused.

Targets (issue 12): step 2 from the landed file to the received alert <= 30 s; step 3 <= 5 s.

    python -m benchmarks.bench_intraday [--daily N] [--days N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import duckdb

from benchmarks.bench_indicators import synthesize_raw
from transforms.core.settings import PROJECT_DIR
from transforms.demo import LocalWebhook
from transforms.generate.intraday import ordinary_transactions, software_defects, write_batch

TARGET_FILE_TO_ALERT_SECONDS = 30.0
TARGET_NOTHING_NEW_SECONDS = 5.0
TIMEZONE = "Asia/Shanghai"
SECRET = "bench-intraday-secret-0123456789"


def _riskcard(folder: Path, *args: str) -> tuple[float, dict | None]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKCARD_")}
    env.update({"RISKCARD_SECRET_KEY": SECRET, "RISKCARD_CONFIG": str(folder / "riskcard.toml")})
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "transforms.cli", *args], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True)  # fmt: skip
    seconds = time.monotonic() - started
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"riskcard {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    try:
        return seconds, json.loads(proc.stdout)
    except json.JSONDecodeError:
        return seconds, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_intraday", description=__doc__.splitlines()[0])
    parser.add_argument("--daily", type=int, default=25_000, help="first transaction versions a day (default 25,000)")
    parser.add_argument("--days", type=int, default=400, help="days of history (default 400: about 10 M rows)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args(argv)

    start = date(2024, 1, 1)
    day = start + timedelta(days=args.days)  # D: the day after the history's last day
    hook = LocalWebhook()
    with tempfile.TemporaryDirectory(prefix="bench_intraday_") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        warehouse, landing = folder / "riskcard.duckdb", folder / "landing"
        (folder / "riskcard.toml").write_text(
            f'warehouse = "{warehouse}"\nlanding = "{landing}"\ntimezone = "{TIMEZONE}"\n'
            f'webhook_url = "{hook.url}"\n'
            # the synthetic history has no complaints/backups cadence to speak of: staleness is not measured here
            + "".join(f"stale_after_minutes_{s} = 1000000\n" for s in ("transactions", "complaints", "incidents", "backups"))
        )  # fmt: skip
        warehouse.unlink(missing_ok=True)
        t = time.monotonic()
        with duckdb.connect(str(warehouse)) as con:
            con.execute("SET TimeZone = 'UTC'")
            counts = synthesize_raw(con, start, args.days, args.daily)
        total = sum(counts.values())
        print(f"synthetic raw history, {args.days} days: {counts} = {total:,} rows ({time.monotonic() - t:.0f}s)")
        seconds, _ = _riskcard(folder, "build", "--as-of", (day - timedelta(days=1)).isoformat())
        print(f"nightly build of {day - timedelta(days=1)}: {seconds:.1f}s (setup, not a target)")

        seconds, first = _riskcard(folder, "monitor", "--now", datetime.combine(day, clock(8, 0)).isoformat(),
                                   "--format", "json")  # fmt: skip
        print(f"1. first provisional refresh of {day} (monitor, 08:00): {seconds:.1f}s, "
              f"{len(first['breaches'])} open breach(es), {len(first['alerts'])} alert(s)")  # fmt: skip
        before = len(hook.received)

        landed = time.monotonic()
        write_batch(landing, "incidents", day, "defects", software_defects(day, TIMEZONE, at=(9, 30)))
        write_batch(landing, "transactions", day, "batch", ordinary_transactions(day, TIMEZONE, 0, (9, 35)))
        ingest_seconds, _ = _riskcard(folder, "ingest", "--format", "json")
        monitor_seconds, result = _riskcard(folder, "monitor", "--now", datetime.combine(day, clock(9, 45)).isoformat(),
                                            "--format", "json")  # fmt: skip
        arrived = zip(hook.arrivals[before:], hook.received[before:], strict=True)
        alerts = [(at, a) for at, a in arrived if a.get("indicator_id") == "SP2"]
        if not alerts:
            print("2. no SP2 breach alert arrived", file=sys.stderr)
            return 1
        file_to_alert = alerts[0][0] - landed
        print(f"2. landed file -> breach alert received: {file_to_alert:.1f}s "
              f"(ingest {ingest_seconds:.1f}s, monitor {monitor_seconds:.1f}s: {result['seconds']})")  # fmt: skip
        print(f"   alert: {alerts[0][1]['summary']}")

        nothing_seconds, again = _riskcard(folder, "monitor", "--now", datetime.combine(day, clock(9, 46)).isoformat(),
                                           "--format", "json")  # fmt: skip
        print(f"3. monitor with nothing new (09:46): {nothing_seconds:.1f}s, refreshed={again['refreshed']}, "
              f"{len(again['alerts'])} alert(s)")  # fmt: skip
    hook.close()

    ok_alert = file_to_alert <= TARGET_FILE_TO_ALERT_SECONDS
    ok_nothing = nothing_seconds <= TARGET_NOTHING_NEW_SECONDS and not again["refreshed"]
    print()
    print(
        f"file -> alert      {file_to_alert:6.1f}s  target <= {TARGET_FILE_TO_ALERT_SECONDS:.0f}s  "
        f"{'within target' if ok_alert else 'OVER target'}  ({file_to_alert / TARGET_FILE_TO_ALERT_SECONDS:.2f}x)"
    )
    print(
        f"nothing new        {nothing_seconds:6.1f}s  target <= {TARGET_NOTHING_NEW_SECONDS:.0f}s  "
        f"{'within target' if ok_nothing else 'OVER target'}  ({nothing_seconds / TARGET_NOTHING_NEW_SECONDS:.2f}x)"
    )
    return 0 if ok_alert and ok_nothing else 1


if __name__ == "__main__":
    sys.exit(main())
