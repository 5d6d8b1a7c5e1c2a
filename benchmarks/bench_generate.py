"""Generator speed and memory: 10 million transactions (by default) written into a temporary folder.

Each run is a child process (``riskcard generate``), so its peak RSS is its own (os.wait4). A second, smaller run
with the same transactions per day but a tenth of the days shows that memory is set by the daily volume, not by
the total row count (the generator writes day by day).

    python -m benchmarks.bench_generate [--transactions N] [--days N] [--format jsonl|csv|parquet|mixed]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _measure(out: Path, transactions: int, days: int, fmt: str, seed: int) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "transforms.cli.main",
        "generate",
        "--out",
        str(out),
        "--start",
        "2024-01-01",
        "--days",
        str(days),
        "--transactions",
        str(transactions),
        "--seed",
        str(seed),
        "--format",
        fmt,
    ]
    started = time.monotonic()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise RuntimeError(f"generate failed ({child.returncode}): {stderr.decode()[-2000:]}")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {
        "transactions": transactions,
        "days": days,
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # KiB on Linux
        "bytes": size,
    }


def _print(label: str, r: dict) -> None:
    rate = r["transactions"] / r["wall_s"]
    print(
        f"{label}: {r['transactions']:,} transactions over {r['days']} days "
        f"({r['transactions'] // r['days']:,}/day): wall {r['wall_s']:.1f} s, cpu {r['cpu_s']:.1f} s, "
        f"{rate:,.0f} transactions/s, peak RSS {r['peak_rss_mb']:.0f} MB, written {r['bytes'] / 1e9:.2f} GB",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_generate", description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--format", default="jsonl", choices=["jsonl", "csv", "parquet", "mixed"])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="riskcard-bench-generate-"))
    try:
        big = _measure(scratch / "big", args.transactions, args.days, args.format, args.seed)
        _print("full run ", big)
        shutil.rmtree(scratch / "big")
        small_days = max(1, args.days // 10)
        small_tx = args.transactions * small_days // args.days
        small = _measure(scratch / "small", small_tx, small_days, args.format, args.seed)
        _print("1/10 days", small)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(
        f"ratios (full / tenth): rows {big['transactions'] / max(small['transactions'], 1):.1f}x, "
        f"wall {big['wall_s'] / small['wall_s']:.1f}x, peak RSS {big['peak_rss_mb'] / small['peak_rss_mb']:.2f}x "
        f"(memory follows the daily volume, not the total)"
    )
    print(f"cpu share of wall: {big['cpu_s'] / big['wall_s']:.0%} (2 cores: up to 200%; less when the machine is busy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
