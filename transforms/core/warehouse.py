"""The DuckDB warehouse: the single-writer lock and connections.

DuckDB allows one writing process per file. Every writer (ingest, dbt build, validate, publish; CLI or Airflow
task) takes :func:`writer_lock` first, so a second writer waits (up to ``lock_timeout_seconds``) and then fails
with a clear message instead of a DuckDB lock error half-way through. Analysts never open the live file during a
load: they read the serving copy (:attr:`Settings.serving_db`) or the Parquet snapshots.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from transforms.core.settings import Settings


class WarehouseBusy(RuntimeError):
    """Another process holds the writer lock (or DuckDB's own file lock). Transient: retry later."""


@contextlib.contextmanager
def writer_lock(settings: Settings, timeout: float | None = None, what: str = "write") -> Iterator[None]:
    """Hold the warehouse's writer lock for the duration of the block.

    Waits up to ``timeout`` seconds (default ``settings.lock_timeout_seconds``), then raises WarehouseBusy naming
    the holder (pid and task written into the lock file by the process that holds it).
    """
    timeout = settings.lock_timeout_seconds if timeout is None else timeout
    path = settings.lock_path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    holder = Path(path).read_text(errors="replace").strip() or "unknown process"
                    raise WarehouseBusy(
                        f"the warehouse {settings.warehouse} is being written by another process ({holder}); "
                        f"waited {timeout:.0f}s for its writer lock {path}. Try again when it has finished."
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}: {what}".encode())
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def connect(settings: Settings, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the live warehouse. Writers must hold :func:`writer_lock`; a DuckDB lock conflict is WarehouseBusy."""
    path = settings.warehouse
    if read_only and not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `riskcard ingest` first")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusy(f"the warehouse {path} is locked by another process: {exc}") from exc
        raise
    con.execute("SET TimeZone = 'UTC'")
    return con


def connect_serving(settings: Settings) -> duckdb.DuckDBPyConnection:
    """Open the analysts' read-only serving copy (safe while a load holds the live file)."""
    path = settings.serving_db
    if not path.exists():
        raise FileNotFoundError(f"no serving copy at {path}: nothing has been published yet")
    con = duckdb.connect(str(path), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    return con


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether `schema.table` exists in the database of this connection."""
    (count,) = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, table]
    ).fetchall()[0]
    return bool(count)
