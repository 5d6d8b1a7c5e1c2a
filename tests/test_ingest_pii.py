"""Personal data: customer_id is an HMAC before anything is written; the raw id is nowhere in the DuckDB files."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import settings as settings_
from hypothesis import strategies as st

from tests.conftest import TEST_SECRET
from tests.test_ingest_support import good_row, quarantine, query, write_csv, write_jsonl, write_parquet
from transforms.core import contract
from transforms.ingest import ingest
from transforms.ingest.pii import Pseudonymizer

RAW_ID = re.compile(rb"RAWCUST[-A-Z0-9]*")  # every raw customer id in the ingestion tests starts so


def database_bytes(warehouse: Path) -> bytes:
    """The DuckDB file and, when present, its write-ahead log."""
    parts = [warehouse, warehouse.with_name(warehouse.name + ".wal")]
    return b"".join(p.read_bytes() for p in parts if p.exists())


def raw_ids_found(warehouse: Path) -> set[bytes]:
    return set(RAW_ID.findall(database_bytes(warehouse)))


def _hmac(raw: str) -> str:
    return hmac.new(TEST_SECRET.encode(), raw.encode(), hashlib.sha256).hexdigest()


def test_pseudonymizer_is_hmac_sha256_for_short_and_long_keys():
    values = ["C1", "  C2 ", "客户-3", "x" * 500]
    for key in (b"k", b"0" * 64, b"long" * 40, "ключ".encode()):
        for batch in (values + [None, ""], values * 5 + [None]):
            hashed = Pseudonymizer(key).hash_series(pl.Series("customer_id", batch))
            expected = [
                None if not v or not v.strip() else hmac.new(key, v.strip().encode(), hashlib.sha256).hexdigest()
                for v in batch
            ]
            assert hashed.to_list() == expected


def test_pseudonymizer_refuses_a_key_that_is_not_text():
    with pytest.raises(ValueError, match="must be text"):
        Pseudonymizer(b"\xff\xfe")
    with pytest.raises(ValueError, match="empty"):
        Pseudonymizer("")


def test_no_raw_customer_id_anywhere_in_the_database_file(settings):
    ids = {}
    land = settings.landing
    for n, (source, fmt) in enumerate(
        [(s, f) for s in ("transactions", "complaints") for f in ("csv", "jsonl", "parquet")]
    ):
        rows = [good_row(source, 100 * n + i) for i in range(6)]
        rows[2]["amount" if source == "transactions" else "claimed_amount"] = "-9.99"  # quarantined, id kept
        rows[3]["updated_at"] = "not a time"
        rows[4]["extra"] = "x"
        ids.update({r["customer_id"]: source for r in rows})
        path = land / source / f"{source}_{fmt}.{fmt}"
        {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}[fmt](path, rows)
    # whole files that fail still hold ids: they must not leak through a failure message either
    write_csv(land / "transactions" / "missing.csv", [{"customer_id": "RAWCUST-FAILED-1", "txn_id": "T"}])
    write_jsonl(land / "complaints" / "broken.jsonl", ['{"customer_id": "RAWCUST-FAILED-2", "complaint_id": '])

    report = ingest(settings)

    assert report.rows_quarantined == 12 and report.files_failed == 2
    assert raw_ids_found(settings.warehouse) == set()
    data = database_bytes(settings.warehouse)
    # the scan has teeth: at this size DuckDB stores strings uncompressed, so the hashes themselves are visible
    assert all(_hmac(raw).encode() in data for raw in ids)
    stored = {c for s in ("transactions", "complaints") for (c,) in query(settings, f"SELECT customer_id FROM raw.{s}")}
    masked = {json.loads(q["raw_record"])["customer_id"] for q in quarantine(settings) if q["raw_record"]}
    assert stored | masked == {_hmac(raw) for raw in ids}


def test_same_customer_same_hash_across_sources_files_and_batches(settings):
    from transforms.ingest import BatchSizes

    rows = [good_row("transactions", i, customer_id=f"RAWCUST-{i % 3}") for i in range(40)]
    write_csv(settings.landing / "transactions" / "a.csv", rows)
    write_jsonl(settings.landing / "complaints" / "c.jsonl", [good_row("complaints", 1, customer_id="RAWCUST-1")])
    ingest(settings, sizes=BatchSizes(rows=7, jsonl_bytes=500))
    by_customer = query(settings, "SELECT customer_id, count(*) FROM raw.transactions GROUP BY 1 ORDER BY 1")
    assert sorted(by_customer) == sorted([(_hmac(f"RAWCUST-{k}"), n) for k, n in ((0, 14), (1, 13), (2, 13))])
    assert query(settings, "SELECT customer_id FROM raw.complaints") == [(_hmac("RAWCUST-1"),)]


def test_nested_values_of_a_personal_column_are_hashed_as_json_text(settings):
    rows = [good_row("transactions", 1)]
    frame = pl.DataFrame(rows).with_columns(customer_id=pl.lit(["RAWCUST", "NESTED"]))
    path = settings.landing / "transactions" / "nested.parquet"
    path.parent.mkdir(parents=True)
    frame.write_parquet(path)
    ingest(settings)
    assert query(settings, "SELECT customer_id FROM raw.transactions") == [(_hmac('["RAWCUST","NESTED"]'),)]
    assert raw_ids_found(settings.warehouse) == set()
    assert contract.TRANSACTIONS.column("customer_id").personal


@settings_(max_examples=200, deadline=None)
@given(key=st.text(min_size=1, max_size=130), values=st.lists(st.one_of(st.none(), st.text()), max_size=30))
def test_pseudonymizer_equals_hmac_for_any_unicode_text(key, values):
    """Any text key (the secret as settings hold it), any text value: the same hex as hmac.new(...).hexdigest()."""
    series = pl.Series("customer_id", values, dtype=pl.String)
    hashed = Pseudonymizer(key).hash_series(series)
    key = key.encode()
    stripped = series.str.strip_chars().to_list()  # what counts as blank is Polars' (Unicode White_Space) rule
    expected = [hmac.new(key, v.encode(), hashlib.sha256).hexdigest() if v else None for v in stripped]
    assert hashed.to_list() == expected
    for v in values:
        if v is not None:
            assert Pseudonymizer(key).hash_text(v) == hmac.new(key, v.encode(), hashlib.sha256).hexdigest()


def test_hashed_ids_are_stored_uncompressed_and_entity_keys_with_zstd(settings):
    """The storage choices behind the ingestion speed target (see contract.PERSONAL_STORAGE) are in the tables."""
    write_csv(settings.landing / "transactions" / "t.csv", [good_row("transactions", i) for i in range(3)])
    ingest(settings)
    [(ddl,)] = query(
        settings, "SELECT sql FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name = 'transactions'"
    )
    assert "customer_id VARCHAR USING COMPRESSION Uncompressed" in ddl
    assert "txn_id VARCHAR USING COMPRESSION ZSTD" in ddl
