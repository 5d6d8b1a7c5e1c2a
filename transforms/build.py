"""Run the dbt project (dbt_project/) that turns the raw change logs into the 30 leaf indicators.

dbt runs in-process through ``dbt.cli.main.dbtRunner`` with the project's own ``profiles.yml``; the warehouse path
reaches it as ``RISKCARD_WAREHOUSE`` and every other setting as a dbt var, so dbt and the rest of the pipeline
always agree on the time zone, the window and the working hours. A build takes the writer lock for its whole
duration and closes dbt-duckdb's connection before returning, so the next writer (or a reader in another process)
finds the file free. One run computes every as-of date of its range: a 365-date backfill is one dbt run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from transforms.contract import SOURCES, raw_table_ddl
from transforms.settings import Settings
from transforms.warehouse import connect, writer_lock

log = logging.getLogger(__name__)

WAREHOUSE_ENV = "RISKCARD_WAREHOUSE"
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


def dbt_vars(settings: Settings, date_from: date | None = None, date_to: date | None = None) -> dict[str, Any]:
    """The settings as the dbt project's vars (dbt_project.yml documents each)."""
    out: dict[str, Any] = {
        "timezone": settings.timezone,
        "window_days": settings.window_days,
        "working_hours_start": settings.working_hours_start,
        "working_hours_end": settings.working_hours_end,
        "working_days": list(settings.working_day_numbers()),
    }
    if date_from is not None:
        out["as_of_from"] = date_from.isoformat()
        out["as_of_to"] = (date_to or date_from).isoformat()
    return out


def dbt_work_dir(settings: Settings) -> Path:
    """dbt's target and log folders for builds of this warehouse (kept beside it, out of the source tree)."""
    return settings.warehouse_dir / "dbt"


@contextlib.contextmanager
def _warehouse_env(settings: Settings) -> Iterator[None]:
    previous = os.environ.get(WAREHOUSE_ENV)
    os.environ[WAREHOUSE_ENV] = str(settings.warehouse)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(WAREHOUSE_ENV, None)
        else:
            os.environ[WAREHOUSE_ENV] = previous


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
):
    """Invoke one dbt command on this warehouse (the caller holds the writer lock when it writes).

    dbt's target/ and logs/ go to ``work_dir`` (default: beside the warehouse). Returns dbt's ``dbtRunnerResult``;
    ``on_node`` is called as each node finishes.
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
    log.debug("dbt %s on %s with vars %s (log: %s)", " ".join(command), settings.warehouse, variables, work / "logs")

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

    with _warehouse_env(settings):
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
    command = ["build"]
    if full_refresh:
        command.append("--full-refresh")
    if not unit_tests:
        command += ["--exclude-resource-type", "unit_test"]
    started = time.monotonic()
    label = f"build {first}" if first == last else f"build {first}..{last}"
    with writer_lock(settings, what=f"riskcard {label}"):
        _ensure_raw_tables(settings)
        with Progress(label, enabled=progress) as bar:
            printing = threading.Lock()  # dbt runs nodes on several threads

            def on_node(node: NodeResult) -> None:
                with printing:
                    bar.step(f"{node.resource_type} {node.short_name} {node.status} ({node.seconds:.1f}s)")

            result = run_dbt(settings, command, dbt_vars(settings, first, last), on_node=on_node)
        nodes = _node_results(result)
        failures = [n for n in nodes if n.failed]
        if failures or not result.success:
            raise BuildFailed(_failure_message(label, failures, result.exception), failures)
        rows, counts = _built_rows(settings, first, last)
    return BuildResult(
        date_from=first,
        date_to=last,
        full_refresh=full_refresh,
        seconds=time.monotonic() - started,
        rows_written=rows,
        status_counts=counts,
        nodes=nodes,
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
    "dbt_vars",
    "parse_manifest",
    "resolve_dates",
    "run_dbt",
]
