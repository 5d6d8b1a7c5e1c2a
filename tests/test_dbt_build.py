"""The dbt project on generated, ingested data: `dbt build` with every unit test green, levels that follow the
catalogue, transaction leaves equal to a naive per-date recomputation, the paper-2018 scenario's fraud ramp,
point-in-time state, and the incremental replace of one as-of date.

One warehouse is built once for the module (generate -> ingest -> build of 92 as-of dates with unit tests); the
tests that change data work on copies of it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.warehouse_reads import rows as _query
from tests.warehouse_reads import settings_in
from transforms.cli.main import main
from transforms.core.contract import SOURCES
from transforms.core.settings import PROJECT_DIR
from transforms.generate import generate
from transforms.indicators.build import BuildFailed, build
from transforms.indicators.dbt_runner import dbt_work_dir
from transforms.indicators.readers import INDICATOR_KEYS, read_indicators
from transforms.ingest import ingest

pytestmark = pytest.mark.slow

SECRET = "test-secret-key-dbt"
START = dt.date(2018, 8, 1)  # paper-2018: the ramp runs Aug..Nov 2018
DAYS = 122
MONTH_ENDS = [dt.date(2018, 8, 31), dt.date(2018, 9, 30), dt.date(2018, 10, 31), dt.date(2018, 11, 30)]
FIRST, LAST = MONTH_ENDS[0], MONTH_ENDS[-1]


def _settings(folder: Path):
    return settings_in(folder, SECRET)


def _leaves(settings, as_of: dt.date) -> dict[str, tuple]:
    rows = _query(
        settings,
        "SELECT indicator_id, value, numerator, denominator, sample_size, level, status "
        "FROM marts.fct_leaf_indicators WHERE as_of_date = ?",
        [as_of],
    )
    return {r[0]: r[1:] for r in rows}


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    """Four months of paper-2018 logs, ingested and built for every as-of date from Aug 31 to Nov 30."""
    folder = tmp_path_factory.mktemp("dbt_paper")
    settings = _settings(folder)
    generate(settings.landing, START, DAYS, 250_000, seed=2018, scenario="paper-2018")
    report = ingest(settings)
    assert report.rows_loaded > 250_000
    result = build(settings, date_from=FIRST, date_to=LAST, unit_tests=True)
    return settings, result


@pytest.fixture
def paper_copy(paper, tmp_path):
    """A private copy of the built warehouse, for tests that change raw data."""
    settings = _settings(tmp_path)
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(paper[0].warehouse, settings.warehouse)
    return settings


def test_build_runs_every_model_data_test_and_unit_test_green(paper):
    settings, result = paper
    assert result.dates == 92 and result.rows_written == 92 * 30
    kinds: dict[str, int] = {}
    for node in result.nodes:
        kinds[node.resource_type] = kinds.get(node.resource_type, 0) + 1
        assert not node.failed, f"{node.unique_id}: {node.message}"
    assert kinds.get("seed") == 4 and kinds.get("model", 0) >= 20 and kinds.get("test", 0) >= 40
    # every leaf of the catalogue has at least one dbt unit test named after it
    unit_tests = {n.name.rsplit(".", 1)[-1] for n in result.nodes if n.resource_type == "unit_test"}
    with (PROJECT_DIR / "seeds" / "indicators.csv").open(encoding="utf-8") as fh:
        ids = [row["indicator_id"] for row in csv.DictReader(fh)]
    assert len(ids) == 30
    untested = [i for i in ids if not any(name.startswith(i.lower() + "_") for name in unit_tests)]
    assert not untested, f"leaves without a dbt unit test: {untested}"
    assert set(_query(settings, "SELECT DISTINCT table_schema FROM information_schema.tables")) >= {
        ("raw",),
        ("reference",),
        ("staging",),
        ("intermediate",),
        ("marts",),
    }
    assert (dbt_work_dir(settings) / "logs" / "dbt.log").exists()  # dbt's log beside the warehouse


def test_no_duckdb_handle_left_open_after_build(paper):
    settings, _ = paper
    code = f"import duckdb; duckdb.connect({str(settings.warehouse)!r}).execute('CREATE TABLE lock_probe(x INT)')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


# indicators.md "Level": the five steps, lowest first (written out here, not read from the code)
SCALE = (0.2, 0.4, 0.6, 0.8, 1.0)


def test_every_level_follows_the_catalogue_thresholds(paper):
    """Every built level, checked as properties of the thresholds rather than by recomputing the model's rule: for
    each k, the level is at most the k-th step exactly when the value is at most t_k (together: the level is the
    step numbered by how many thresholds the value exceeds); no_events is the lowest step, no_data has none."""
    settings, _ = paper
    with (PROJECT_DIR / "seeds" / "indicators.csv").open(encoding="utf-8") as fh:
        thresholds = {r["indicator_id"]: [float(r[f"t{k}"]) for k in range(1, 5)] for r in csv.DictReader(fh)}
    rows = _query(settings, "SELECT as_of_date, indicator_id, value, level, status FROM marts.fct_leaf_indicators")
    assert len(rows) == 92 * 30
    for as_of, indicator, value, level, status in rows:
        where = (as_of, indicator, value, level, status)
        assert status in ("ok", "no_events", "no_data"), where
        if status == "no_data":
            assert level is None, where
        elif status == "no_events":
            assert value is None and level == SCALE[0], where
        else:
            assert value is not None and level in SCALE, where
            for step, limit in zip(SCALE[:-1], thresholds[indicator], strict=True):
                assert (value <= limit) == (level <= step), (*where, limit, step)
    seen = {r[3] for r in rows if r[4] == "ok"}
    assert {SCALE[0], SCALE[-1]} <= seen, seen  # both ends of the scale occur in the four months


def test_the_built_project_takes_the_scale_from_its_var(paper, tmp_path):
    """The compiled accepted_values test on fct_leaf_indicators.level and the model's levels are the scale of
    transforms/scoring/levels.py (through the dbt var likelihood_levels). A build writes no manifest: compile."""
    from transforms.indicators.dbt_runner import run_dbt
    from transforms.scoring.levels import LEVELS

    settings, _ = paper
    select = ["--select", "fct_leaf_indicators", "fct_leaf_indicators,test_name:accepted_values"]
    result = run_dbt(settings, ["compile", *select], work_dir=tmp_path / "dbt")
    assert result.success, result.exception
    manifest = json.loads((tmp_path / "dbt" / "target" / "manifest.json").read_text(encoding="utf-8"))
    (accepted,) = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test"
        and n.get("test_metadata", {}).get("name") == "accepted_values"
        and n["test_metadata"]["kwargs"].get("column_name") == "level"
        and n["attached_node"] == "model.riskcard.fct_leaf_indicators"
    ]
    compiled = accepted["compiled_code"]
    listed = compiled[compiled.index("not in (") + len("not in (") : compiled.index(")", compiled.index("not in ("))]
    assert tuple(float(x) for x in listed.split(",")) == LEVELS
    (model,) = [n for n in manifest["nodes"].values() if n["name"] == "fct_leaf_indicators"]
    steps = [float(x) for x in re.findall(r"when value <= t\d then ([0-9.]+)", model["compiled_code"])]
    assert steps == list(LEVELS[:-1]) and f"else {LEVELS[-1]}" in model["compiled_code"]
    levels = {r[0] for r in _query(settings, "SELECT DISTINCT level FROM marts.fct_leaf_indicators")} - {None}
    assert levels <= set(LEVELS)


def test_paper_2018_fraud_ramp_raises_co3_and_bc2_month_over_month(paper):
    settings, _ = paper
    co3 = [_leaves(settings, d)["CO3"][0] for d in MONTH_ENDS]
    bc2 = [_leaves(settings, d)["BC2"][0] for d in MONTH_ENDS]
    assert all(a < b for a, b in zip(co3, co3[1:], strict=False)), co3
    assert all(a < b for a, b in zip(bc2, bc2[1:], strict=False)), bc2
    # the ramp ends high: the levels say so too
    assert _leaves(settings, LAST)["CO3"][4] == 1.0


# A per-date recomputation of the transaction leaves straight from the raw change log: for each date, the newest
# version with updated_at before the end of the date, kept when its event falls in the window. The dbt models get
# the same numbers from one pass over the log (ranges of as-of dates per version); this checks they agree.
NAIVE_TRANSACTION_LEAVES = """
WITH dates AS (
    SELECT d AS as_of_date,
           timezone('Asia/Shanghai', CAST(d - 29 AS TIMESTAMP)) AS window_start,
           timezone('Asia/Shanghai', CAST(d + 1 AS TIMESTAMP)) AS window_end
    FROM (SELECT unnest(?::DATE[]) AS d)
),
states AS (
    SELECT dates.*, t.*,
           row_number() OVER (PARTITION BY dates.as_of_date, t.txn_id
                              ORDER BY t.updated_at DESC, t._ingest_seq DESC, t._row_number DESC) AS newest
    FROM dates JOIN raw.transactions AS t ON t.updated_at < dates.window_end
),
in_window AS (
    SELECT * FROM states WHERE newest = 1 AND event_at >= window_start AND event_at < window_end
)
SELECT as_of_date,
       count(*) FILTER (WHERE status = 'success' AND amount >= 5000 AND auth_method = 'password'),
       count(*) FILTER (WHERE status = 'success' AND amount >= 5000),
       count(*) FILTER (WHERE new_device AND auth_method = 'password'),
       count(*) FILTER (WHERE new_device),
       count(*) FILTER (WHERE failure_reason = 'operator_error'),
       count(*),
       coalesce(sum(amount) FILTER (WHERE fraud_confirmed AND NOT risk_flag), 0),
       coalesce(sum(amount) FILTER (WHERE fraud_confirmed), 0),
       coalesce(sum(amount) FILTER (WHERE status = 'success'), 0),
       count(DISTINCT customer_id),
       count(DISTINCT customer_id) - count(DISTINCT customer_id) FILTER (WHERE auth_method <> 'password')
