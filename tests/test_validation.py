"""Great Expectations validation on a real DuckDB warehouse: what passes, what fails with which severity, what is
recorded, the Data Docs, and the `riskcard validate` exit status."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from tests.conftest import TEST_SECRET
from tests.warehouse_builder import AS_OF, build_warehouse, open_builder, window_day_list
from tests.warehouse_reads import rows as _query
from tests.warehouse_reads import settings_in
from transforms.cli.main import main
from transforms.indicators.build import build
from transforms.quality import SuiteFileError, load_suite, validate
from transforms.quality.suites import read_suite


def _failed(outcome) -> dict[str, object]:
    return {f.label: f for f in outcome.failures}


@pytest.fixture
def healthy(settings, warehouse_template):
    build_warehouse(warehouse_template, settings).con.close()
    return settings


def test_healthy_warehouse_passes_every_expectation_and_is_recorded(healthy):
    settings = healthy
    outcome = validate(settings, AS_OF, run_id="run-ok", alert=False)
    assert outcome.failures == [], [f.to_dict() for f in outcome.failures]
    assert not outcome.critical_failed
    assert {r.suite for r in outcome.results} == {"indicators", "ingestion_health"}
    assert len(outcome.results) >= 20
    assert outcome.data_docs_index == settings.data_docs_dir / "index.html"
    index = outcome.data_docs_index.read_text()
    assert "indicators" in index and "ingestion_health" in index
    (run,) = _query(
        settings,
        "SELECT run_id, as_of_date, critical_failed, evaluated, passed, failed_critical, data_docs_index "
        "FROM ops.validation_runs",
    )
    assert run == ("run-ok", AS_OF, False, len(outcome.results), len(outcome.results), 0, str(outcome.data_docs_index))
    assert _query(settings, "SELECT count(*) FROM ops.dq_alerts") == [(0,)]
    as_dict = outcome.to_dict()
    assert as_dict["critical_failed"] is False and as_dict["as_of_date"] == "2025-03-31"
    json.dumps(as_dict)  # JSON-safe


def test_source_missing_for_the_window_is_critical_and_recorded(rebuild_settings, warehouse_template):
    settings = rebuild_settings
    build_warehouse(warehouse_template, settings, skip_sources=["complaints"]).con.close()
    # the real build: the leaves that read complaints become no_data
    assert build(settings, as_of=AS_OF).status_counts == {"ok": 22, "no_data": 8}
    outcome = validate(settings, AS_OF, run_id="run-missing", alert=False)
    assert outcome.critical_failed
    failed = _failed(outcome)
    assert {
        "ingestion_health.source_has_records_in_window",
        "ingestion_health.source_fresh",
        "indicators.no_missing_data",
        "indicators.level_present",
    } <= set(failed)
    records = failed["ingestion_health.source_has_records_in_window"]
    assert records.severity == "critical"
    assert records.observed.startswith("1 of 4 rows: complaints: records_in_window=0")
    assert records.expected == "records_in_window >= 1"
    complaint_leaves = ("RP1", "RP2", "RP3", "RP4", "LG1", "LG2", "LG3", "CO1")  # indicators.md: the complaints ones
    assert failed["indicators.no_missing_data"].observed.startswith("8 of 30 rows: ")
    assert all(f"{i}: status=no_data" in failed["indicators.no_missing_data"].observed for i in complaint_leaves)
    rows = _query(
        settings,
        "SELECT suite, expectation, severity, observed_value, publish_blocked, run_id, as_of_date "
        "FROM ops.dq_alerts ORDER BY suite, expectation",
    )
    assert len(rows) == len(outcome.failures)
    by_name = {(r[0], r[1]): r for r in rows}
    row = by_name[("ingestion_health", "source_fresh")]
    assert row[2] == "critical" and "complaints" in row[3] and row[4] is True
    assert row[5] == "run-missing" and row[6] == AS_OF
    assert _query(settings, "SELECT critical_failed, failed_critical FROM ops.validation_runs") == [
        (True, len(outcome.critical_failures))
    ]


def test_stale_source_fails_freshness_with_the_age_observed(settings, warehouse_template):
    builder = build_warehouse(warehouse_template, settings, skip_sources=["backups"])
    builder.add_source_days("backups", window_day_list(settings, AS_OF)[:-1])  # nothing on D itself
    builder.con.close()
    failed = _failed(validate(settings, AS_OF, alert=False))
    fresh = failed["ingestion_health.source_fresh"]
    assert fresh.observed == "1 of 4 rows: backups: allowed_age_days=0, age_days=1"
    assert fresh.expected == "allowed_age_days >= age_days"
    # incidents may be quiet up to 7 days: the same gap there is fine
    assert "incidents" not in fresh.observed


def test_quarantine_rate_above_the_limit_is_critical_and_the_limit_is_a_setting(settings, warehouse_template):
    builder = build_warehouse(warehouse_template, settings)
    builder.add_file("transactions", AS_OF, suffix="dirty", rows=10, quarantined=10)  # 10 / 140 = 7.1 %
    builder.con.close()
    failed = _failed(validate(settings, AS_OF, alert=False))
    rate = failed["ingestion_health.quarantine_rate_under_limit"]
    assert rate.severity == "critical"
    assert rate.observed.startswith("1 of 4 rows: transactions: quarantine_rate=0.0714")
    assert rate.expected == "quarantine_rate < 0.01"
    relaxed = validate(settings.replace(quarantine_rate_limit=0.1), AS_OF, alert=False)
    assert "ingestion_health.quarantine_rate_under_limit" not in _failed(relaxed)


def test_failed_file_in_the_window_is_critical(settings, warehouse_template):
    builder = build_warehouse(warehouse_template, settings)
    builder.add_file("incidents", AS_OF - dt.timedelta(days=3), suffix="x", status="failed")
    builder.con.close()
    failed = _failed(validate(settings, AS_OF, alert=False))
    assert failed["ingestion_health.no_failed_files"].observed == "1 of 4 rows: incidents: files_failed=1"


def test_rows_missing_from_raw_break_the_exactly_once_check(settings, warehouse_template):
    builder = build_warehouse(warehouse_template, settings)
    builder.con.execute("DELETE FROM raw.transactions WHERE _row_number = 1 AND _file_path LIKE '%03-15%'")
    builder.con.close()
    failed = _failed(validate(settings, AS_OF, alert=False))
    check = failed["ingestion_health.manifest_matches_raw_rows"]
    assert check.observed == "1 of 4 rows: transactions: manifest_rows_loaded=120, raw_rows=119"


def test_a_hole_inside_the_window_is_only_a_warning(healthy, capsys):
    settings = healthy
    con = duckdb.connect(str(settings.warehouse))
    con.execute("DELETE FROM raw.transactions WHERE _file_path LIKE '%2025-03-10%'")
    con.execute("DELETE FROM raw.ingested_files WHERE path LIKE 'transactions/2025-03-10/%'")
    con.close()
    outcome = validate(settings, AS_OF, alert=False)
    assert not outcome.critical_failed
    (gap,) = outcome.failures
    assert (gap.label, gap.severity) == ("ingestion_health.no_gaps_in_window", "warning")
    assert gap.observed == "1 of 4 rows: transactions: allowed_gap_days=0, longest_gap_days=1"
    assert _query(settings, "SELECT severity, publish_blocked FROM ops.dq_alerts") == [("warning", False)]
    # the CLI exits 0 for warnings only
    assert main(["validate", "--as-of", "2025-03-31", "--warehouse", str(settings.warehouse), "--no-alert"]) == 0
    out = capsys.readouterr().out
    assert "no_gaps_in_window" in out and "FAIL" in out and "BLOCKED" not in out


# Rows no build writes, made by hand in the dbt-built mart (the date's rows only; `?` is AS_OF). Each defect is in a
# leaf of its own, so one validation of all of them (per group: a missing and an extra row would cancel out in the
# row count) names each in its expectation alone.
LEAF = "UPDATE marts.fct_leaf_indicators SET {} WHERE as_of_date = ? AND indicator_id = '{}'"
DEFECTS = {  # expectation: (group, sql, the part of the observed value that names the defect)
    "one_row_per_catalogue_leaf": (
        "a",
        "DELETE FROM marts.fct_leaf_indicators WHERE as_of_date = ? AND indicator_id = 'CO3'",
        "29",
    ),
    "percentage_at_most_100": ("a", LEAF.format("value = 120, numerator = 36", "SP4"), "SP4: value=120"),
    "value_not_negative": ("a", LEAF.format("value = -5", "IC4"), "IC4: value=-5"),
    "level_on_scale": ("a", LEAF.format("level = 0.5", "BC2"), "BC2: level=0.5"),
    "status_valid": ("a", LEAF.format("status = 'stale'", "LG3"), "LG3: status=stale"),
    "criterion_matches_catalogue": (
        "a",
        LEAF.format("criterion_id = 'u7'", "OS1"),
        "OS1: criterion_id=u7, catalogue_criterion_id=u6",
    ),
    "no_events_scores_lowest_level": (  # IC2 keeps the level dbt gave its value (0.6)
        "a",
        LEAF.format("status = 'no_events', value = NULL", "IC2"),
        "IC2: level=0.6",
    ),
    "leaf_ids_in_catalogue": (
        "b",
        "INSERT INTO marts.fct_leaf_indicators SELECT * REPLACE ('XX9' AS indicator_id) "
        "FROM marts.fct_leaf_indicators WHERE as_of_date = ? AND indicator_id = 'SP1'",
        "XX9",
    ),
}


ALSO_FAILED = {"a": set(), "b": {"indicators.one_row_per_catalogue_leaf", "indicators.criterion_matches_catalogue"}}


@pytest.fixture(scope="module")
def defect_outcomes(tmp_path_factory, warehouse_template):
    """One validation per group of DEFECTS, each on its own copy of the template."""
    outcomes = {}
    for group in sorted({g for g, _, _ in DEFECTS.values()}):
        settings = settings_in(tmp_path_factory.mktemp(f"defects-{group}"), TEST_SECRET)
        builder = build_warehouse(warehouse_template, settings)
        for g, sql, _ in DEFECTS.values():
            if g == group:
                builder.con.execute(sql, [AS_OF])
        builder.con.close()
        outcomes[group] = validate(settings, AS_OF, alert=False)
    return outcomes


@pytest.mark.parametrize("expectation", list(DEFECTS))
def test_indicator_defects_fail_the_named_critical_expectation(defect_outcomes, expectation):
    group, _, observed_part = DEFECTS[expectation]
    outcome = defect_outcomes[group]
    failed = _failed(outcome)
    label = f"indicators.{expectation}"
    assert label in failed, sorted(failed)
    assert failed[label].severity == "critical"
    assert observed_part in failed[label].observed, failed[label].observed
    assert outcome.critical_failed
    if expectation != "one_row_per_catalogue_leaf":
        assert failed[label].observed.startswith("1 of "), failed[label].observed  # that leaf alone
    # nothing else fails: each defect its own expectation, and the row count (29, 31); XX9 has no catalogue criterion
    assert set(failed) == ALSO_FAILED[group] | {f"indicators.{e}" for e, (g, _, _) in DEFECTS.items() if g == group}


def test_many_no_events_leaves_is_a_warning(settings, warehouse_template):
    builder = build_warehouse(warehouse_template, settings)
    builder.set_no_events(["IC2", "BC1", "OS1", "OS2", "OS3", "LG2", "LG4"])  # 7 of 30 > 20 %
    builder.con.close()
    outcome = validate(settings, AS_OF, alert=False)
    assert [(f.label, f.severity) for f in outcome.failures] == [("indicators.few_no_events_leaves", "warning")]


def test_cli_exit_1_and_json_on_a_critical_failure(settings, warehouse_template, capsys):
    build_warehouse(warehouse_template, settings, indicators=False).con.close()  # the mart was never built
    code = main(
        ["validate", "--as-of", "2025-03-31", "--format", "json", "--no-alert", "--warehouse", str(settings.warehouse)]
    )
    assert code == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["critical_failed"] is True and payload["publish_blocked"] is True
    assert any("marts.fct_leaf_indicators does not exist" in n for n in payload["notes"])
    assert {f["expectation"] for f in payload["failures"]} >= {"one_row_per_catalogue_leaf"}
    assert payload["data_docs_index"].endswith("data_docs/index.html")


def test_a_second_validation_appends_and_links_its_data_docs_page(healthy):
    settings = healthy
    first = validate(settings, AS_OF, run_id="first", alert=False)
    builder = open_builder(settings)
    builder.con.execute(LEAF.format("value = -1", "SP1"), [AS_OF])
    builder.con.close()
    second = validate(settings, AS_OF, run_id="second", alert=False)
    assert not first.failures and second.critical_failed
    runs = _query(settings, "SELECT run_id, critical_failed FROM ops.validation_runs ORDER BY started_at")
    assert runs == [("first", False), ("second", True)]
    (page,) = {f.data_docs_page for f in second.failures}
    assert page and "second" in page and page.startswith("file://")
    html = Path(page.removeprefix("file://")).read_text(encoding="utf-8")
    assert "[critical]" in html  # the severity is shown in Data Docs


def test_the_shipped_suites_follow_the_house_rules(settings):
    for name in ("indicators", "scorecard", "ingestion_health"):
        suite = load_suite(settings, name)
        assert suite.expectations and all(e.severity in ("critical", "warning") for e in suite.expectations)
        assert all("severity" in e for e in json.loads(suite.path.read_text())["expectations"])
    assert {e.severity for e in load_suite(settings, "ingestion_health").expectations} == {"critical", "warning"}


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda s: s["expectations"][0].pop("severity"),
            "expectation 1 (one_row_per_catalogue_leaf): 'severity' is required",
        ),
        (lambda s: s["expectations"][1].update(severity="info"), "severity 'info' is not one of critical, warning"),
        (lambda s: s["expectations"][2]["meta"].update(name="leaf_ids_in_catalogue"), "meta.name repeats"),
        (lambda s: s["meta"]["parameters"].pop("leaf_count"), "parameter(s) leaf_count not declared"),
        (lambda s: s.update(name="other"), "must equal the file name 'indicators'"),
    ],
)
def test_a_suite_file_that_breaks_a_rule_is_refused_by_name(settings, tmp_path, edit, message):
    data = json.loads(load_suite(settings, "indicators").path.read_text())
    edit(data)
    path = tmp_path / "indicators.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SuiteFileError) as error:
        read_suite(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_no_warehouse_is_a_clear_error_not_an_empty_file(settings, capsys):
    with pytest.raises(FileNotFoundError, match="no warehouse at"):
        validate(settings, AS_OF)
    assert not settings.warehouse.exists()
    assert main(["validate", "--as-of", "2025-03-31", "--warehouse", str(settings.warehouse)]) == 1
    assert "no warehouse at" in capsys.readouterr().err
