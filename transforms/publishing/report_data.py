"""What the committee report shows, gathered into one :class:`ReportData` (no HTML here).

Two ways in:

- :func:`gather` reads a published version from a DuckDB connection (the live warehouse at publish time, or the
  serving copy for `riskcard report`): the version's rows and metadata (``published.scorecard*``), the verdict of
  its validation runs (``ops.validation_runs`` / ``ops.dq_alerts``, transforms.quality.record), the trend of the
  last published dates, what moved against the previous version, the stored sensitivity analysis, and the first
  contributing records of every leaf (``transforms.indicators.explain``, on ``records_con``: the live warehouse,
  whose raw and mart tables the serving copy does not hold);
- :func:`from_scorecard` takes a :class:`~transforms.scoring.synthesis.Scorecard` built in memory (the paper's
  case study, a what-if) and needs no warehouse.

Bands and attention labels come from the rows (the synthesis wrote them with ``transforms.scoring.levels``); the
report never re-derives them.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import duckdb

from transforms.core.warehouse import table_exists
from transforms.publishing.queries import NotPublished, load_version, resolve_against, resolve_version

log = logging.getLogger(__name__)

TREND_DATES = 12  # the trend shows the last this many published dates (latest version of each)
DEFAULT_RECORDS = 20  # contributing records per leaf in the drill-down (Settings.report_records overrides)


@dataclass(frozen=True)
class CriterionView:
    criterion_id: str
    name_zh: str
    name_en: str
    weight: float  # W
    likelihood: float  # C
    score: float  # W x C
    rank: int
    band: str
    band_zh: str
    attention: str
    attention_zh: str


@dataclass(frozen=True)
class LeafView:
    indicator_id: str
    criterion_id: str
    name_zh: str
    name_en: str
    kri_en: str
    unit: str
    thresholds: tuple[float, ...] | None  # t1..t4 of the catalogue
    value: float | None
    numerator: float | None
    denominator: float | None
    sample_size: int | None
    level: float
    status: str | None
    local_weight: float
    global_weight: float
    band: str | None = None
    band_zh: str | None = None


@dataclass(frozen=True)
class Quality:
    """The data-quality verdict of the run behind a version."""

    verdict: str  # passed | passed with warnings | failed | not recorded
    summary: str  # one sentence for the headline
    runs: list[dict[str, Any]] = field(default_factory=list)  # ops.validation_runs rows (data suites, scorecard)
    failures: list[dict[str, Any]] = field(default_factory=list)  # ops.dq_alerts rows of those runs
    cleared_files: list[dict[str, Any]] = field(default_factory=list)  # failed files acknowledged / superseded


@dataclass(frozen=True)
class TrendPoint:
    as_of_date: dt.date
    version: int
    composite: float
    rating: str
    scores: dict[str, float]  # criterion_id -> W x C


@dataclass(frozen=True)
class Changes:
    """What moved against the version compared with (``basis`` says which one and why)."""

    against_date: dt.date
    against_version: int
    basis: str
    composite_before: float
    composite_after: float
    rating_before: str
    rating_after: str
    profile_before: str
    profile_after: str
    criteria: list[dict[str, Any]]
    leaves: list[dict[str, Any]]


@dataclass(frozen=True)
class DrillDown:
    """The first contributing records of each leaf (``explanations``: indicator_id -> Explanation.to_dict())."""

    available: bool
    note: str
    records: int
    explanations: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # indicator_id -> why its explanation failed


@dataclass(frozen=True)
class ReportData:
    title: str
    as_of: dt.date | None
    version: int | None
    composite: float
    rating: str
    rating_zh: str
    profile_name: str
    profile_label: str
    method: str
    override: bool
    provisional: bool
    criteria: list[CriterionView]  # catalogue order
    leaves: list[LeafView]  # catalogue order
    labels: list[tuple[str, str]] = field(default_factory=list)  # (badge, explanation): OVERRIDE, PROVISIONAL, ...
    quality: Quality | None = None
    trend: list[TrendPoint] = field(default_factory=list)  # oldest first
    changes: Changes | None = None
    changes_note: str = ""
    sensitivity: dict[str, Any] | None = None
    sensitivity_note: str = ""
    provenance: list[tuple[str, str]] = field(default_factory=list)
    drilldown: DrillDown | None = None
    notes: list[str] = field(default_factory=list)
    published_at: dt.datetime | None = None

    @property
    def ranked(self) -> list[CriterionView]:
        return sorted(self.criteria, key=lambda c: c.rank)

    def leaves_of(self, criterion_id: str) -> list[LeafView]:
        return [leaf for leaf in self.leaves if leaf.criterion_id == criterion_id]

    @property
    def file_stem(self) -> str:
        if self.as_of is None:
            return "riskcard-report"
        return f"riskcard-report-{self.as_of.isoformat()}" + (f"-v{self.version}" if self.version else "")


# ---- from a published version ------------------------------------------------------------------------------------


def gather(
    con: duckdb.DuckDBPyConnection,
    settings,
    as_of: dt.date,
    version: int | None = None,
    *,
    records_con: duckdb.DuckDBPyConnection | None = None,
    records: int | None = None,
    records_note: str = "",
) -> ReportData:
    """The report of version ``version`` (default: the latest) of ``as_of``, read from ``con``.

    ``records_con`` (default ``con``) is where the drill-down's records are read; None with ``records_note``
    says why they are not there. ``records`` per leaf (default ``settings.report_records``; 0: no drill-down).
    """
    as_of, version = resolve_version(con, as_of, version)
    card = load_version(con, as_of, version)
    info = card["info"]
    catalogue = _catalogue(settings)
    notes: list[str] = []
    if catalogue is not None and catalogue.content_hash != info.get("catalogue_hash"):
        notes.append(
            "the thresholds shown are those of the current catalogue, which differs from the one this version was "
            f"published with (catalogue {str(info.get('catalogue_hash'))[:12]}, now {catalogue.content_hash[:12]})"
        )
    criteria = [_criterion_view(c) for c in card["criteria"]]
    leaves = [_leaf_view(row, catalogue) for row in card["leaves"]]
    label = _profile_label(settings, info, catalogue)
    override = bool(info["profile_override"])
    changes, changes_note = _changes(con, as_of, version, card)
    sensitivity, sensitivity_note = _sensitivity(con, as_of, version)
    if records is None:
        records = int(getattr(settings, "report_records", DEFAULT_RECORDS))
    drill_con = con if records_con is None and not records_note else records_con
    drilldown = _drilldown(drill_con, settings, as_of, info, [leaf.indicator_id for leaf in leaves], records,
                           records_note)  # fmt: skip
    return ReportData(
        title=f"Online-banking risk scorecard {as_of.isoformat()} (version {version})",
        as_of=as_of,
        version=version,
        composite=float(info["composite"]),
        rating=info["rating"],
        rating_zh=info.get("rating_zh") or "",
        profile_name=info["profile_name"],
        profile_label=label,
        method=info["ahp_method"],
        override=override,
        provisional=False,
        criteria=criteria,
        leaves=leaves,
        labels=_labels(info, override, label),
        quality=_quality(con, info),
        trend=_trend(con, as_of, version),
        changes=changes,
        changes_note=changes_note,
        sensitivity=sensitivity,
        sensitivity_note=sensitivity_note,
        provenance=_provenance(info),
        drilldown=drilldown,
        notes=notes,
        published_at=info.get("published_at"),
    )


def _catalogue(settings):
    from transforms.indicators.catalogue import CatalogueError, load_catalogue

    try:
        return load_catalogue(settings)
    except CatalogueError as exc:
        log.warning("report: the catalogue does not load (%s): thresholds are not shown", exc)
        return None


def _criterion_view(row: dict[str, Any]) -> CriterionView:
    return CriterionView(
        criterion_id=row["criterion_id"],
        name_zh=row["name_zh"] or "",
        name_en=row["name_en"] or "",
        weight=float(row["global_weight"]),
        likelihood=float(row["likelihood"]),
        score=float(row["score"]),
        rank=int(row["rank"]),
        band=row["band"],
        band_zh=row["band_zh"] or "",
        attention=row["attention"] or "",
        attention_zh=row["attention_zh"] or "",
    )


def _leaf_view(row: dict[str, Any], catalogue) -> LeafView:
    ind = None
    if catalogue is not None:
        try:
            ind = catalogue.indicator(row["indicator_id"])
        except KeyError:
            ind = None
    return LeafView(
        indicator_id=row["indicator_id"],
        criterion_id=row["criterion_id"],
        name_zh=row["name_zh"] or "",
        name_en=row["name_en"] or "",
        kri_en=ind.kri_en if ind else "",
        unit=row["unit"] or "",
        thresholds=tuple(ind.thresholds) if ind else None,
        value=row["value"],
        numerator=row["numerator"],
        denominator=row["denominator"],
        sample_size=row["sample_size"],
        level=float(row["level"]),
        status=row["status"],
        local_weight=float(row["local_weight"]),
        global_weight=float(row["global_weight"]),
        band=row.get("band"),
        band_zh=row.get("band_zh"),
    )


def _profile_label(settings, info: dict[str, Any], catalogue) -> str:
    """The profile's own label (it names what an override overrides) when the profile file still has the hash
    the version was published with; otherwise a label from the version's record."""
    name = info["profile_name"]
    if catalogue is not None:
        from transforms.scoring.profiles import load_profile

        try:
            profile = load_profile(name, settings, catalogue=catalogue)
        except Exception as exc:  # an edited or removed profile file: the version's record still names it
            log.debug("report: profile %s does not load now (%s)", name, exc)
        else:
            if profile.content_hash == info["profile_hash"]:
                return profile.label
    if info["profile_override"]:
        return f"{name} [OVERRIDE: explicit weights, not derived by AHP]"
    return f"{name} ({info['ahp_method']})"


