"""The hashing key's fingerprint, on a real DuckDB file with the real ingest(): another key and the demo key are
refused with nothing written; `riskcard rekey` rewrites every hash so later ingests join the same customers."""

from __future__ import annotations

import hashlib
import hmac
import json

import duckdb
import pytest

from tests.conftest import TEST_SECRET
from tests.test_ingest_support import good_row, manifest, query, table_counts, write_csv, write_jsonl
from transforms.cli.main import main
from transforms.core.settings import DEMO_SECRET_KEY
from transforms.ingest import ingest
from transforms.ingest.key_identity import KeyMismatch, RekeyRefused, rekey

NEW_SECRET = "rotated-key-2025-abcdefghijkl"


def _fp(key: str) -> str:
    """The documented fingerprint, computed here with the standard library."""
    return hmac.new(key.encode(), b"riskcard-key-fingerprint-v1", hashlib.sha256).hexdigest()


def _h(key: str, raw: str) -> str:
    return hmac.new(key.encode(), raw.encode(), hashlib.sha256).hexdigest()


def _identity(settings) -> list[tuple]:
    return query(
        settings, "SELECT key_fingerprint, demo_mode, origin, previous_fingerprint FROM raw.warehouse_identity"
    )


def _txn(i: int, customer: str, **changes) -> dict:
    return good_row("transactions", i, customer_id=customer, **changes)


def _first_delivery(settings) -> None:
    """Customers A, B, C in transactions (one row of C quarantined), B and D in complaints."""
    land = settings.landing
    write_csv(
        land / "transactions" / "2024-01-01" / "t1.csv",
        [_txn(1, "RAWCUST-A"), _txn(2, "RAWCUST-B"), _txn(3, "RAWCUST-A"), _txn(4, "RAWCUST-C", amount="-1.00")],
    )
    write_jsonl(
        land / "complaints" / "2024-01-01" / "c1.jsonl",
        [good_row("complaints", 1, customer_id="RAWCUST-B"), good_row("complaints", 2, customer_id="RAWCUST-D")],
    )


def _second_delivery(settings) -> None:
    """Customers B, C (known) and E (new) in transactions."""
    write_csv(
        settings.landing / "transactions" / "2024-01-02" / "t2.csv",
        [_txn(10, "RAWCUST-B"), _txn(11, "RAWCUST-C"), _txn(12, "RAWCUST-E")],
    )


def test_the_first_ingest_records_the_key_fingerprint_never_the_key(settings):
    _first_delivery(settings)
    ingest(settings)
    assert _identity(settings) == [(_fp(TEST_SECRET), False, "first_ingest", None)]
    data = settings.warehouse.read_bytes()
    assert TEST_SECRET.encode() not in data
    ingest(settings)  # the same key again: accepted
    assert len(_identity(settings)) == 1


def test_another_key_is_refused_before_any_file_is_touched(settings, monkeypatch, capsys):
    _first_delivery(settings)
    ingest(settings)
    before_manifest, before_counts = manifest(settings), table_counts(settings)
    _second_delivery(settings)

    with pytest.raises(KeyMismatch) as caught:
        ingest(settings.replace(secret_key=NEW_SECRET))
    message = str(caught.value)
    assert _fp(NEW_SECRET)[:12] in message and _fp(TEST_SECRET)[:12] in message
    assert "riskcard rekey --old-key-env" in message and NEW_SECRET not in message
    assert manifest(settings) == before_manifest and table_counts(settings) == before_counts
    assert query(settings, "SELECT count(*) FROM raw.quarantine")[0][0] == 1  # the first delivery's one bad row

    # the command line says so and exits 2 (a configuration error), still writing nothing
    monkeypatch.setenv("RISKCARD_SECRET_KEY", NEW_SECRET)
    args = ["ingest", "--warehouse", str(settings.warehouse), "--landing", str(settings.landing)]
    assert main([*args, "--config", str(settings.warehouse.parent.parent / "riskcard.toml")]) == 2
    assert "refusing to ingest" in capsys.readouterr().err
    assert manifest(settings) == before_manifest and table_counts(settings) == before_counts


