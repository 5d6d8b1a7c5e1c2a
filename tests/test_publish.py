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

from tests.warehouse_builder import AS_OF, DESIGNED, EARLIER, build_warehouse, open_builder
from tests.warehouse_reads import lean_publish
from tests.warehouse_reads import records as _rows
from transforms.cli.main import main
from transforms.indicators.build import build
from transforms.indicators.catalogue import load_catalogue
from transforms.publishing.provenance import input_digest
from transforms.publishing.publish import PublishBlocked, publish
from transforms.publishing.tables import ROW_FIELDS
from transforms.quality import run_scorecard_suite, validate
from transforms.scoring.profiles import load_profile
from transforms.scoring.synthesis import band_of

# The method document, section 5: the floor-based bands (highest first) and the attention each band asks for.
BANDS = [(1.0, "very high"), (0.8, "high"), (0.6, "medium"), (0.4, "low"), (0.0, "very low")]
ATTENTION = {"very high": "take effective measures", "high": "take effective measures", "medium": "focus attention",
             "low": "general attention", "very low": "general attention"}  # fmt: skip
# Section 6: the eigenvector weights of the repaired criterion matrix (the default profile), to 3 decimals.
REPAIRED_WEIGHTS = {"u1": 0.331, "u2": 0.172, "u3": 0.115, "u4": 0.155, "u5": 0.056, "u6": 0.024, "u7": 0.080,
                    "u8": 0.067}  # fmt: skip
# Each criterion's likelihood C: the mean of its leaves' designed levels (the default leaf matrices are all-equal).
CRITERION_LEAVES = {"u1": "SP", "u2": "IC", "u3": "RP", "u4": "BC", "u5": "LG", "u6": "OS", "u7": "DC", "u8": "CO"}
LIKELIHOOD = {  # by hand from the DESIGNED levels (tests/warehouse_builder.py)
    "u1": (0.8 + 0.4 + 0.6 + 0.6) / 4,  # 0.6 medium
    "u2": (0.6 + 0.6 + 0.2 + 0.4) / 4,  # 0.45 low
    "u3": (1.0 + 0.6 + 0.2 + 0.4) / 4,  # 0.55 low
    "u4": (0.4 + 0.8 + 0.4 + 0.6 + 0.8) / 5,  # 0.6 medium
    "u5": (0.4 + 0.6 + 0.8 + 0.8 + 0.2) / 5,  # 0.56 low
    "u6": (0.8 + 0.6 + 0.8) / 3,  # 0.733 medium
    "u7": (0.8 + 0.4) / 2,  # 0.6 medium
    "u8": (0.2 + 0.8 + 0.8) / 3,  # 0.6 medium
}
CRITERION_BANDS = {"u1": "medium", "u2": "low", "u3": "low", "u4": "medium", "u5": "low", "u6": "medium",
                   "u7": "medium", "u8": "medium"}  # fmt: skip


@pytest.fixture
def settings(settings, monkeypatch):
    """This module's publishes write no committee report and store no sensitivity analysis (LEAN_PUBLISH)."""
    return lean_publish(settings, monkeypatch)


def _band(x: float) -> str:
    """The method document's band of a likelihood or composite (naive: the first floor it reaches)."""
    return next(name for floor, name in BANDS if round(x, 9) >= floor)


