"""Publishing version N of the scorecard for an as-of date.

Steps, all under the warehouse writer lock (taken once, here):

1. the data is fit: the date's latest build (``ops.build_runs``) succeeded (a failed build, whose dbt test
   failed after the rows were written, or one that never finished, blocks), and either the stored validation
   run ``validation_run_id`` (same as-of date, no critical failure, and bound to that same build and to the
   same mart rows: a rebuild or any change of the rows since refuses it), or a fresh run of the
   ``ingestion_health`` and ``indicators`` suites (recorded like `riskcard validate`);
2. the weight profile loads (an invalid one raises ProfileInvalid: blocked, never a fallback) and the synthesis
   of the leaf levels of ``marts.fct_leaf_indicators`` gives the scorecard rows;
3. the ``scorecard`` suite validates those rows before anything is written;
4. the rows' content hash is compared with the latest version of the date: identical content reports
   ``unchanged`` and writes nothing (unless ``force``); otherwise the sensitivity analysis of the rows is computed
   (``sensitivity_draws`` draws, transforms.publishing.sensitivity) and version N = latest + 1 is inserted into
   ``published.scorecard_versions``, ``published.scorecard`` and the sensitivity tables in one transaction;
5. the Parquet snapshot (immutable) of the version, and of every earlier version of the date that a killed
   publish left without one, is written, and the analysts' serving copy is swapped in (a failure there is
   reported in the result's message, not raised: the version is committed).

Any critical failure (steps 1-3) raises :class:`PublishBlocked` after recording it and alerting: no new version,
and the previous version stays the latest. Alerts are sent after the lock is released, whatever happened after
the validation that raised them.

Provenance recorded per version: see transforms.publishing.provenance.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import duckdb

from transforms.core.windows import window_for
from transforms.indicators.build_runs import BUILD_RUNNING, BUILD_SUCCESS, current_build
from transforms.publishing.provenance import code_version, content_hash, input_digest
from transforms.publishing.rows import leaf_facts, scorecard_rows
from transforms.publishing.sensitivity import for_publish
from transforms.publishing.sensitivity import insert as insert_sensitivity
from transforms.publishing.serving import refresh_serving
from transforms.publishing.snapshots import clean_staging, repair_snapshots_from, snapshot_dir, write_snapshot
from transforms.publishing.tables import (
    ROW_FIELDS,
    SCORECARD_COLUMNS,
    VERSION_COLUMNS,
    ensure_published_tables,
)
from transforms.quality.datasets import indicator_rows_hash
from transforms.quality.health import FailedFile, failed_files
from transforms.quality.record import ensure_ops_tables, record_outcome, stored_run
from transforms.quality.results import ValidationOutcome
from transforms.quality.run import (
    LEVELS,
    log_outcome,
    new_run_id,
    refresh_serving_safely,
    require_warehouse,
    run_data_suites,
    run_scorecard_suite,
)

if TYPE_CHECKING:
    from transforms.indicators.catalogue import Catalogue
    from transforms.scoring.profiles import WeightProfile
    from transforms.scoring.synthesis import Scorecard

log = logging.getLogger(__name__)

__all__ = [
    "PublishBlocked",
    "PublishResult",
    "publish",
    "write_snapshot",
    "refresh_serving",
]


PUBLISHED, UNCHANGED, BLOCKED = "published", "unchanged", "blocked"


@dataclass(frozen=True)
class PublishResult:
    status: str  # PUBLISHED | UNCHANGED | BLOCKED
    as_of: dt.date
    version: int | None  # the new version; for unchanged the latest (identical) one; None when blocked
    snapshot_dir: Path | None
    message: str
    run_id: str | None = None
    validation_run_id: str | None = None
    content_hash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "as_of_date": self.as_of.isoformat(),
            "version": self.version,
            "snapshot_dir": str(self.snapshot_dir) if self.snapshot_dir else None,
            "message": self.message,
            "run_id": self.run_id,
            "validation_run_id": self.validation_run_id,
            "content_hash": self.content_hash,
        }


class PublishBlocked(RuntimeError):
    """Publishing refused: a critical expectation failed, the stored validation is unusable, or the weight
    profile is invalid. ``.result`` is the PublishResult with status 'blocked'."""

    def __init__(self, message: str, result: PublishResult):
        super().__init__(message)
        self.result = result


def publish(
    settings,
    as_of: dt.date,
    profile: str | None = None,
    force: bool = False,
    run_id: str | None = None,
    validation_run_id: str | None = None,
) -> PublishResult:
    """Publish the scorecard for ``as_of`` (see the module docstring). Raises PublishBlocked or WarehouseBusy.

    Each step returns its answer (or why it blocks) and the validation runs it made that failed something; those
    are alerted whatever happens after them (a failing serving refresh, a crash while writing): in a ``finally``,
    after the lock is released."""
    from transforms.core.warehouse import connect, writer_lock
    from transforms.quality.alerts import send_alerts

    require_warehouse(settings)
    run_id = run_id or new_run_id("pub")
    alerts: list[ValidationOutcome] = []  # gathered here from the steps' answers, as they come
    result: PublishResult | None = None
    try:
        with writer_lock(settings, what=f"publish {as_of}"):
            con = connect(settings)
            try:
                ensure_published_tables(con)
                ensure_ops_tables(con)
                clean_staging(settings)  # folders of killed snapshot writers
                fit = _data_is_fit(settings, con, as_of, validation_run_id)
                alerts += fit.alerts
                if isinstance(fit.answer, _Blocked):
                    result = _blocked(con, as_of, fit.answer, run_id, validation_run_id)
                else:
                    scored = _scorecard(settings, con, as_of, profile or settings.profile, run_id)
                    alerts += scored.alerts
                    if isinstance(scored.answer, _Blocked):
                        result = _blocked(con, as_of, scored.answer, run_id, fit.answer.validation_run_id)
                    else:
                        result = _store(settings, con, as_of, force, run_id, fit.answer, scored.answer)
                serving_error = refresh_serving_safely(settings, con)  # also when blocked: the new dq_alerts
            finally:
                con.close()
    finally:
        blocked = result is not None and result.status == BLOCKED
        for outcome in alerts:
            send_alerts(
                settings,
                outcome,
                publish_blocked=blocked,
                stage="validation" if outcome.suites != ("scorecard",) else "publish (scorecard suite)",
            )
    if result.status == BLOCKED:
        log.error(result.message)
        raise PublishBlocked(result.message, result)
    if serving_error is not None:
        result = replace(
            result,
            message=f"{result.message}; the serving copy was NOT refreshed ({type(serving_error).__name__}: "
            f"{serving_error}): the next publish or validate refreshes it",
        )
    log.info(result.message)
    return result


# ---- the steps' answers -----------------------------------------------------------------------------------------

T = TypeVar("T")


@dataclass(frozen=True)
class _Blocked:
    """A step's answer when the scorecard must not be published: why."""

    reason: str