def test_the_demo_key_is_refused_in_a_warehouse_not_created_in_demo_mode(settings):
    _first_delivery(settings)
    ingest(settings)
    before_manifest, before_counts = manifest(settings), table_counts(settings)
    _second_delivery(settings)
    demo = settings.replace(secret_key=None, demo=True)
    with pytest.warns(UserWarning, match="demo key"), pytest.raises(KeyMismatch, match="not created in demo mode"):
        ingest(demo)
    assert manifest(settings) == before_manifest and table_counts(settings) == before_counts


def test_a_demo_warehouse_keeps_the_demo_key_and_refuses_a_real_one(settings):
    demo = settings.replace(secret_key=None, demo=True)
    _first_delivery(settings)
    with pytest.warns(UserWarning):
        ingest(demo)
    assert _identity(settings) == [(_fp(DEMO_SECRET_KEY), True, "first_ingest", None)]
    _second_delivery(settings)
    with pytest.raises(KeyMismatch, match="refusing to ingest"):
        ingest(settings)  # a real key on the demo warehouse: its hashes would not join
    with pytest.warns(UserWarning):
        assert ingest(demo).totals().files_new == 1


def _stored_customers(settings, table: str) -> set[str]:
    return {r[0] for r in query(settings, f"SELECT customer_id FROM raw.{table}")}


