"""Immutable Parquet snapshots of published scorecard versions.

Layout (hive partitioning; the partition values live in the path only, as Hive and Spark write them)::

    <warehouse dir>/published/scorecard/as_of_date=YYYY-MM-DD/version=N/scorecard.parquet
                                                              /version=N/sensitivity.parquet
                                                              /version=N/report.html, report.pdf
                                                              /version=N/manifest.json

The manifest lists each file with its sha256, size and row count, plus the version's metadata; ``report.html`` /
``report.pdf`` are the committee report rendered at the snapshot (``report`` in the manifest says what is absent
and why, e.g. no PDF where the system lacks pango). A snapshot is
written into ``published/.staging/<random>/`` and renamed into place in one step, so a reader never sees half a
snapshot; an existing snapshot is never overwritten.

Every committed version has its snapshot: a publish killed between its commit and its snapshot leaves a version
without one, so every publish (and the DAG's snapshot task) writes the snapshot of every committed version of
its date that lacks one (:func:`repair_snapshots_from`), and removes the ``.staging/scorecard-*`` folders killed
writers left (:func:`clean_staging`; only under the writer lock, so no live writer owns them).
:func:`missing_snapshots` lists the versions still without one (validation notes, `riskcard scorecard check`).

Reading the whole history with one glob::

    -- DuckDB
    SELECT * FROM read_parquet('warehouse/published/scorecard/as_of_date=*/version=*/scorecard.parquet',
                               hive_partitioning = true);
    # Polars
    pl.read_parquet("warehouse/published/scorecard/as_of_date=*/version=*/scorecard.parquet", hive_partitioning=True)
    # pandas (pyarrow): the glob's files, hive partition columns typed by snapshot_partitioning()
    pd.read_parquet(glob.glob(pattern), partitioning=snapshot_partitioning())
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import duckdb

from transforms.publishing.queries import NotPublished

DATA_FILE = "scorecard.parquet"
SENSITIVITY_FILE = "sensitivity.parquet"  # the version's sensitivity figures (published.scorecard_sensitivity)
MANIFEST = "manifest.json"


class SnapshotError(RuntimeError):
    """A snapshot is missing, or does not match its manifest."""


def snapshot_root(settings) -> Path:
    return Path(settings.published_dir) / "scorecard"


def snapshot_dir(settings, as_of: dt.date, version: int) -> Path:
    return snapshot_root(settings) / f"as_of_date={as_of.isoformat()}" / f"version={version}"


def snapshot_glob(settings) -> str:
    """The one glob that reads every published version."""
    return str(snapshot_root(settings) / "as_of_date=*" / "version=*" / DATA_FILE)


def snapshot_partitioning():
    """The hive partitioning with typed columns, for pandas/pyarrow readers (as_of_date DATE, version INT64)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    return ds.partitioning(pa.schema([("as_of_date", pa.date32()), ("version", pa.int64())]), flavor="hive")


