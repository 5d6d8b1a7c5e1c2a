"""What a version records of where it came from: its content hash, the digest of the landing files it read, the code.

Recorded per version:
- ``input_digest``: sha256 over the sorted, distinct sha256s of the landing files that hold at least one raw
  record with ``updated_at`` before the end of the as-of date (local) and that the build read (``ingest_seq``
  up to the build's ``ingest_high_water``) — exactly the files whose records the built state as of D read;
  joined with "\\n". A late file with records for D or earlier changes it once a build has read it; files with
  only later records do not, nor do files ingested after the build. ``input_files`` is their number.
- ``build_id`` / ``ingest_high_water`` / ``indicator_rows_hash``: the build, its high-water mark and the hash of
  the mart rows that were validated and synthesized; ``failed_files_cleared``: JSON list of the window's failed
  files that did not block because they were acknowledged (`riskcard ingest ack`, with reason, who and when) or
  superseded (a later load of the same bytes, or of a file of the same source and day).
- ``code_version``: ``git describe --tags --always --dirty`` of the project checkout when available, else the
  installed package version.
- ``content_hash``: sha256 of the canonical JSON (sorted keys) of the version's rows without as_of_date/version,
  every float rounded to 10 significant digits first (``HASH_SIGNIFICANT_DIGITS``): the AHP weights come from
  power iteration and sums from parallel aggregation, whose last bits may differ between runs or machines; such
  a difference never makes a new version, while a change of a unit in the 9th significant digit or more always
  does (a value within a last-bit distance of a rounding boundary can still, very rarely, tip either way).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import subprocess
from typing import Any

import duckdb

from transforms.core.contract import SOURCES
from transforms.core.warehouse import table_exists
from transforms.core.windows import window_for

# Floats enter the content hash rounded to this many significant digits (see the module docstring).
HASH_SIGNIFICANT_DIGITS = 10


def hash_float(value: float) -> float:
    """``value`` rounded to HASH_SIGNIFICANT_DIGITS significant digits (decimal), -0.0 as 0.0."""
    rounded = float(f"{value:.{HASH_SIGNIFICANT_DIGITS}g}")
    return 0.0 if rounded == 0 else rounded


def _for_hash(value: Any) -> Any:
    if isinstance(value, float):
        return hash_float(value)
    if isinstance(value, dict):
        return {k: _for_hash(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_for_hash(v) for v in value]
    return value


def content_hash(rows: list[dict[str, Any]]) -> str:
    """sha256 of the canonical JSON of the rows, every float rounded by :func:`hash_float`."""
    canonical = json.dumps(_for_hash(rows), sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def input_digest(
    con: duckdb.DuckDBPyConnection, settings, as_of: dt.date, high_water: int | None = None
) -> tuple[str, int]:
    """(sha256, file count) of the landing files holding a raw record knowable at the end of ``as_of``; with
    ``high_water`` (a build's), only the files that build read (``ingest_seq`` up to it)."""
    end = window_for(settings, as_of).end
    bound = "" if high_water is None else " AND _ingest_seq <= $hw"
    selects = [
        f"SELECT DISTINCT _file_sha256 AS sha FROM raw.{s} WHERE updated_at < $end{bound}"
        for s in SOURCES
        if table_exists(con, "raw", s)
    ]
    params: dict[str, Any] = {"end": end}
    if high_water is not None:
        params["hw"] = int(high_water)
    shas: list[str] = []
    if selects:
        shas = [r[0] for r in con.execute(" UNION ".join(selects) + " ORDER BY sha", params).fetchall()]
    return hashlib.sha256("\n".join(shas).encode()).hexdigest(), len(shas)


def code_version(settings) -> str:
    """``git describe`` of the checkout when it is a git repository, else the installed package version."""
    try:
        out = subprocess.run(
            ["git", "-C", str(settings.project_dir), "describe", "--tags", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if out.returncode == 0 and out.stdout.strip():
            return f"git:{out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return f"riskcard {importlib.metadata.version('riskcard')}"
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