def test_rekey_rewrites_every_hash_so_later_ingests_join_the_same_customers(settings, monkeypatch, capsys):
    _first_delivery(settings)
    ingest(settings)
    (q_before,) = query(settings, "SELECT raw_record FROM raw.quarantine")
    assert _h(TEST_SECRET, "RAWCUST-C") in q_before[0]
    con = duckdb.connect(str(settings.warehouse))  # a derived table, as dbt builds them, and a view over raw
    con.execute("CREATE SCHEMA intermediate")
    con.execute("CREATE TABLE intermediate.int_customers AS SELECT DISTINCT customer_id FROM raw.complaints")
    con.execute("CREATE VIEW intermediate.v_customers AS SELECT customer_id FROM raw.transactions")
    con.close()

    monkeypatch.setenv("RISKCARD_SECRET_KEY", NEW_SECRET)
    monkeypatch.setenv("OLD_KEY", TEST_SECRET)
    config = str(settings.warehouse.parent.parent / "riskcard.toml")
    common = ["--warehouse", str(settings.warehouse), "--landing", str(settings.landing), "--config", config]
    assert main(["rekey", "--old-key-env", "OLD_KEY", *common, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["files_read"] == 2 and out["new_fingerprint"] == _fp(NEW_SECRET)[:12]
    assert out["rows_rewritten"]['"raw"."transactions".customer_id'] == 3
    assert out["rows_rewritten"]['"raw"."complaints".customer_id'] == 2
    assert out["rows_rewritten"]["raw.quarantine.raw_record"] == 1
    assert out["rows_rewritten"]['"intermediate"."int_customers".customer_id'] == 2
    assert len(out["rows_rewritten"]) == 4  # the view is not a table of its own

    assert _identity(settings) == [(_fp(NEW_SECRET), False, "rekey", _fp(TEST_SECRET))]
    assert _stored_customers(settings, "transactions") == {_h(NEW_SECRET, c) for c in ("RAWCUST-A", "RAWCUST-B")}
    assert _stored_customers(settings, "complaints") == {_h(NEW_SECRET, c) for c in ("RAWCUST-B", "RAWCUST-D")}
    derived = {r[0] for r in query(settings, "SELECT customer_id FROM intermediate.int_customers")}
    assert derived == {_h(NEW_SECRET, c) for c in ("RAWCUST-B", "RAWCUST-D")}
    (q_after,) = query(settings, "SELECT raw_record FROM raw.quarantine")
    assert json.loads(q_after[0])["customer_id"] == _h(NEW_SECRET, "RAWCUST-C")
    assert _h(TEST_SECRET, "RAWCUST-C") not in q_after[0]

    # the next delivery, ingested with the new key, joins the same customers: A, B, C, E (not 6 with B, C twice)
    _second_delivery(settings)
    rotated = settings.replace(secret_key=NEW_SECRET)
    assert ingest(rotated).totals().files_new == 1
    assert query(settings, "SELECT count(DISTINCT customer_id) FROM raw.transactions")[0][0] == 4
    assert _stored_customers(settings, "transactions") == {
        _h(NEW_SECRET, c) for c in ("RAWCUST-A", "RAWCUST-B", "RAWCUST-C", "RAWCUST-E")
    }
    both = "SELECT count(DISTINCT customer_id) FROM (SELECT customer_id FROM raw.transactions UNION ALL " \
        "SELECT customer_id FROM raw.complaints)"  # fmt: skip
    assert query(settings, both)[0][0] == 5  # A, B, C, D, E
    with pytest.raises(KeyMismatch):
        ingest(settings)  # and the old key is refused from now on


@pytest.mark.parametrize("damage", ["missing", "changed"])
def test_rekey_refuses_whole_when_a_landing_file_is_missing_or_changed(settings, damage):
    _first_delivery(settings)
    ingest(settings)
    before = {t: _stored_customers(settings, t) for t in ("transactions", "complaints")}
    complaints = settings.landing / "complaints" / "2024-01-01" / "c1.jsonl"
    if damage == "missing":
        complaints.unlink()
    else:
        complaints.write_bytes(complaints.read_bytes() + b"\n")
    with pytest.raises(RekeyRefused, match=r"complaints/2024-01-01/c1\.jsonl") as caught:
        rekey(settings.replace(secret_key=NEW_SECRET), TEST_SECRET)
    assert "nothing was changed" in str(caught.value)
    assert {t: _stored_customers(settings, t) for t in before} == before  # the transactions were not re-keyed either
    assert _identity(settings) == [(_fp(TEST_SECRET), False, "first_ingest", None)]
    assert ingest(settings).files_failed == 0  # the old key still works


def test_rekey_refuses_an_old_key_that_is_not_the_warehouses(settings):
    _first_delivery(settings)
    ingest(settings)
    with pytest.raises(RekeyRefused, match=_fp("not-the-key")[:12]):
        rekey(settings.replace(secret_key=NEW_SECRET), "not-the-key")
    assert _identity(settings)[0][0] == _fp(TEST_SECRET)
    assert _stored_customers(settings, "transactions") == {_h(TEST_SECRET, c) for c in ("RAWCUST-A", "RAWCUST-B")}


def _forget_fingerprint(settings) -> None:
    """A warehouse made before fingerprints existed: its rows, no raw.warehouse_identity."""
    con = duckdb.connect(str(settings.warehouse))
    con.execute("DROP TABLE raw.warehouse_identity")
    con.close()


def test_a_warehouse_without_fingerprint_adopts_only_the_key_that_reproduces_its_hashes(settings):
    _first_delivery(settings)
    ingest(settings)
    _forget_fingerprint(settings)
    before_manifest, before_counts = manifest(settings), table_counts(settings)
    _second_delivery(settings)

    with pytest.raises(KeyMismatch, match="does not reproduce the customer hashes"):
        ingest(settings.replace(secret_key=NEW_SECRET))
    assert manifest(settings) == before_manifest and table_counts(settings) == before_counts
    assert _identity(settings) == []

    assert ingest(settings).totals().files_new == 1  # the key that made the hashes
    assert _identity(settings) == [(_fp(TEST_SECRET), False, "adopted", None)]


def test_without_any_file_to_check_against_the_key_is_adopted_unverified(settings, caplog):
    _first_delivery(settings)
    ingest(settings)
    _forget_fingerprint(settings)
    for path in settings.landing.rglob("*.*"):
        path.unlink()
    ingest(settings)
    assert _identity(settings) == [(_fp(TEST_SECRET), False, "adopted_unverified", None)]
    assert any("unverified" in r.getMessage() for r in caplog.records)
