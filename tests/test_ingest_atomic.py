"""Atomic per file: a SIGKILL half-way through a large file, two ingests at once, a held writer lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import TEST_SECRET
from tests.test_ingest_pii import raw_ids_found
from tests.test_ingest_support import (
    GOOD,
    good_row,
    manifest,
    query,
    run_ingest_cli,
    table_counts,
    write_csv,
    write_jsonl,
)
from transforms.core import contract
from transforms.core.settings import PROJECT_DIR
from transforms.core.warehouse import writer_lock
from transforms.ingest import BatchSizes, WarehouseBusy, ingest, load

BIG_ROWS = 300_000
CUSTOMERS = 5_000


def write_big_transactions(path: Path, rows: int) -> Path:
    """``rows`` transactions (every 1,000th with a negative amount) written with Polars."""
    template = {k: v for k, v in GOOD["transactions"].items() if k not in ("txn_id", "customer_id", "amount")}
    i = pl.int_range(0, rows, eager=True)
    frame = (
        pl.DataFrame(
            {
                "txn_id": "BIG" + i.cast(pl.String).str.zfill(7),
                "customer_id": "RAWCUST-BIG-" + (i % CUSTOMERS).cast(pl.String).str.zfill(6),
                "amount": pl.Series([None] * rows, dtype=pl.String),
            }
        )
        .with_columns(
            amount=pl.when(i % 1000 == 999).then(pl.lit("-1.00")).otherwise((i % 50_000).cast(pl.String) + ".25"),
            **{k: pl.lit(v, pl.String) for k, v in template.items()},
        )
        .select(contract.TRANSACTIONS.column_names)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)
    return path


def _land(settings) -> None:
    write_big_transactions(settings.landing / "transactions" / "2024-01-02" / "big.csv", BIG_ROWS)
    write_csv(settings.landing / "transactions" / "2024-01-01" / "small.csv", [good_row("transactions", 1)])
    write_jsonl(settings.landing / "incidents" / "i.jsonl", [good_row("incidents", i) for i in range(3)])
    write_csv(settings.landing / "backups" / "b.csv", [good_row("backups", 1, size_bytes="-5")])


CHILD = """
import sys
from pathlib import Path
from transforms.ingest import ingest
from transforms.ingest import BatchSizes
from transforms.core.settings import load_settings
settings = load_settings(env={{"RISKCARD_SECRET_KEY": "{secret}"}}, warehouse=Path(sys.argv[1]), landing=Path(sys.argv[2]))
report = ingest(settings, progress=True, sizes=BatchSizes(rows=5_000))
print("finished", report.rows_loaded)
"""


def _fingerprint(settings) -> dict:
    """Everything a clean run determines (not run ids or times)."""
    files = {
        p: {k: e[k] for k in ("sha256", "status", "rows_in", "rows_loaded", "rows_quarantined")}
        for p, e in manifest(settings).items()
    }
    content = {
        s: query(
            settings,
            f"SELECT count(*), count(DISTINCT (_file_sha256, _row_number)), "
            f"sum(hash({contract.CONTRACT[s].key}, _row_number, _file_path, _extra)) FROM raw.{s}",
        )[0]
        for s in contract.SOURCES
    }
    quarantined = query(
        settings, "SELECT file_path, row_number, column_name, rule, message FROM raw.quarantine ORDER BY ALL"
    )
    return {"files": files, "content": content, "quarantine": quarantined}


def test_sigkill_in_the_middle_of_a_large_file_leaves_no_trace_and_a_rerun_completes(settings, tmp_path):
    _land(settings)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(secret=TEST_SECRET), str(settings.warehouse), str(settings.landing)],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT_DIR,
    )
    seen = []
    try:
        for line in child.stderr:  # wait until rows of the big file are in the open transaction
            seen.append(line)
            if "big.csv:" in line and "rows read" in line:
                break
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert any("big.csv:" in line for line in seen), "".join(seen)

    assert raw_ids_found(settings.warehouse) == set()  # not even the uncommitted blocks hold a raw id
    assert "transactions/2024-01-02/big.csv" not in manifest(settings)
    assert query(settings, "SELECT count(*) FROM raw.transactions WHERE _file_path LIKE '%big.csv'") == [(0,)]

    again = ingest(settings)
    assert again.sources["transactions"].rows_in >= BIG_ROWS

    clean = settings.replace(warehouse=tmp_path / "clean" / "riskcard.duckdb")
    ingest(clean)
    assert _fingerprint(settings) == _fingerprint(clean)
    loaded = table_counts(settings)["transactions"]
    assert loaded == 1 + BIG_ROWS - BIG_ROWS // 1000
    assert query(settings, "SELECT count(*) FROM raw.quarantine WHERE file_path LIKE '%big.csv'") == [
        (BIG_ROWS // 1000,)
    ]


def test_two_ingests_at_once_do_not_corrupt_or_double_count(settings, tmp_path):
    write_big_transactions(settings.landing / "transactions" / "t.csv", 60_000)
    for source in ("complaints", "incidents", "backups"):
        write_csv(settings.landing / source / "x.csv", [good_row(source, i) for i in range(20)])
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKCARD_")} | {"RISKCARD_SECRET_KEY": TEST_SECRET}
    command = [
        sys.executable,
        "-m",
        "transforms.cli.main",
        "ingest",
        "--format",
        "json",
        "--warehouse",
        str(settings.warehouse),
        "--landing",
        str(settings.landing),
    ]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=PROJECT_DIR)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=PROJECT_DIR)
    outs = [p.communicate(timeout=120) for p in (first, second)]
    assert {first.returncode, second.returncode} <= {0, 3}, outs
    import json

    reports = [json.loads(out) for out, _ in outs]
    assert sorted(r["totals"]["files_new"] for r in reports) == [0, 4]  # one did it all, the other found it done
    clean = settings.replace(warehouse=tmp_path / "clean" / "riskcard.duckdb")
    ingest(clean)
    assert _fingerprint(settings) == _fingerprint(clean)


def test_a_held_writer_lock_makes_ingest_wait_then_fail_clearly(settings):
    write_csv(settings.landing / "backups" / "b.csv", [good_row("backups")])
    impatient = settings.replace(lock_timeout_seconds=0.5)
    with writer_lock(settings, what="a test holding the lock"):
        started = time.monotonic()
        with pytest.raises(WarehouseBusy, match="being written by another process"):
            ingest(impatient)
        assert time.monotonic() - started >= 0.5
        done = run_ingest_cli(settings, lock_timeout_seconds=0.5)
        assert done.returncode == 1
        assert "being written by another process" in done.stderr and "a test holding the lock" in done.stderr
    assert ingest(settings).rows_loaded == 1  # once the lock is free


def test_an_error_while_inserting_stops_the_reader_and_keeps_the_files_already_committed(settings, monkeypatch):
    """The reader thread runs ahead into the next file; a database error in the middle of a file rolls that file
    back, stops the reader (no thread left behind) and leaves the earlier files committed."""
    for day in ("01", "02", "03"):
        write_csv(
            settings.landing / "transactions" / f"2024-01-{day}.csv",
            [good_row("transactions", 100 * int(day) + i) for i in range(20)],
        )
    real, calls = load._insert_good, []

    def failing_on_the_second_file(con, f, good, *args):
        calls.append(f.rel_path)
        if f.rel_path.endswith("02.csv") and calls.count(f.rel_path) == 2:
            raise RuntimeError("disk full (simulated)")
        real(con, f, good, *args)

    monkeypatch.setattr(load, "_insert_good", failing_on_the_second_file)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest(settings, sizes=BatchSizes(rows=8))

    assert not [t for t in threading.enumerate() if t.name == "ingest-prefetch"]
    assert set(manifest(settings)) == {"transactions/2024-01-01.csv"}
    assert query(settings, "SELECT DISTINCT _file_path FROM raw.transactions") == [("transactions/2024-01-01.csv",)]
    monkeypatch.setattr(load, "_insert_good", real)
    report = ingest(settings)  # the next call takes up the rest
    assert [f.path for f in report.files] == ["transactions/2024-01-02.csv", "transactions/2024-01-03.csv"]
    assert table_counts(settings)["transactions"] == 60
