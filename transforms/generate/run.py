"""``generate()``: plan the run, then write it day by day.

The small, slow-moving entities (incidents, complaints, backups, the fraud plan, the customer pool) are planned for
the whole run first; transactions, the bulk, are generated one day at a time and written at once, so memory does not
grow with the number of transactions. Outputs: the day files, ``generator_report.json`` (the summary this function
returns) and, with ``bad_rows`` > 0, ``bad_rows_report.json`` (what was broken, where).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np

from transforms.core.contract import CONTRACT, SOURCES
from transforms.core.progress import Progress
from transforms.generate import backups as backups_mod
from transforms.generate import incidents as incidents_mod
from transforms.generate.badfiles import write_bad_files
from transforms.generate.badrows import BadRowInjector
from transforms.generate.changelog import records_between
from transforms.generate.clock import RunCalendar
from transforms.generate.complaints import ComplaintBook
from transforms.generate.customers import build_pool, pool_size
from transforms.generate.fraud import plan_fraud
from transforms.generate.randomness import BACKUPS, COMPLAINTS, CUSTOMERS, FRAUD, INCIDENTS, VOLUME, stream
from transforms.generate.scenarios import get_scenario
from transforms.generate.transactions import TransactionSimulator, daily_counts
from transforms.generate.vendors import load_vendors
from transforms.generate.writers import FORMATS, DayFileWriter, write_atomic

REPORT_NAME = "generator_report.json"
BAD_ROWS_REPORT_NAME = "bad_rows_report.json"
MAX_BAD_ROW_RATE = 0.5


def generate(
    out: Path,
    start: dt.date,
    days: int,
    transactions: int,
    seed: int,
    scenario: str = "baseline",
    fmt: str = "jsonl",
    bad_rows: float = 0.0,
    timezone: str = "Asia/Shanghai",
    progress: bool = False,
    seeds_dir: Path | None = None,
) -> dict:
    """Write ``days`` local days of the four landing logs from ``start`` into ``out``; returns the summary."""
    if days < 1:
        raise ValueError("days must be at least 1")
    if transactions < 0:
        raise ValueError("transactions must not be negative")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not 0.0 <= bad_rows <= MAX_BAD_ROW_RATE:
        raise ValueError(f"bad_rows must be a fraction between 0 and {MAX_BAD_ROW_RATE}, got {bad_rows}")
    s = get_scenario(scenario)
    out = Path(out)
    cal = RunCalendar(start, days, timezone)

    day_counts = daily_counts(cal, transactions, stream(seed, VOLUME))
    pool = build_pool(pool_size(transactions, days), stream(seed, CUSTOMERS))
    incidents = incidents_mod.plan_incidents(cal, s, load_vendors(seeds_dir), stream(seed, INCIDENTS))
    incident_versions = incidents_mod.incident_versions(incidents, stream(seed, INCIDENTS, 1)).sorted()
    fraud = plan_fraud(cal, day_counts, s, pool, stream(seed, FRAUD))
    complaints = ComplaintBook(cal, s, day_counts, fraud, incidents, pool, stream(seed, COMPLAINTS))
    backups = backups_mod.plan_backups(cal, s, stream(seed, BACKUPS))
    backup_versions = backups_mod.backup_versions(backups, stream(seed, BACKUPS, 1)).sorted()
    simulator = TransactionSimulator(cal, pool, day_counts, fraud, incidents_mod.outage_windows(incidents), seed)

    injector = BadRowInjector(bad_rows, timezone) if bad_rows > 0 else None
    writer = DayFileWriter(out, fmt, timezone, seed, injector)
    bad_files: list[dict] = []
    bad_file_day = days // 2
    fraud_day = fraud["day"].to_numpy()
    # Day d+1 is simulated while a single writer thread encodes and writes day d (Polars and file I/O release the
    # GIL); one writer keeps the files, the tallies and the bad-row choices in day order, hence deterministic.
    queued: deque[Future] = deque()
    with Progress("generate", total=days, enabled=progress) as steps, ThreadPoolExecutor(1) as background:
        for d in range(days):
            label = cal.label(d)
            start_ms, end_ms = int(cal.bounds[d]), int(cal.bounds[d + 1])
            tx = simulator.day(d)
            for row in np.flatnonzero(fraud_day == d):
                complaints.resolve_fraud(int(row), simulator.fraud_txn_id[row])
            complaints.resolve_day(d, tx.txn_id, tx.customer, tx.amount)
            records = {
                "transactions": tx.records,
                "complaints": complaints.records(d),
                "incidents": records_between(
                    incidents,
                    incident_versions,
                    incidents_mod.REVEALS,
                    start_ms,
                    end_ms,
                    CONTRACT["incidents"].column_names,
                ),
                "backups": records_between(
                    backups, backup_versions, backups_mod.REVEALS, start_ms, end_ms, CONTRACT["backups"].column_names
                ),
            }
            queued.append(background.submit(_write_day, writer, d, label, records))
            while len(queued) > 1:
                queued.popleft().result()
            if injector is not None and d == bad_file_day:
                bad_files = write_bad_files(out, label, d, records, timezone, seed)
            steps.step(f"{label}: " + ", ".join(f"{records[x].height} {x}" for x in SOURCES))
        while queued:
            queued.popleft().result()

    summary = {
        "seed": seed,
        "scenario": s.name,
        "format": fmt,
        "start": start.isoformat(),
        "end": cal.dates[-1].isoformat(),
        "days": days,
        "timezone": timezone,
        "transactions": transactions,
        "customers": pool.size,
        "bad_rows_rate": bad_rows,
        "sources": {source: asdict(t) for source, t in writer.tally.items()},
        "files": writer.files,
        "bad_files": bad_files,
    }
    if injector is not None:
        report = {"seed": seed, "rate": bad_rows, "rows": injector.report, "files": bad_files}
        write_atomic(out / BAD_ROWS_REPORT_NAME, _json(report))
    write_atomic(out / REPORT_NAME, _json(summary))
    return summary


def _write_day(writer: DayFileWriter, day: int, label: str, records: dict) -> None:
    for source in SOURCES:
        writer.write(source, day, label, records[source])


def _json(data: dict) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode()
