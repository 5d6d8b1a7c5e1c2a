"""`riskcard explain`: the records it lists reproduce the figure the mart (and the published scorecard) shows.

One warehouse for the module, on generated data (the `stress` scenario: every source has records in the numerators):
generate -> ingest -> one dbt build of three as-of dates -> publish the last -> then a late file lands and is
ingested without a rebuild (a large password-only payment made on D, which SP1 would count), so every test also
checks that the drill-down sees the raw versions the build saw, not the ones ingested since.

Every expected figure comes from the mart rows (marts.fct_leaf_indicators) or the published rows
(published.scorecard), never from explain's code; the listed records are summed, counted or ranked here.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import math
import re
import shutil
import statistics
import subprocess
import sys
import time
from decimal import Decimal

import duckdb
import pytest

from tests.warehouse_reads import LEAN_PUBLISH, settings_in
from tests.warehouse_reads import rows as _query
from transforms.cli.main import main
from transforms.core.contract import CONTRACT
from transforms.core.settings import PROJECT_DIR
from transforms.generate import generate
from transforms.indicators.build import build
from transforms.indicators.catalogue import load_catalogue
from transforms.indicators.explain import ExplainError, NotBuilt, UnknownIndicator, explain
from transforms.ingest import ingest

pytestmark = pytest.mark.slow

SECRET = "test-secret-key-explain"
START = dt.date(2024, 3, 1)
DAYS = 31
AS_OF = START + dt.timedelta(days=DAYS - 1)
FIRST = AS_OF - dt.timedelta(days=2)  # built in the same run, not the last date
LATE_TXN = "TLATE0000000001"  # ingested after the build: SP1 would count it on AS_OF
ALL = 1_000_000  # --rows large enough to list every record


def _local(day_offset: int, clock: str) -> str:
    """A naive local timestamp (the contract's: the bank's zone) `day_offset` days from AS_OF."""
    return f"{AS_OF + dt.timedelta(days=day_offset)}T{clock}"


# Records the generator's stress scenario has none of, so that these leaves list records too: IC3, SP4, BC2 (a
# transaction each), LG1 and LG3 (a dispute each), LG5 (one incident late on both counts: contribution 2).
EXTRA = {
    "transactions": [
        dict(txn_id="TXTRA0000000001", updated_at=_local(-3, "10:01:00"), event_at=_local(-3, "10:00:00"),
             customer_id="C188888801", channel="web", txn_type="online_payment", amount="100.00", status="failed",
             failure_reason="operator_error", auth_method="sms_otp", new_device=False, risk_flag=False,
             fraud_confirmed=False),
        dict(txn_id="TXTRA0000000002", updated_at=_local(-3, "11:01:00"), event_at=_local(-3, "11:00:00"),
             customer_id="C188888802", channel="mobile", txn_type="remittance", amount="50.00", status="success",
             failure_reason=None, auth_method="password", new_device=True, risk_flag=False, fraud_confirmed=False),
        dict(txn_id="TXTRA0000000003", updated_at=_local(-3, "12:01:00"), event_at=_local(-3, "12:00:00"),
             customer_id="C188888803", channel="web", txn_type="online_payment", amount="777.77", status="success",
             failure_reason=None, auth_method="sms_otp", new_device=False, risk_flag=False, fraud_confirmed=True),
    ],
    "complaints": [
        dict(complaint_id="KXTRA0000000001", updated_at=_local(-40, "10:00:00"), opened_at=_local(-40, "09:00:00"),
             customer_id="C188888804", category="fee_dispute", channel="phone", txn_id=None, first_response_at=None,
             closed_at=None, resolution="open", claimed_amount=None, compensated_amount=None),
        dict(complaint_id="KXTRA0000000002", updated_at=_local(-3, "10:00:00"), opened_at=_local(-6, "09:00:00"),
             customer_id="C188888805", category="unauthorized_txn", channel="branch", txn_id=None,
             first_response_at=_local(-6, "10:00:00"), closed_at=_local(-3, "09:00:00"), resolution="litigation",
             claimed_amount=None, compensated_amount=None),
    ],
    "incidents": [
        dict(incident_id="IXTRA0000000001", updated_at=_local(-5, "12:00:00"), system="online_banking",
             customer_facing=True, planned=False, cause="intrusion", vendor=None, severity="critical",
             started_at=_local(-6, "02:00:00"), detected_at=_local(-6, "02:10:00"),
             escalated_at=_local(-6, "02:20:00"), resolved_at=_local(-6, "12:00:00"), regulator_reported_at=None,
             loss_event=True, review_completed_at=None, recurrence_of=None),
    ],
}  # fmt: skip


def _land(settings, source: str, name: str, records: list[dict]) -> None:
    path = settings.landing / source / AS_OF.isoformat() / f"{source}_{AS_OF}_{name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    from transforms.publishing.publish import publish

    folder = tmp_path_factory.mktemp("explain")
    settings = settings_in(folder, SECRET, **LEAN_PUBLISH)
    generate(settings.landing, START, DAYS, 8_000, seed=404, scenario="stress")
    for source, records in EXTRA.items():
        _land(settings, source, "extra", records)
    ingest(settings)
    build(settings, date_from=FIRST, date_to=AS_OF)
    published = publish(settings, AS_OF)
    assert (published.status, published.version) == ("published", 1), published
    late = dict(txn_id=LATE_TXN, updated_at=_local(0, "10:00:00"), event_at=_local(0, "09:00:00"),
                customer_id="C199999999", channel="web", txn_type="online_payment", amount="9000.00", status="success",
                failure_reason=None, auth_method="password", new_device=False, risk_flag=False,
                fraud_confirmed=False)  # fmt: skip
    _land(settings, "transactions", "late", [late])
    assert ingest(settings).rows_loaded == 1
    return settings


def _con(settings) -> duckdb.DuckDBPyConnection:
    """Read-only: any write explain tried would fail."""
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    return con


def _explain(settings, as_of, indicator_id, rows=ALL, con=None, **kwargs):
    if con is not None:
        return explain(con, settings, as_of, indicator_id, rows=rows, **kwargs)
    con = _con(settings)
    try:
        return explain(con, settings, as_of, indicator_id, rows=rows, **kwargs)
    finally:
        con.close()


def _mart(settings, as_of) -> dict[str, dict]:
    cols = ("indicator_id", "value", "numerator", "denominator", "sample_size", "status", "level")
    got = _query(settings, f"SELECT {', '.join(cols)} FROM marts.fct_leaf_indicators WHERE as_of_date = ?", [as_of])
    return {r[0]: dict(zip(cols, r, strict=True)) for r in got}


def _percentile(values: list[float], q: float) -> float:
    """Linear interpolation between order statistics (indicators.md, "Statistics")."""
    ordered = sorted(values)
    h = (len(ordered) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])


def _check_reproduces(e, expected: dict, kind: str) -> None:
    """The listed records make the expected figures: their contributions add up to the numerator (a count, an
    amount or minutes), or, for a median or percentile, they are the sample."""
    where = (e.indicator_id, e.as_of_date, expected)
    assert e.total_records == len(e.records), where  # everything listed
    assert (e.numerator, e.denominator, e.value, e.status) == tuple(
        expected[k] for k in ("numerator", "denominator", "value", "status")
    ), where
    contributions = [r["contribution"] for r in e.records]
    if kind in ("median", "percentile"):
        assert e.total_records == expected["sample_size"], where
        values = [float(c) for c in contributions if c is not None]
        if values:
            figure = statistics.median(values) if kind == "median" else _percentile(values, 0.9)
            assert figure == pytest.approx(expected["value"], rel=1e-9), where
        return
    if all(isinstance(c, int | Decimal) for c in contributions):  # counts and amounts: exactly
        assert float(sum(contributions, Decimal(0))) == expected["numerator"], where
    else:  # minutes (integer microseconds in the mart): to the last few bits
        assert math.fsum(contributions) == pytest.approx(expected["numerator"], rel=1e-12, abs=1e-9), where


@pytest.mark.parametrize("as_of", [AS_OF, FIRST])
def test_every_leaf_is_reproduced_by_the_records_it_lists(warehouse, as_of):
    mart = _mart(warehouse, as_of)
    leaves = load_catalogue(warehouse).indicators
    assert len(mart) == len(leaves) == 30
    counted = {}
    con = _con(warehouse)
    try:
        for leaf in leaves:
            e = _explain(warehouse, as_of, leaf.indicator_id, con=con)
            _check_reproduces(e, mart[leaf.indicator_id], leaf.kind)
            assert e.columns[-1] == "contribution" and e.records_are, e.indicator_id
            assert (e.kind, e.unit, e.formula, e.name_zh) == (leaf.kind, leaf.unit, leaf.kri_en, leaf.name_zh)
            counted[leaf.indicator_id] = e.total_records
    finally:
        con.close()
    # the data put records behind leaves of every source and kind (the checks above are not all of empty lists)
    listed = {i for i, n in counted.items() if n > 0}
    assert listed >= {"CO2", "CO3", "RP1", "RP2", "RP4", "SP2", "IC4", "BC5", "OS2", "OS3", "BC3", "DC2"}, as_of
    assert listed >= {"IC3", "SP4", "BC2", "LG1", "LG3", "LG5"}, as_of  # the EXTRA records
    assert set(counted) - listed <= {"SP1", "DC1", "LG2", "CO1"}, as_of  # none in these windows (LG2: all repaid)


def test_the_sources_and_kinds_asked_for(warehouse):
    """Spelled out: a count leaf (SP2), ratio leaves of each source, durations summed (OS3: minutes) and sampled
    (IC4), a percentile (RP4), an amount (CO3), and customers (CO2) and system-days (BC3) as records."""
    mart = _mart(warehouse, AS_OF)
    cases = {"SP2": "count", "LG5": "count", "CO3": "ratio", "CO2": "ratio", "RP2": "ratio", "OS3": "ratio", "BC5": "ratio",
             "DC2": "ratio", "BC3": "ratio", "IC4": "median", "RP4": "percentile"}  # fmt: skip
    for indicator_id, kind in cases.items():
        e = _explain(warehouse, AS_OF, indicator_id)
        _check_reproduces(e, mart[indicator_id], kind)
    sp2 = _explain(warehouse, AS_OF, "SP2")
    assert len(sp2.records) == mart["SP2"]["numerator"] and {r["contribution"] for r in sp2.records} == {1}
    assert all(r["cause"] == "software_defect" and r["severity"] in ("major", "critical") for r in sp2.records)
    lg5 = _explain(warehouse, AS_OF, "LG5")  # a count whose one incident is late on both counts
    assert [(r["incident_id"], r["contribution"]) for r in lg5.records] == [("IXTRA0000000001", 2)]
    assert lg5.numerator == mart["LG5"]["numerator"] == 2
    os3 = _explain(warehouse, AS_OF, "OS3")
    assert all(r["vendor"] is not None and r["contribution"] > 0 for r in os3.records)
    co2 = _explain(warehouse, AS_OF, "CO2")
    assert co2.columns[:2] == ("customer_id", "last_event_at")
    bc3 = _explain(warehouse, AS_OF, "BC3")
    assert bc3.columns[:3] == ("system", "day_end", "day")


def test_records_come_newest_first_and_rows_limits_them(warehouse):
    for indicator_id in ("CO2", "RP1", "BC5", "DC2", "BC3"):
        e = _explain(warehouse, AS_OF, indicator_id)
        key, at = e.columns[0], e.columns[1]
        order = [(r[at], r[key]) for r in e.records]
        assert len(order) > 3 and order == sorted(order, reverse=True), indicator_id
        first = _explain(warehouse, AS_OF, indicator_id, rows=3)
        assert (len(first.records), first.total_records) == (3, e.total_records)
        assert first.records == e.records[:3]
        none = _explain(warehouse, AS_OF, indicator_id, rows=0)
        assert (none.records, none.total_records, none.columns) == ([], e.total_records, e.columns)


def test_a_version_ingested_after_the_build_is_not_listed(warehouse):
    """The late payment is in raw.transactions but not in the mart (no build read it): SP1's drill-down keeps to
    the build's raw versions. Read with no high water, the same function would count it."""
    (seq,) = _query(warehouse, "SELECT _ingest_seq FROM raw.transactions WHERE txn_id = ?", [LATE_TXN])[0]
    (high_water,) = _query(warehouse, "SELECT ingest_high_water FROM ops.build_runs")[0]
    assert seq > high_water
    expected = _mart(warehouse, AS_OF)["SP1"]
    e = _explain(warehouse, AS_OF, "SP1")
    assert e.ingest_high_water == high_water
    assert e.total_records == expected["numerator"] and LATE_TXN not in {r["txn_id"] for r in e.records}
    (everything,) = _query(warehouse, "SELECT count(*) FROM drilldown.leaf_sp1(?, ?)", [AS_OF, seq])[0]
    assert everything == expected["numerator"] + 1


