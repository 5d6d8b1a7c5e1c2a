"""Each rule the dbt project shares with the Python side has one owner; these tests fail when a copy drifts from it.

- sources and systems: ``transforms.core.contract`` (dbt gets them as the vars ``sources`` / ``systems`` from
  ``dbt_runner.dbt_vars``; dbt_project.yml's defaults for runs by hand, seeds/systems.csv and the dbt sources of
  models/staging/_sources.yml must say the same);
- which family model computes a leaf: the first of its ``sources`` in seeds/indicators.csv;
- the catalogue's rules: ``transforms.indicators.catalogue``, checked by `riskcard build` before dbt runs;
- the guideline's limits: the var ``guideline_limits`` (dbt_project.yml), never a literal in a model, and the
  look-back of what a run reads follows them;
- "records in window": dbt's ``int_source_records`` definition, which the ingestion-health dataset counts too;
- the raw change logs' DDL: ``transforms.ingest.tables``, which `riskcard build` calls as well.

The window (dbt's, with the Python copy ``window_for``) is tests/test_windows.py's.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil

import duckdb
import pytest
import yaml

from transforms.core.contract import SOURCES, SYSTEMS
from transforms.core.settings import PROJECT_DIR
from transforms.core.windows import window_for
from transforms.indicators.build import BuildFailed, _ensure_raw_tables, build
from transforms.indicators.catalogue import CatalogueError, load_catalogue
from transforms.indicators.dbt_runner import dbt_vars, run_dbt
from transforms.ingest.tables import ensure_tables
from transforms.quality.health import ingestion_health_frame, records_in_window

DBT = PROJECT_DIR / "dbt_project"
INTERMEDIATE = DBT / "models" / "intermediate"

# the limits as shared/design/indicators.md states them (copied by hand from the KRI column)
DESIGN_LIMITS = {
    "large_amount": (5000, "CNY"),  # SP1: amount >= 5,000
    "review_days": (5, "days"),  # IC2
    "response_deadline_days": (15, "days"),  # RP3
    "dispute_deadline_days": (30, "days"),  # LG1
    "backup_max_age_hours": (24, "hours"),  # BC3
    "restore_minutes": (20, "minutes"),  # BC4, LG4
    "escalation_minutes": (20, "minutes"),  # LG4
    "security_report_hours": (48, "hours"),  # LG5
    "suspension_hours_in_working_hours": (4, "hours"),  # LG5
    "suspension_hours_outside_working_hours": (8, "hours"),  # LG5
    "suspension_report_hours": (24, "hours"),  # LG5
}


def _project_vars() -> dict:
    return yaml.safe_load((DBT / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]


def _sql_without_comments(path) -> str:
    text = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.S)
    return "\n".join(line.split("--", 1)[0] for line in text.splitlines())


# ---- sources and systems ------------------------------------------------------------------------------------------


def test_dbt_var_defaults_for_runs_by_hand_are_what_build_passes(settings):
    defaults, passed = _project_vars(), dbt_vars(settings)
    assert passed["sources"] == list(SOURCES) and passed["systems"] == list(SYSTEMS)
    mirrored = ("timezone", "window_days", "working_hours_start", "working_hours_end", "working_days", "sources",
                "systems")  # fmt: skip
    assert {k: defaults[k] for k in mirrored} == {k: passed[k] for k in mirrored}
    assert "guideline_limits" not in passed  # the dbt project's own: build.py passes no second copy


def test_the_system_catalogue_seed_lists_the_contracts_systems():
    with (PROJECT_DIR / "seeds" / "systems.csv").open(encoding="utf-8", newline="") as fh:
        seeded = [row["system_id"] for row in csv.DictReader(fh)]
    assert sorted(seeded) == sorted(SYSTEMS) and len(seeded) == len(set(seeded))


def test_the_dbt_sources_and_family_models_are_the_contracts_sources():
    sources = yaml.safe_load((DBT / "models" / "staging" / "_sources.yml").read_text(encoding="utf-8"))["sources"]
    assert [t["name"] for t in sources[0]["tables"]] == list(SOURCES)
    for source in SOURCES:  # int_source_records and int_leaf_values read int_<source>_leaves.<source>_records
        family = INTERMEDIATE / f"int_{source[:-1]}_leaves.sql"
        assert f" as {source[:-1]}_records," in family.read_text(encoding="utf-8"), family


def test_every_leaf_is_in_the_family_model_of_its_first_source(settings):
    for leaf in load_catalogue(settings).indicators:
        family = _sql_without_comments(INTERMEDIATE / f"int_{leaf.sources[0][:-1]}_leaves.sql")
        for part in ("numerator", "denominator", "value", "sample_size"):
            assert f" as {leaf.indicator_id.lower()}_{part}" in family, (leaf.indicator_id, part)


# ---- the catalogue ------------------------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path, settings):
    """A copy of the dbt project and the seeds that a test may edit; settings pointing at it."""
    root = tmp_path / "project"
    shutil.copytree(DBT, root / "dbt_project", ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copytree(PROJECT_DIR / "seeds", root / "seeds")
    return settings.replace(project_dir=root)


def _edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (",transactions,ratio,%,higher_is_riskier,0.5,", ",transaction,ratio,%,higher_is_riskier,0.5,",
         r"indicators.csv line 2: column sources: 'transaction' of SP1 is not a source of the landing-log contract"),
        (",complaints|transactions,ratio,per 10k,", ",complaints|,ratio,per 10k,",
         r"indicators.csv line 10: column sources: '' of RP1 is not a source"),
        (",complaints|transactions,ratio,per 10k,", ",complaints|complaints,ratio,per 10k,",
         r"indicators.csv line 10: column sources: 'complaints\|complaints' of RP1 names a source twice"),
        (",%,higher_is_riskier,0.5,1,2,5", ",%,lower_is_riskier,0.5,1,2,5",
         r"indicators.csv line 2: column direction: 'lower_is_riskier'"),
    ],
)  # fmt: skip
def test_a_bad_catalogue_fails_the_build_before_dbt_runs(project, old, new, expected):
    _edit(project.seeds_dir / "indicators.csv", old, new)
    with pytest.raises(CatalogueError, match=expected):
        load_catalogue(project)
    with pytest.raises(BuildFailed, match="the indicator catalogue breaks a rule: .*" + expected):
        build(project, as_of=dt.date(2024, 3, 31))
    assert not project.warehouse.exists()  # refused before the warehouse was opened


# ---- the guideline's limits ---------------------------------------------------------------------------------------


def test_the_guideline_limits_are_the_designs_and_each_is_read_by_a_model():
    limits = _project_vars()["guideline_limits"]
    assert {name: (limit["value"], limit["unit"]) for name, limit in limits.items()} == DESIGN_LIMITS
    assert all(limit["source"] for limit in limits.values())
    sql = "\n".join(p.read_text(encoding="utf-8") for p in [*DBT.glob("models/**/*.sql"), *DBT.glob("macros/*.sql")])
    assert [name for name in limits if f"guideline_limit('{name}')" not in sql] == []


def test_no_model_writes_a_time_limit_as_a_literal():
    found = []
    for path in sorted(INTERMEDIATE.glob("*.sql")):
        sql = _sql_without_comments(path)
        sql = sql.replace("as_of_date, interval 1 day", "")  # a date series' step, not a limit
        literals = (r"interval\s+\d+", r"[<>]=?\s*[1-9]\d*\b(?!\s*\*)", r"then\s+(?!1\s+else\s+0\b)\d+\s+else\s+\d+")
        for pattern in literals:
            found += [(path.name, m.group(0)) for m in re.finditer(pattern, sql)]
    assert found == []


def _compiled(settings, tmp_path, limits: dict) -> dict[str, str]:
    names = ["int_complaint_versions_in_run", "int_complaints_as_of", "int_backup_versions_in_run",
             "int_backups_as_of", "int_backup_leaves"]  # fmt: skip
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    work = tmp_path / "dbt"
    result = run_dbt(
        settings,
        ["compile", "--select", *names],
        variables={**dbt_vars(settings), "guideline_limits": limits},
        work_dir=work,
        dates=(dt.date(2024, 3, 31), dt.date(2024, 3, 31)),
    )
    assert result.success, result.exception
    folder = work / "target" / "compiled" / "riskcard" / "models" / "intermediate"
    return {name: (folder / f"{name}.sql").read_text(encoding="utf-8") for name in names}


@pytest.mark.slow
def test_the_look_back_of_a_run_follows_the_guideline_limits(settings, tmp_path):
    defaults = _project_vars()["guideline_limits"]
    raised = {**defaults, "dispute_deadline_days": {**defaults["dispute_deadline_days"], "value": 45},
              "backup_max_age_hours": {**defaults["backup_max_age_hours"], "value": 60}}  # fmt: skip
    before, after = _compiled(settings, tmp_path / "a", defaults), _compiled(settings, tmp_path / "b", raised)
    # as-of 2024-03-31, 30-day window from 2024-03-02: complaints opened from the longer deadline and a day before,
    # one more day of UTC margin (run_scope_start): 29 + 31 + 1 days back, then 29 + 46 + 1
    assert "opened_at >= timestamptz '2024-01-30 00:00:00+00'" in before["int_complaint_versions_in_run"]
    assert "opened_at >= timestamptz '2024-01-15 00:00:00+00'" in after["int_complaint_versions_in_run"]
    assert "as_of_date - 60\n" in before["int_complaints_as_of"]
    assert "as_of_date - 75\n" in after["int_complaints_as_of"]
    assert "window_start - interval 30 day" in before["int_complaints_as_of"]
    assert "window_start - interval 45 day" in after["int_complaints_as_of"]
    # backups: ceil(24 h / 1 day) + 1 = 2 days, then ceil(60 h / 1 day) + 1 = 4 days (and the UTC margin)
    for column in ("scheduled_at", "finished_at"):
        assert f"{column} >= timestamptz '2024-02-28 00:00:00+00'" in before["int_backup_versions_in_run"]
        assert f"{column} >= timestamptz '2024-02-26 00:00:00+00'" in after["int_backup_versions_in_run"]
    assert "as_of_dates.as_of_date - 31\n" in before["int_backups_as_of"]
    assert "as_of_dates.as_of_date - 33\n" in after["int_backups_as_of"]
    assert "successes.finished_at + interval 60 hour" in after["int_backup_leaves"]

    # the local days a success can cover: its own and the day before with 24 h; up to two days after it with 60 h
    def candidate_days(sql: str) -> list[str]:
        listed = sql.split("cross join unnest([", 1)[1].split("]) as candidate(day)", 1)[0]
        return re.findall(r"as date\)\s*([-+] \d+)?", listed)

    assert candidate_days(before["int_backup_leaves"]) == ["- 1", ""]
    assert candidate_days(after["int_backup_leaves"]) == ["- 1", "", "+ 1", "+ 2"]


# ---- records in window --------------------------------------------------------------------------------------------


def _complaint(con, complaint_id: str, updated_at: str, opened_at: str, seq: int) -> None:
    con.execute(
        "INSERT INTO raw.complaints (complaint_id, updated_at, opened_at, customer_id, category, channel, resolution,"
        " _ingest_seq, _row_number) VALUES (?, ?::TIMESTAMPTZ, ?::TIMESTAMPTZ, 'c', 'other', 'phone', 'open', ?, 1)",
        [complaint_id, updated_at, opened_at, seq],
    )


def test_records_in_window_are_entities_whose_state_as_of_d_is_in_the_window(settings):
    # Asia/Shanghai, as of 2024-03-31: the window is [2024-03-02 00:00+08, 2024-04-01 00:00+08)
    settings.warehouse.parent.mkdir(parents=True)
    con = duckdb.connect(str(settings.warehouse))
    try:
        ensure_tables(con)
        _complaint(con, "c1", "2024-03-10 09:00+08", "2024-03-10 09:00+08", 1)  # in
        _complaint(con, "c2", "2024-03-15 09:00+08", "2024-02-20 09:00+08", 1)  # opened before: a late update
        _complaint(con, "c3", "2024-03-05 09:00+08", "2024-03-05 09:00+08", 1)
        _complaint(con, "c3", "2024-03-20 09:00+08", "2024-02-25 09:00+08", 2)  # corrected out of the window
        _complaint(con, "c4", "2024-04-01 00:10+08", "2024-03-31 23:30+08", 3)  # known only after the end of D
        _complaint(con, "c5", "2024-03-12 09:00+08", "2024-03-12 09:00+08", 1)  # in as of D ...
        _complaint(con, "c5", "2024-04-02 09:00+08", "2024-02-01 09:00+08", 3)  # ... moved out later
        _complaint(con, "c6", "2024-03-18 09:00+08", "2024-03-18 09:00+08", 1)
        _complaint(con, "c6", "2024-03-18 09:00+08", "2024-02-18 09:00+08", 2)  # same instant, later file: out
        _complaint(con, "c7", "2024-03-18 09:00+08", "2024-02-18 09:00+08", 1)
        _complaint(con, "c7", "2024-03-18 09:00+08", "2024-03-18 09:00+08", 2)  # same instant, later file: in
        window = window_for(settings, dt.date(2024, 3, 31))
        assert records_in_window(con, window, "complaints") == 3  # c1, c5, c7
        # only the first files (_ingest_seq 1): c3 and c6 are not corrected yet, c7 not moved in
        assert records_in_window(con, window, "complaints", hw=1) == 4  # c1, c3, c5, c6
        # as of 2024-03-16 (window from 2024-02-16): c2's opening is in it; c4, c6, c7 are not known yet
        assert records_in_window(con, window_for(settings, dt.date(2024, 3, 16)), "complaints") == 4  # c1, c2, c3, c5
        frame = ingestion_health_frame(con, settings, dt.date(2024, 3, 31))
        assert frame.set_index("source")["records_in_window"].to_dict() == {
            "transactions": 0, "complaints": 3, "incidents": 0, "backups": 0}  # fmt: skip
    finally:
        con.close()


# ---- the raw change logs' DDL -------------------------------------------------------------------------------------


def _raw_layout(path) -> list[tuple]:
    con = duckdb.connect(str(path))
    try:
        return con.execute(
            "SELECT table_name, column_index, column_name, data_type FROM duckdb_columns() "
            "WHERE schema_name = 'raw' ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()


def test_build_creates_the_raw_change_logs_with_the_ingestions_ddl(settings, tmp_path):
    settings.warehouse.parent.mkdir(parents=True)
    _ensure_raw_tables(settings)
    by_build = _raw_layout(settings.warehouse)
    ingested = tmp_path / "ingested.duckdb"
    con = duckdb.connect(str(ingested))
    try:
        ensure_tables(con)
    finally:
        con.close()
    by_ingest = _raw_layout(ingested)
    assert {row[0] for row in by_build} == set(SOURCES)  # the change logs only: no manifest before an ingest
    assert by_build == [row for row in by_ingest if row[0] in SOURCES]
