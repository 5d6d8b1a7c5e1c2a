"""Contract enforcement: every row rule in every format, every file rule, and the values that must load."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import hmac
import json
from decimal import Decimal

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
from transforms.ingest import BatchSizes, ingest

UTC = dt.UTC

# (source, column, bad text, rule): every row rule of the contract at least once
VIOLATIONS = [
    ("transactions", "txn_id", "", contract.RULE_REQUIRED),
    ("transactions", "customer_id", None, contract.RULE_REQUIRED),
    ("transactions", "updated_at", "2024-02-30T10:00:00", contract.RULE_TIMESTAMP),
    ("transactions", "event_at", "yesterday", contract.RULE_TIMESTAMP),
    ("transactions", "channel", "fax", contract.RULE_ENUM),
    ("transactions", "amount", "12,30", contract.RULE_DECIMAL),
    ("transactions", "amount", "1.234", contract.RULE_DECIMAL_SCALE),
    ("transactions", "amount", "-5.00", contract.RULE_NON_NEGATIVE),
    ("transactions", "new_device", "yes", contract.RULE_BOOL),
    ("complaints", "category", "Fee_Dispute", contract.RULE_ENUM),
    ("complaints", "closed_at", "2024-01-02T08:59:59+08:00", contract.RULE_TIME_ORDER),
    ("complaints", "compensated_amount", "-0.01", contract.RULE_NON_NEGATIVE),
    ("incidents", "detected_at", "2024-01-03T08:59:59+08:00", contract.RULE_TIME_ORDER),
    ("incidents", "resolved_at", "2024-01-03T00:59:59Z", contract.RULE_TIME_ORDER),
    ("incidents", "started_at", "2024-01-03T25:00:00+08:00", contract.RULE_TIMESTAMP),
    ("backups", "size_bytes", "1.5", contract.RULE_INTEGER),
    ("backups", "size_bytes", "-1", contract.RULE_NON_NEGATIVE),
    ("backups", "restore_ok", "maybe", contract.RULE_BOOL),
]

FORMATS = {
    "csv": lambda p, rows: write_csv(p.with_suffix(".csv"), rows),
    "csv.gz": lambda p, rows: write_csv(p.with_suffix(".csv.gz"), rows, gz=True),
    "jsonl": lambda p, rows: write_jsonl(p.with_suffix(".jsonl"), rows),
    "jsonl.gz": lambda p, rows: write_jsonl(p.with_suffix(".jsonl.gz"), rows, gz=True),
    "parquet": lambda p, rows: write_parquet(p.with_suffix(".parquet"), rows),
}


def _hash(raw: str) -> str:
    return hmac.new(TEST_SECRET.encode(), raw.encode(), hashlib.sha256).hexdigest()


def test_violations_cover_every_row_rule():
    assert {rule for *_, rule in VIOLATIONS} == set(contract.ROW_RULES)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_row_rule_is_quarantined_with_file_row_column_and_rule(settings, fmt):
    expected = set()
    files = {}
    for source in contract.SOURCES:
        rows = []
        for column, bad, rule in [(c, v, r) for s, c, v, r in VIOLATIONS if s == source]:
            rows.append(good_row(source, len(rows) + 1))  # a good row between bad ones
            rows.append(good_row(source, len(rows) + 1, **{column: bad}))
            expected.add((source, len(rows), column, rule))
        rows.append(good_row(source, len(rows) + 1))
        path = FORMATS[fmt](settings.landing / source / "2024-01-01" / f"{source}_2024-01-01", rows)
        files[source] = (path.relative_to(settings.landing).as_posix(), len(rows))

    report = ingest(settings)

    found = {(q["source"], q["row_number"], q["column_name"], q["rule"]) for q in quarantine(settings)}
    assert found == expected
    assert report.exit_code == 3
    counts = table_counts(settings)
    files_in_manifest = manifest(settings)
    for source, (rel, total) in files.items():
        bad = sum(1 for e in expected if e[0] == source)
        assert counts[source] == total - bad
        entry = files_in_manifest[rel]
        assert (entry["status"], entry["rows_in"], entry["rows_loaded"], entry["rows_quarantined"]) == (
            "loaded",
            total,
            total - bad,
            bad,
        )
        summary = report.sources[source]
        assert (summary.files_new, summary.rows_in, summary.rows_loaded, summary.rows_quarantined) == (
            1,
            total,
            total - bad,
            bad,
        )
    for q in quarantine(settings):
        assert q["file_path"] == files[q["source"]][0]


def test_quarantine_message_is_readable_and_lists_every_broken_rule(settings):
    rows = [
        good_row("transactions", 1),
        good_row("transactions", 2, amount="-5.00"),
        good_row("transactions", 3, channel="fax", new_device="yes"),
    ]
    write_csv(settings.landing / "transactions" / "2024-01-01" / "x.csv", rows)
    ingest(settings)
    first, second = quarantine(settings)
    assert first["message"] == (
        "transactions/2024-01-01/x.csv row 2: column amount = '-5.00' breaks non_negative (amount must be >= 0)"
    )
    assert (second["column_name"], second["rule"]) == ("channel", "enum")  # the first broken rule, column order
    assert second["message"] == (
        "transactions/2024-01-01/x.csv row 3: column channel = 'fax' breaks enum (channel must be one of web, "
        "mobile, wechat, open_api); column new_device = 'yes' breaks bool (new_device must be true/false or 1/0)"
    )


def test_raw_record_keeps_the_contract_columns_with_customer_id_replaced_by_its_hash(settings):
    row = good_row("transactions", 7, amount="-1.00", extra_note="hello")
    write_jsonl(settings.landing / "transactions" / "x.jsonl", [row])
    ingest(settings)
    (q,) = quarantine(settings)
    record = json.loads(q["raw_record"])
    assert record["customer_id"] == _hash(row["customer_id"])
    assert "extra_note" not in record  # a column outside the contract is never kept, not even in quarantine
    assert {k: v for k, v in record.items() if k != "customer_id"} == {
        k: v for k, v in row.items() if k not in ("customer_id", "extra_note")
    }


def test_values_in_every_accepted_spelling_load_as_the_right_type(settings):
    shanghai_10h = dt.datetime(2024, 1, 1, 2, 0, tzinfo=UTC)
    cases = [  # (column, text, stored value)
        ("updated_at", "2024-01-01T10:00:00", shanghai_10h),  # no offset: the bank's local zone
        ("updated_at", "2024-01-01 10:00", shanghai_10h),
        ("updated_at", "2024-01-01T02:00:00Z", shanghai_10h),
        ("updated_at", "2024-01-01T10:00:00+08:00", shanghai_10h),
        ("updated_at", "2024-01-01T07:30:00+0530", shanghai_10h),
        ("updated_at", "2023-12-31T21:00:00-05:00", shanghai_10h),
        ("updated_at", "2024-01-01T10:00:00.123456+08:00", shanghai_10h + dt.timedelta(microseconds=123456)),
        ("updated_at", "2024-01-01T10:00:00,5", shanghai_10h + dt.timedelta(milliseconds=500)),
        ("amount", "0", Decimal("0.00")),
        ("amount", ".5", Decimal("0.50")),
        ("amount", "+3.1", Decimal("3.10")),
        ("amount", "0012.34", Decimal("12.34")),
        ("amount", "9999999999999999.99", Decimal("9999999999999999.99")),
        ("amount", " 7.00 ", Decimal("7.00")),
        ("new_device", "TRUE", True),
        ("new_device", "1", True),
        ("new_device", "False", False),
        ("new_device", "0", False),
    ]
    rows = [good_row("transactions", i + 1, **{col: text}) for i, (col, text, _) in enumerate(cases)]
    # a mixed column: the fast parser takes the first value's shape, the rest go through the general one
    write_csv(settings.landing / "transactions" / "spellings.csv", rows)
    report = ingest(settings)
    assert report.exit_code == 0, quarantine(settings)
    stored = dict(
        query(
            settings,
            "SELECT _row_number, {} FROM raw.transactions".format("struct_pack(updated_at, amount, new_device)"),
        )
    )
    for i, (col, text, value) in enumerate(cases):
        assert stored[i + 1][col] == value, (col, text)


def test_backup_integers_and_nullable_columns(settings):
    rows = [
        good_row("backups", 1, size_bytes="5.0"),
        good_row("backups", 2, size_bytes=None, restore_ok=None, started_at=None, finished_at=None),
    ]
    write_csv(settings.landing / "backups" / "b.csv", rows)
    assert ingest(settings).exit_code == 0
    assert query(settings, "SELECT size_bytes, restore_ok, started_at FROM raw.backups ORDER BY _row_number") == [
        (5, True, dt.datetime(2024, 1, 3, 18, 0, 5, tzinfo=UTC)),
        (None, None, None),
    ]


def test_json_numbers_are_read_from_their_text_not_through_float(settings):
    lines = [
        '{"txn_id": "T1", "amount": 1234567890123456.78, %s}',  # 18 digits: float64 would change it
        '{"txn_id": "T2", "amount": 12.30, %s}',
        '{"txn_id": "T3", "amount": 0.1, %s}',
        '{"txn_id": "T4", "amount": 12.345, %s}',  # three decimals: decimal_scale
        '{"txn_id": "T5", "amount": 12.30000000000000001, %s}',  # float64 would round it to 12.3
        '{"txn_id": "T6", "amount": 1e3, %s}',  # not a plain decimal
        '{"txn_id": "T7", "amount": "8.80", %s}',  # a JSON string is fine too
    ]
    rest = json.dumps({k: v for k, v in good_row("transactions").items() if k not in ("txn_id", "amount")})[1:-1]
    write_jsonl(settings.landing / "transactions" / "numbers.jsonl", [line % rest for line in lines])
    ingest(settings)
    assert query(settings, "SELECT txn_id, amount FROM raw.transactions ORDER BY txn_id") == [
        ("T1", Decimal("1234567890123456.78")),
        ("T2", Decimal("12.30")),
        ("T3", Decimal("0.10")),
        ("T7", Decimal("8.80")),
    ]
    assert {(q["row_number"], q["rule"]) for q in quarantine(settings)} == {
        (4, contract.RULE_DECIMAL_SCALE),
        (5, contract.RULE_DECIMAL_SCALE),
        (6, contract.RULE_DECIMAL),
    }


def test_typed_parquet_loads_the_same_values_as_text(settings):
    rows = [good_row(s, 1) for s in contract.SOURCES]
    for source, row in zip(contract.SOURCES, rows, strict=True):
        write_parquet(settings.landing / source / "typed.parquet", [row, good_row(source, 2)], typed=True)
        write_csv(
            settings.landing / source / "text.csv",
            [
                good_row(
                    source,
                    3,
                    **{k: v for k, v in row.items() if k not in (contract.CONTRACT[source].key, "customer_id")},
                )
            ],
        )
    report = ingest(settings)
    assert report.exit_code == 0, quarantine(settings)
    for source in contract.SOURCES:
        src = contract.CONTRACT[source]
        cols = [c for c in src.column_names if c not in (src.key, "customer_id")]
        values = query(settings, f"SELECT DISTINCT {', '.join(cols)} FROM raw.{source} WHERE _row_number = 1")
        assert len(values) == 1, (source, values)  # typed row 1 == text row 1 in every non-key column


def test_typed_parquet_row_rules(settings):
    rows = [
        good_row("complaints", 1),
        good_row("complaints", 2, claimed_amount="-3.00"),
        good_row("complaints", 3, closed_at="2024-01-02 08:00:00"),
        good_row("complaints", 4, updated_at=None),
    ]
    write_parquet(settings.landing / "complaints" / "c.parquet", rows, typed=True)
    ingest(settings)
    assert [(q["row_number"], q["column_name"], q["rule"]) for q in quarantine(settings)] == [
        (2, "claimed_amount", contract.RULE_NON_NEGATIVE),
        (3, "closed_at", contract.RULE_TIME_ORDER),
        (4, "updated_at", contract.RULE_REQUIRED),
    ]


def test_extra_columns_are_dropped_and_named_with_counts_in_the_manifest(settings):
    write_csv(settings.landing / "incidents" / "i.csv", [good_row("incidents", 1, ticket="INC-9", note="")])
    ingest(settings)
    assert query(settings, "SELECT _extra FROM raw.incidents") == [(None,)]
    [(extra,)] = query(settings, "SELECT extra_columns FROM raw.ingested_files WHERE path = 'incidents/i.csv'")
    assert json.loads(extra) == [{"name": "ticket", "non_null_count": 1}, {"name": "note", "non_null_count": 0}]
    write_csv(settings.landing / "backups" / "b.csv", [good_row("backups", 1)])
    ingest(settings)
    assert query(settings, "SELECT _extra FROM raw.backups") == [(None,)]
    assert query(settings, "SELECT extra_columns FROM raw.ingested_files WHERE path = 'backups/b.csv'") == [(None,)]


def test_jsonl_row_number_is_the_line_number(settings):
    lines = [json.dumps(good_row("incidents", 1)), "", json.dumps(good_row("incidents", 2, severity="huge"))]
    write_jsonl(settings.landing / "incidents" / "i.jsonl", lines)
    ingest(settings)
    assert [(q["row_number"], q["rule"]) for q in quarantine(settings)] == [(3, contract.RULE_ENUM)]
    assert query(settings, "SELECT _row_number FROM raw.incidents") == [(1,)]


def test_batch_boundaries_do_not_change_rows(settings, tmp_path):
    rows = [
        good_row(
            "incidents",
            i,
            vendor=f'Vendor "{i}", Inc.\nsecond line' if i % 3 == 0 else None,
            severity="minor" if i % 7 else "bad",
        )
        for i in range(1, 60)
    ]
    write_csv(settings.landing / "incidents" / "i.csv", rows)
    write_csv(settings.landing / "incidents" / "i.csv.gz", rows, gz=True)
    write_jsonl(settings.landing / "incidents" / "i.jsonl", rows)
    write_parquet(settings.landing / "incidents" / "i.parquet", rows)
    small = settings.replace(warehouse=tmp_path / "small" / "w.duckdb")
    ingest(small, settings.landing, sizes=BatchSizes(rows=7, jsonl_bytes=300))  # many batches per file
    ingest(settings)  # one batch per file
    sql = "SELECT _file_path, _row_number, incident_id, vendor FROM raw.incidents ORDER BY 1, 2"
    assert query(small, sql) == query(settings, sql)
    assert len(query(settings, sql)) == 4 * (59 - 8)
    assert query(settings, "SELECT DISTINCT vendor FROM raw.incidents WHERE _row_number = 3") == [
        ('Vendor "3", Inc.\nsecond line',)
    ]
    bad = "SELECT file_path, row_number, rule FROM raw.quarantine ORDER BY ALL"
    assert query(small, bad) == query(settings, bad)
    assert len(query(settings, bad)) == 4 * 8


# ---- whole files -----------------------------------------------------------------------------------------------


def test_unreadable_files_fail_whole_with_the_reason_and_the_run_goes_on(settings):
    land = settings.landing / "transactions"
    rows = [good_row("transactions", i) for i in range(1, 30)]
    good = write_csv(land / "a_good.csv", rows)
    gz = write_csv(land / "b_truncated.csv.gz", rows, gz=True)
    gz.write_bytes(gz.read_bytes()[: gz.stat().st_size // 2])
    pq = write_parquet(land / "c_broken.parquet", rows)
    pq.write_bytes(pq.read_bytes()[:-20])
    (land / "d_unknown.xlsx").write_bytes(b"PK\x03\x04 not ours")
    write_csv(land / "e_missing.csv", [{k: v for k, v in r.items() if k != "amount"} for r in rows])
    write_jsonl(land / "f_missing.jsonl", [{k: v for k, v in r.items() if k != "status"} for r in rows])
    ragged = write_csv(land / "g_ragged.csv", rows)
    lines = ragged.read_text().splitlines()
    lines[5] += ",surplus"
    ragged.write_text("\n".join(lines) + "\n")
    write_jsonl(land / "h_broken.jsonl", [json.dumps(rows[0]), '{"txn_id": "T2", "amount": ', json.dumps(rows[2])])
    (land / "i_latin1.csv").write_bytes(good.read_bytes().replace(b"RAWCUST", b"RAWCUST\xe9"))
    write_csv(land / "j_fine.csv", rows[:3])

    report = ingest(settings)

    expected = {
        "transactions/b_truncated.csv.gz": (contract.FILE_UNREADABLE, None, "gzip"),
        "transactions/c_broken.parquet": (contract.FILE_UNREADABLE, None, "Parquet"),
        "transactions/d_unknown.xlsx": (contract.FILE_UNKNOWN_EXTENSION, None, "unknown file type"),
        "transactions/e_missing.csv": (contract.FILE_MISSING_COLUMN, "amount", "missing required column amount"),
        "transactions/f_missing.jsonl": (contract.FILE_MISSING_COLUMN, "status", "missing required column status"),
        "transactions/g_ragged.csv": (contract.FILE_UNREADABLE, None, "data row 5 has 14 fields but the header has 13"),
        "transactions/h_broken.jsonl": (contract.FILE_UNREADABLE, None, "line 2 is not valid JSON"),
        "transactions/i_latin1.csv": (contract.FILE_ENCODING, None, "UTF-8"),
    }
    failures = {q["file_path"]: q for q in quarantine(settings)}
    assert set(failures) == set(expected)
    entries = manifest(settings)
    for path, (rule, column, text) in expected.items():
        q = failures[path]
        assert (q["row_number"], q["rule"], q["column_name"], q["raw_record"]) == (None, rule, column, None)
        assert q["message"].startswith(path + ": ") and text in q["message"], q["message"]
        assert "RAWCUST" not in q["message"]  # a failure never quotes record content
        entry = entries[path]
        assert (entry["status"], entry["rows_in"], entry["rows_loaded"], entry["rows_quarantined"]) == (
            "failed",
            0,
            0,
            0,
        )
        assert entry["reason"] == q["message"]
    assert entries["transactions/a_good.csv"]["rows_loaded"] == 29
    assert entries["transactions/j_fine.csv"]["rows_loaded"] == 3
    assert table_counts(settings)["transactions"] == 32
    summary = report.sources["transactions"]
    assert (summary.files_new, summary.files_failed, summary.rows_loaded) == (10, 8, 32)
    assert report.exit_code == 3


def test_empty_files(settings):
    land = settings.landing
    (land / "incidents").mkdir(parents=True)
    (land / "incidents" / "quiet_day.jsonl").write_bytes(b"")  # no records: nothing missing, nothing loaded
    write_csv(land / "backups" / "header_only.csv", [good_row("backups")])
    (land / "backups" / "header_only.csv").write_text(",".join(good_row("backups")) + "\n")
    (land / "complaints").mkdir(parents=True)
    (land / "complaints" / "empty.csv").write_bytes(b"")  # not even a header: every column is missing
    (land / "transactions").mkdir(parents=True)
    (land / "transactions" / "empty.jsonl.gz").write_bytes(gzip.compress(b""))
    report = ingest(settings)
    entries = manifest(settings)
    assert {p: (e["status"], e["rows_in"]) for p, e in entries.items()} == {
        "transactions/empty.jsonl.gz": ("loaded", 0),
        "complaints/empty.csv": ("failed", 0),
        "incidents/quiet_day.jsonl": ("loaded", 0),
        "backups/header_only.csv": ("loaded", 0),
    }
    assert report.exit_code == 3


def test_in_progress_and_hidden_files_are_ignored(settings):
    land = settings.landing / "complaints"
    rows = [good_row("complaints")]
    for name in ("c.csv.tmp", "c.csv.part", ".c.csv", "c.jsonl.partial"):
        write_csv(land / name, rows)
    write_csv(land / ".staging" / "c.csv", rows)  # hidden folder
    write_csv(settings.landing / "elsewhere" / "c.csv", rows)  # not a source folder
    report = ingest(settings)
    assert manifest(settings) == {}
    assert report.totals().files_new == 0 and report.exit_code == 0
    (land / "c.csv.tmp").rename(land / "c.csv")  # the producer's final rename
    assert ingest(settings).sources["complaints"].rows_loaded == 1


def test_blank_values_are_missing_values_in_every_kind_of_column(settings):
    rows = [
        good_row("complaints", 1, closed_at="", first_response_at="   ", channel=" phone ", claimed_amount=" "),
        good_row("complaints", 2, updated_at="  "),  # blank in a required column: missing
        good_row("complaints", 3, resolution=""),
    ]
    write_jsonl(settings.landing / "complaints" / "blank.jsonl", rows)
    ingest(settings)
    assert query(settings, "SELECT closed_at, first_response_at, channel, claimed_amount FROM raw.complaints") == [
        (None, None, "phone", None)
    ]
    assert [(q["row_number"], q["column_name"], q["rule"]) for q in quarantine(settings)] == [
        (2, "updated_at", contract.RULE_REQUIRED),
        (3, "resolution", contract.RULE_REQUIRED),
    ]
    assert json.loads(quarantine(settings)[0]["raw_record"])["updated_at"] is None