def test_a_published_version_is_explained_by_its_own_figures(warehouse):
    cols = "indicator_id, value, numerator, denominator, sample_size, status, level"
    published = {
        r[0]: dict(zip(cols.split(", "), r, strict=True))
        for r in _query(
            warehouse,
            f"SELECT {cols} FROM published.scorecard WHERE as_of_date = ? AND version = 1 AND row_type = 'leaf'",
            [AS_OF],
        )
    }
    assert len(published) == 30
    con = _con(warehouse)
    try:
        for leaf in load_catalogue(warehouse).indicators:
            e = _explain(warehouse, AS_OF, leaf.indicator_id, con=con, version=1)
            assert e.version == 1 and e.level == published[leaf.indicator_id]["level"]
            _check_reproduces(e, published[leaf.indicator_id], leaf.kind)
    finally:
        con.close()


def test_dates_whose_intermediate_rows_are_gone_are_explained_alike(warehouse, tmp_path):
    """The intermediate tables hold the last run's dates only: the drill-down never reads them (only the staging
    views over the raw logs, the reference seeds and the persistent fraud index)."""
    settings = settings_in(tmp_path, SECRET)
    settings.warehouse.parent.mkdir(parents=True)
    shutil.copyfile(warehouse.warehouse, settings.warehouse)
    con = duckdb.connect(str(settings.warehouse))
    try:
        kept = {"int_fraud_transaction_versions", "index_high_water"}
        relations = con.execute(
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'intermediate'"
        ).fetchall()
        assert len(relations) > len(kept)
        for name, kind in relations:
            if name not in kept:
                con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} intermediate.{name} CASCADE")
    finally:
        con.close()
    mart = _mart(settings, FIRST)
    con = _con(settings)
    try:
        for leaf in load_catalogue(settings).indicators:
            e = _explain(settings, FIRST, leaf.indicator_id, con=con)
            _check_reproduces(e, mart[leaf.indicator_id], leaf.kind)
    finally:
        con.close()