FROM in_window GROUP BY as_of_date ORDER BY as_of_date
"""
LEAF_ORDER = [
    ("SP1", 1),
    ("SP1", 2),
    ("SP4", 1),
    ("SP4", 2),
    ("IC3", 1),
    ("IC3", 2),
    ("BC2", 1),
    ("BC2", 2),
    ("CO3", 2),
    ("CO2", 2),
    ("CO2", 1),
]  # (leaf, 1 = numerator / 2 = denominator) per naive column


def test_transaction_leaves_equal_a_naive_per_date_recomputation(paper):
    settings, _ = paper
    dates = [FIRST, dt.date(2018, 9, 1), dt.date(2018, 10, 14), dt.date(2018, 10, 31), LAST]
    naive = _query(settings, NAIVE_TRANSACTION_LEAVES, [dates])
    assert [r[0] for r in naive] == dates
    versions = _query(settings, "SELECT count(*) FROM raw.transactions")[0][0]
    entities = _query(settings, "SELECT count(DISTINCT txn_id) FROM raw.transactions")[0][0]
    assert versions > entities, "the generated log should hold later versions (fraud confirmations, reversals)"
    for row in naive:
        leaves = _leaves(settings, row[0])
        got = [leaves[leaf][idx] for leaf, idx in LEAF_ORDER]
        assert got == pytest.approx([float(x) for x in row[1:]], rel=1e-12), row[0]


def test_a_later_update_does_not_leak_into_an_earlier_date_and_rebuilding_replaces_only_that_date(paper_copy):
    settings = paper_copy
    d1, d2 = dt.date(2018, 10, 31), dt.date(2018, 11, 5)
    before = {d: _leaves(settings, d) for d in (d1, d2)}
    others_before = _query(
        settings,
        "SELECT * FROM marts.fct_leaf_indicators WHERE as_of_date NOT IN (?, ?) ORDER BY as_of_date, indicator_id",
        [d1, d2],
    )
    # a transaction made on Oct 30 (in both windows), not fraud, is confirmed as fraud on Nov 3 (after d1)
    txn_id, amount = _query(
        settings,
        """
        SELECT txn_id, amount FROM raw.transactions
        WHERE timezone('Asia/Shanghai', event_at)::DATE = DATE '2018-10-30' AND status = 'success' AND amount > 0
        QUALIFY count(*) OVER (PARTITION BY txn_id) = 1 AND NOT fraud_confirmed
        ORDER BY txn_id LIMIT 1""",
    )[0]
    con = duckdb.connect(str(settings.warehouse))
    try:
        seq = con.execute("SELECT max(_ingest_seq) + 1 FROM raw.transactions").fetchone()[0]
        con.execute(
            """
            INSERT INTO raw.transactions
            SELECT * REPLACE (TIMESTAMPTZ '2018-11-03 10:00:00+08' AS updated_at, true AS fraud_confirmed,
                              false AS risk_flag, ? AS _ingest_seq, 1 AS _row_number)
            FROM raw.transactions WHERE txn_id = ?""",
            [seq, txn_id],
        )
        # and a transaction made on Oct 31, stamped on Oct 31 but ingested only now: it was knowable on d1
        con.execute(
            """
            INSERT INTO raw.transactions
            SELECT * REPLACE ('LATE-' || txn_id AS txn_id, TIMESTAMPTZ '2018-10-31 23:59:00+08' AS updated_at,
                              TIMESTAMPTZ '2018-10-31 23:58:00+08' AS event_at, ? AS _ingest_seq, 2 AS _row_number)
            FROM raw.transactions WHERE txn_id = ? AND NOT fraud_confirmed""",
            [seq, txn_id],
        )
    finally:
        con.close()

    build(settings, as_of=d1)
    after_d1 = _leaves(settings, d1)
    assert after_d1["BC2"] == before[d1]["BC2"] and after_d1["CO3"][1] == before[d1]["CO3"][1]  # no leak
    assert after_d1["IC3"][2] == before[d1]["IC3"][2] + 1  # the late arrival counts on its own date
    assert _leaves(settings, d2) == before[d2]  # not rebuilt yet: untouched

    code = main(
        [
            "build",
            "--as-of",
            d2.isoformat(),
            "--warehouse",
            str(settings.warehouse),
            "--config",
            str(settings.warehouse.parent.parent / "riskcard.toml"),
        ]
    )
    assert code == 0
    after_d2 = _leaves(settings, d2)
    assert after_d2["BC2"][2] == pytest.approx(before[d2]["BC2"][2] + float(amount))  # fraud amount
    assert after_d2["BC2"][1] == pytest.approx(before[d2]["BC2"][1] + float(amount))  # not flagged
    assert after_d2["CO3"][1] == pytest.approx(before[d2]["CO3"][1] + float(amount))
    assert len(after_d2) == 30
    others_after = _query(
        settings,
        "SELECT * FROM marts.fct_leaf_indicators WHERE as_of_date NOT IN (?, ?) ORDER BY as_of_date, indicator_id",
        [d1, d2],
    )
    assert others_after == others_before


def test_a_threshold_changed_in_the_catalogue_applies_to_the_dates_rebuilt(paper_copy, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(
        PROJECT_DIR / "dbt_project", project / "dbt_project", ignore=shutil.ignore_patterns("target", "logs")
    )
    shutil.copytree(PROJECT_DIR / "seeds", project / "seeds")
    catalogue = project / "seeds" / "indicators.csv"
    with catalogue.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        if row["indicator_id"] == "CO3":
            row.update(t1="100", t2="200", t3="300", t4="400")
    with catalogue.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    settings = paper_copy.replace(project_dir=project)
    before = _leaves(settings, MONTH_ENDS[2])["CO3"]
    assert _leaves(settings, LAST)["CO3"][4] == 1.0 and before[4] == 1.0

    build(settings, as_of=LAST)
    assert _leaves(settings, LAST)["CO3"][4] == 0.2  # the new thresholds
    assert _leaves(settings, MONTH_ENDS[2])["CO3"] == before  # not rebuilt: still as built


def test_cli_indicators_json_csv_and_table(paper, capsys):
    settings, _ = paper
    args = [
        "indicators",
        "--as-of",
        LAST.isoformat(),
        "--warehouse",
        str(settings.warehouse),
        "--config",
        str(settings.warehouse.parent.parent / "riskcard.toml"),
    ]
    assert main([*args, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 30 and all(list(r) == list(INDICATOR_KEYS) for r in rows)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        stored = read_indicators(con, LAST)
    finally:
        con.close()
    assert [r["indicator_id"] for r in rows] == [r["indicator_id"] for r in stored]
    assert rows[0]["indicator_id"] == "SP1" and rows[-1]["indicator_id"] == "CO3"  # catalogue order
    assert {r["indicator_id"]: r["level"] for r in rows} == {r["indicator_id"]: r["level"] for r in stored}
    assert stored[0]["window_end"] - stored[0]["window_start"] == dt.timedelta(days=30)

    assert main([*args, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ",".join(INDICATOR_KEYS) and len(lines) == 31

    assert main([*args, "--format", "table"]) == 0
    out = capsys.readouterr().out
    assert "CO3" in out and "status" in out

    assert main(["indicators", "--as-of", "2017-01-01", *args[3:]]) == 1
    assert "riskcard build --as-of 2017-01-01" in capsys.readouterr().err


def test_a_failing_data_test_raises_build_failed_naming_the_node(paper_copy):
    settings = paper_copy
    con = duckdb.connect(str(settings.warehouse))
    try:  # a complaint without its key breaks the source's not_null test
        con.execute("INSERT INTO raw.complaints SELECT * REPLACE (NULL AS complaint_id) FROM raw.complaints LIMIT 1")
    finally:
        con.close()
    with pytest.raises(BuildFailed) as err:
        build(settings, as_of=LAST)
    assert [f.short_name for f in err.value.failures] == ["source_not_null_raw_complaints_complaint_id"]
    assert "test source_not_null_raw_complaints_complaint_id: fail" in str(err.value)


def test_no_raw_data_yet_gives_no_data_everywhere(tmp_path):
    settings = _settings(tmp_path)
    result = build(settings, as_of=dt.date(2024, 1, 31))
    assert result.status_counts == {"no_data": 30}
    assert set(_query(settings, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'")) >= {
        (s,) for s in SOURCES
    }
