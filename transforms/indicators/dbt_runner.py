"""One dbt command, in-process, on this warehouse: ``dbt.cli.main.dbtRunner`` with the project's ``profiles.yml``.

The warehouse path reaches dbt as ``RISKCARD_WAREHOUSE``, the as-of dates as ``RISKCARD_AS_OF_FROM`` /
``RISKCARD_AS_OF_TO`` (not as vars: a changed var makes dbt re-parse the whole project, a few seconds every night) and
every other setting as a dbt var, so dbt and the rest of the pipeline always agree on the time zone, the window and
the working hours. dbt-duckdb's connection is closed before returning, so the next writer (or a reader in another
process) finds the file free.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from transforms.core.contract import SOURCES, SYSTEMS
from transforms.core.settings import Settings

log = logging.getLogger(__name__)

WAREHOUSE_ENV = "RISKCARD_WAREHOUSE"
# The dates reach dbt as environment variables, not vars: dbt re-parses the whole project whenever a var changes,
# and a nightly build's dates change every night (dbt_project/macros/as_of_dates.sql reads them at execution).
AS_OF_FROM_ENV, AS_OF_TO_ENV = "RISKCARD_AS_OF_FROM", "RISKCARD_AS_OF_TO"
# The intraday cut (an ISO UTC instant): the state as of it instead of the end of the as-of date (macros/as_of_dates.sql).
AS_OF_TIME_ENV = "RISKCARD_AS_OF_TIME"
# dbt's own console output is replaced by our progress lines and BuildFailed; its full log goes to a file.
_QUIET = ["--log-level", "none", "--log-level-file", "info", "--no-use-colors"]


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


def dbt_vars(settings: Settings) -> dict[str, Any]:
    """The settings as the dbt project's vars (dbt_project.yml documents each). The same every night, so dbt's
    partial parsing survives from one build to the next."""
    return {
        "timezone": settings.timezone,
        "window_days": settings.window_days,
        "working_hours_start": settings.working_hours_start,
        "working_hours_end": settings.working_hours_end,
        "working_days": list(settings.working_day_numbers()),
        # the landing-log contract's sources and systems (transforms.core.contract owns both lists)
        "sources": list(SOURCES),
        "systems": list(SYSTEMS),
    }


def dbt_environment(
    settings: Settings, dates: tuple[date, date] | None = None, as_of_time: datetime | None = None
) -> dict[str, str]:
    """The environment variables one dbt run reads: the warehouse path and, for a build, its as-of dates."""
    out = {WAREHOUSE_ENV: str(settings.warehouse)}
    if dates is not None:
        out[AS_OF_FROM_ENV], out[AS_OF_TO_ENV] = dates[0].isoformat(), dates[1].isoformat()
    if as_of_time is not None:
        out[AS_OF_TIME_ENV] = as_of_time.astimezone(UTC).replace(microsecond=0).isoformat()
    return out


def dbt_work_dir(settings: Settings) -> Path:
    """dbt's target and log folders for builds of this warehouse (kept beside it, out of the source tree)."""
    return settings.warehouse_dir / "dbt"


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set these environment variables for the duration of the block (and the dates unset unless given)."""
    names = {AS_OF_FROM_ENV, AS_OF_TO_ENV, AS_OF_TIME_ENV, *values}
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
    as_of_time: datetime | None = None,
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
    environment = dbt_environment(settings, dates, as_of_time)
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


def node_results(result) -> list[NodeResult]:
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
