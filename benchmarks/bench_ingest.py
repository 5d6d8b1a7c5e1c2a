"""Ingestion speed and memory against DuckDB's own loader.

Ingests N generated transactions (default 10 million) once from CSV and once from Parquet into fresh warehouses,
with every contract check and the customer-id HMAC on, and in the same run times DuckDB's
``CREATE TABLE t AS SELECT * FROM read_csv(...)`` / ``read_parquet(...)`` over the same files as the baseline (then
CHECKPOINT: both are timed until the rows are durable in the database file, as they are when ingest() returns).
Both run in child processes, timed from after their imports (duckdb for the baseline; Polars, pyarrow and the
HMAC plugin for ingest: their import time is printed) until they return. Prints rows/s of both, the ratio (target
>= 50 %), the peak RSS of each (target < 4 GB; the child's own VmHWM), the size of each database file, and the
time of a no-op call over 1,000 already-ingested small files (target < 2 s).

    python -m benchmarks.bench_ingest                # 10M rows
    python -m benchmarks.bench_ingest --rows 1000000 --keep /tmp/bench
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECRET = "benchmark-secret-key"
PROJECT = Path(__file__).resolve().parent.parent


# ---- data ------------------------------------------------------------------------------------------------------


def write_transactions(out: Path, rows: int, files: int, fmt: str, data: str = "generator", seed: int = 7) -> str:
    """Transactions in the contract's shape under ``out/transactions/<day>/``: the generator's (when it can be
    imported) or ``synthetic`` ones written here from a pool of 500,000 customers (in the generator's data about 9
    in 10 customer ids of a day are distinct, which leaves the hashing of distinct ids little to save)."""
    try:
        from transforms.generate import generate
    except ImportError:  # not written yet (or not importable): the same shape, written here
        data = "synthetic"
    if data == "synthetic":
        _synthetic(out, rows, files, fmt, seed)
        return "synthetic data (500,000 customers)"

    generate(out, dt.date(2024, 1, 1), days=files, transactions=rows, seed=seed, fmt=fmt)
    for other in out.iterdir():  # the baseline reads transactions only; so does the measured ingest
        if other.name != "transactions":
            shutil.rmtree(other) if other.is_dir() else other.unlink()
    return "transforms.generate"


def _synthetic(out: Path, rows: int, files: int, fmt: str, seed: int) -> None:
    """Contract-shaped transactions written with Polars: local times with +08:00 in CSV, typed UTC in Parquet."""
    import numpy as np
    import polars as pl

    from transforms.core.contract import TRANSACTIONS

    enum = {c.name: list(c.enum) for c in TRANSACTIONS.columns if c.kind == "enum"}
    rng = np.random.default_rng(seed)
    per_file = -(-rows // files)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC) - dt.timedelta(hours=8)
    for day in range(files):
        n = min(per_file, rows - day * per_file)
        if n <= 0:
            break
        base_us = int((start + dt.timedelta(days=day)).timestamp() * 1_000_000)
        event_us = base_us + np.sort(rng.integers(0, 86_400_000_000, n))
        status = rng.choice(enum["status"], n, p=[0.95, 0.04, 0.01])
        reason = pl.Series(rng.choice(enum["failure_reason"], n)).set(pl.Series(status == "success"), None)
        frame = pl.DataFrame(
            {
                "txn_id": pl.int_range(day * per_file, day * per_file + n, eager=True).cast(pl.String).str.zfill(12),
                "updated_at": pl.Series(event_us + rng.integers(0, 60_000_000, n)).cast(pl.Datetime("us", "UTC")),
                "event_at": pl.Series(event_us).cast(pl.Datetime("us", "UTC")),
                "customer_id": pl.Series(rng.integers(0, 500_000, n))
                .cast(pl.String)
                .str.zfill(9)
                .str.replace("^", "C"),
                "channel": rng.choice(enum["channel"], n),
                "txn_type": rng.choice(enum["txn_type"], n),
                "amount": pl.Series(rng.integers(0, 5_000_000, n)).cast(pl.Decimal(18, 0)) / 100,
                "status": status,
                "failure_reason": reason,
                "auth_method": rng.choice(enum["auth_method"], n),
                "new_device": rng.random(n) < 0.05,
                "risk_flag": rng.random(n) < 0.01,
                "fraud_confirmed": rng.random(n) < 0.001,
            }
        ).with_columns(pl.col("amount").cast(pl.Decimal(18, 2)))
        folder = out / "transactions" / f"{dt.date(2024, 1, 1) + dt.timedelta(days=day)}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"transactions_{folder.name}"
        if fmt == "parquet":
            frame.write_parquet(folder / f"{name}.parquet")
        else:
            frame.with_columns(
                pl.col("updated_at", "event_at")
                .dt.convert_time_zone("Asia/Shanghai")
                .dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
            ).write_csv(folder / f"{name}.csv")


def write_small_files(out: Path, count: int) -> None:
    """``count`` tiny CSV files (one transaction each) for the no-op re-run."""
    header = "txn_id,updated_at,event_at,customer_id,channel,txn_type,amount,status,failure_reason,auth_method,"
    header += "new_device,risk_flag,fraud_confirmed\n"
    for i in range(count):
        folder = out / "transactions" / f"batch_{i // 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"t_{i:05d}.csv").write_text(
            header + f"S{i:08d},2024-01-01T10:00:00+08:00,2024-01-01T09:59:00+08:00,C{i:06d},web,other,1.00,success,,"
            "password,false,false,false\n"
        )


# ---- child processes (measured with wait4) ---------------------------------------------------------------------


def _run_child(*args: str) -> tuple[dict, int]:
    """Run this module in a child process; returns its JSON answer (plus its CPU seconds) and its peak RSS.

    The peak is the child's own VmHWM (read by the child as it ends): wait4's ru_maxrss would also count the pages
    the child shared with this process when it was forked, i.e. this process's own peak (the generator's data).
    """
    env = {**os.environ, "RISKCARD_SECRET_KEY": SECRET, "PYTHONPATH": str(PROJECT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_ingest", "--child", *args],
        stdout=subprocess.PIPE,
        env=env,
        cwd=PROJECT,
    )
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child {args} failed with exit code {proc.returncode}")
    answer = json.loads(out) | {"cpu_seconds": usage.ru_utime + usage.ru_stime}  # the whole child, imports too
    return answer, answer.pop("peak_rss_bytes", None) or usage.ru_maxrss * 1024  # ru_maxrss: Linux kilobytes


def _child(argv: list[str]) -> None:
    what, *rest = argv
    if what == "ingest":
        warehouse, landing = rest
        t0 = time.perf_counter()
        import transforms.ingest.load  # noqa: F401  (Polars, pyarrow, the HMAC plugin: imported before the clock,
        from transforms.core.settings import load_settings
        from transforms.ingest import ingest  # as the baseline imports duckdb before its clock)

        imports = time.perf_counter() - t0
        settings = load_settings(warehouse=Path(warehouse), landing=Path(landing))
        started = time.perf_counter()
        report = ingest(settings)
        seconds = time.perf_counter() - started
        totals = report.totals()
        answer = {
            "seconds": seconds,
            "rows": totals.rows_loaded,
            "quarantined": totals.rows_quarantined,
            "files_new": totals.files_new,
            "files_skipped": totals.files_skipped,
            "import_seconds": imports,
            "database_mb": Path(warehouse).stat().st_size / 2**20,
        }
    else:  # duckdb baseline
        database, reader, pattern = rest
        import duckdb

        con = duckdb.connect(database)
        started = time.perf_counter()
        con.execute(f"CREATE TABLE t AS SELECT * FROM {reader}('{pattern}')")
        con.execute("CHECKPOINT")  # durable in the database file, as ingest() leaves its rows when it returns
        seconds = time.perf_counter() - started
        answer = {"seconds": seconds, "rows": con.execute("SELECT count(*) FROM t").fetchall()[0][0]}
        con.close()
        answer["database_mb"] = Path(database).stat().st_size / 2**20
    print(json.dumps(answer | {"peak_rss_bytes": _own_peak_rss()}))


def _own_peak_rss() -> int | None:
    """This process's peak resident set size (Linux VmHWM), None where /proc is not there."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# ---- the benchmark ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        _child(argv[1:])
        return 0
    parser = argparse.ArgumentParser(prog="bench_ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="transactions to ingest (default 10M)")
    parser.add_argument("--files", type=int, default=10, help="files (days) the rows are split into")
    parser.add_argument("--small-files", type=int, default=1000, help="files for the no-op re-run")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument("--formats", default="csv,parquet", help="which of csv,parquet to measure")
    parser.add_argument(
        "--data",
        choices=("generator", "synthetic"),
        default="generator",
        help="transforms.generate's transactions (default) or synthetic ones with a fixed customer pool",
    )
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_ingest_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        results = _measure(work, args)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def _measure(work: Path, args) -> dict:
    results: dict = {"rows": args.rows}
    print(
        f"bench_ingest: {args.rows:,} transactions in {args.files} files, work folder {work}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"
    )
    for fmt, reader in (("csv", "read_csv"), ("parquet", "read_parquet")):
        if fmt not in args.formats.split(","):
            continue
        landing = work / f"landing_{fmt}"
        if not (landing / "transactions").exists():
            t0 = time.perf_counter()
            origin = write_transactions(landing, args.rows, args.files, fmt, args.data)
            print(f"  {fmt}: wrote {_size(landing)} with {origin} in {time.perf_counter() - t0:.1f}s")
        for stale in work.glob(f"*_{fmt}.duckdb*"):
            stale.unlink()
        base, base_rss = _run_child(
            "baseline", str(work / f"baseline_{fmt}.duckdb"), reader, f"{landing}/transactions/**/*.{fmt}"
        )
        ours, our_rss = _run_child("ingest", str(work / f"ingest_{fmt}.duckdb"), str(landing))
        n = base["rows"]
        base_rate, our_rate = n / base["seconds"], ours["rows"] / ours["seconds"]
        results[fmt] = {
            "duckdb_seconds": round(base["seconds"], 2),
            "duckdb_rows_per_s": round(base_rate),
            "ingest_seconds": round(ours["seconds"], 2),
            "ingest_rows_per_s": round(our_rate),
            "ratio": round(our_rate / base_rate, 3),
            "ingest_peak_rss_mb": round(our_rss / 2**20),
            "duckdb_peak_rss_mb": round(base_rss / 2**20),
            "rows_loaded": ours["rows"],
            "rows_quarantined": ours["quarantined"],
            "duckdb_rows": n,
            "duckdb_child_cpu_seconds": round(base["cpu_seconds"], 1),
            "ingest_import_seconds": round(ours["import_seconds"], 2),
            "duckdb_database_mb": round(base["database_mb"]),
            "ingest_database_mb": round(ours["database_mb"]),
            "ingest_child_cpu_seconds": round(ours["cpu_seconds"], 1),
        }
        r = results[fmt]
        print(
            f"  {fmt:8s} DuckDB CTAS {r['duckdb_rows_per_s']:>10,} rows/s ({r['duckdb_seconds']}s) | ingest "
            f"{r['ingest_rows_per_s']:>10,} rows/s ({r['ingest_seconds']}s) | ratio {r['ratio']:.0%} (target >= 50%)"
            f" | ingest peak RSS {r['ingest_peak_rss_mb']:,} MB (target < 4,096 MB) | CPU s (whole child) DuckDB "
            f"{r['duckdb_child_cpu_seconds']}, ingest {r['ingest_child_cpu_seconds']} | database file DuckDB "
            f"{r['duckdb_database_mb']:,} MB, ingest {r['ingest_database_mb']:,} MB (module imports "
            f"{r['ingest_import_seconds']}s, outside both clocks)"
        )

    small = work / "landing_small"
    if not small.exists():
        write_small_files(small, args.small_files)
    warehouse = work / "noop.duckdb"
    for stale in work.glob("noop.duckdb*"):
        stale.unlink()
    first, _ = _run_child("ingest", str(warehouse), str(small))
    again, _ = _run_child("ingest", str(warehouse), str(small))
    t0 = time.perf_counter()
    cli = subprocess.run(
        [sys.executable, "-m", "transforms.cli.main", "ingest", "--warehouse", str(warehouse), "--landing", str(small)],
        capture_output=True,
        env={**os.environ, "RISKCARD_SECRET_KEY": SECRET},
        cwd=PROJECT,
        check=False,
    )
    cli_seconds = time.perf_counter() - t0
    results["noop"] = {
        "files": args.small_files,
        "first_call_seconds": round(first["seconds"], 2),
        "noop_call_seconds": round(again["seconds"], 3),
        "noop_files_skipped": again["files_skipped"],
        "noop_cli_wall_seconds": round(cli_seconds, 2),
        "cli_exit": cli.returncode,
    }
    n = results["noop"]
    print(
        f"  no-op call over {n['files']:,} ingested files: ingest() {n['noop_call_seconds']}s, whole CLI process "
        f"{n['noop_cli_wall_seconds']}s (target < 2 s); first call took {n['first_call_seconds']}s"
    )
    return results


def _size(folder: Path) -> str:
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return f"{total / 2**20:,.0f} MB"


if __name__ == "__main__":
    sys.exit(main())