def write_snapshot_from(settings, con: duckdb.DuckDBPyConnection, as_of: dt.date, version: int) -> Path:
    """Write the snapshot of a published version from an open connection; return its directory.

    Idempotent: an existing snapshot is left exactly as it is.
    """
    final = snapshot_dir(settings, as_of, version)
    if final.exists():
        return final
    cur = con.execute(
        "SELECT * FROM published.scorecard_versions WHERE as_of_date = ? AND version = ?", [as_of, version]
    )
    info_row = cur.fetchone()
    if info_row is None:
        raise NotPublished(f"version {version} of {as_of} has not been published: no snapshot to write")
    info = dict(zip([d[0] for d in cur.description], info_row, strict=True))

    staging = Path(settings.published_dir) / ".staging" / f"scorecard-{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    try:
        files = [_parquet_file(con, "published.scorecard", staging / DATA_FILE, as_of, version)]
        files += _sensitivity_file(con, staging, as_of, version)
        reports, report_note = _report_files(settings, con, staging, as_of, version)
        files += reports
        manifest = {
            "dataset": "published.scorecard",
            "as_of_date": as_of.isoformat(),
            "version": version,
            "written_at": dt.datetime.now(dt.UTC).isoformat(),
            "partitioning": {"flavor": "hive", "columns": {"as_of_date": "date", "version": "int64"}},
            "content_hash": info["content_hash"],
            "files": files,
            "report": report_note,
            "version_info": {k: _plain(v) for k, v in info.items() if k != "snapshot_path"},
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        for path in staging.iterdir():
            _fsync(path)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():  # appeared meanwhile: keep the existing one, never overwrite
            return final
        os.rename(staging, final)  # atomic on one filesystem; fails rather than replace a non-empty dir
        _fsync(final.parent)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return final


def _sensitivity_file(con: duckdb.DuckDBPyConnection, staging: Path, as_of: dt.date, version: int) -> list[dict]:
    """``sensitivity.parquet``: the version's published.scorecard_sensitivity rows, when it has an analysis."""
    from transforms.core.warehouse import table_exists

    if not table_exists(con, "published", "scorecard_sensitivity"):
        return []
    entry = _parquet_file(con, "published.scorecard_sensitivity", staging / SENSITIVITY_FILE, as_of, version)
    if not entry["rows"]:
        (staging / SENSITIVITY_FILE).unlink()  # a version published without an analysis has no such file
        return []
    return [entry]


def _parquet_file(con: duckdb.DuckDBPyConnection, table: str, path: Path, as_of: dt.date, version: int) -> dict:
    """A version's rows of ``table`` (by row_order, without the partition columns) as a Parquet file; its manifest
    entry."""
    quoted = str(path).replace("'", "''")
    con.execute(
        f"""
        COPY (
            SELECT * EXCLUDE (as_of_date, version)
            FROM {table}
            WHERE as_of_date = $as_of AND version = $version
            ORDER BY row_order
        ) TO '{quoted}' (FORMAT parquet, COMPRESSION zstd)
        """,
        {"as_of": as_of, "version": version},
    )
    (rows,) = con.execute(
        f"SELECT count(*) FROM {table} WHERE as_of_date = ? AND version = ?", [as_of, version]
    ).fetchone()
    return {"path": path.name, "sha256": sha256_file(path), "bytes": path.stat().st_size, "rows": rows}


def _report_files(settings, con, staging: Path, as_of: dt.date, version: int) -> tuple[list[dict], dict]:
    """``report.html`` and ``report.pdf``, the committee report (transforms.publishing.report): its manifest
    entries, and the note of what is absent and why (a report that fails to render never loses the snapshot)."""
    from transforms.publishing.report import snapshot_reports

    return snapshot_reports(settings, con, as_of, version, staging)


def clean_staging(settings) -> list[Path]:
    """Remove the ``published/.staging/scorecard-*`` folders of killed snapshot writers (caller holds the writer
    lock: no live writer owns one). Returns what was removed."""
    staging = Path(settings.published_dir) / ".staging"
    removed = []
    if staging.is_dir():
        for leftover in staging.glob("scorecard-*"):
            shutil.rmtree(leftover, ignore_errors=True)
            removed.append(leftover)
    return removed


def _complete(path: Path) -> bool:
    return (path / MANIFEST).is_file() and (path / DATA_FILE).is_file()


def missing_snapshots(settings, con: duckdb.DuckDBPyConnection, as_of: dt.date | None = None):
    """[(as_of_date, version, expected directory)] of the committed versions (of ``as_of``, or of every date)
    whose snapshot directory is missing or incomplete."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'published' AND table_name = 'scorecard_versions'"
    ).fetchone()[0]
    if not exists:
        return []
    sql = "SELECT as_of_date, version FROM published.scorecard_versions"
    params: list = []
    if as_of is not None:
        sql += " WHERE as_of_date = ?"
        params.append(as_of)
    out = []
    for day, version in con.execute(sql + " ORDER BY as_of_date, version", params).fetchall():
        path = snapshot_dir(settings, day, int(version))
        if not _complete(path):
            out.append((day, int(version), path))
    return out


def repair_snapshots_from(settings, con: duckdb.DuckDBPyConnection, as_of: dt.date) -> list[Path]:
    """Write the snapshot of every committed version of ``as_of`` that lacks one (caller holds the writer lock);
    returns the directories written."""
    clean_staging(settings)
    written = []
    for _day, version, path in missing_snapshots(settings, con, as_of):
        if path.exists():  # incomplete (not from the atomic rename: removed by hand?): set aside, never overwritten
            aside = Path(settings.published_dir) / ".staging" / f"incomplete-{as_of}-v{version}-{uuid.uuid4().hex[:8]}"
            aside.parent.mkdir(parents=True, exist_ok=True)
            path.rename(aside)
        written.append(write_snapshot_from(settings, con, as_of, version))
    return written


def repair_snapshots(settings, as_of: dt.date) -> list[Path]:
    """Public entry point of :func:`repair_snapshots_from` (takes the writer lock)."""
    from transforms.core.warehouse import connect, writer_lock

    with writer_lock(settings, what=f"repair snapshots of {as_of}"):
        con = connect(settings, read_only=True)
        try:
            return repair_snapshots_from(settings, con, as_of)
        finally:
            con.close()


def write_snapshot(settings, as_of: dt.date, version: int) -> Path:
    """Public entry point: the snapshot directory of a published version, writing it when missing.

    Takes the writer lock only when it has to read the live warehouse (the snapshot does not exist yet).
    """
    final = snapshot_dir(settings, as_of, version)
    if final.exists():
        return final
    from transforms.core.warehouse import connect, writer_lock

    with writer_lock(settings, what=f"snapshot {as_of} v{version}"):
        con = connect(settings, read_only=True)
        try:
            return write_snapshot_from(settings, con, as_of, version)
        finally:
            con.close()


def verify_snapshot(path: Path) -> list[str]:
    """Problems found comparing a snapshot directory with its manifest (empty list: it matches)."""
    manifest_path = Path(path) / MANIFEST
    if not manifest_path.exists():
        return [f"{manifest_path}: missing"]
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    problems = []
    listed = set()
    for entry in manifest.get("files", []):
        file = Path(path) / entry["path"]
        listed.add(entry["path"])
        if not file.exists():
            problems.append(f"{file}: listed in the manifest but missing")
            continue
        actual = sha256_file(file)
        if actual != entry["sha256"]:
            problems.append(f"{file}: sha256 {actual} does not match the manifest's {entry['sha256']}")
    for file in Path(path).iterdir():
        if file.name not in listed and file.name != MANIFEST:
            problems.append(f"{file}: not listed in the manifest")
    return problems


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value
