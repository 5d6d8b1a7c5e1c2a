"""`riskcard build`: the dbt build that turns the raw change logs into the 30 leaf indicators of the as-of dates.

A build takes the writer lock for its whole duration and runs dbt in-process (transforms.indicators.dbt_runner).
One run computes every as-of date of its range: a 365-date backfill is one dbt run.

Every build is recorded in ``ops.build_runs`` (transforms.indicators.build_runs).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from transforms.core.settings import Settings
from transforms.core.warehouse import connect, writer_lock
from transforms.indicators.build_runs import (
    BUILD_FAILED,
    BUILD_SUCCESS,
    finish_build_record,
    start_build_record,
)
from transforms.indicators.catalogue import CatalogueError, load_catalogue
from transforms.indicators.dbt_runner import NodeResult, node_results, run_dbt

log = logging.getLogger(__name__)

FACT_TABLE = "marts.fct_leaf_indicators"
INTRADAY_MODEL = "fct_leaf_indicators_intraday"


class BuildFailed(RuntimeError):
    """dbt reported errors or failing tests; ``failures`` names each failing node with dbt's message."""

    def __init__(self, message: str, failures: Sequence[NodeResult] = ()):
        super().__init__(message)
        self.failures = list(failures)


@dataclass(frozen=True)
class BuildResult:
    date_from: date
    date_to: date
    full_refresh: bool
    seconds: float
    rows_written: int  # fct_leaf_indicators rows now present for the built dates
    status_counts: dict[str, int]  # ok / no_events / no_data over those rows
    nodes: list[NodeResult] = field(default_factory=list)
    build_id: str | None = None  # its ops.build_runs row
    ingest_high_water: int = 0  # the largest raw.ingested_files.ingest_seq the build read

    @property
    def dates(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["date_from"], out["date_to"] = self.date_from.isoformat(), self.date_to.isoformat()
        out["dates"] = self.dates
        return out


def resolve_dates(
    settings: Settings, as_of: date | None = None, date_from: date | None = None, date_to: date | None = None
) -> tuple[date, date]:
    """The inclusive range to build: one as-of date, a range, or (nothing given) yesterday in the bank's zone."""
    if as_of is not None:
        if date_from is not None or date_to is not None:
            raise ValueError("give either an as-of date or a range (from/to), not both")
        return as_of, as_of
    if date_from is None and date_to is None:
        yesterday = datetime.now(settings.tz).date() - timedelta(days=1)
        return yesterday, yesterday
    date_from = date_from or date_to
    date_to = date_to or date_from
    if date_from > date_to:
        raise ValueError(f"the range is empty: from {date_from} is after to {date_to}")
    return date_from, date_to


def _ensure_raw_tables(settings: Settings) -> None:
    """The dbt sources must exist even before the first ingestion (every leaf is then `no_data`): the ingestion's
    own DDL (transforms.ingest.tables), so raw.<source> has one layout whoever creates it first."""
    from transforms.ingest.tables import ensure_change_logs  # imports Polars: only when a build runs

    con = connect(settings)
    try:
        ensure_change_logs(con)
    finally:
        con.close()


def _record_finish(settings: Settings, build_id: str, status: str, message: str | None) -> None:
    try:
        con = connect(settings)
        try:
            finish_build_record(con, build_id, status, message)
        finally:
            con.close()
    except Exception:  # noqa: BLE001 - the row stays 'running', which publishing refuses as well
        log.exception("could not record build %s as %s", build_id, status)


def build(
    settings: Settings,
    as_of: date | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    full_refresh: bool = False,
    *,
    unit_tests: bool = False,
    progress: bool = False,
) -> BuildResult:
    """`dbt build` for the as-of date(s): seeds, models, data tests (and dbt unit tests when asked).

    fct_leaf_indicators is incremental: the built dates' rows are replaced, every other date stays
    (``full_refresh`` rebuilds the table from this run's dates only). Raises BuildFailed naming the failing nodes,
    WarehouseBusy when another writer holds the lock.
    """
    from transforms.core.progress import Progress

    first, last = resolve_dates(settings, as_of, date_from, date_to)
    try:  # the catalogue's rules are catalogue.py's (dbt keeps only key tests): checked before dbt loads the seeds
        load_catalogue(settings)
    except CatalogueError as exc:
        raise BuildFailed(f"the indicator catalogue breaks a rule: {exc}") from exc
    # no target/*.json: nothing reads them, and writing the manifest costs half a second a build
    # the intraday model is `riskcard monitor`'s (transforms.monitoring.provisional), never a nightly build's
    command = ["build", "--no-write-json", "--exclude", INTRADAY_MODEL]
    if full_refresh:
        command.append("--full-refresh")
    if not unit_tests:
        command += ["--exclude-resource-type", "unit_test"]
    started = time.monotonic()
    label = f"build {first}" if first == last else f"build {first}..{last}"
    with writer_lock(settings, what=f"riskcard {label}"):
        _ensure_raw_tables(settings)
        con = connect(settings)
        try:
            build_id, high_water = start_build_record(con, first, last, full_refresh)
        finally:
            con.close()  # dbt-duckdb opens the file itself
        try:
            with Progress(label, enabled=progress) as bar:
                printing = threading.Lock()  # dbt runs nodes on several threads

                def on_node(node: NodeResult) -> None:
                    with printing:
                        bar.step(f"{node.resource_type} {node.short_name} {node.status} ({node.seconds:.1f}s)")

                result = run_dbt(settings, command, on_node=on_node, dates=(first, last))
            nodes = node_results(result)
            failures = [n for n in nodes if n.failed]
            if failures or not result.success:
                raise BuildFailed(_failure_message(label, failures, result.exception), failures)
            rows, counts = _built_rows(settings, first, last)
        except BaseException as exc:  # a failing dbt test may have left its rows in the mart: never trust them
            _record_finish(settings, build_id, BUILD_FAILED, f"{type(exc).__name__}: {exc}"[:4000])
            raise
        _record_finish(settings, build_id, BUILD_SUCCESS, None)
    return BuildResult(
        date_from=first,
        date_to=last,
        full_refresh=full_refresh,
        seconds=time.monotonic() - started,
        rows_written=rows,
        status_counts=counts,
        nodes=nodes,
        build_id=build_id,
        ingest_high_water=high_water,
    )


def _failure_message(label: str, failures: list[NodeResult], exception: BaseException | None) -> str:
    if not failures:
        return f"dbt {label} failed: {exception or 'dbt reported failure without a failing node'}"
    lines = [f"dbt {label} failed: {len(failures)} node(s)"]
    for node in failures:
        message = (node.message or "").strip().replace("\n", " ")
        lines.append(f"  {node.resource_type} {node.short_name}: {node.status}: {message[:500]}")
    return "\n".join(lines)


def _built_rows(settings: Settings, first: date, last: date) -> tuple[int, dict[str, int]]:
    con = connect(settings)
    try:
        rows = con.execute(
            f"SELECT status, count(*) FROM {FACT_TABLE} WHERE as_of_date BETWEEN ? AND ? GROUP BY status",
            [first, last],
        ).fetchall()
    finally:
        con.close()
    counts = {status: int(n) for status, n in rows}
    return sum(counts.values()), counts


def parse_manifest(settings: Settings) -> Path:
    """`dbt parse` into dbt_project/target/manifest.json (the dbt project compiles: models, seeds, sources, unit
    tests). Needs no warehouse."""
    target = settings.dbt_project_dir / "target"
    result = run_dbt(settings, ["parse"], work_dir=settings.dbt_project_dir)
    if not result.success:
        raise BuildFailed(f"dbt parse failed: {result.exception}")
    manifest = target / "manifest.json"
    if not manifest.exists():
        raise BuildFailed(f"dbt parse succeeded but wrote no {manifest}")
    return manifest


__all__ = ["BuildFailed", "BuildResult", "build", "parse_manifest", "resolve_dates"]
