"""Hardening of ingestion (issue 16): no personal data through columns outside the contract, one bad file never
stops the others, ambiguous files and lines refused, implausible timestamps quarantined, clear messages, in-place
rewrites flagged.

Every test lands real files, runs the real ``ingest()`` against a real DuckDB file and reads the warehouse back.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import hmac
import json
import os
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from tests.conftest import TEST_SECRET
from tests.test_ingest_support import (
    good_row,
    manifest,
    quarantine,
    query,
    table_counts,
    write_csv,
    write_jsonl,
    write_parquet,
)
from transforms.core import contract
from transforms.ingest import ingest, load

UTC = dt.UTC


def _hash(raw: str) -> str:
    return hmac.new(TEST_SECRET.encode(), raw.encode(), hashlib.sha256).hexdigest()


def _database_bytes(settings) -> bytes:
    con = duckdb.connect(str(settings.warehouse))
    con.execute("CHECKPOINT")
    con.close()
    parts = [settings.warehouse, settings.warehouse.with_name(settings.warehouse.name + ".wal")]
    return b"".join(p.read_bytes() for p in parts if p.exists())


def _extra_columns(settings, path: str) -> list[dict] | None:
    [(text,)] = query(settings, "SELECT extra_columns FROM raw.ingested_files WHERE path = ?", [path])
    return None if text is None else json.loads(text)


def _rows_balance(settings) -> None:
    """rows in = rows loaded + rows quarantined, for every file, and the raw tables hold exactly the loaded rows."""
    entries = manifest(settings)
    for entry in entries.values():
        assert entry["rows_in"] == entry["rows_loaded"] + entry["rows_quarantined"], entry
    for source, count in table_counts(settings).items():
        assert count == sum(e["rows_loaded"] for e in entries.values() if e["source"] == source)
    bad = query(settings, "SELECT file_path, count(*) FROM raw.quarantine WHERE row_number IS NOT NULL GROUP BY 1")
    assert dict(bad) == {p: e["rows_quarantined"] for p, e in entries.items() if e["rows_quarantined"]}


# ---- personal data through columns outside the contract ----------------------------------------------------------

SECRETS = {  # distinctive values a producer put in columns the contract does not know
    "phone": "PHONE13800138000",
    "name": "NAMEZHANGSANFENG",
    "customer_ref": "CREFRAWCUST77",
}


def _with_secrets(row: dict, i: int) -> dict:
    return {**row, **{column: f"{value}{i:03d}" for column, value in SECRETS.items()}}


def test_values_of_columns_outside_the_contract_never_reach_the_database_file(settings):
    land = settings.landing / "transactions"
    rows = [_with_secrets(good_row("transactions", i), i) for i in range(1, 7)]
    rows[1]["amount"] = "-1.00"  # quarantined rows too: their raw record must not carry the extra values
    rows[2]["channel"] = "fax"
    rows[3]["phone"] = None  # a null is not counted
    write_jsonl(land / "a.jsonl", rows)
    write_csv(land / "b.csv", [{**r, "txn_id": r["txn_id"] + "B"} for r in rows])
    write_jsonl(land / "c.jsonl.gz", [{**r, "txn_id": r["txn_id"] + "C"} for r in rows], gz=True)
    write_parquet(land / "d.parquet", [{**r, "txn_id": r["txn_id"] + "D"} for r in rows])

    report = ingest(settings)

    assert report.rows_loaded == 4 * 4 and report.rows_quarantined == 4 * 2 and report.files_failed == 0
    data = _database_bytes(settings)
    for value in SECRETS.values():
        assert value.encode() not in data, value
    assert b"RAWCUST-TRA" not in data  # nor any raw customer id
    assert _hash("RAWCUST-TRA-000001").encode() in data  # the scan has teeth: stored text is visible in the bytes
    expected = [
        {"name": "phone", "non_null_count": 5},
        {"name": "name", "non_null_count": 6},
        {"name": "customer_ref", "non_null_count": 6},
    ]
    for path in ("a.jsonl", "b.csv", "c.jsonl.gz", "d.parquet"):
        assert _extra_columns(settings, f"transactions/{path}") == expected, path
    assert {r for (r,) in query(settings, "SELECT DISTINCT _extra FROM raw.transactions")} == {None}
    for q in quarantine(settings):
        assert set(json.loads(q["raw_record"])) == set(contract.TRANSACTIONS.column_names)
    result = next(f for f in report.files if f.path == "transactions/a.jsonl")
    assert json.loads(result.extra_columns) == expected  # the report says it too, for the producer
    _rows_balance(settings)


def test_extra_columns_of_a_jsonl_file_are_counted_over_all_its_batches(settings):
    from transforms.ingest import BatchSizes

    rows = [good_row("complaints", i) for i in range(1, 41)]
    for i in (3, 17, 38):
        rows[i]["phone"] = f"PHONE{i}"
    rows[39]["Notes"] = "late key"
    write_jsonl(settings.landing / "complaints" / "c.jsonl", rows)
    ingest(settings, sizes=BatchSizes(jsonl_bytes=2000))  # many batches: the keys differ from batch to batch
    assert _extra_columns(settings, "complaints/c.jsonl") == [
        {"name": "phone", "non_null_count": 3},
        {"name": "Notes", "non_null_count": 1},
    ]
    assert b"PHONE17" not in _database_bytes(settings)


@pytest.mark.parametrize(
    ("fmt", "columns", "rule", "named"),
    [
        ("jsonl", {"Customer_ID": "RAWCUST-VARIANT-1"}, contract.FILE_PERSONAL_COLUMN_VARIANT, "Customer_ID"),
        ("csv", {"customer id": "RAWCUST-VARIANT-2"}, contract.FILE_PERSONAL_COLUMN_VARIANT, "customer id"),
        ("jsonl", {"customerId": "RAWCUST-VARIANT-3"}, contract.FILE_PERSONAL_COLUMN_VARIANT, "customerId"),
        ("parquet", {"CUSTOMER-ID": "RAWCUST-VARIANT-4"}, contract.FILE_PERSONAL_COLUMN_VARIANT, "CUSTOMER-ID"),
        ("jsonl", {" customer_id ": "RAWCUST-VARIANT-5"}, contract.FILE_PERSONAL_COLUMN_VARIANT, " customer_id "),
    ],
)
def test_a_spelling_variant_of_a_personal_column_fails_the_file_whole(settings, fmt, columns, rule, named):
    land = settings.landing / "complaints"
    rows = [{**good_row("complaints", i), **columns} for i in range(1, 4)]
    writer = {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}[fmt]
    writer(land / f"v.{fmt}", rows)
    write_csv(land / "w_fine.csv", [good_row("complaints", 9)])

    report = ingest(settings)

    entries = manifest(settings)
    entry = entries[f"complaints/v.{fmt}"]
    assert (entry["status"], entry["rows_in"], entry["rows_loaded"]) == ("failed", 0, 0)
    assert entry["reason"] == (
        f"complaints/v.{fmt}: the file has column '{named}' (a variant of personal column customer_id): breaks "
        "personal_column_variant (a personal column must come once, under its contract name); the file is refused "
        "whole"
    )
    (q,) = [q for q in quarantine(settings) if q["file_path"] == f"complaints/v.{fmt}"]
    assert (q["rule"], q["column_name"], q["row_number"], q["raw_record"]) == (rule, "customer_id", None, None)
    result = next(f for f in report.files if f.path == f"complaints/v.{fmt}")
    assert (result.status, result.rule) == ("failed", rule)
    assert entries["complaints/w_fine.csv"]["rows_loaded"] == 1  # the others go on
    assert b"RAWCUST-VARIANT" not in _database_bytes(settings)


def test_a_csv_header_with_the_same_column_twice_fails_the_file(settings):
    land = settings.landing / "transactions"
    land.mkdir(parents=True)
    row = good_row("transactions", 1, customer_id="RAWCUST-DUP-1")
    header, values = ",".join(row), ",".join("" if v is None else v for v in row.values())
    repeated = {  # the header repeats a column; the repeated column holds another value
        "personal_twice.csv": (",customer_id", ",RAWCUST-DUP-2"),
        "amount_twice.csv": (",amount", ",99.00"),
        "note.csv": (",note,note", ",a,b"),
    }
    for name, (more_names, more_values) in repeated.items():
        (land / name).write_text(f"{header}{more_names}\n{values}{more_values}\n")

    ingest(settings)

    entries = manifest(settings)
    expected = {
        "transactions/personal_twice.csv": ("customer_id", "columns 4 and 14", "(a personal column)"),
        "transactions/amount_twice.csv": ("amount", "columns 7 and 14", ""),
        "transactions/note.csv": ("note", "columns 14 and 15", ""),
    }
    failures = {q["file_path"]: q for q in quarantine(settings)}
    for path, (column, where, personal) in expected.items():
        assert entries[path]["status"] == "failed" and entries[path]["rows_loaded"] == 0
        q = failures[path]
        assert (q["rule"], q["column_name"]) == (contract.FILE_DUPLICATE_COLUMN, column)
        assert q["message"] == (
            f"{path}: the header has column {column}{' ' + personal if personal else ''} twice ({where}): "
            "breaks duplicate_column (ambiguous); the file is refused whole"
        )
    assert table_counts(settings)["transactions"] == 0
    assert b"RAWCUST-DUP" not in _database_bytes(settings)


# ---- one bad file never stops the others --------------------------------------------------------------------------


def test_an_unexpected_error_reading_one_file_fails_that_file_only(settings, monkeypatch):
    land = settings.landing / "incidents"
    for name in ("a.csv", "b.csv", "c.csv"):
        write_csv(land / name, [good_row("incidents", i, incident_id=f"{name}{i}") for i in range(1, 4)])
    real = load.read_batches

    def read_batches(path, *args, **kwargs):
        if path.name == "b.csv":
            raise RuntimeError("injected failure in the reader")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(load, "read_batches", read_batches)

    report = ingest(settings)

    entries = manifest(settings)
    assert {p: (e["status"], e["rows_loaded"]) for p, e in entries.items()} == {
        "incidents/a.csv": ("loaded", 3),
        "incidents/b.csv": ("failed", 0),
        "incidents/c.csv": ("loaded", 3),
    }
    message = (
        "incidents/b.csv: internal error while reading and checking (RuntimeError: injected failure in the reader)"
    )
    assert entries["incidents/b.csv"]["reason"] == message
    (q,) = quarantine(settings)
    assert (q["file_path"], q["rule"], q["message"]) == ("incidents/b.csv", contract.FILE_INTERNAL_ERROR, message)
    assert report.files_failed == 1 and report.exit_code == 3
    assert table_counts(settings)["incidents"] == 6


def test_an_error_half_way_through_a_file_rolls_that_file_back_and_the_run_goes_on(settings, monkeypatch):
    from transforms.ingest import BatchSizes

    land = settings.landing / "backups"
    for name in ("a.csv", "b.csv", "c.csv"):
        write_csv(land / name, [good_row("backups", i, backup_id=f"{name}{i}") for i in range(1, 30)])
    real = load.check_batch
    calls = {"b.csv": 0}

    def check_batch(frame, source, timezone, file_label, *args, **kwargs):
        if file_label.endswith("b.csv"):
            calls["b.csv"] += 1
            if calls["b.csv"] == 3:  # two batches of b.csv are already inserted in its transaction
                raise KeyError("__value__size_bytes")
        return real(frame, source, timezone, file_label, *args, **kwargs)

    monkeypatch.setattr(load, "check_batch", check_batch)
    ingest(settings, sizes=BatchSizes(rows=5))
    entries = manifest(settings)
    assert {p: (e["status"], e["rows_loaded"]) for p, e in entries.items()} == {
        "backups/a.csv": ("loaded", 29),
        "backups/b.csv": ("failed", 0),
        "backups/c.csv": ("loaded", 29),
    }
    assert "internal error" in entries["backups/b.csv"]["reason"]
    assert query(settings, "SELECT count(*) FROM raw.backups WHERE _file_path = 'backups/b.csv'") == [(0,)]


@pytest.mark.parametrize("gz", [False, True])
def test_a_jsonl_file_with_one_byte_that_is_not_utf8_fails_with_the_line(settings, gz):
    land = settings.landing / "transactions"
    lines = [json.dumps(good_row("transactions", i)) for i in range(1, 6)]
    data = ("\n".join(lines) + "\n").encode().replace(b"RAWCUST-TRA-000004", b"RAWCUST-TRA-00000\xe9")
    name = "latin1.jsonl.gz" if gz else "latin1.jsonl"
    (land).mkdir(parents=True)
    (land / name).write_bytes(gzip.compress(data) if gz else data)
    write_jsonl(land / "z_fine.jsonl", [good_row("transactions", 9)])

    report = ingest(settings)

    entries = manifest(settings)
    path = f"transactions/{name}"
    assert entries[path]["status"] == "failed"
    assert entries[path]["reason"] == f"{path}: not valid UTF-8 text (line 4)"
    (q,) = quarantine(settings)
    assert (q["rule"], q["row_number"]) == (contract.FILE_ENCODING, None)
    assert entries["transactions/z_fine.jsonl"]["rows_loaded"] == 1
    assert report.files_failed == 1


def test_a_symlink_loop_under_the_landing_folder_neither_hangs_nor_crashes(settings):
    land = settings.landing / "complaints"
    write_csv(land / "2024-01-02" / "c.csv", [good_row("complaints", 1)])
    os.symlink("..", land / "2024-01-02" / "up")  # complaints/2024-01-02/up -> complaints
    os.symlink(".", land / "2024-01-02" / "self")
    os.symlink("..", land / "root")  # -> the landing root
    os.symlink("2024-01-02", land / "today")  # two ways to one folder: walked once (by its first name)
    os.symlink("loop_b", land / "loop_a")  # links that lead to each other: refused as unreadable entries
    os.symlink("loop_a", land / "loop_b")

    report = ingest(settings)

    entries = manifest(settings)
    assert {p: e["status"] for p, e in entries.items()} == {
        "complaints/2024-01-02/c.csv": "loaded",
        "complaints/loop_a": "failed",
        "complaints/loop_b": "failed",
    }
    assert entries["complaints/loop_a"]["reason"] == (
        "complaints/loop_a: cannot be read (Too many levels of symbolic links)"
    )
    assert report.sources["complaints"].rows_loaded == 1


def test_a_symlink_out_of_the_landing_folder_is_not_followed_and_is_recorded(settings, tmp_path):
    outside = tmp_path / "outside"
    write_csv(outside / "t.csv", [good_row("transactions", 1, customer_id="RAWCUST-OUTSIDE-1")])
    land = settings.landing / "transactions"
    write_csv(land / "inside.csv", [good_row("transactions", 2)])
    os.symlink(outside / "t.csv", land / "link.csv")
    os.symlink(outside, land / "folder")
    os.symlink("inside.csv", land / "same.csv")  # inside the root: followed (the same bytes: a duplicate)

    report = ingest(settings)

    entries = manifest(settings)
    assert {p: e["status"] for p, e in entries.items()} == {
        "transactions/folder": "failed",
        "transactions/inside.csv": "loaded",
        "transactions/link.csv": "failed",
    }
    failures = {q["file_path"]: q for q in quarantine(settings)}
    for path, target in (("transactions/link.csv", outside / "t.csv"), ("transactions/folder", outside)):
        assert failures[path]["rule"] == contract.FILE_SYMLINK_OUTSIDE
        assert failures[path]["message"] == (
            f"{path}: a symbolic link to {target}, which is outside the landing folder: breaks "
            "symlink_outside_landing (links are not followed out of the landing folder)"
        )
    assert query(settings, "SELECT path, duplicate_of FROM raw.duplicate_files") == [
        ("transactions/same.csv", "transactions/inside.csv")
    ]
    assert b"RAWCUST-OUTSIDE" not in _database_bytes(settings)
    assert report.files_failed == 2
    again = ingest(settings)  # recorded once: the next call skips them
    assert again.totals().files_new == 0 and again.files_failed == 0


def test_a_source_folder_that_is_a_link_out_of_the_landing_folder_is_refused(settings, tmp_path):
    outside = tmp_path / "elsewhere"
    write_csv(outside / "b.csv", [good_row("backups", 1)])
    settings.landing.mkdir(parents=True)
    os.symlink(outside, settings.landing / "backups")
    ingest(settings)
    assert {p: e["status"] for p, e in manifest(settings).items()} == {"backups": "failed"}
    (q,) = quarantine(settings)
    assert q["rule"] == contract.FILE_SYMLINK_OUTSIDE


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_columns_named_like_internal_working_columns_are_extra_columns(settings, fmt):
    internal = {
        "__value__amount": "-99",
        "__rule__amount": "required",
        "__bad__": "true",
        "__order__0": "x",
        "__row_number__": "77",
        "__duplicate_key__": "amount",
        "__not_text__": "customer_id",
        "_extra": "EXTRAVALUE",
    }
    rows = [{**good_row("transactions", i), **internal} for i in range(1, 4)]
    rows[2]["amount"] = "-1.00"
    writer = {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}[fmt]
    writer(settings.landing / "transactions" / f"t.{fmt}", rows)

    report = ingest(settings)

    assert (report.rows_loaded, report.rows_quarantined, report.files_failed) == (2, 1, 0)
    assert query(settings, "SELECT _row_number, amount, _extra FROM raw.transactions ORDER BY 1") == [
        (1, Decimal("12.30"), None),
        (2, Decimal("12.30"), None),
    ]
    (q,) = quarantine(settings)
    assert (q["row_number"], q["column_name"], q["rule"]) == (3, "amount", contract.RULE_NON_NEGATIVE)
    assert _extra_columns(settings, f"transactions/t.{fmt}") == [
        {"name": name, "non_null_count": 3} for name in internal
    ]
    assert b"EXTRAVALUE" not in _database_bytes(settings)


# ---- ambiguous JSON lines ----------------------------------------------------------------------------------------


def test_a_json_line_with_a_repeated_key_is_quarantined_whatever_else_it_holds(settings):
    base = {k: v for k, v in good_row("transactions", 1).items() if k not in ("txn_id", "amount")}
    rest = json.dumps(base)[1:-1]
    lines = [
        '{"txn_id": "T1", "amount": "1.00", %s}',  # fine
        '{"txn_id": "T2", "amount": "1.00", "amount": "2.00", %s}',  # fast reader alone would keep 1.00
        '{"txn_id": "T3", "amount": 1.001, "amount": "2.00", %s}',  # an inexact number: the exact reader
        '{"txn_id": "T4", "amount": "2.00", %s, "amount": null}',
        '{"txn_id": "T5", "amount": "1.00", "\\u0061mount": "2.00", %s}',  # the same key, escaped
        '{"txn_id": "T6", "amount": "1.00", "note": 1, "note": 2, %s}',  # a column outside the contract
        '{"txn_id": "T7", "amount": "1.00", "meta": {"amount": 5}, %s}',  # a nested key is not a repeat
        '{"txn_id": "T8", "amount": "1.00", "vendor_note": "amount", %s}',  # a value equal to a key's name
        '{"txn_id": "T9", "amount": "1.00", "txn_id": "T9", %s}',  # the same value twice is still ambiguous
    ]
    write_jsonl(settings.landing / "transactions" / "dup.jsonl", [line % rest for line in lines])

    ingest(settings)

    assert query(settings, "SELECT txn_id FROM raw.transactions ORDER BY 1") == [("T1",), ("T7",), ("T8",)]
    found = [(q["row_number"], q["column_name"], q["rule"]) for q in quarantine(settings)]
    assert found == [
        (2, "amount", contract.RULE_DUPLICATE_KEY),
        (3, "amount", contract.RULE_DUPLICATE_KEY),
        (4, "amount", contract.RULE_DUPLICATE_KEY),
        (5, "amount", contract.RULE_DUPLICATE_KEY),
        (6, "note", contract.RULE_DUPLICATE_KEY),
        (9, "txn_id", contract.RULE_DUPLICATE_KEY),
    ]
    message = quarantine(settings)[0]["message"]
    assert message == (
        "transactions/dup.jsonl row 2: key 'amount' appears more than once in the line: breaks duplicate_key "
        "(a JSON line must not repeat a key: which value counts would be ambiguous)"
    )
    _rows_balance(settings)


def test_a_customer_id_that_is_not_a_json_string_is_refused(settings):
    base = {k: v for k, v in good_row("complaints", 1).items() if k not in ("complaint_id", "customer_id")}
    rest = json.dumps(base)[1:-1]
    lines = [
        '{"complaint_id": "C1", "customer_id": "12345", %s}',  # a string of digits is fine
        '{"complaint_id": "C2", "customer_id": 12345, %s}',
        '{"complaint_id": "C3", "customer_id": true, %s}',
        '{"complaint_id": "C4", "customer_id": 1.5e3, %s}',
        '{"complaint_id": "C5", "customer_id": ["RAWCUST-LIST"], %s}',
        '{"complaint_id": "C6", "customer_id" : {"id": "RAWCUST-OBJ"}, %s}',
        '{"complaint_id": "C7", "customer_id": "RAWCUST-7", "meta": {"customer_id": 7}, %s}',  # nested: fine
        '{"complaint_id": "C8", "customer_id": null, %s}',  # missing: required
    ]
    write_jsonl(settings.landing / "complaints" / "ids.jsonl", [line % rest for line in lines])

    ingest(settings)

    assert query(settings, "SELECT complaint_id, customer_id FROM raw.complaints ORDER BY 1") == [
        ("C1", _hash("12345")),
        ("C7", _hash("RAWCUST-7")),
    ]
    assert [(q["row_number"], q["column_name"], q["rule"]) for q in quarantine(settings)] == [
        (2, "customer_id", contract.RULE_TYPE),
        (3, "customer_id", contract.RULE_TYPE),
        (4, "customer_id", contract.RULE_TYPE),
        (5, "customer_id", contract.RULE_TYPE),
        (6, "customer_id", contract.RULE_TYPE),
        (8, "customer_id", contract.RULE_REQUIRED),
    ]
    assert quarantine(settings)[0]["message"] == (
        "complaints/ids.jsonl row 2: column customer_id is not a JSON string: breaks type (customer_id must be a "
        "JSON string, not a number, boolean, list or object)"
    )
    assert b"RAWCUST-LIST" not in _database_bytes(settings)


def test_a_file_of_numeric_customer_ids_is_refused_row_by_row(settings):
    rows = [{**good_row("complaints", i), "customer_id": 1000 + i} for i in range(1, 4)]
    write_jsonl(settings.landing / "complaints" / "numbers.jsonl", rows)
    ingest(settings)
    assert table_counts(settings)["complaints"] == 0
    assert {q["rule"] for q in quarantine(settings)} == {contract.RULE_TYPE}


# ---- plausible timestamps ----------------------------------------------------------------------------------------


def test_timestamps_that_parse_but_cannot_be_real_are_quarantined(settings):
    tomorrow_plus = (dt.datetime.now(UTC) + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cases = [  # (updated_at, rule)
        ("2024-01-01T10:00:00+08:00", None),
        ("9999-12-31T23:59:59-12:00", contract.RULE_IMPLAUSIBLE_TIMESTAMP),  # year 10000 in UTC
        ("0001-01-01T00:00:00", contract.RULE_IMPLAUSIBLE_TIMESTAMP),  # 1 BC in UTC
        ("2016-12-31T23:59:60Z", contract.RULE_TIMESTAMP),  # a leap second: no stored type holds it
        ("2016-12-31 23:59:60", contract.RULE_TIMESTAMP),  # the same through the general parser
        ("2016-12-31T23:59:60.5+08:00", contract.RULE_TIMESTAMP),
        ("1999-12-31T23:59:59+08:00", contract.RULE_IMPLAUSIBLE_TIMESTAMP),  # before timestamp_min
        ("2000-01-01T00:00:00", None),  # timestamp_min itself, local time
        (tomorrow_plus, contract.RULE_IMPLAUSIBLE_TIMESTAMP),  # more than a day after ingestion
    ]
    rows = [good_row("transactions", i + 1, updated_at=text) for i, (text, _) in enumerate(cases)]
    write_csv(settings.landing / "transactions" / "times.csv", rows)
    write_jsonl(settings.landing / "transactions" / "times.jsonl", [{**r, "txn_id": r["txn_id"] + "J"} for r in rows])

    ingest(settings)

    expected = {(i + 1, rule) for i, (_, rule) in enumerate(cases) if rule}
    for path in ("transactions/times.csv", "transactions/times.jsonl"):
        found = {(q["row_number"], q["rule"]) for q in quarantine(settings) if q["file_path"] == path}
        assert found == expected, path
    stored = query(settings, "SELECT DISTINCT updated_at FROM raw.transactions ORDER BY 1")
    assert stored == [(dt.datetime(1999, 12, 31, 16, 0, tzinfo=UTC),), (dt.datetime(2024, 1, 1, 2, 0, tzinfo=UTC),)]
    q = next(q for q in quarantine(settings) if q["row_number"] == 2)
    assert q["message"].startswith(
        "transactions/times.csv row 2: column updated_at = '9999-12-31T23:59:59-12:00' breaks implausible_timestamp "
        "(updated_at must be between 1999-12-31T16:00:00Z (setting timestamp_min) and "
    )
    _rows_balance(settings)


def test_timestamp_min_is_a_setting_and_typed_parquet_is_checked_too(settings):
    strict = settings.replace(timestamp_min="2024-01-01T00:00:00+00:00")
    rows = [good_row("backups", 1), good_row("backups", 2, scheduled_at="2023-12-31T23:00:00Z")]
    write_parquet(settings.landing / "backups" / "b.parquet", rows, typed=True)
    ingest(strict)
    assert [(q["row_number"], q["column_name"], q["rule"]) for q in quarantine(settings)] == [
        (2, "scheduled_at", contract.RULE_IMPLAUSIBLE_TIMESTAMP)
    ]
    from transforms.core.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="timestamp_min"):
        load_settings(env={}, config_file=settings.warehouse.parent / "none.toml", timestamp_min="soon")


# ---- messages ----------------------------------------------------------------------------------------------------


def test_empty_utf16_and_not_gzip_files_say_what_they_are(settings):
    land = settings.landing / "transactions"
    land.mkdir(parents=True)
    good = write_csv(land / "good.csv", [good_row("transactions", 1)])
    text = good.read_text()
    (land / "empty.csv").write_bytes(b"")
    (land / "empty.csv.gz").write_bytes(gzip.compress(b""))
    (land / "utf16.csv").write_bytes(text.encode("utf-16"))
    (land / "utf16le.jsonl").write_bytes(json.dumps(good_row("transactions", 2)).encode("utf-16-le"))
    (land / "garbage.csv.gz").write_bytes(text.encode())  # not gzip at all
    (land / "garbage.jsonl.gz").write_bytes(b"\x00\x01 not gzip")
    (land / "unterminated.jsonl").write_text('{"txn_id": "T1", "amount": "1.0\n')

    ingest(settings)

    expected = {
        "empty.csv": (contract.FILE_EMPTY, "the file is empty (0 bytes: not even a header row)"),
        "empty.csv.gz": (contract.FILE_EMPTY, "the file is empty (its gzip data holds 0 bytes: not even a header row)"),
        "utf16.csv": (contract.FILE_ENCODING, "not UTF-8 text: it starts with a UTF-16 byte order mark"),
        "utf16le.jsonl": (contract.FILE_ENCODING, "not UTF-8 text: line 1 holds NUL bytes (UTF-16 or binary data?)"),
        "garbage.csv.gz": (
            contract.FILE_UNREADABLE,
            "not gzip data: the name ends in .gz but the file does not start with the gzip signature",
        ),
        "garbage.jsonl.gz": (
            contract.FILE_UNREADABLE,
            "not gzip data: the name ends in .gz but the file does not start with the gzip signature",
        ),
        "unterminated.jsonl": (
            contract.FILE_UNREADABLE,
            "line 1 is not valid JSON (Unterminated string starting at column 28)",
        ),
    }
    failures = {q["file_path"].removeprefix("transactions/"): (q["rule"], q["message"]) for q in quarantine(settings)}
    assert failures == {name: (rule, f"transactions/{name}: {text}") for name, (rule, text) in expected.items()}
    assert manifest(settings)["transactions/good.csv"]["rows_loaded"] == 1


def test_quarantined_values_are_cut_to_a_documented_length(settings):
    huge = "V" * (5 * 1024 * 1024)
    rows = [good_row("incidents", 1, vendor=huge, severity="huge"), good_row("incidents", 2, incident_id="I" * 300)]
    rows[1]["severity"] = "bad"
    write_jsonl(settings.landing / "incidents" / "big.jsonl", rows)
    ingest(settings)
    first, second = quarantine(settings)
    limit, marker = contract.QUARANTINE_VALUE_CHARS, contract.QUARANTINE_CUT_MARKER
    assert limit == 200 and marker == "...[cut]"
    assert json.loads(first["raw_record"])["vendor"] == "V" * 200 + "...[cut]"
    assert json.loads(second["raw_record"])["incident_id"] == "I" * 200 + "...[cut]"
    assert len(first["raw_record"]) < 2000 and len(first["message"]) < 1000
    assert b"V" * 1000 not in _database_bytes(settings)


# ---- in-place rewrites -------------------------------------------------------------------------------------------


def test_a_file_rewritten_in_place_is_flagged_with_both_sha256(settings):
    path = settings.landing / "complaints" / "2024-01-02" / "c.csv"
    write_csv(path, [good_row("complaints", 1)])
    ingest(settings)
    first = hashlib.sha256(path.read_bytes()).hexdigest()
    write_csv(path, [good_row("complaints", 1), good_row("complaints", 2)])  # the producer rewrites it in place
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)
    second = hashlib.sha256(path.read_bytes()).hexdigest()

    report = ingest(settings)

    rows = query(
        settings,
        "SELECT path, sha256, rewrite_of, status, rows_loaded FROM raw.ingested_files ORDER BY ingest_seq",
    )
    assert rows == [
        ("complaints/2024-01-02/c.csv", first, None, "loaded", 1),
        ("complaints/2024-01-02/c.csv", second, first, "loaded", 2),
    ]
    (result,) = report.files
    assert result.rewrite_of == first
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)  # touched, same bytes: not a rewrite
    assert ingest(settings).totals().files_new == 0
    assert query(settings, "SELECT count(*) FROM raw.ingested_files WHERE rewrite_of IS NOT NULL") == [(1,)]


def test_an_existing_manifest_gets_the_new_columns(settings):
    from transforms.ingest.tables import MANIFEST_DDL

    settings.warehouse.parent.mkdir(parents=True)
    con = duckdb.connect(str(settings.warehouse))
    con.execute("CREATE SCHEMA raw")
    old = MANIFEST_DDL.replace(
        '    extra_columns    VARCHAR,  -- JSON [{"name", "non_null_count"}] of the columns outside the contract '
        "(values dropped)\n",
        "",
    )
    old = "\n".join(line for line in old.splitlines() if not line.strip().startswith(("extra_columns", "rewrite_of")))
    con.execute(old)
    con.execute(
        "INSERT INTO raw.ingested_files VALUES ('backups', 'backups/old.csv', 'x', 1, 'csv', 0, 0, 0, 'loaded', "
        "NULL, 'r', now(), 1, 0)"
    )
    con.close()
    write_csv(settings.landing / "backups" / "b.csv", [good_row("backups", 1, extra="E")])
    ingest(settings)
    assert query(settings, "SELECT path, extra_columns FROM raw.ingested_files ORDER BY ingest_seq") == [
        ("backups/old.csv", None),
        ("backups/b.csv", '[{"name": "extra", "non_null_count": 1}]'),
    ]


def test_the_json_reader_and_the_exact_reader_agree_on_extras_with_regex_like_names(settings):
    rows = [{**good_row("backups", i), "^.*$": "R", "a|b": "S", "(x)": None} for i in range(1, 3)]
    write_jsonl(settings.landing / "backups" / "b.jsonl", rows)
    write_parquet(settings.landing / "backups" / "b.parquet", [{**r, "backup_id": r["backup_id"] + "P"} for r in rows])
    ingest(settings)
    assert table_counts(settings)["backups"] == 4
    for path in ("backups/b.jsonl", "backups/b.parquet"):
        assert _extra_columns(settings, path) == [
            {"name": "^.*$", "non_null_count": 2},
            {"name": "a|b", "non_null_count": 2},
            {"name": "(x)", "non_null_count": 0},
        ]


def test_polars_reads_the_same_frame_as_before_for_plain_files(settings):
    """The screens added to the JSON reader change nothing for ordinary lines (one fast pass, no exact re-read)."""
    rows = [good_row("transactions", i) for i in range(1, 200)]
    write_jsonl(settings.landing / "transactions" / "plain.jsonl", rows)
    ingest(settings)
    assert table_counts(settings)["transactions"] == 199 and quarantine(settings) == []
    stored = pl.DataFrame(query(settings, "SELECT txn_id, customer_id FROM raw.transactions ORDER BY 1"), orient="row")
    assert stored.row(0) == ("T000001", _hash("RAWCUST-TRA-000001"))
