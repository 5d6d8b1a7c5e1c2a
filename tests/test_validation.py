"""Great Expectations validation on a real DuckDB warehouse: what passes, what fails with which severity, what is
recorded, the Data Docs, and the `riskcard validate` exit status."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from tests.test_validation_warehouse import AS_OF, build_warehouse, open_builder, window_day_list
from tests.warehouse_reads import rows as _query
from transforms.cli.main import main
from transforms.quality import SuiteFileError, load_suite, validate
from transforms.quality.suites import read_suite


def _failed(outcome) -> dict[str, object]:
    return {f.label: f for f in outcome.failures}


@pytest.fixture
def healthy(settings):
    build_warehouse(settings).con.close()
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


def test_source_missing_for_the_window_is_critical_and_recorded(settings):
    builder = build_warehouse(settings, skip_sources=["complaints"])
    # the leaves that read complaints become no_data, as dbt marks them
    builder.set_indicators(AS_OF, overrides={i: {"status": "no_data", "value": None} for i in ("RP1", "RP2", "LG1")})
    builder.con.close()
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
    assert "RP1" in failed["indicators.no_missing_data"].observed
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


def test_stale_source_fails_freshness_with_the_age_observed(settings):
    builder = build_warehouse(settings, skip_sources=["backups"])
    builder.add_source_days("backups", window_day_list(settings, AS_OF)[:-1])  # nothing on D itself
    builder.con.close()
    failed = _failed(validate(settings, AS_OF, alert=False))
    fresh = failed["ingestion_health.source_fresh"]
    assert fresh.observed == "1 of 4 rows: backups: allowed_age_days=0, age_days=1"
    assert fresh.expected == "allowed_age_days >= age_days"
    # incidents may be quiet up to 7 days: the same gap there is fine
    assert "incidents" not in fresh.observed


def test_quarantine_rate_above_the_limit_is_critical_and_the_limit_is_a_setting(settings):
    builder = build_warehouse(settings)
    builder.add_file("transactions", AS_OF, suffix="dirty", rows=10, quarantined=10)  # 10 / 140 = 7.1 %
    builder.con.close()
    failed = _failed(validate(settings, AS_OF, alert=False))
    rate = failed["ingestion_health.quarantine_rate_under_limit"]
    assert rate.severity == "critical"
    assert rate.observed.startswith("1 of 4 rows: transactions: quarantine_rate=0.0714")
    assert rate.expected == "quarantine_rate < 0.01"
    relaxed = validate(settings.replace(quarantine_rate_limit=0.1), AS_OF, alert=False)
    assert "ingestion_health.quarantine_rate_under_limit" not in _failed(relaxed)


def test_failed_file_in_the_window_is_critical(settings):
    builder = build_warehouse(settings)
    builder.add_file("incidents", AS_OF - dt.timedelta(days=3), suffix="x", status="failed")
    builder.con.close()
    failed = _failed(validate(settings, AS_OF, alert=False))
    assert failed["ingestion_health.no_failed_files"].observed == "1 of 4 rows: incidents: files_failed=1"


def test_rows_missing_from_raw_break_the_exactly_once_check(settings):
    builder = build_warehouse(settings)
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


@pytest.mark.parametrize(
    "change, expectation, observed_part",
    [
        ({"drop": ["CO3"]}, "indicators.one_row_per_catalogue_leaf", "29"),
        (
            {"overrides": {"SP4": {"value": 120.0, "numerator": 120.0}}},
            "indicators.percentage_at_most_100",
            "SP4: value=120",
        ),
        ({"overrides": {"IC4": {"value": -5.0}}}, "indicators.value_not_negative", "IC4: value=-5"),
        ({"overrides": {"BC2": {"level": 0.5}}}, "indicators.level_on_scale", "BC2: level=0.5"),
        ({"overrides": {"LG3": {"status": "stale"}}}, "indicators.status_valid", "LG3: status=stale"),
        (
            {"overrides": {"OS1": {"criterion_id": "u7"}}},
            "indicators.criterion_matches_catalogue",
            "OS1: criterion_id=u7, catalogue_criterion_id=u6",
        ),
        (
            {"overrides": {"IC2": {"status": "no_events", "value": None, "level": 0.6}}},
            "indicators.no_events_scores_lowest_level",
            "IC2: level=0.6",
        ),
        (
            {
                "extra": [
                    {
                        "as_of_date": AS_OF,
                        "indicator_id": "XX9",
                        "criterion_id": "u1",
                        "value": 1.0,
                        "level": 0.2,
                        "status": "ok",
                    }
                ]
            },
            "indicators.leaf_ids_in_catalogue",
            "XX9",
        ),
    ],
)
def test_indicator_defects_fail_the_named_critical_expectation(settings, change, expectation, observed_part):
    builder = build_warehouse(settings)
    builder.set_indicators(AS_OF, **change)
    builder.con.close()
    outcome = validate(settings, AS_OF, alert=False)
    failed = _failed(outcome)
    assert expectation in failed, sorted(failed)
    assert failed[expectation].severity == "critical"
    assert observed_part in failed[expectation].observed
    assert outcome.critical_failed


def test_many_no_events_leaves_is_a_warning(settings):
    builder = build_warehouse(settings)
    quiet = ["IC2", "BC1", "OS1", "OS2", "OS3", "LG2", "LG4"]  # 7 of 30 > 20 %
    builder.set_indicators(AS_OF, overrides={i: {"status": "no_events", "value": None} for i in quiet})
    builder.con.close()
    outcome = validate(settings, AS_OF, alert=False)
    assert [(f.label, f.severity) for f in outcome.failures] == [("indicators.few_no_events_leaves", "warning")]


def test_cli_exit_1_and_json_on_a_critical_failure(settings, capsys):
    build_warehouse(settings, indicators=False).con.close()  # the mart was never built
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
    builder.set_indicators(AS_OF, overrides={"SP1": {"value": -1.0}})
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