def _labels(info: dict[str, Any], override: bool, label: str) -> list[tuple[str, str]]:
    labels = [("FINAL", "published version: built, validated and stored; not a provisional intraday figure")]
    if override:
        labels.append(("OVERRIDE", f"weights given explicitly, not derived by AHP: {label}"))
    if info.get("forced"):
        labels.append(("FORCED", "published again with --force although identical to the previous version"))
    return labels


def _provenance(info: dict[str, Any]) -> list[tuple[str, str]]:
    def text(key: str) -> str:
        value = info.get(key)
        if value is None:
            return "—"
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return str(value)

    window = "—"
    if info.get("window_start") and info.get("window_end"):
        window = f"{text('window_start')} – {text('window_end')}"
    return [
        ("as-of date / version", f"{info['as_of_date'].isoformat()} / {info['version']}"),
        ("published at", text("published_at")),
        ("profile", text("profile_name")),
        ("profile hash", text("profile_hash")),
        ("method", text("ahp_method") + (" (override)" if info.get("profile_override") else "")),
        ("catalogue hash", text("catalogue_hash")),
        ("input digest", text("input_digest")),
        ("input files", text("input_files")),
        ("indicator window", window),
        ("code version", text("code_version")),
        ("publish run id", text("run_id")),
        ("validation run id", text("validation_run_id")),
        ("build id", text("build_id")),
        ("ingest high-water", text("ingest_high_water")),
        ("indicator rows hash", text("indicator_rows_hash")),
        ("content hash", text("content_hash")),
    ]


