"""Build, validate and publish bound together, with real dbt builds on generated demo data (one module fixture):

- the build records its id and the ingest high-water mark it read in ops.build_runs;
- an ingest between validate and publish: the version is bound to the build (its digest names the files the
  build read, not the late one);
- a rebuild between validate and publish: the stored validation is refused, with what to rerun;
- a dbt data test failing after dbt wrote the mart rows: the build is recorded as failed and publish refuses
  those rows until a build succeeds.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import duckdb
import pytest

from tests.warehouse_reads import LEAN_PUBLISH, settings_in
from tests.warehouse_reads import records as _query
from transforms import generate as generate_mod
from transforms import ingest as ingest_mod
from transforms.core.settings import PROJECT_DIR
from transforms.indicators.build import BuildFailed, build
from transforms.publishing.provenance import input_digest
from transforms.publishing.publish import PublishBlocked, publish
from transforms.quality import validate

pytestmark = pytest.mark.slow

START = dt.date(2025, 2, 1)
DAYS = 31
LAST = START + dt.timedelta(days=DAYS - 1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    settings = settings_in(tmp_path_factory.mktemp("binding"), "binding-secret-0123456789", **LEAN_PUBLISH)
    generate_mod.generate(settings.landing, start=START, days=DAYS, transactions=3_000, seed=11)
    ingest_mod.ingest(settings)
    result = build(settings, as_of=LAST)
    return settings, result


def _late_change_failures(n: int) -> list[dict]:
    local = lambda hh, mm: f"{LAST.isoformat()}T{hh:02d}:{mm:02d}:00+08:00"  # noqa: E731
    return [
        {"incident_id": f"INC-BIND-{k}", "updated_at": local(11, k), "system": "core_banking",
         "customer_facing": False, "planned": False, "cause": "change_failure", "vendor": None, "severity": "minor",
         "started_at": local(9, k), "detected_at": local(9, 10 + k), "escalated_at": None,
         "resolved_at": local(10, k), "regulator_reported_at": None, "loss_event": False,
         "review_completed_at": None, "recurrence_of": None}
        for k in range(n)
    ]  # fmt: skip


def _land(settings, name: str, records: list[dict]) -> None:
    path = settings.landing / "incidents" / LAST.isoformat() / name
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
    tmp.rename(path)


def test_an_ingest_and_a_rebuild_between_validate_and_publish(demo):
    settings, first = demo
    (recorded,) = _query(settings, "SELECT * FROM ops.build_runs")
    (seq,) = _query(settings, "SELECT max(ingest_seq) AS n FROM raw.ingested_files")
    assert (recorded["build_id"], recorded["status"]) == (first.build_id, "success")
    assert recorded["ingest_high_water"] == first.ingest_high_water == seq["n"]
    assert (recorded["date_from"], recorded["date_to"]) == (LAST, LAST) and recorded["finished_at"] is not None
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        read_by_the_build = input_digest(con, settings, LAST)  # nothing has landed since the build
    finally:
        con.close()

    checked = validate(settings, LAST, run_id="val-bind-1", alert=False)
    assert not checked.critical_failed and checked.build_id == first.build_id
    _land(settings, f"incidents_{LAST.isoformat()}_late.jsonl", _late_change_failures(3))
    assert ingest_mod.ingest(settings).rows_loaded == 3  # lands between validate and publish

    published = publish(settings, LAST, validation_run_id="val-bind-1")
    assert (published.status, published.version) == ("published", 1)
    (v1,) = _query(settings, "SELECT * FROM published.scorecard_versions")
    assert (v1["build_id"], v1["ingest_high_water"]) == (first.build_id, first.ingest_high_water)
    assert (v1["input_digest"], v1["input_files"]) == read_by_the_build  # not the late file dbt never read
    assert v1["indicator_rows_hash"] == checked.indicator_rows_hash

    # a rebuild between validate and publish
    validate(settings, LAST, run_id="val-bind-2", alert=False)
    second = build(settings, as_of=LAST)
    assert second.build_id != first.build_id and second.ingest_high_water == first.ingest_high_water + 1
    with pytest.raises(PublishBlocked) as refused:
        publish(settings, LAST, validation_run_id="val-bind-2")
    message = str(refused.value)
    assert f"val-bind-2 checked build {first.build_id}" in message and second.build_id in message
    assert "rerun `riskcard validate --as-of 2025-03-03`" in message
    assert _query(settings, "SELECT count(*) AS n FROM published.scorecard_versions") == [{"n": 1}]

    again = publish(settings, LAST)  # validates the rebuilt rows itself
    assert (again.status, again.version) == ("published", 2)
    v2 = _query(settings, "SELECT * FROM published.scorecard_versions WHERE version = 2")[0]
    assert v2["build_id"] == second.build_id and v2["input_files"] == v1["input_files"] + 1
    assert v2["input_digest"] != v1["input_digest"]


def _project_copy(tmp_path):
    """The project (dbt project, seeds, expectations) with one more dbt data test that fails on the mart's rows."""
    project = tmp_path / "project"
    shutil.copytree(
        PROJECT_DIR / "dbt_project", project / "dbt_project", ignore=shutil.ignore_patterns("target", "logs")
    )
    shutil.copytree(PROJECT_DIR / "seeds", project / "seeds")
    shutil.copytree(PROJECT_DIR / "expectations", project / "expectations")
    (project / "dbt_project" / "tests" / "assert_injected_failure.sql").write_text(
        "-- fails whenever the run wrote leaf rows: dbt has written the mart when it runs\n"
        "select * from {{ ref('fct_leaf_indicators') }}\n"
        "where as_of_date between {{ as_of_from() }} and {{ as_of_to() }} and level is not null\n"
    )
    return project


def test_a_dbt_test_failure_leaves_rows_that_publish_refuses(demo, tmp_path):
    settings, _ = demo
    broken = settings.replace(project_dir=_project_copy(tmp_path))
    with pytest.raises(BuildFailed, match="assert_injected_failure"):
        build(broken, as_of=LAST)
    failed = _query(settings, "SELECT * FROM ops.build_runs ORDER BY started_at DESC LIMIT 1")[0]
    assert failed["status"] == "failed" and "assert_injected_failure" in failed["message"]
    assert failed["finished_at"] is not None
    rows = _query(settings, "SELECT count(*) AS n FROM marts.fct_leaf_indicators WHERE as_of_date = ?", [LAST])
    assert rows == [{"n": 30}]  # dbt wrote them before its test failed
    versions = _query(settings, "SELECT count(*) AS n FROM published.scorecard_versions")

    with pytest.raises(PublishBlocked, match=f"build {failed['build_id']} of 2025-03-03 failed .*riskcard build"):
        publish(settings, LAST, force=True)
    outcome = validate(settings, LAST, alert=False)
    assert "indicators.built_by_a_successful_build" in {f.label for f in outcome.critical_failures}
    assert _query(settings, "SELECT count(*) AS n FROM published.scorecard_versions") == versions

    fixed = build(settings, as_of=LAST)
    result = publish(settings, LAST, force=True)
    assert result.status == "published"
    info = _query(settings, "SELECT build_id FROM published.scorecard_versions WHERE version = ?", [result.version])
    assert info == [{"build_id": fixed.build_id}]