@dataclass(frozen=True)
class _Checked(Generic[T]):
    """A step's answer (what it found, or _Blocked) and the validation runs it made that failed something."""

    answer: T | _Blocked
    alerts: tuple[ValidationOutcome, ...] = ()


def _validated(outcome: ValidationOutcome, answer: T) -> _Checked[T]:
    """After a recorded validation run: blocked when a critical expectation failed; alerted when anything did."""
    alerts = (outcome,) if outcome.failures else ()
    return _Checked(_Blocked(_failure_text(outcome)) if outcome.critical_failed else answer, alerts)


@dataclass(frozen=True)
class _Fit:
    """What clears the data: the validation run, and the build / rows it is bound to."""

    validation_run_id: str
    build: dict[str, Any]
    rows_hash: str | None
    failed_files: tuple[FailedFile, ...]

    @property
    def high_water(self) -> int:
        return int(self.build["ingest_high_water"])


@dataclass(frozen=True)
class _Card:
    """The scorecard about to be published, and what it was made from."""

    catalogue: Catalogue
    weights: WeightProfile
    card: Scorecard
    rows: list[dict[str, Any]]
    digest: str  # content hash of the rows


# ---- step 1: the data is fit -------------------------------------------------------------------------------------


def _data_is_fit(settings, con, as_of: dt.date, validation_run_id: str | None) -> _Checked[_Fit]:
    """The validation run that clears the data for publishing, bound to the current build and rows: the stored
    one named by ``validation_run_id``, or a fresh run of the data suites."""
    stored = None
    if validation_run_id:
        stored = stored_run(con, validation_run_id, suite="indicators")
        refused = _stored_run_refused(stored, validation_run_id, as_of)
        if refused:
            return _Checked(_Blocked(refused))
    build = current_build(con, as_of)
    unusable = _build_unusable(build, as_of)
    if unusable:
        return _Checked(_Blocked(unusable))
    rows_hash = indicator_rows_hash(con, as_of)
    failed = tuple(failed_files(con, settings, as_of, int(build["ingest_high_water"])))
    if stored is not None:
        unbound = _stored_run_unbound(stored, validation_run_id, as_of, build, rows_hash)
        if unbound:
            return _Checked(_Blocked(unbound))
        return _Checked(_Fit(validation_run_id, build, rows_hash, failed))
    outcome = run_data_suites(settings, con, as_of, new_run_id("val"))
    record_outcome(con, outcome)
    log_outcome(outcome)
    return _validated(outcome, _Fit(outcome.run_id, build, rows_hash, failed))