# ---- data quality -------------------------------------------------------------------------------------------------

_RUN_COLUMNS = ("run_id", "suites", "success", "critical_failed", "evaluated", "passed", "failed_critical",
                "failed_warning", "finished_at")  # fmt: skip
_ALERT_COLUMNS = ("run_id", "suite", "expectation", "severity", "observed_value", "expected", "description")


def _quality(con: duckdb.DuckDBPyConnection, info: dict[str, Any]) -> Quality:
    """The verdict of the version's validation run (data suites) and of its publish run (scorecard suite)."""
    cleared = _cleared_files(info.get("failed_files_cleared"))
    run_ids = [r for r in (info.get("validation_run_id"), info.get("run_id")) if r]
    if not run_ids or not table_exists(con, "ops", "validation_runs"):
        return Quality("not recorded", "no validation run is recorded for this version", cleared_files=cleared)
    marks = ", ".join("?" * len(run_ids))
    cur = con.execute(
        f"SELECT {', '.join(_RUN_COLUMNS)} FROM ops.validation_runs WHERE run_id IN ({marks}) "
        "ORDER BY finished_at, run_id",
        run_ids,
    )
    runs = [dict(zip(_RUN_COLUMNS, r, strict=True)) for r in cur.fetchall()]
    failures: list[dict[str, Any]] = []
    if table_exists(con, "ops", "dq_alerts"):
        cur = con.execute(
            f"SELECT {', '.join(_ALERT_COLUMNS)} FROM ops.dq_alerts WHERE run_id IN ({marks}) "
            "ORDER BY severity, suite, expectation",
            run_ids,
        )
        failures = [dict(zip(_ALERT_COLUMNS, r, strict=True)) for r in cur.fetchall()]
    data_run = info.get("validation_run_id")
    if not any(r["run_id"] == data_run for r in runs):
        return Quality("not recorded", f"validation run {data_run} is not in ops.validation_runs", runs, failures,
                       cleared)  # fmt: skip
    evaluated = sum(int(r["evaluated"]) for r in runs)
    passed = sum(int(r["passed"]) for r in runs)
    critical = sum(int(r["failed_critical"]) for r in runs)
    warnings = sum(int(r["failed_warning"]) for r in runs)
    suites = ", ".join(dict.fromkeys(s for r in runs for s in str(r["suites"]).split(",")))
    if critical:
        verdict = "failed"
        summary = f"{critical} critical expectation(s) failed ({suites})"
    elif warnings:
        verdict = "passed with warnings"
        summary = f"{passed} of {evaluated} expectations met, {warnings} warning(s) ({suites})"
    else:
        verdict = "passed"
        summary = f"all {evaluated} expectations met ({suites})"
    if cleared:
        summary += f"; {len(cleared)} failed file(s) of the window cleared (acknowledged or superseded)"
    return Quality(verdict, summary, runs, failures, cleared)


