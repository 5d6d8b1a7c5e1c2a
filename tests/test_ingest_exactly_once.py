"""Exactly once: re-runs, the same bytes under a new name, new files later, the manifest fast path, the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from tests.test_ingest_support import (
    good_row,
    manifest,
    query,
    run_ingest_cli,
    table_counts,
    write_csv,
    write_jsonl,
    write_parquet,
)
from transforms.core import contract
from transforms.ingest import discover, ingest


def _land_day(settings, day: str, n: int = 5) -> None:
    for source in contract.SOURCES:
        rows = [good_row(source, 1000 * int(day[-2:]) + i) for i in range(n)]
        write_csv(settings.landing / source / day / f"{source}_{day}.csv", rows)


def test_rerun_loads_nothing_and_reports_the_files_as_skipped(settings):
    _land_day(settings, "2024-01-01")
    first = ingest(settings)
    assert first.totals().files_new == 4 and first.rows_loaded == 20 and first.exit_code == 0
    before = (table_counts(settings), manifest(settings))

    again = ingest(settings)

    assert (table_counts(settings), manifest(settings)) == before
    assert again.rows_loaded == 0 and again.exit_code == 0
    assert {s: (v.files_new, v.files_skipped) for s, v in again.sources.items()} == {
        s: (0, 1) for s in contract.SOURCES
    }


def test_same_bytes_under_a_new_name_load_nothing(settings):
    _land_day(settings, "2024-01-01")
    ingest(settings)
    before = table_counts(settings)
    original = settings.landing / "transactions" / "2024-01-01" / "transactions_2024-01-01.csv"
    copy = settings.landing / "transactions" / "resent" / "again.csv"
    copy.parent.mkdir()
    shutil.copy(original, copy)

    report = ingest(settings)

    assert table_counts(settings) == before
    assert report.sources["transactions"].files_skipped == 2 and report.sources["transactions"].files_new == 0
    assert [f.status for f in report.files] == ["duplicate"]
    assert query(settings, "SELECT path, duplicate_of FROM raw.duplicate_files") == [
        ("transactions/resent/again.csv", "transactions/2024-01-01/transactions_2024-01-01.csv")
    ]
    assert "transactions/resent/again.csv" not in manifest(settings)
    assert ingest(settings).sources["transactions"].files_skipped == 2  # and stays skipped


def test_two_new_copies_in_one_call_load_once(settings):
    rows = [good_row("backups", i) for i in range(3)]
    write_jsonl(settings.landing / "backups" / "a.jsonl", rows)
    shutil.copy(settings.landing / "backups" / "a.jsonl", settings.landing / "backups" / "b.jsonl")
    report = ingest(settings)
    assert table_counts(settings)["backups"] == 3
    assert [(f.path, f.status) for f in report.files] == [
        ("backups/a.jsonl", "loaded"),
        ("backups/b.jsonl", "duplicate"),
    ]


def test_a_later_call_takes_only_the_new_files_and_orders_them_after(settings):
    _land_day(settings, "2024-01-01")
    ingest(settings)
    _land_day(settings, "2024-01-02")
    report = ingest(settings)
    assert report.totals().files_new == 4 and report.totals().files_skipped == 4
    assert table_counts(settings) == {s: 10 for s in contract.SOURCES}
    seqs = query(
        settings,
        "SELECT _file_path, min(_ingest_seq), max(_ingest_seq), count(DISTINCT _ingest_run_id) "
        "FROM raw.transactions GROUP BY 1 ORDER BY 2",
    )
    assert [s[0].split("/")[1] for s in seqs] == ["2024-01-01", "2024-01-02"]
    assert all(s[1] == s[2] and s[3] == 1 for s in seqs) and seqs[0][1] < seqs[1][1]
    entries = manifest(settings)
    assert sorted(e["ingest_seq"] for e in entries.values()) == list(range(1, 9))


def test_unchanged_files_are_not_hashed_again(settings, monkeypatch):
    _land_day(settings, "2024-01-01")
    ingest(settings)
    hashed = []
    real = discover.sha256_of
    monkeypatch.setattr(discover, "sha256_of", lambda path: hashed.append(path) or real(path))
    ingest(settings)
    assert hashed == []  # path, size and mtime matched the manifest
    touched = settings.landing / "backups" / "2024-01-01" / "backups_2024-01-01.csv"
    os.utime(touched, ns=(1, 1))
    report = ingest(settings)
    assert hashed == [touched]  # a changed time: hashed, found to be the same bytes, skipped
    assert report.rows_loaded == 0 and report.sources["backups"].files_skipped == 1


def test_failed_file_is_not_retried_but_its_bytes_under_an_accepted_name_are(settings):
    rows = [good_row("incidents", i) for i in range(4)]
    wrong = write_csv(settings.landing / "incidents" / "i.txt", rows)
    assert ingest(settings).exit_code == 3
    assert ingest(settings).exit_code == 0  # recorded as failed: not reported again
    wrong.rename(settings.landing / "incidents" / "i.csv")
    report = ingest(settings)
    assert report.sources["incidents"].rows_loaded == 4
    assert {p: e["status"] for p, e in manifest(settings).items()} == {
        "incidents/i.txt": "failed",
        "incidents/i.csv": "loaded",
    }


def test_mixed_formats_of_one_source(settings):
    land = settings.landing / "complaints"
    write_csv(land / "a.csv", [good_row("complaints", 1)])
    write_csv(land / "b.csv.gz", [good_row("complaints", 2)], gz=True)
    write_jsonl(land / "c.jsonl", [good_row("complaints", 3)])
    write_jsonl(land / "d.jsonl.gz", [good_row("complaints", 4)], gz=True)
    write_parquet(land / "e.parquet", [good_row("complaints", 5)], typed=True)
    ingest(settings)
    assert {e["format"] for e in manifest(settings).values()} == {"csv", "jsonl", "parquet"}
    assert query(settings, "SELECT count(DISTINCT complaint_id), count(DISTINCT opened_at) FROM raw.complaints") == [
        (5, 1)
    ]


# ---- the command line ------------------------------------------------------------------------------------------


def _cli(settings, *args: str) -> subprocess.CompletedProcess:
    return run_ingest_cli(settings, *args, lock_timeout_seconds=1)


def test_cli_summary_json_and_exit_codes(settings):
    _land_day(settings, "2024-01-01", n=3)
    done = _cli(settings, "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["sources"]["transactions"] == {
        "files_new": 1,
        "files_skipped": 0,
        "rows_in": 3,
        "rows_loaded": 3,
        "rows_quarantined": 0,
        "files_failed": 0,
    }
    write_csv(settings.landing / "transactions" / "bad.csv", [good_row("transactions", 99, amount="-1")])
    done = _cli(settings)
    assert done.returncode == 3, done.stderr
    assert "transactions" in done.stdout and "rows_quarantined" in done.stdout
    assert "1 row(s) quarantined" in done.stdout
    done = _cli(settings)
    assert done.returncode == 0 and "files_skipped" in done.stdout


def test_cli_exits_1_with_a_clear_message_when_the_landing_folder_is_missing(settings):
    shutil.rmtree(settings.landing, ignore_errors=True)
    done = _cli(settings)
    assert done.returncode == 1
    assert "landing folder" in done.stderr and "does not exist" in done.stderr


def test_a_copy_of_bytes_loaded_in_an_earlier_call_is_not_even_read(settings, monkeypatch):
    from transforms.ingest import load

    _land_day(settings, "2024-01-01")
    ingest(settings)
    original = settings.landing / "backups" / "2024-01-01" / "backups_2024-01-01.csv"
    shutil.copy(original, settings.landing / "backups" / "again.csv")
    read = []
    real = load.read_batches
    monkeypatch.setattr(load, "read_batches", lambda path, *a, **k: read.append(path.name) or real(path, *a, **k))

    report = ingest(settings)

    assert read == [] and [f.status for f in report.files] == ["duplicate"]


def test_a_file_removed_after_the_listing_is_skipped_and_the_rest_load(settings, monkeypatch):
    _land_day(settings, "2024-01-01")
    doomed = settings.landing / "complaints" / "2024-01-01" / "complaints_2024-01-01.csv"
    real = discover.sha256_of

    def vanishing(path):
        if path == doomed:
            path.unlink()
        return real(path)

    monkeypatch.setattr(discover, "sha256_of", vanishing)
    report = ingest(settings)
    assert "complaints/2024-01-01/complaints_2024-01-01.csv" not in manifest(settings)
    assert table_counts(settings) == {s: (0 if s == "complaints" else 5) for s in contract.SOURCES}
    assert report.exit_code == 0