def _stored_run_refused(stored: dict[str, Any] | None, run: str, as_of: dt.date) -> str | None:
    """Why the stored validation run cannot clear the date at all, or None."""
    if stored is None:
        return f"validation run {run} is not recorded in ops.validation_runs"
    if stored["as_of_date"] != as_of:
        return f"validation run {run} validated {stored['as_of_date']}, not {as_of}"
    if stored["critical_failed"]:
        return f"validation run {run} failed {stored['failed_critical']} critical expectation(s) (see ops.dq_alerts)"
    return None


def _build_unusable(build: dict[str, Any] | None, as_of: dt.date) -> str | None:
    """Why the date's latest build does not clear its rows (what to rerun), or None when it succeeded."""
    rerun = f"rerun `riskcard build --as-of {as_of}`, then `riskcard publish --as-of {as_of}`"
    if build is None:
        return (f"no build of {as_of} is recorded in ops.build_runs, so nothing proves what the mart rows were "
                f"built from: {rerun}")  # fmt: skip
    if build["status"] == BUILD_RUNNING:  # we hold the writer lock: no build is running, this one was killed
        return (f"build {build['build_id']} of {as_of} (started {build['started_at'].isoformat()}) never finished "
                f"(killed?): its rows in marts.fct_leaf_indicators are not trusted; {rerun}")  # fmt: skip
    if build["status"] != BUILD_SUCCESS:
        why = ((build.get("message") or "").splitlines() or ["no message"])[0][:300]
        return (f"build {build['build_id']} of {as_of} failed ({why}); the rows it left in "
                f"marts.fct_leaf_indicators are not published: fix the cause and {rerun}")  # fmt: skip
    return None


def _stored_run_unbound(
    stored: dict[str, Any], run: str, as_of: dt.date, build: dict[str, Any], rows_hash: str | None
) -> str | None:
    """Why the stored validation run checked something else than the current build and rows, or None."""
    again = (f"rerun `riskcard validate --as-of {as_of}` and publish with its run id (or publish without "
             "--validation-run-id: it validates the current rows itself)")  # fmt: skip
    if stored.get("build_id") != build["build_id"]:
        checked = f"build {stored['build_id']}" if stored.get("build_id") else "no recorded build"
        return (f"validation run {run} checked {checked}, but the rows of {as_of} now come from build "
                f"{build['build_id']} (rebuilt after the validation): {again}")  # fmt: skip
    if stored.get("indicator_rows_hash") != rows_hash:
        return (f"validation run {run} checked other rows of marts.fct_leaf_indicators for {as_of} than those "
                f"there now (rows {str(stored.get('indicator_rows_hash'))[:12]}, now {str(rows_hash)[:12]}: "
                f"changed outside a recorded build): {again}")  # fmt: skip
    return None