def _cleared_files(text: str | None) -> list[dict[str, Any]]:
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# ---- trend and changes --------------------------------------------------------------------------------------------


def _trend(con: duckdb.DuckDBPyConnection, as_of: dt.date, version: int) -> list[TrendPoint]:
    """The reported version and the latest version of each of the up to TREND_DATES - 1 published dates before it."""
    earlier = con.execute(
        """
        SELECT as_of_date, max(version) FROM published.scorecard_versions
        WHERE as_of_date < ? GROUP BY as_of_date ORDER BY as_of_date DESC LIMIT ?
        """,
        [as_of, TREND_DATES - 1],
    ).fetchall()
    keys = [(as_of, version), *((d, int(v)) for d, v in earlier)]
    points = []
    for day, ver in sorted(keys):
        head = con.execute(
            "SELECT composite, rating FROM published.scorecard_versions WHERE as_of_date = ? AND version = ?",
            [day, ver],
        ).fetchone()
        scores = dict(
            con.execute(
                "SELECT criterion_id, score FROM published.scorecard "
                "WHERE as_of_date = ? AND version = ? AND row_type = 'criterion' ORDER BY row_order",
                [day, ver],
            ).fetchall()
        )
        points.append(TrendPoint(day, ver, float(head[0]), head[1], {k: float(v) for k, v in scores.items()}))
    return points


