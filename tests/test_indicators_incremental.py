"""Window-bounded builds give the numbers of a full recomputation.

A nightly build reads only what the window of its dates needs (dbt_project/macros/run_scope.sql) and keeps one small
incremental index, the confirmed frauds that LG2 looks up from any window. These tests check that this changes no
number:

- one warehouse is fed the generated landing files batch by batch, the way production receives them, and built after
  each batch: sometimes one nightly date, sometimes a catch-up range; another gets every file at once and one
  `--full-refresh` build of the whole range. All 30 leaves agree on every date, field by field;
- late files (a fraud confirmed weeks after the transaction, a complaint's transaction from an old window confirmed
  as fraud) change exactly the leaves and dates they should, by the amounts written into them;
- a file rewritten in place (read once half-written, then whole) counts no version twice.

The landing logs are written per local day of `updated_at` (checked below), so a night that has ingested the files up
to D knows every record with `updated_at` before the end of D: its build of D must equal the full recomputation.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from tests.warehouse_reads import rows as _query
from tests.warehouse_reads import settings_in
from transforms.core.contract import SOURCES
from transforms.generate import generate
from transforms.indicators.build import build
from transforms.ingest import ingest

pytestmark = pytest.mark.slow

SECRET = "test-secret-key-incremental"
START = dt.date(2024, 1, 1)
DAYS = 70
FIRST = START + dt.timedelta(days=29)  # the first date with a whole window of data
LAST = START + dt.timedelta(days=DAYS - 1)
FIELDS = "value, numerator, denominator, sample_size, level, status, window_start, window_end"


def _day(n: int) -> dt.date:
    return FIRST + dt.timedelta(days=n)


# (ingest the day folders up to this date, then build these dates): nightly single dates and catch-up ranges
NIGHTS = [
    (_day(4), (_day(0), _day(4))),
    (_day(5), (_day(5), _day(5))),
    (_day(6), (_day(6), _day(6))),
    (_day(19), (_day(7), _day(19))),
    (LAST, (_day(20), LAST)),
]


def _settings(folder: Path):
    return settings_in(folder, SECRET)


def _leaves(settings) -> dict[tuple[dt.date, str], tuple]:
    rows = _query(settings, f"SELECT as_of_date, indicator_id, {FIELDS} FROM marts.fct_leaf_indicators")
    return {(r[0], r[1]): r[2:] for r in rows}


def _copy_days(source_landing: Path, target_landing: Path, through: dt.date) -> None:
    """Land every day folder up to `through` (inclusive) that the target does not have yet."""
    for source in SOURCES:
        for day_folder in sorted((source_landing / source).iterdir()):
            if dt.date.fromisoformat(day_folder.name) <= through:
                target = target_landing / source / day_folder.name
                if not target.exists():
                    shutil.copytree(day_folder, target)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    landing = tmp_path_factory.mktemp("generated") / "landing"
    generate(landing, START, DAYS, 60_000, seed=1107, scenario="baseline")
    return landing


@pytest.fixture(scope="module")
def full(generated, tmp_path_factory):
    """Every file at once, then one --full-refresh build of the whole range."""
    settings = _settings(tmp_path_factory.mktemp("full"))
    _copy_days(generated, settings.landing, LAST)
    ingest(settings)
    build(settings, date_from=FIRST, date_to=LAST, full_refresh=True)
    return settings


@pytest.fixture(scope="module")
def nightly(generated, tmp_path_factory):
    """The files batch by batch as they would arrive, each batch followed by an incremental build."""
    settings = _settings(tmp_path_factory.mktemp("nightly"))
    for through, (date_from, date_to) in NIGHTS:
        _copy_days(generated, settings.landing, through)
        ingest(settings)
        build(settings, date_from=date_from, date_to=date_to)
    return settings


def test_landing_files_hold_the_records_of_their_own_day(full):
    # the premise of the comparison: a night that ingested the folders up to D knows all of D
    misplaced = _query(
        full,
        " UNION ALL ".join(
            f"SELECT '{s}', count(*) FROM raw.{s} WHERE CAST(timezone('Asia/Shanghai', updated_at) AS DATE)::VARCHAR"
            f" <> regexp_extract(_file_path, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}')"
            for s in SOURCES
        ),
    )
    assert all(n == 0 for _, n in misplaced), misplaced


def test_nightly_builds_equal_one_full_recomputation_on_every_date(nightly, full):
    expected, got = _leaves(full), _leaves(nightly)
    dates = (LAST - FIRST).days + 1
    assert len(expected) == dates * 30
    assert got.keys() == expected.keys()
    differences = {key: (got[key], expected[key]) for key in expected if got[key] != expected[key]}
    assert not differences, f"{len(differences)} leaf rows differ, e.g. {sorted(differences.items())[:3]}"
    # the comparison means something: most leaves have data, and the cases that reach outside the window occur
    statuses = [row[5] for row in expected.values()]
    assert statuses.count("ok") > 0.9 * len(statuses)
    assert any(row[2] for (_, leaf), row in expected.items() if leaf == "LG2"), "no LG2 claim on confirmed fraud"
    assert any(row[2] for (_, leaf), row in expected.items() if leaf == "BC2"), "no confirmed fraud"


def test_the_fraud_index_built_night_by_night_equals_the_one_built_at_once(nightly, full):
    sql = (
        "SELECT txn_id, updated_at, fraud_confirmed, count(*) FROM intermediate.int_fraud_transaction_versions "
        "GROUP BY ALL ORDER BY ALL"
    )
    expected = _query(full, sql)
    assert expected, "the generated logs confirm no fraud: the index is not exercised"
    assert _query(nightly, sql) == expected
    (high_water,) = _query(nightly, "SELECT ingest_seq FROM intermediate.index_high_water")
    assert high_water == _query(nightly, "SELECT max(_ingest_seq) FROM raw.transactions")[0]


def _landing_record(landing: Path, source: str, key: str, value: str) -> dict:
    for path in sorted((landing / source).rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record[key] == value:
                return record
    raise AssertionError(f"{source} {key}={value} is not in {landing}")


def _write_jsonl(landing: Path, source: str, day: dt.date, name: str, records: list[dict]) -> None:
    folder = landing / source / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def _one_version_transaction(settings, event_day: dt.date) -> tuple[str, Decimal]:
    """A successful, unflagged, never-confirmed transaction made on `event_day` with a single version, named by no
    complaint."""
    rows = _query(
        settings,
        """
        SELECT txn_id, amount FROM raw.transactions AS t
        WHERE CAST(timezone('Asia/Shanghai', event_at) AS DATE) = ?
          AND status = 'success' AND NOT risk_flag AND NOT fraud_confirmed AND amount > 100
          AND (SELECT count(*) FROM raw.transactions AS u WHERE u.txn_id = t.txn_id) = 1
          AND txn_id NOT IN (SELECT txn_id FROM raw.complaints WHERE txn_id IS NOT NULL)
        ORDER BY txn_id LIMIT 1
        """,
        [event_day],
    )
    assert rows, f"no plain transaction on {event_day}"
    return rows[0][0], rows[0][1]


def test_late_files_change_exactly_the_leaves_and_dates_they_should(full, generated, tmp_path):
    settings = _settings(tmp_path)
    settings.warehouse.parent.mkdir(parents=True)
    shutil.copy(full.warehouse, settings.warehouse)
    shutil.copytree(full.landing, settings.landing)

    # a transaction of Feb 5 confirmed as fraud on Feb 20: in the windows of Feb 5 .. Mar 5, known from Feb 20
    recent_id, recent_amount = _one_version_transaction(settings, dt.date(2024, 2, 5))
    # a transaction of Jan 2, in no window from Feb 1 on, named by a complaint opened Feb 15 (closed Feb 18, 1000
    # claimed, 400 paid) and confirmed as fraud on Feb 25: LG2 counts the claim from Feb 25, while the complaint
    # is in the window (until Mar 15, after the last date)
    old_id, _ = _one_version_transaction(settings, dt.date(2024, 1, 2))
    complaint = {
        "complaint_id": "CMP-LATE-1",
        "updated_at": "2024-02-18T12:00:00+08:00",
        "opened_at": "2024-02-15T10:00:00+08:00",
        "customer_id": "C-LATE-1",
        "category": "unauthorized_txn",
        "channel": "phone",
        "txn_id": old_id,
        "first_response_at": "2024-02-15T12:00:00+08:00",
        "closed_at": "2024-02-18T12:00:00+08:00",
        "resolution": "compensated",
        "claimed_amount": "1000.00",
        "compensated_amount": "400.00",
    }
    _write_jsonl(settings.landing, "complaints", dt.date(2024, 2, 18), "late_complaint.jsonl", [complaint])
    ingest(settings)
    build(settings, date_from=FIRST, date_to=LAST)
    before = _leaves(settings)

    confirmations = []
    for txn_id, updated_at in ((recent_id, "2024-02-20T10:00:00+08:00"), (old_id, "2024-02-25T10:00:00+08:00")):
        record = _landing_record(generated, "transactions", "txn_id", txn_id)
        confirmations.append({**record, "updated_at": updated_at, "fraud_confirmed": True})
    _write_jsonl(settings.landing, "transactions", dt.date(2024, 2, 25), "late_fraud.jsonl", confirmations)
    ingest(settings)
    build(settings, date_from=FIRST, date_to=LAST)  # incremental: the index learns of both confirmations
    after = _leaves(settings)

    def dates(first: str, last: str) -> set[dt.date]:
        d, end, out = dt.date.fromisoformat(first), dt.date.fromisoformat(last), set()
        while d <= end:
            out.add(d)
            d += dt.timedelta(days=1)
        return out

    expected_changes = {(d, leaf) for d in dates("2024-02-20", "2024-03-05") for leaf in ("BC2", "CO3")}
    expected_changes |= {(d, "LG2") for d in dates("2024-02-25", "2024-03-10")}
    changed = {key for key in before if before[key] != after[key]}
    assert changed == expected_changes

    def delta(key: tuple, field: int) -> Decimal:
        return round(Decimal(after[key][field] or 0) - Decimal(before[key][field] or 0), 2)

    for d, leaf in sorted(expected_changes):
        if leaf == "BC2":  # unflagged confirmed fraud / confirmed fraud, amounts
            assert (delta((d, leaf), 1), delta((d, leaf), 2)) == (recent_amount, recent_amount)
        elif leaf == "CO3":  # confirmed fraud amount / successful amount
            assert (delta((d, leaf), 1), delta((d, leaf), 2)) == (recent_amount, 0)
        else:  # LG2: claimed - compensated / claimed
            assert (delta((d, leaf), 1), delta((d, leaf), 2)) == (Decimal("600.00"), Decimal("1000.00"))


def test_a_file_rewritten_in_place_counts_no_version_twice(full, generated, tmp_path):
    """The producer wrote a day file in place: the first ingest read its first half, the next the whole file."""
    settings = _settings(tmp_path)
    _copy_days(generated, settings.landing, LAST)
    rewritten = next((settings.landing / "transactions" / _day(10).isoformat()).glob("*.jsonl"))
    whole = rewritten.read_text(encoding="utf-8").splitlines(keepends=True)
    rewritten.write_text("".join(whole[: len(whole) // 2]), encoding="utf-8")
    ingest(settings)
    rewritten.write_text("".join(whole), encoding="utf-8")
    ingest(settings)
    doubled = _query(settings, "SELECT count(*) - count(DISTINCT (txn_id, updated_at)) FROM raw.transactions")[0][0]
    assert doubled == len(whole) // 2  # the raw log keeps both reads: the first half is there twice

    build(settings, date_from=FIRST, date_to=LAST, full_refresh=True)
    assert _leaves(settings) == _leaves(full)