# ---- step 2: the scorecard, synthesised and validated -------------------------------------------------------------


def _scorecard(settings, con, as_of: dt.date, profile_name: str, run_id: str) -> _Checked[_Card]:
    """The weight profile loads (an invalid one blocks, never a fallback), every leaf has a level, the synthesis
    gives the rows and the scorecard suite passes them."""
    from transforms.indicators.catalogue import load_catalogue
    from transforms.scoring.levels import band_of
    from transforms.scoring.profiles import ProfileInvalid, load_profile
    from transforms.scoring.synthesis import SynthesisError, synthesize

    catalogue = load_catalogue(settings)
    try:
        weights = load_profile(profile_name, settings, catalogue=catalogue)
    except ProfileInvalid as exc:
        return _Checked(_Blocked(str(exc)))
    leaves = leaf_facts(con, as_of)
    missing = [i for i in catalogue.indicator_ids if leaves.get(i, {}).get("level") is None]
    if missing:
        return _Checked(_Blocked(f"no level for {len(missing)} leaf indicator(s) on {as_of}: {', '.join(missing)} "
                                 "(no_data or not built; missing data is never low risk)"))  # fmt: skip
    try:
        card = synthesize({i: leaves[i]["level"] for i in catalogue.indicator_ids}, weights, catalogue)
    except SynthesisError as exc:
        return _Checked(_Blocked(f"synthesis failed: {exc}"))
    rows = scorecard_rows(card, catalogue, leaves, band_of)
    checked = run_scorecard_suite(settings, rows, as_of, run_id, catalogue, bands=[band_of(x).name for x in LEVELS])
    record_outcome(con, checked)
    log_outcome(checked)
    return _validated(checked, _Card(catalogue, weights, card, rows, content_hash(rows)))


# ---- step 3: unchanged, or stored as the next version --------------------------------------------------------------


def _store(settings, con, as_of: dt.date, force: bool, run_id: str, fit: _Fit, scored: _Card) -> PublishResult:
    """``unchanged`` when the rows are those of the latest version (unless ``force``), else the next version,
    committed, then its snapshot."""
    digest = scored.digest
    latest = con.execute(
        """
        SELECT version, content_hash FROM published.scorecard_versions
        WHERE as_of_date = ? ORDER BY version DESC LIMIT 1
        """,
        [as_of],
    ).fetchone()
    same = latest is not None and latest[1] == digest
    if same and not force:
        version = int(latest[0])
        repair_snapshots_from(settings, con, as_of)  # every version of the date that lost (or never got) one
        return PublishResult(
            UNCHANGED,
            as_of,
            version,
            snapshot_dir(settings, as_of, version),
            f"scorecard for {as_of} unchanged: identical to version {version} (content {digest[:12]}); "
            "nothing published (use --force to publish it again)",
            run_id,
            fit.validation_run_id,
            digest,
        )
    analysis = for_publish(settings, scored.catalogue, scored.weights, scored.rows)  # before the transaction
    version = _insert_version(settings, con, as_of, run_id, fit, scored, forced=bool(force and same), analysis=analysis)
    repair_snapshots_from(settings, con, as_of)  # this version's, and any earlier one a killed publish left without
    snap = snapshot_dir(settings, as_of, version)
    weights, card = scored.weights, scored.card
    label = getattr(weights, "label", weights.name)
    return PublishResult(
        PUBLISHED,
        as_of,
        version,
        snap,
        f"published the scorecard for {as_of} as version {version}: composite {card.composite:.4f} "
        f"({card.rating}), profile {label}; snapshot {snap}",
        run_id,
        fit.validation_run_id,
        digest,
    )