def _changes(con, as_of: dt.date, version: int, after: dict[str, Any]) -> tuple[Changes | None, str]:
    try:
        base_date, base_version = resolve_against(con, as_of, version, None)
    except NotPublished:
        return None, "This is the first published scorecard: there is no earlier version to compare with."
    before = load_version(con, base_date, base_version)
    if base_date == as_of:
        basis = f"the previous version of the same date ({as_of.isoformat()} version {base_version})"
    else:
        basis = (f"version {version} is the first of {as_of.isoformat()}, so the latest version of the previous "
                 f"published date ({base_date.isoformat()} version {base_version})")  # fmt: skip
    crit_before = {c["criterion_id"]: c for c in before["criteria"]}
    criteria = []
    for c in after["criteria"]:
        b = crit_before.get(c["criterion_id"])
        if b is None or _moved(b["likelihood"], c["likelihood"]) or b["rank"] != c["rank"] or b["band"] != c["band"]:
            criteria.append(
                {
                    "criterion_id": c["criterion_id"],
                    "name_zh": c["name_zh"],
                    "name_en": c["name_en"],
                    "likelihood_before": b["likelihood"] if b else None,
                    "likelihood_after": c["likelihood"],
                    "score_before": b["score"] if b else None,
                    "score_after": c["score"],
                    "rank_before": b["rank"] if b else None,
                    "rank_after": c["rank"],
                    "band_before": b["band"] if b else None,
                    "band_after": c["band"],
                    "attention_before": b["attention"] if b else None,
                    "attention_after": c["attention"],
                }
            )
    leaf_before = {leaf["indicator_id"]: leaf for leaf in before["leaves"]}
    leaves = []
    for leaf in after["leaves"]:
        b = leaf_before.get(leaf["indicator_id"])
        if b is None or _moved(b["level"], leaf["level"]):
            leaves.append(
                {
                    "indicator_id": leaf["indicator_id"],
                    "criterion_id": leaf["criterion_id"],
                    "name_zh": leaf["name_zh"],
                    "name_en": leaf["name_en"],
                    "unit": leaf["unit"],
                    **{
                        f"{k}_before": (b[k] if b else None)
                        for k in ("level", "value", "numerator", "denominator", "status")
                    },  # fmt: skip
                    **{f"{k}_after": leaf[k] for k in ("level", "value", "numerator", "denominator", "status")},
                }
            )
    return (
        Changes(
            against_date=base_date,
            against_version=base_version,
            basis=basis,
            composite_before=float(before["info"]["composite"]),
            composite_after=float(after["info"]["composite"]),
            rating_before=before["info"]["rating"],
            rating_after=after["info"]["rating"],
            profile_before=before["info"]["profile_name"],
            profile_after=after["info"]["profile_name"],
            criteria=criteria,
            leaves=leaves,
        ),
        "",
    )


def _moved(before, after) -> bool:
    if before is None or after is None:
        return before is not after
    return abs(float(before) - float(after)) > 1e-12


# ---- sensitivity and drill-down -----------------------------------------------------------------------------------


def _sensitivity(con, as_of: dt.date, version: int) -> tuple[dict[str, Any] | None, str]:
    from transforms.publishing.sensitivity import stored_document

    document = stored_document(con, as_of, version)
    if document is None:
        return None, (
            "No sensitivity analysis is stored with this version (published before the analysis existed, or with "
            "sensitivity_draws = 0): run `riskcard sensitivity` to compute one."
        )
    return document, ""


def _drilldown(records_con, settings, as_of: dt.date, info: dict[str, Any], leaf_ids: list[str], records: int,
               note: str) -> DrillDown:  # fmt: skip
    if records <= 0:
        return DrillDown(False, "The record drill-down is switched off (report_records = 0).", 0)
    if records_con is None:
        return DrillDown(False, note or "The contributing records are not available here.", records)
    try:
        explain_module = importlib.import_module("transforms.indicators.explain")
    except ModuleNotFoundError as exc:
        if exc.name != "transforms.indicators.explain":
            raise
        return DrillDown(False, "The record drill-down is not available in this installation.", records)
    version = info["version"]
    explanations: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for leaf in leaf_ids:
        try:
            found = explain_module.explain(records_con, settings, as_of, leaf, rows=records, version=version)
            explanations[leaf] = found.to_dict()
        except Exception as exc:  # one leaf's failure leaves the others' records (and the version) intact
            log.warning("report: no drill-down for %s on %s: %s: %s", leaf, as_of, type(exc).__name__, exc)
            errors[leaf] = f"{type(exc).__name__}: {exc}"
    text = (f"The newest {records} contributing records of each leaf: the raw versions build "
            f"{info.get('build_id') or '—'} read for version {version} (reference data as it is now).")  # fmt: skip
    if note:
        text += " " + note
    return DrillDown(True, text, records, explanations, errors)