def _canonical_hash(rows: list[dict]) -> str:
    """The content hash recomputed from its definition (transforms/publishing/provenance.py): sha256 of the JSON of
    the rows with sorted keys, compact separators, UTF-8 text, every float to 10 significant digits."""

    def rounded(value):
        if isinstance(value, float):
            return float(f"{value:.10g}") + 0.0  # + 0.0: -0.0 as 0.0
        return value

    text = json.dumps([{k: rounded(v) for k, v in r.items()} for r in rows], sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()


def _versions(settings):
    return [
        (r["as_of_date"], r["version"])
        for r in _rows(settings, "SELECT as_of_date, version FROM published.scorecard_versions ORDER BY ALL")
    ]


@pytest.fixture
def healthy(settings, warehouse_template):
    build_warehouse(warehouse_template, settings).con.close()
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
    # the likelihoods, bands and attention worked out by hand, the composite from the method document's weights
    for c in criteria:
        assert c["likelihood"] == pytest.approx(LIKELIHOOD[c["criterion_id"]], abs=1e-12), c
        assert c["band"] == CRITERION_BANDS[c["criterion_id"]] == _band(c["likelihood"]), c
        assert c["attention"] == ATTENTION[c["band"]], c
    assert overall["score"] == pytest.approx(sum(REPAIRED_WEIGHTS[k] * LIKELIHOOD[k] for k in LIKELIHOOD), abs=2e-3)
    assert overall["band"] == "low" == _band(overall["score"])  # about 0.569
    assert {leaf["indicator_id"]: leaf["level"] for leaf in leaves} == {i: d[3] for i, d in DESIGNED.items()}
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
    # the content hash, recomputed from its definition over the stored rows
    stored = [{k: r[k] for k in ROW_FIELDS} for r in rows]
    assert _canonical_hash(stored) == info["content_hash"]


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


def test_identical_content_is_unchanged_unless_forced(published):
    settings = published  # version 1 of the dbt-built rows
    (first,) = _rows(settings, "SELECT content_hash FROM published.scorecard_versions")
    again = publish(settings, AS_OF)
    assert (again.status, again.version, again.content_hash) == ("unchanged", 1, first["content_hash"])
    assert "unchanged" in again.message and _versions(settings) == [(AS_OF, 1)]
    assert _rows(settings, "SELECT count(*) AS n FROM published.scorecard")[0]["n"] == 39
    forced = publish(settings, AS_OF, force=True)
    assert (forced.status, forced.version) == ("published", 2)
    infos = _rows(settings, "SELECT version, forced, content_hash FROM published.scorecard_versions ORDER BY version")
    assert [(i["version"], i["forced"]) for i in infos] == [(1, False), (2, True)]
    assert infos[0]["content_hash"] == infos[1]["content_hash"]


def test_a_moved_leaf_publishes_version_2_and_the_views_follow(published, capsys):
    settings = published  # version 1 of the dbt-built rows
    v1_rows = _rows(settings, "SELECT * FROM published.scorecard WHERE version = 1 ORDER BY row_order")
    builder = open_builder(settings)
    assert builder.move_leaf("SP1", 50.0) == 1.0  # above SP1's t4 (5 %); dbt gave 3.33 % level 0.8
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
    assert (sp1["level_before"], sp1["value_before"]) == (0.8, pytest.approx(100 / 30))
    assert (v1_rows[2]["indicator_id"], v1_rows[2]["level"]) == ("SP1", 0.8)
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


def test_a_critical_failure_blocks_and_the_previous_version_stays_latest(published):
    settings = published  # version 1 of the dbt-built rows
    builder = open_builder(settings)
    builder.add_file("transactions", AS_OF, suffix="dirty", rows=5, quarantined=45)
    builder.move_leaf("SP1", 50.0)  # would be a new version
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


def test_a_no_data_leaf_never_publishes_even_with_a_trusted_validation(rebuild_settings, warehouse_template):
    settings = rebuild_settings
    build_warehouse(warehouse_template, settings).con.close()
    assert not validate(settings, AS_OF, run_id="val-before", alert=False).failures
    # the backups never arrived after all: the real rebuild makes the leaves that read them no_data
    con = duckdb.connect(str(settings.warehouse))
    con.execute("DELETE FROM raw.backups")
    con.execute("DELETE FROM raw.ingested_files WHERE source = 'backups'")
    con.close()
    assert build(settings, as_of=AS_OF).status_counts == {"ok": 27, "no_data": 3}  # BC3, DC1, DC2
    # the validation checked the rows before the rebuild: not trusted for the new ones
    with pytest.raises(PublishBlocked, match=r"val-before checked build .*\(rebuilt after the validation\)"):
        publish(settings, AS_OF, validation_run_id="val-before")
    with pytest.raises(PublishBlocked, match=r"indicators\.no_missing_data.*DC2"):
        publish(settings, AS_OF)
    assert _versions(settings) == []


def test_the_scorecard_suite_catches_broken_rows(settings):
    from transforms.scoring.synthesis import synthesize

    catalogue = load_catalogue(settings)
    profile = load_profile("default", settings)
    card = synthesize({i: 0.6 for i in catalogue.indicator_ids}, profile, catalogue)
    from transforms.publishing.rows import scorecard_rows

    rows = scorecard_rows(card, catalogue, {}, band_of)
    bands = [name for _, name in reversed(BANDS)]  # the method document's five bands
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
    earlier = EARLIER  # built by dbt with AS_OF
    builder = open_builder(settings)
    assert builder.move_leaf("CO2", 1.0, as_of=earlier) == 0.2  # at most CO2's t1 (5 %); dbt gave 26.7 % level 0.8
    builder.con.close()
    assert publish(settings, earlier).status == "published"  # D-1 is fresh too (records every day)
    assert publish(settings, AS_OF).status == "published"
    assert (
        main(["scorecard", "diff", "--as-of", "2025-03-31", "--format", "json", "--warehouse", str(settings.warehouse)])
        == 0
    )
    changes = json.loads(capsys.readouterr().out)
    assert changes["against"] == {"as_of_date": "2025-03-30", "version": 1}
    # CO2 as moved; BC3 as dbt built it: D-1's window begins on a day without backups (0.8), D's 0.4
    moved = {leaf["indicator_id"]: (leaf["level_before"], leaf["level_after"]) for leaf in changes["leaves"]}
    assert moved == {"BC3": (0.8, 0.4), "CO2": (0.2, 0.8)}
