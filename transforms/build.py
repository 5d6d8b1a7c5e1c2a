"""Run the dbt project (dbt_project/) that turns the raw change logs into the 30 leaf indicators.

dbt runs in-process through ``dbt.cli.main.dbtRunner`` with the project's own ``profiles.yml``; the warehouse path
reaches it as ``RISKCARD_WAREHOUSE``, the as-of dates as ``RISKCARD_AS_OF_FROM`` / ``RISKCARD_AS_OF_TO`` (not as
vars: a changed var makes dbt re-parse the whole project, a few seconds every night) and every other setting as a dbt
var, so dbt and the rest of the pipeline always agree on the time zone, the window and the working hours. A build
takes the writer lock for its whole duration and closes dbt-duckdb's connection before returning, so the next writer
(or a reader in another process) finds the file free. One run computes every as-of date of its range: a 365-date backfill is one dbt run.

Every build is recorded in ``ops.build_runs`` (see :data:`BUILD_RUNS_DDL`): a row with status ``running`` and the
ingest high-water mark it reads (the largest ``ingest_seq`` of ``raw.ingested_files`` when it starts: the build
holds the writer lock, so nothing lands while it runs) is written before dbt starts; it becomes ``success`` or
``failed`` (a failing model or dbt data test, whose rows dbt may already have written to the mart) when dbt
returns. A row still ``running`` while nobody holds the writer lock is a build that was killed. Validation and
publishing bind themselves to the latest build of their as-of date (:func:`current_build`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from transforms.contract import SOURCES, raw_table_ddl
from transforms.settings import Settings
from transforms.warehouse import connect, table_exists, writer_lock

log = logging.getLogger(__name__)

WAREHOUSE_ENV = "RISKCARD_WAREHOUSE"
# The dates reach dbt as environment variables, not vars: dbt re-parses the whole project whenever a var changes,
# and a nightly build's dates change every night (dbt_project/macros/as_of_dates.sql reads them at execution).
AS_OF_FROM_ENV, AS_OF_TO_ENV = "RISKCARD_AS_OF_FROM", "RISKCARD_AS_OF_TO"
FACT_TABLE = "marts.fct_leaf_indicators"
# dbt's own console output is replaced by our progress lines and BuildFailed; its full log goes to a file.
_QUIET = ["--log-level", "none", "--log-level-file", "info", "--no-use-colors"]


class BuildFailed(RuntimeError):
    """dbt reported errors or failing tests; ``failures`` names each failing node with dbt's message."""

    def __init__(self, message: str, failures: Sequence[NodeResult] = ()):
        super().__init__(message)
        self.failures = list(failures)


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    resource_type: str
    status: str  # dbt's status: success, pass, error, fail, warn, skipped
    seconds: float
    message: str | None = None

    @property
    def name(self) -> str:
        return self.unique_id.split(".", 2)[-1]

    @property
    def short_name(self) -> str:
        """The node name without the hash suffix dbt gives generic tests."""
        head, _, tail = self.name.rpartition(".")
        return head if head and re.fullmatch("[0-9a-f]{10}", tail) else self.name

    @property
    def failed(self) -> bool:
        return self.status in ("error", "fail", "runtime error")


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


def dbt_vars(settings: Settings) -> dict[str, Any]:
    """The settings as the dbt project's vars (dbt_project.yml documents each). The same every night, so dbt's
    partial parsing survives from one build to the next."""
    return {
        "timezone": settings.timezone,
        "window_days": settings.window_days,
        "working_hours_start": settings.working_hours_start,
        "working_hours_end": settings.working_hours_end,
        "working_days": list(settings.working_day_numbers()),
    }


def dbt_environment(settings: Settings, dates: tuple[date, date] | None = None) -> dict[str, str]:
    """The environment variables one dbt run reads: the warehouse path and, for a build, its as-of dates."""
    out = {WAREHOUSE_ENV: str(settings.warehouse)}
    if dates is not None:
        out[AS_OF_FROM_ENV], out[AS_OF_TO_ENV] = dates[0].isoformat(), dates[1].isoformat()
    return out


def dbt_work_dir(settings: Settings) -> Path:
    """dbt's target and log folders for builds of this warehouse (kept beside it, out of the source tree)."""
    return settings.warehouse_dir / "dbt"


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set these environment variables for the duration of the block (and the dates unset unless given)."""
    names = {AS_OF_FROM_ENV, AS_OF_TO_ENV, *values}
    previous = {name: os.environ.get(name) for name in names}
    for name in names:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _release_dbt_duckdb() -> None:
    """dbt-duckdb keeps its DuckDB instance in a class-level environment: close it so no handle stays open."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()


def run_dbt(
    settings: Settings,
    command: Sequence[str],
    variables: dict[str, Any] | None = None,
    on_node: Callable[[NodeResult], None] | None = None,
    work_dir: Path | None = None,
    dates: tuple[date, date] | None = None,
):
    """Invoke one dbt command on this warehouse (the caller holds the writer lock when it writes).

    dbt's target/ and logs/ go to ``work_dir`` (default: beside the warehouse). ``dates`` are the as-of dates of a
    build (inclusive). Returns dbt's ``dbtRunnerResult``; ``on_node`` is called as each node finishes.
    """
    from dbt.cli.main import dbtRunner

    work = work_dir or dbt_work_dir(settings)
    variables = dbt_vars(settings) if variables is None else variables
    args = [
        *command,
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.dbt_project_dir),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
        "--vars",
        json.dumps(variables),
    ]
    environment = dbt_environment(settings, dates)
    log.debug("dbt %s with vars %s and %s (log: %s)", " ".join(command), variables, environment, work / "logs")

    def callback(event) -> None:
        if on_node is None or event.info.name != "NodeFinished":
            return
        run = event.data.run_result
        on_node(
            NodeResult(
                unique_id=event.data.node_info.unique_id,
                resource_type=event.data.node_info.resource_type,
                status=run.status,
                seconds=float(run.execution_time or 0.0),
                message=run.message or None,
            )
        )

    with _environment(environment):
        try:
            return dbtRunner(callbacks=[callback]).invoke([args[0], *_QUIET, *args[1:]])
        finally:
            _release_dbt_duckdb()