# ---- from a scorecard built in memory -----------------------------------------------------------------------------


def from_scorecard(
    card,
    catalogue,
    *,
    title: str | None = None,
    as_of: dt.date | None = None,
    profile=None,
    facts: dict[str, dict[str, Any]] | None = None,
    provisional: bool = False,
    notes: list[str] | None = None,
    sensitivity: dict[str, Any] | None = None,
) -> ReportData:
    """The report of a Scorecard built in memory (no warehouse): ``profile`` (the WeightProfile) names it and
    gives its hash; ``facts`` (indicator_id -> value/numerator/denominator/status) fill the leaf table."""
    from transforms.scoring.levels import band_of

    facts = facts or {}
    criteria = []
    for crit in catalogue.criteria:
        c = card.criterion(crit.criterion_id)
        criteria.append(
            CriterionView(
                c.criterion_id,
                crit.name_zh,
                crit.name_en,
                c.weight,
                c.likelihood,
                c.score,
                c.rank,
                c.band,
                c.band_zh,
                c.attention,
                c.attention_zh,
            )  # fmt: skip
        )
    leaf_scores = {leaf.indicator_id: leaf for leaf in card.leaves}
    leaves = []
    for ind in catalogue.indicators:
        score = leaf_scores[ind.indicator_id]
        fact = facts.get(ind.indicator_id, {})
        band = band_of(score.level)
        leaves.append(
            LeafView(
                indicator_id=ind.indicator_id,
                criterion_id=ind.criterion_id,
                name_zh=ind.name_zh,
                name_en=ind.name_en,
                kri_en=ind.kri_en,
                unit=ind.unit,
                thresholds=tuple(ind.thresholds),
                value=fact.get("value"),
                numerator=fact.get("numerator"),
                denominator=fact.get("denominator"),
                sample_size=fact.get("sample_size"),
                level=score.level,
                status=fact.get("status"),
                local_weight=score.local_weight,
                global_weight=score.global_weight,
                band=band.name,
                band_zh=band.name_zh,
            )
        )
    label = profile.label if profile is not None else card.profile_name
    labels = [("PROVISIONAL", "not a published version")] if provisional else [("IN MEMORY", "not a published version")]
    if card.override:
        labels.append(("OVERRIDE", f"weights given explicitly, not derived by AHP: {label}"))
    provenance = [("profile", card.profile_name), ("method", card.method + (" (override)" if card.override else ""))]
    if profile is not None:
        provenance.append(("profile hash", profile.content_hash or "—"))
    provenance.append(("catalogue hash", catalogue.content_hash))
    return ReportData(
        title=title or f"Risk scorecard, profile {card.profile_name}",
        as_of=as_of,
        version=None,
        composite=card.composite,
        rating=card.rating,
        rating_zh=card.rating_zh,
        profile_name=card.profile_name,
        profile_label=label,
        method=card.method,
        override=card.override,
        provisional=provisional,
        criteria=criteria,
        leaves=leaves,
        labels=labels,
        changes_note="Not a published version: nothing to compare with.",
        sensitivity=sensitivity,
        sensitivity_note="" if sensitivity else "No sensitivity analysis was supplied for this scorecard.",
        provenance=provenance,
        drilldown=DrillDown(False, "Levels given directly: there are no contributing records.", 0),
        notes=list(notes or []),
    )