# ---- personal data ------------------------------------------------------------------------------------------------


def _raw_customer_ids(settings) -> dict[str, str]:
    """txn_id / complaint_id -> the raw customer id, from the generated landing files."""
    out = {}
    for source, key in (("transactions", "txn_id"), ("complaints", "complaint_id")):
        for path in (settings.landing / source).rglob("*.jsonl"):
            for line in path.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                out[record[key]] = record["customer_id"]
    return out


def _cli(capsys, settings, *args) -> tuple[int, str, str]:
    config = settings.warehouse_dir.parent / "riskcard.toml"
    code = main(["explain", "--config", str(config), "--warehouse", str(settings.warehouse), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_customer_ids_are_the_keyed_hashes_never_the_raw_ones(warehouse, capsys):
    raw = _raw_customer_ids(warehouse)
    raw_ids = set(raw.values())
    assert len(raw_ids) > 100 and all(re.fullmatch(r"C\d+", c) for c in raw_ids)
    digest = {c: hmac.new(SECRET.encode(), c.encode(), hashlib.sha256).hexdigest() for c in raw_ids}
    for indicator_id, key in (("CO3", "txn_id"), ("RP1", "complaint_id"), ("CO2", None)):
        for fmt in ("json", "csv", "table"):
            code, out, err = _cli(capsys, warehouse, indicator_id, "--as-of", str(AS_OF), "--rows", str(ALL),
                                  "--format", fmt)  # fmt: skip
            assert code == 0, err
            assert not [c for c in raw_ids if c in out], (indicator_id, fmt)
        e = _explain(warehouse, AS_OF, indicator_id)
        assert e.records and all(re.fullmatch(r"[0-9a-f]{64}", r["customer_id"]) for r in e.records)
        if key is not None:  # the hash of that very record's customer, with the configured key
            assert all(r["customer_id"] == digest[raw[r[key]]] for r in e.records), indicator_id
        else:
            assert {r["customer_id"] for r in e.records} <= set(digest.values())


# ---- the command line ---------------------------------------------------------------------------------------------


def test_cli_json_is_the_explanation(warehouse, capsys):
    expected = _mart(warehouse, AS_OF)["OS3"]
    code, out, err = _cli(capsys, warehouse, "os3", "--as-of", str(AS_OF), "--rows", "4", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["indicator_id"], doc["as_of_date"], doc["numerator"], doc["denominator"]) == (
        "OS3",
        str(AS_OF),
        expected["numerator"],
        expected["denominator"],
    )
    assert doc["listed_records"] == len(doc["records"]) == 4 < doc["total_records"]
    assert list(doc["records"][0]) == doc["columns"] and doc["columns"][-1] == "contribution"
    assert doc["formula"] and doc["window_start"] < doc["window_end"] and doc["build_id"]


def test_cli_csv_lists_every_record_with_its_contribution(warehouse, capsys):
    expected = _mart(warehouse, AS_OF)["DC2"]
    code, out, err = _cli(capsys, warehouse, "DC2", "--as-of", str(AS_OF), "--rows", str(ALL), "--format", "csv")
    assert code == 0, err
    records = list(csv.DictReader(io.StringIO(out)))
    assert len(records) == expected["numerator"] > 0
    assert sum(int(r["contribution"]) for r in records) == expected["numerator"]
    assert all(r["status"] != "success" for r in records)
    assert list(records[0])[:2] == ["backup_id", "scheduled_at"]


def test_cli_table_shows_the_formula_the_figures_and_the_records(warehouse, capsys):
    expected = _mart(warehouse, AS_OF)["RP2"]
    code, out, err = _cli(capsys, warehouse, "RP2", "--as-of", str(AS_OF))
    assert code == 0, err
    leaf = load_catalogue(warehouse).indicator("RP2")
    assert leaf.kri_en in out and leaf.name_zh in out
    assert f"numerator {expected['numerator']:.10g}, denominator {expected['denominator']:.10g}" in out
    assert f"listed {int(expected['numerator'])} of {int(expected['numerator'])} record(s)" in out
    assert "contributing records, newest first" in out and "complaint_id" in out


def test_an_unknown_id_names_it_and_lists_the_valid_ones(warehouse, capsys):
    code, out, err = _cli(capsys, warehouse, "XX9", "--as-of", str(AS_OF))
    assert code != 0 and out == ""
    ids = load_catalogue(warehouse).indicator_ids
    assert "'XX9'" in err and all(i in err for i in ids)
    with pytest.raises(UnknownIndicator) as exc:
        _explain(warehouse, AS_OF, "XX9")
    assert exc.value.valid_ids == ids


def test_a_date_or_version_with_nothing_built_names_it(warehouse, capsys):
    never = START + dt.timedelta(days=3)
    code, out, err = _cli(capsys, warehouse, "SP1", "--as-of", str(never))
    assert code != 0 and out == "" and str(never) in err and "riskcard build" in err
    with pytest.raises(NotBuilt, match=str(never)):
        _explain(warehouse, never, "SP1")
    with pytest.raises(NotBuilt, match=f"no published version 7 of {AS_OF}.*versions of {AS_OF}: 1"):
        _explain(warehouse, AS_OF, "SP1", version=7)
    code, _, err = _cli(capsys, warehouse, "SP1", "--as-of", str(FIRST), "--version", "1")
    assert code != 0 and f"no published version 1 of {FIRST}" in err


def test_the_cli_waits_while_a_writer_holds_the_warehouse(warehouse, capsys):
    """DuckDB keeps a reader out while another process has the file open for writing: explain says so at once with
    --wait 0, and with a longer --wait it reads as soon as the writer has closed the file (never its writer lock)."""
    code = (
        "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('open', flush=True); time.sleep(3); "
        "con.close()"
    )
    writer = subprocess.Popen([sys.executable, "-c", code, str(warehouse.warehouse)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "open"
        exit_code, out, err = _cli(capsys, warehouse, "SP2", "--as-of", str(AS_OF), "--wait", "0")
        assert exit_code == 1 and out == "" and "lock" in err
        assert not warehouse.lock_path.exists() or warehouse.lock_path.read_text() == ""  # nobody took the lock
        started = time.monotonic()
        exit_code, out, err = _cli(capsys, warehouse, "SP2", "--as-of", str(AS_OF), "--wait", "60", "--format", "csv")
        assert exit_code == 0, err
        assert writer.poll() is not None and time.monotonic() - started < 60
        assert len(list(csv.DictReader(io.StringIO(out)))) == _mart(warehouse, AS_OF)["SP2"]["numerator"]
    finally:
        writer.wait(timeout=60)


def test_the_serving_copy_is_not_where_explain_reads(warehouse):
    con = duckdb.connect(str(warehouse.serving_db), read_only=True)
    try:
        with pytest.raises(ExplainError, match="not the serving copy"):
            explain(con, warehouse, AS_OF, "SP1")
    finally:
        con.close()


def test_a_callers_session_keeps_its_time_zone(warehouse):
    """Publish passes its own connection: explain works in UTC (as dbt does) and gives the caller's zone back."""
    con = _con(warehouse)
    try:
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        e = explain(con, warehouse, AS_OF, "RP3", rows=ALL)
        assert con.execute("SELECT current_setting('TimeZone')").fetchone()[0] == "Asia/Shanghai"
    finally:
        con.close()
    assert e == _explain(warehouse, AS_OF, "RP3")


# ---- one owner ----------------------------------------------------------------------------------------------------


def test_no_leaf_rule_is_written_outside_the_record_macros():
    """The drill-down models only name the columns the record macros compute (no predicate, no limit), and the
    Python module names no column of the logs: a leaf's rule has one place, dbt_project/macros/<family>_records.sql,
    which the family models sum."""
    dbt = PROJECT_DIR / "dbt_project"
    for path in sorted((dbt / "models" / "drilldown").glob("*.sql")):
        sql = "\n".join(line.split("--", 1)[0] for line in path.read_text(encoding="utf-8").splitlines())
        for pattern in (r"guideline_limit\(", r"\bcase\s+when\b", r"\bfilter\s*\(", r"\bwhere\b", r"[<>]=?|!=|<>"):
            assert not re.search(pattern, sql, flags=re.I), (path.name, pattern)
    source = (PROJECT_DIR / "transforms" / "indicators" / "explain.py").read_text(encoding="utf-8")
    names = {c for contract in CONTRACT.values() for c in contract.column_names}
    columns = {c for c in names if "_" in c} | {"cause", "severity", "category", "channel", "resolution"}
    assert not [c for c in columns if re.search(rf"\b{c}\b", source)]
    for family in ("transaction", "complaint", "incident", "backup"):
        model = (dbt / "models" / "intermediate" / f"int_{family}_leaves.sql").read_text(encoding="utf-8")
        assert f"{family}_contributions(" in model, family
        # the rules moved from the family models into these macros: no time limit as a literal here either (the
        # guideline's limits are the var guideline_limits; tests/test_rule_owners.py checks the models)
        text = (dbt / "macros" / f"{family}_records.sql").read_text(encoding="utf-8")
        text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)
        text = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
        text = text.replace("as_of_date, interval 1 day", "")  # a date series' step, not a limit
        literals = (r"interval\s+\d+", r"[<>]=?\s*[1-9]\d*\b(?!\s*\*)", r"then\s+(?!1\s+else\s+0\b)\d+\s+else\s+\d+")
        assert [m.group(0) for pattern in literals for m in re.finditer(pattern, text)] == [], family