def _insert_version(
    settings, con, as_of: dt.date, run_id: str, fit: _Fit, scored: _Card, forced: bool, analysis=None
) -> int:
    """Version N = latest + 1 of the date, its rows and its sensitivity analysis (``(document, seconds)`` or
    None), in one transaction; N."""
    weights, card, catalogue = scored.weights, scored.card, scored.catalogue
    window = window_for(settings, as_of)
    inputs, n_files = input_digest(con, settings, as_of, fit.high_water)
    cleared = [f.provenance() for f in fit.failed_files if not f.blocking]
    con.execute("BEGIN TRANSACTION")
    try:
        version = con.execute(
            "SELECT coalesce(max(version), 0) + 1 FROM published.scorecard_versions WHERE as_of_date = ?", [as_of]
        ).fetchone()[0]
        info = {
            "as_of_date": as_of,
            "version": version,
            "published_at": dt.datetime.now(dt.UTC),
            "run_id": run_id,
            "validation_run_id": fit.validation_run_id,
            "profile_name": weights.name,
            "profile_hash": weights.content_hash,
            "ahp_method": card.method,
            "profile_override": bool(weights.override),
            "catalogue_hash": catalogue.content_hash,
            "input_digest": inputs,
            "input_files": n_files,
            "code_version": code_version(settings),
            "content_hash": scored.digest,
            "composite": card.composite,
            "rating": card.rating,
            "rating_zh": card.rating_zh,
            "window_start": window.start,
            "window_end": window.end,
            "forced": forced,
            "snapshot_path": str(snapshot_dir(settings, as_of, version).relative_to(settings.published_dir)),
            "build_id": fit.build["build_id"],
            "ingest_high_water": fit.high_water,
            "indicator_rows_hash": fit.rows_hash,
            "failed_files_cleared": json.dumps(cleared, ensure_ascii=False, default=str),
        }
        names = [c for c, _ in VERSION_COLUMNS]
        con.execute(
            f"INSERT INTO published.scorecard_versions ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [info[c] for c in names],
        )
        columns = [c for c, _ in SCORECARD_COLUMNS]
        con.executemany(
            f"INSERT INTO published.scorecard ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [[as_of, version, *(row[f] for f in ROW_FIELDS)] for row in scored.rows],
        )
        if analysis is not None:
            insert_sensitivity(con, as_of, version, *analysis)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return version


# ---- blocked ------------------------------------------------------------------------------------------------------


def _blocked(con, as_of: dt.date, blocked: _Blocked, run_id: str, validation_run_id: str | None) -> PublishResult:
    message = f"publishing the scorecard for {as_of} is blocked: {blocked.reason}. {_latest_note(con, as_of)}"
    return PublishResult(BLOCKED, as_of, None, None, message, run_id, validation_run_id, None)


def _failure_text(outcome: ValidationOutcome) -> str:
    parts = [f"{f.label} (observed {f.observed}; expected {f.expected})" for f in outcome.critical_failures]
    docs = f"; Data Docs: {outcome.data_docs_index}" if outcome.data_docs_index else ""
    notes = "".join(f"; note: {n}" for n in outcome.notes)  # e.g. which failed file blocks, and how to clear it
    return f"critical expectation(s) failed in run {outcome.run_id}: " + "; ".join(parts) + docs + notes


def _latest_note(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> str:
    """Which version stays the latest (read from the live warehouse, under the lock)."""
    row = con.execute("SELECT max(version) FROM published.scorecard_versions WHERE as_of_date = ?", [as_of]).fetchone()
    if row and row[0]:
        return f"No new version was created; version {row[0]} stays the latest for {as_of}."
    return f"No new version was created; nothing is published for {as_of}."