def _node_results(result) -> list[NodeResult]:
    nodes = []
    for r in getattr(result.result, "results", None) or []:
        nodes.append(
            NodeResult(
                unique_id=r.node.unique_id,
                resource_type=str(r.node.resource_type),
                status=str(r.status),
                seconds=float(r.execution_time or 0.0),
                message=r.message or None,
            )
        )
    return nodes


def _ensure_raw_tables(settings: Settings) -> None:
    """The dbt sources must exist even before the first ingestion (every leaf is then `no_data`)."""
    con = connect(settings)
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        for source in SOURCES:
            con.execute(raw_table_ddl(source))
    finally:
        con.close()


# ---- the record of builds -----------------------------------------------------------------------------------------
BUILD_RUNS = "ops.build_runs"
BUILD_RUNNING, BUILD_SUCCESS, BUILD_FAILED = "running", "success", "failed"
BUILD_RUNS_DDL = (
    "CREATE SCHEMA IF NOT EXISTS ops",
    f"""
    CREATE TABLE IF NOT EXISTS {BUILD_RUNS} (
        build_id VARCHAR NOT NULL,           -- bld-<UTC time>-<random>
        date_from DATE NOT NULL,             -- the as-of dates the build computed (inclusive)
        date_to DATE NOT NULL,
        full_refresh BOOLEAN NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ,             -- NULL while running (or when the build was killed)
        status VARCHAR NOT NULL,             -- running | success | failed
        ingest_high_water BIGINT NOT NULL,   -- max(ingest_seq) of raw.ingested_files when it started (0: none)
        message VARCHAR                      -- why it failed (dbt's failing nodes)
    )
    """,
)


def ensure_build_runs(con) -> None:
    for ddl in BUILD_RUNS_DDL:
        con.execute(ddl)


def new_build_id() -> str:
    return f"bld-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def start_build_record(
    con, first: date, last: date, full_refresh: bool, build_id: str | None = None
) -> tuple[str, int]:
    """Record a build as ``running`` with the ingest high-water mark it reads; returns (build_id, high-water).

    The caller holds the writer lock (no file can land before dbt reads the raw tables)."""
    ensure_build_runs(con)
    build_id = build_id or new_build_id()
    high_water = 0
    if table_exists(con, "raw", "ingested_files"):
        high_water = int(con.execute("SELECT coalesce(max(ingest_seq), 0) FROM raw.ingested_files").fetchall()[0][0])
    con.execute(
        f"INSERT INTO {BUILD_RUNS} (build_id, date_from, date_to, full_refresh, started_at, status, ingest_high_water)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [build_id, first, last, bool(full_refresh), datetime.now(UTC), BUILD_RUNNING, high_water],
    )
    return build_id, high_water


def finish_build_record(con, build_id: str, status: str, message: str | None = None) -> None:
    con.execute(
        f"UPDATE {BUILD_RUNS} SET status = ?, finished_at = ?, message = ? WHERE build_id = ?",
        [status, datetime.now(UTC), message, build_id],
    )


def current_build(con, as_of: date) -> dict[str, Any] | None:
    """The latest recorded build whose dates include ``as_of`` (its rows are the mart's rows for that date), as a
    dict of its ops.build_runs columns, or None when no build of the date is recorded."""
    if not table_exists(con, "ops", "build_runs"):
        return None
    cur = con.execute(
        f"SELECT * FROM {BUILD_RUNS} WHERE ? BETWEEN date_from AND date_to ORDER BY started_at DESC, build_id DESC "
        "LIMIT 1",
        [as_of],
    )
    rows = cur.fetchall()
    row = rows[0] if rows else None
    return None if row is None else dict(zip([d[0] for d in cur.description], row, strict=True))


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
    from transforms.progress import Progress

    first, last = resolve_dates(settings, as_of, date_from, date_to)
    # no target/*.json: nothing reads them, and writing the manifest costs half a second a build
    command = ["build", "--no-write-json"]
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
            nodes = _node_results(result)
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
    """`dbt parse` into dbt_project/target/manifest.json (Cosmos renders the DAG from it). Needs no warehouse."""
    target = settings.dbt_project_dir / "target"
    result = run_dbt(settings, ["parse"], work_dir=settings.dbt_project_dir)
    if not result.success:
        raise BuildFailed(f"dbt parse failed: {result.exception}")
    manifest = target / "manifest.json"
    if not manifest.exists():
        raise BuildFailed(f"dbt parse succeeded but wrote no {manifest}")
    return manifest


__all__ = [
    "BuildFailed",
    "BuildResult",
    "NodeResult",
    "build",
    "current_build",
    "dbt_vars",
    "parse_manifest",
    "resolve_dates",
    "run_dbt",
]
