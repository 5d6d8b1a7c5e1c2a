"""The likelihood scale and the bands have one definition, ``transforms.scoring.levels``: it is the method document's,
and every other place that needs the scale (GX suites, dbt) takes it from there or fails a test here.

The dbt side on a real build (the compiled ``accepted_values`` and levels) is in ``tests/test_dbt_build.py``.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import pandas as pd
import pytest
import yaml

from transforms.core.settings import PROJECT_DIR
from transforms.indicators.catalogue import load_catalogue
from transforms.publishing.rows import scorecard_rows
from transforms.quality import run_scorecard_suite
from transforms.quality.runner import SuiteBatch, run_suites
from transforms.quality.suites import load_suite
from transforms.scoring.levels import BANDS, LEVELS, band_of
from transforms.scoring.profiles import load_profile
from transforms.scoring.synthesis import synthesize

# method document section 5 / indicators.md "Level": 很大 very high 1.0, 较大 high 0.8, 中等 medium 0.6,
# 较小 low 0.4, 小 very low 0.2; bands floor-based, attention by band (Table 7)
PUBLISHED_SCALE = (0.2, 0.4, 0.6, 0.8, 1.0)
PUBLISHED_BANDS = [
    ("very high", "很大", 1.0, "take effective measures", "采取有效措施"),
    ("high", "较大", 0.8, "take effective measures", "采取有效措施"),
    ("medium", "中等", 0.6, "focus attention", "重点关注"),
    ("low", "较小", 0.4, "general attention", "一般关注"),
    ("very low", "小", 0.0, "general attention", "一般关注"),
]
SCALE_TEXT = "{0.2, 0.4, 0.6, 0.8, 1}"  # how validation results print the scale (runner.describe_expected)
SCORECARD_SCALE_CHECKS = {
    "leaf_levels_on_scale": f"level in {SCALE_TEXT} where row_type == leaf",
    "composite_in_range": "score between 0.2 and 1 where row_type == overall",
    "criterion_likelihood_in_range": "likelihood between 0.2 and 1 where row_type == criterion",
}
# a written-out copy of the scale: five numbers 0.2 .. 1.0 in a row, in any list syntax
SCALE_LITERAL = re.compile(r"0?\.2\s*[,|/]\s*0?\.4\s*[,|/]\s*0?\.6\s*[,|/]\s*0?\.8\s*[,|/]\s*1(?:\.0)?\b")


def test_the_scale_and_the_bands_are_the_method_documents():
    assert LEVELS == PUBLISHED_SCALE
    assert [(b.name, b.name_zh, b.floor, b.attention, b.attention_zh) for b in BANDS] == PUBLISHED_BANDS
    assert [band_of(x).name_zh for x in PUBLISHED_SCALE] == ["小", "较小", "中等", "较大", "很大"]


def test_the_dbt_var_is_the_scale():
    """dbt_project.yml's likelihood_levels is a copy (the indicator stage may not import scoring; runs by hand need
    it): it must equal LEVELS, and the models and tests must read the var rather than write the values."""
    project = yaml.safe_load((PROJECT_DIR / "dbt_project" / "dbt_project.yml").read_text(encoding="utf-8"))
    assert project["vars"]["likelihood_levels"] == list(LEVELS)
    marts = yaml.safe_load((PROJECT_DIR / "dbt_project" / "models" / "marts" / "_marts.yml").read_text("utf-8"))
    (fct,) = [m for m in marts["models"] if m["name"] == "fct_leaf_indicators"]
    (level,) = [c for c in fct["columns"] if c["name"] == "level"]
    (accepted,) = [t["accepted_values"] for t in level["data_tests"] if "accepted_values" in t]
    assert accepted["arguments"]["values"] == "{{ var('likelihood_levels') }}"
    macro = (PROJECT_DIR / "dbt_project" / "macros" / "levels.sql").read_text(encoding="utf-8")
    assert "var('likelihood_levels')" in macro
    query = (PROJECT_DIR / "dbt_project" / "macros" / "leaf_indicator_rows.sql").read_text("utf-8")  # both facts'
    assert "level_from_thresholds(" in query


def test_no_other_file_writes_the_scale_out():
    owners = {PROJECT_DIR / "transforms" / "scoring" / "levels.py", PROJECT_DIR / "dbt_project" / "dbt_project.yml"}
    files = [
        *(PROJECT_DIR / "transforms").rglob("*.py"),
        *(PROJECT_DIR / "expectations").glob("*.json"),
        *(PROJECT_DIR / "dbt_project" / "models").rglob("*.sql"),
        *(PROJECT_DIR / "dbt_project" / "models").rglob("*.yml"),
        *(PROJECT_DIR / "dbt_project" / "macros").rglob("*.sql"),
        *(PROJECT_DIR / "dbt_project" / "tests").rglob("*.sql"),
        PROJECT_DIR / "dbt_project" / "dbt_project.yml",
    ]
    assert len(files) > 50
    copies = [str(f.relative_to(PROJECT_DIR)) for f in files if f not in owners and SCALE_LITERAL.search(f.read_text())]
    assert copies == []
    for written in ("LEVELS = (0.2, 0.4, 0.6, 0.8, 1.0)", "values: [.2,.4,.6,.8,1]", "0.2/0.4/0.6/0.8/1.0"):
        assert SCALE_LITERAL.search(written), written  # the scan would see these


def test_the_suites_take_the_scale_as_parameters(settings):
    """Every expectation on a level, a likelihood or the composite's range reads the scale from a parameter."""
    uses = {}
    for name in ("indicators", "scorecard"):
        for exp in load_suite(settings, name).expectations:
            if exp.kwargs.get("column") in ("level", "likelihood") or exp.name == "composite_in_range":
                uses[f"{name}.{exp.name}"] = exp.parameters
    assert uses == {
        "indicators.level_present": set(),
        "indicators.level_on_scale": {"likelihood_levels"},
        "indicators.no_events_scores_lowest_level": {"lowest_level_set"},
        "scorecard.composite_in_range": {"lowest_level", "highest_level"},
        "scorecard.criterion_likelihood_in_range": {"lowest_level", "highest_level"},
        "scorecard.leaf_levels_on_scale": {"likelihood_levels"},
    }


