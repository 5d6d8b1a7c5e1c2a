"""Publishing versions of the scorecard on a real warehouse: rows and provenance, unchanged / force, new versions
when a leaf moves, blocking (validation, stored validation, invalid profile, scorecard suite), and the CLI
(`publish`, `scorecard show`, `scorecard diff`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math

import duckdb
import pytest

from tests.test_validation_warehouse import AS_OF, build_warehouse, open_builder, window_day_list
from tests.warehouse_reads import records as _rows
from transforms.cli.main import main
from transforms.indicators.catalogue import load_catalogue
from transforms.publishing.provenance import content_hash, input_digest
from transforms.publishing.publish import PublishBlocked, publish
from transforms.publishing.tables import ROW_FIELDS
from transforms.quality import run_scorecard_suite, validate
from transforms.scoring.profiles import load_profile
from transforms.scoring.synthesis import band_of


def _versions(settings):
    return [
        (r["as_of_date"], r["version"])
        for r in _rows(settings, "SELECT as_of_date, version FROM published.scorecard_versions ORDER BY ALL")
    ]


@pytest.fixture
def healthy(settings):
    build_warehouse(settings).con.close()
    return settings


def test_version_1_holds_overall_criterion_and_leaf_rows_with_provenance(healthy):
    settings = healthy
    result = publish(settings, AS_OF, run_id="pub-1")
    assert (result.status, result.version, result.run_id) == ("published", 1, "pub-1")
    rows = _rows(settings, "SELECT * FROM published.scorecard WHERE version = 1 ORDER BY row_order")
    assert [r["row_type"] for r in rows].count("overall") == 1
    criteria = [r for r in rows if r["row_type"] == "criterion"]
    leaves = [r for r in rows if r["row_type"] == "leaf"]
    assert len(criteria) == 8 and len(leaves) == 30
    overall = rows[0]
    assert overall["row_type"] == "overall" and overall["name_zh"] == "网络银行风险评价"
    assert math.isclose(sum(c["global_weight"] for c in criteria), 1, abs_tol=1e-9)
    assert math.isclose(sum(leaf["global_weight"] for leaf in leaves), 1, abs_tol=1e-9)
    assert math.isclose(overall["score"], sum(c["score"] for c in criteria), abs_tol=1e-12)
    assert math.isclose(overall["score"], sum(leaf["score"] for leaf in leaves), abs_tol=1e-12)
    assert sorted(c["rank"] for c in criteria) == list(range(1, 9))
    assert overall["band"] == band_of(overall["score"]).name
    # the leaves carry the mart's values next to names and weights
    fct = {r["indicator_id"]: r for r in _rows(settings, "SELECT * FROM marts.fct_leaf_indicators")}
    sp4 = next(leaf for leaf in leaves if leaf["indicator_id"] == "SP4")
    assert (sp4["value"], sp4["numerator"], sp4["denominator"], sp4["level"], sp4["status"]) == (
        fct["SP4"]["value"],
        fct["SP4"]["numerator"],
        fct["SP4"]["denominator"],
        fct["SP4"]["level"],
        "ok",
    )
    assert sp4["name_zh"] == "客户信息安全策略" and sp4["unit"] == "%" and sp4["criterion_id"] == "u1"
    u1 = next(c for c in criteria if c["criterion_id"] == "u1")
    assert math.isclose(
        u1["likelihood"], sum(lf["local_weight"] * lf["level"] for lf in leaves if lf["criterion_id"] == "u1")
    )
    assert u1["attention"] in ("take effective measures", "focus attention", "general attention")

    (info,) = _rows(settings, "SELECT * FROM published.scorecard_versions")
    profile = load_profile("default", settings)
    assert info["profile_name"] == "default" and info["profile_hash"] == profile.content_hash
    assert info["ahp_method"] == "eigenvector" and info["profile_override"] is False
    assert info["catalogue_hash"] == load_catalogue(settings).content_hash
    assert info["content_hash"] == result.content_hash
    assert info["run_id"] == "pub-1" and info["validation_run_id"] == result.validation_run_id
    assert info["code_version"].startswith(("git:", "riskcard "))
    assert info["composite"] == overall["score"] and info["rating"] == overall["band"]
    assert info["snapshot_path"] == "scorecard/as_of_date=2025-03-31/version=1"
    # the input digest, computed independently: every loaded file holds records up to D
    shas = sorted(r["sha256"] for r in _rows(settings, "SELECT sha256 FROM raw.ingested_files"))
    assert info["input_digest"] == hashlib.sha256("\n".join(shas).encode()).hexdigest()
    assert info["input_files"] == len(shas)
    # the content hash is reproducible from the stored rows
    stored = [{k: r[k] for k in ROW_FIELDS} for r in rows]
    assert content_hash(stored) == info["content_hash"]


def test_input_digest_moves_with_late_records_for_d_but_not_with_later_days(healthy):
    settings = healthy
    builder = open_builder(settings)
    before = input_digest(builder.con, settings, AS_OF)
    builder.add_file("complaints", AS_OF + dt.timedelta(days=1))
    same = input_digest(builder.con, settings, AS_OF)
    builder.add_file("complaints", AS_OF, suffix="late", rows=1, hour=23)
    late = input_digest(builder.con, settings, AS_OF)
    builder.con.close()
    assert same == before
    assert late[0] != before[0] and late[1] == before[1] + 1


def test_identical_content_is_unchanged_unless_forced(healthy):
    settings = healthy
    first = publish(settings, AS_OF)
    again = publish(settings, AS_OF)
    assert (again.status, again.version, again.content_hash) == ("unchanged", 1, first.content_hash)
    assert "unchanged" in again.message and _versions(settings) == [(AS_OF, 1)]
    assert _rows(settings, "SELECT count(*) AS n FROM published.scorecard")[0]["n"] == 39
    forced = publish(settings, AS_OF, force=True)
    assert (forced.status, forced.version) == ("published", 2)
    infos = _rows(settings, "SELECT version, forced, content_hash FROM published.scorecard_versions ORDER BY version")
    assert [(i["version"], i["forced"]) for i in infos] == [(1, False), (2, True)]
    assert infos[0]["content_hash"] == infos[1]["content_hash"]


def test_a_moved_leaf_publishes_version_2_and_the_views_follow(healthy, capsys):
    settings = healthy
    publish(settings, AS_OF)
    v1_rows = _rows(settings, "SELECT * FROM published.scorecard WHERE version = 1 ORDER BY row_order")
    builder = open_builder(settings)
    builder.set_indicators(AS_OF, overrides={"SP1": {"value": 50.0, "numerator": 50.0}})  # level 1.0
    builder.con.close()
    result = publish(settings, AS_OF)
    assert (result.status, result.version) == ("published", 2)
    # version 1 is untouched; latest shows version 2; history shows both
    assert _rows(settings, "SELECT * FROM published.scorecard WHERE version = 1 ORDER BY row_order") == v1_rows
    latest = _rows(settings, "SELECT DISTINCT version FROM published.scorecard_latest")
    assert latest == [{"version": 2}]
    history = _rows(
        settings,
        "SELECT version, is_latest, count(*) AS n FROM published.scorecard_history GROUP BY ALL ORDER BY version",
    )
    assert history == [{"version": 1, "is_latest": False, "n": 39}, {"version": 2, "is_latest": True, "n": 39}]

    code = main(
        ["scorecard", "diff", "--as-of", "2025-03-31", "--format", "json", "--warehouse", str(settings.warehouse)]
    )
    assert code == 0
    changes = json.loads(capsys.readouterr().out)
    assert changes["version"] == 2 and changes["against"] == {"as_of_date": "2025-03-31", "version": 1}
    (sp1,) = changes["leaves"]
    assert sp1["indicator_id"] == "SP1" and sp1["level_after"] == 1.0 and sp1["value_after"] == 50.0
    assert sp1["level_before"] == v1_rows[2]["level"] and sp1["value_before"] == v1_rows[2]["value"]
    assert changes["composite"]["change"] > 0
    assert changes["composite"]["after"] == pytest.approx(
        changes["composite"]["before"] + changes["composite"]["change"]
    )
    for crit in changes["criteria"]:
        assert crit["rank_before"] != crit["rank_after"] or crit["band_before"] != crit["band_after"]

    assert (
        main(["scorecard", "diff", "--as-of", "2025-03-31", "--against", "2", "--warehouse", str(settings.warehouse)])
        == 0
    )
    out = capsys.readouterr().out
    assert "no leaf changed level" in out and "(+0.0000)" in out


def test_a_critical_failure_blocks_and_the_previous_version_stays_latest(healthy):
    settings = healthy
    publish(settings, AS_OF)
    builder = open_builder(settings)
    builder.add_file("transactions", AS_OF, suffix="dirty", rows=5, quarantined=45)
    builder.set_indicators(AS_OF, overrides={"SP1": {"value": 50.0}})  # would be a new version
    builder.con.close()
    with pytest.raises(PublishBlocked) as blocked:
        publish(settings, AS_OF)
    message = str(blocked.value)
    assert "ingestion_health.quarantine_rate_under_limit" in message
    assert "version 1 stays the latest" in message
    assert blocked.value.result.status == "blocked" and blocked.value.result.version is None
    assert _versions(settings) == [(AS_OF, 1)]
    assert _rows(settings, "SELECT DISTINCT version FROM published.scorecard_latest") == [{"version": 1}]
    alerts = _rows(settings, "SELECT expectation, severity, publish_blocked FROM ops.dq_alerts")
    assert {"expectation": "quarantine_rate_under_limit", "severity": "critical", "publish_blocked": True} in alerts
    # the serving copy (refreshed even when blocked) shows the alert and still version 1
    con = duckdb.connect(str(settings.serving_db), read_only=True)
    try:
        assert con.execute("SELECT max(version) FROM published.scorecard_latest").fetchall() == [(1,)]
        assert con.execute("SELECT count(*) FROM ops.dq_alerts WHERE severity = 'critical'").fetchall()[0][0] >= 1
    finally:
        con.close()


def test_a_stored_validation_is_trusted_only_when_it_cleared_the_same_date(healthy):
    settings = healthy
    ok = validate(settings, AS_OF, run_id="val-ok", alert=False)
    result = publish(settings, AS_OF, validation_run_id="val-ok")
    assert result.status == "published" and result.validation_run_id == "val-ok"
    suites = [r["suites"] for r in _rows(settings, "SELECT suites FROM ops.validation_runs ORDER BY started_at")]
    assert suites == ["ingestion_health,indicators", "scorecard"]  # no second data validation
    assert not ok.failures

    with pytest.raises(PublishBlocked, match="not recorded"):
        publish(settings, AS_OF, validation_run_id="no-such-run")
    with pytest.raises(PublishBlocked, match="validated 2025-03-31, not 2025-03-30"):
        publish(settings, AS_OF - dt.timedelta(days=1), validation_run_id="val-ok")
    builder = open_builder(settings)
    builder.con.execute("DELETE FROM raw.backups WHERE _file_path LIKE '%2025-03-31%'")
    builder.con.execute("DELETE FROM raw.ingested_files WHERE path LIKE 'backups/2025-03-31/%'")
    builder.con.close()
    validate(settings, AS_OF, run_id="val-bad", alert=False)
    with pytest.raises(PublishBlocked, match="val-bad failed 1 critical"):
        publish(settings, AS_OF, validation_run_id="val-bad", force=True)
    assert _versions(settings) == [(AS_OF, 1)]


def test_an_invalid_profile_blocks_with_the_matrix_named(healthy, tmp_path):
    settings = healthy
    printed = settings.seeds_dir / "ahp" / "paper_table3_printed.csv"
    leaves = "\n".join(f'u{k} = {{ matrix = "{settings.seeds_dir}/ahp/leaves/u{k}_leaves.csv" }}' for k in range(1, 9))
    profile = tmp_path / "printed.toml"
    profile.write_text(f'name = "printed"\noverride = false\n[criteria]\nmatrix = "{printed}"\n[leaves]\n{leaves}\n')
    with pytest.raises(PublishBlocked) as blocked:
        publish(settings, AS_OF, profile=str(profile))
    assert "CR" in str(blocked.value) and "paper_table3_printed" in str(blocked.value)
    assert _versions(settings) == []
    # the CLI says so and exits 1
    assert (
        main(["publish", "--as-of", "2025-03-31", "--profile", str(profile), "--warehouse", str(settings.warehouse)])
        == 1
    )


def test_a_no_data_leaf_never_publishes_even_with_a_trusted_validation(healthy):
    settings = healthy
    validate(settings, AS_OF, run_id="val-before", alert=False)
    builder = open_builder(settings)
    builder.set_indicators(AS_OF, overrides={"DC2": {"status": "no_data", "value": None}})
    builder.con.close()
    # the validation checked the rows before the rebuild: not trusted for the new ones
    with pytest.raises(PublishBlocked, match=r"val-before checked build .*\(rebuilt after the validation\)"):
        publish(settings, AS_OF, validation_run_id="val-before")
    with pytest.raises(PublishBlocked, match="DC2"):
        publish(settings, AS_OF)


def test_the_scorecard_suite_catches_broken_rows(settings):
    from transforms.scoring.synthesis import synthesize

    catalogue = load_catalogue(settings)
    profile = load_profile("default", settings)
    card = synthesize({i: 0.6 for i in catalogue.indicator_ids}, profile, catalogue)
    from transforms.publishing.rows import scorecard_rows

    rows = scorecard_rows(card, catalogue, {}, band_of)
    bands = [band_of(x).name for x in (0.2, 0.4, 0.6, 0.8, 1.0)]
    assert not run_scorecard_suite(settings, rows, AS_OF, "sc-ok", catalogue, bands).failures
    broken = [dict(r) for r in rows]
    crits = [r for r in broken if r["row_type"] == "criterion"]
    crits[0]["global_weight"] += 0.01  # weights no longer sum to 1
    crits[1]["rank"] = crits[2]["rank"]  # a shared rank
    broken[0]["score"] = 1.2  # composite out of range
    broken = [r for r in broken if r["indicator_id"] != "CO3"]  # 29 leaves
    outcome = run_scorecard_suite(settings, broken, AS_OF, "sc-bad", catalogue, bands)
    failed = {f.expectation for f in outcome.failures}
    assert {
        "criterion_weights_sum_to_one",
        "criterion_ranks_unique",
        "composite_in_range",
        "leaf_count",
        "leaf_global_weights_sum_to_one",
    } <= failed
    assert outcome.critical_failed


def test_cli_publish_and_show(healthy, capsys):
    settings = healthy
    wh = ["--warehouse", str(settings.warehouse)]
    assert main(["publish", "--as-of", "2025-03-31", "--format", "json", *wh]) == 0
    published = json.loads(capsys.readouterr().out)
    assert published["status"] == "published" and published["version"] == 1
    assert main(["publish", "--as-of", "2025-03-31", *wh]) == 0
    assert "unchanged" in capsys.readouterr().out

    assert main(["scorecard", "show", "--format", "json", *wh]) == 0
    card = json.loads(capsys.readouterr().out)
    assert list(card) == ["version", "as_of_date", "profile", "composite", "rating", "criteria", "leaves"]
    assert (card["version"], card["as_of_date"], card["profile"]) == (1, "2025-03-31", "default")
    assert list(card["criteria"][0]) == ["criterion_id", "weight", "likelihood", "score", "rank", "band", "attention"]
    assert list(card["leaves"][0]) == ["indicator_id", "local_weight", "global_weight", "value", "level", "status"]
    assert len(card["criteria"]) == 8 and len(card["leaves"]) == 30
    assert math.isclose(card["composite"], sum(c["score"] for c in card["criteria"]))

    assert main(["scorecard", "show", "--as-of", "2025-03-31", "--version", "1", *wh]) == 0
    text = capsys.readouterr().out
    assert "Scorecard 2025-03-31 version 1" in text and "default (eigenvector)" in text and "SP1" in text
    assert main(["scorecard", "show", "--as-of", "2025-03-31", "--version", "7", *wh]) == 1
    assert "version 7 of 2025-03-31 has not been published" in capsys.readouterr().err
    assert main(["scorecard", "diff", "--as-of", "2025-03-31", *wh]) == 1
    assert "first published scorecard" in capsys.readouterr().err


def test_diff_against_an_earlier_date(healthy, capsys):
    settings = healthy
    earlier = AS_OF - dt.timedelta(days=1)
    builder = open_builder(settings)
    builder.set_indicators(earlier, overrides={"CO2": {"value": 1.0}})
    builder.con.close()
    assert publish(settings, earlier).status == "published"  # D-1 is fresh too (records every day)
    assert publish(settings, AS_OF).status == "published"
    assert (
        main(["scorecard", "diff", "--as-of", "2025-03-31", "--format", "json", "--warehouse", str(settings.warehouse)])
        == 0
    )
    changes = json.loads(capsys.readouterr().out)
    assert changes["against"] == {"as_of_date": "2025-03-30", "version": 1}
    assert [leaf["indicator_id"] for leaf in changes["leaves"]] == ["CO2"]
    assert window_day_list(settings, earlier)[-1] == earlier