def _indicator_frame(catalogue) -> pd.DataFrame:
    """30 healthy leaf rows as transforms.quality.datasets.indicator_frame gives them; one leaf no_events."""
    rows = []
    for k, ind in enumerate(catalogue.indicators):
        quiet = ind.indicator_id == "OS1"
        rows.append(
            {
                "as_of_date": dt.date(2025, 3, 31),
                "indicator_id": ind.indicator_id,
                "criterion_id": ind.criterion_id,
                "value": math.nan if quiet else 1.0,
                "numerator": 0.0 if quiet else 1.0,
                "denominator": 0.0 if quiet else 100.0,
                "sample_size": math.nan,
                "level": PUBLISHED_SCALE[0] if quiet else PUBLISHED_SCALE[k % 5],
                "status": "no_events" if quiet else "ok",
                "catalogue_unit": ind.unit,
                "catalogue_criterion_id": ind.criterion_id,
                "build_status": "success",
            }
        )
    return pd.DataFrame(rows)


def test_gx_checks_levels_against_the_published_scale(settings):
    """A real GX run of both suites: the scale reaches GX as the method document's five values."""
    catalogue = load_catalogue(settings)
    batch = SuiteBatch(
        load_suite(settings, "indicators"),
        _indicator_frame(catalogue),
        {"leaf_count": len(catalogue.indicators), "indicator_ids": list(catalogue.indicator_ids)},
    )
    results, _ = run_suites(settings, [batch], "levels-indicators", dt.datetime.now(dt.UTC))
    by_name = {r.expectation: r for r in results}
    assert [r.expectation for r in results if not r.success] == []
    assert by_name["level_on_scale"].expected == f"level in {SCALE_TEXT}"
    assert by_name["no_events_scores_lowest_level"].expected == "level in {0.2} where status == no_events"

    profile = load_profile("default", settings, catalogue=catalogue)
    card = synthesize({i: 0.8 for i in catalogue.indicator_ids}, profile, catalogue)
    rows = scorecard_rows(card, catalogue, {}, band_of)
    bands = [b[0] for b in PUBLISHED_BANDS]
    outcome = run_scorecard_suite(settings, rows, dt.date(2025, 3, 31), "levels-scorecard", catalogue, bands)
    by_name = {r.expectation: r for r in outcome.results}
    assert outcome.failures == []
    assert {name: by_name[name].expected for name in SCORECARD_SCALE_CHECKS} == SCORECARD_SCALE_CHECKS


@pytest.mark.parametrize("level", [0.5, 1.2])
def test_gx_fails_a_level_off_the_scale(settings, level):
    catalogue = load_catalogue(settings)
    frame = _indicator_frame(catalogue)
    frame.loc[frame["indicator_id"] == "BC2", "level"] = level
    batch = SuiteBatch(
        load_suite(settings, "indicators"),
        frame,
        {"leaf_count": len(catalogue.indicators), "indicator_ids": list(catalogue.indicator_ids)},
    )
    results, _ = run_suites(settings, [batch], "levels-off-scale", dt.datetime.now(dt.UTC))
    assert [(r.expectation, r.severity) for r in results if not r.success] == [("level_on_scale", "critical")]
