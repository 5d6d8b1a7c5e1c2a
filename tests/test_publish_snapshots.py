"""Immutable Parquet snapshots: hive layout, one glob for DuckDB, Polars and pandas, rows equal to the table,
checksums equal to the manifest, never overwritten, re-created when lost."""

from __future__ import annotations

import glob
import hashlib
import json
import shutil

import duckdb
import pandas as pd
import polars as pl
import pytest

from tests.warehouse_builder import AS_OF, EARLIER, copy_published, open_builder
from tests.warehouse_reads import settings_in
from transforms.publishing.publish import publish, write_snapshot
from transforms.publishing.snapshots import (
    DATA_FILE,
    MANIFEST,
    SENSITIVITY_FILE,
    snapshot_dir,
    snapshot_glob,
    snapshot_partitioning,
    verify_snapshot,
)


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def history(tmp_path_factory, published_template):
    """Three published versions: 2025-03-31 v1 (the published template), 2025-03-30 v1 and 2025-03-31 v2 (both
    dates built by dbt)."""
    settings = settings_in(tmp_path_factory.mktemp("snapshots"), "k")
    copy_published(published_template, settings)
    assert publish(settings, EARLIER).version == 1
    builder = open_builder(settings)
    builder.move_leaf("BC2", 45.0)  # above BC2's t4 (40 %): 1.0, dbt gave 0.8
    builder.con.close()
    assert publish(settings, AS_OF).version == 2
    return settings


def _table(settings) -> pd.DataFrame:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute("SELECT * FROM published.scorecard ORDER BY as_of_date, version, row_order").df()
    finally:
        con.close()


def _table_rows(settings) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute("SELECT * FROM published.scorecard ORDER BY as_of_date, version, row_order").fetchall()
    finally:
        con.close()


def test_layout_is_hive_with_a_manifest_per_version(history):
    root = history.published_dir / "scorecard"
    found = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert found == sorted(
        f"as_of_date={d}/version={v}/{name}"
        for d, v in (("2025-03-30", 1), ("2025-03-31", 1), ("2025-03-31", 2))
        for name in (DATA_FILE, SENSITIVITY_FILE, "report.html", "report.pdf", MANIFEST)
    )
    assert not list((history.published_dir / ".staging").iterdir())  # nothing left half-written


def test_checksums_match_the_manifest(history):
    for version in (1, 2):
        path = snapshot_dir(history, AS_OF, version)
        manifest = json.loads((path / MANIFEST).read_text())
        assert [f["path"] for f in manifest["files"]] == [DATA_FILE, SENSITIVITY_FILE, "report.html", "report.pdf"]
        entry = manifest["files"][0]
        assert entry["sha256"] == _sha256(path / DATA_FILE)
        assert entry["bytes"] == (path / DATA_FILE).stat().st_size and entry["rows"] == 39
        assert manifest["as_of_date"] == "2025-03-31" and manifest["version"] == version
        assert manifest["version_info"]["content_hash"] == manifest["content_hash"]
        assert verify_snapshot(path) == []


def test_duckdb_polars_and_pandas_read_the_whole_history_equal_to_the_table(history):
    table = _table(history)
    pattern = snapshot_glob(history)
    columns = list(table.columns)
    order = ["as_of_date", "version", "row_order"]

    duck = duckdb.sql(f"SELECT * FROM read_parquet('{pattern}', hive_partitioning = true)").df()
    duck = duck[columns].sort_values(order).reset_index(drop=True)
    assert str(duck["as_of_date"].dtype).startswith("datetime64") or duck["as_of_date"].dtype == object
    pd.testing.assert_frame_equal(duck, table, check_dtype=False)

    polars = pl.read_parquet(pattern, hive_partitioning=True).sort(order)
    assert polars.schema["as_of_date"] == pl.Date and polars.schema["version"] == pl.Int64
    assert polars.select(columns).rows() == _table_rows(history)

    frame = pd.read_parquet(glob.glob(pattern), partitioning=snapshot_partitioning())
    frame = frame[columns].sort_values(order).reset_index(drop=True)
    assert frame["as_of_date"].tolist() == [d.date() if hasattr(d, "date") else d for d in table["as_of_date"]]
    pd.testing.assert_frame_equal(
        frame.drop(columns=["as_of_date", "version"]), table.drop(columns=["as_of_date", "version"]), check_dtype=False
    )
    assert frame["version"].tolist() == table["version"].tolist()


def test_snapshots_are_never_overwritten_and_lost_ones_come_back(history):
    path = snapshot_dir(history, AS_OF, 1)
    before = (path / DATA_FILE).stat().st_mtime_ns, _sha256(path / DATA_FILE)
    assert write_snapshot(history, AS_OF, 1) == path
    assert publish(history, AS_OF, force=False).status == "unchanged"
    assert ((path / DATA_FILE).stat().st_mtime_ns, _sha256(path / DATA_FILE)) == before

    lost = snapshot_dir(history, EARLIER, 1)
    table_rows = json.loads((lost / MANIFEST).read_text())["files"][0]["rows"]
    shutil.rmtree(lost)
    assert write_snapshot(history, EARLIER, 1) == lost
    assert verify_snapshot(lost) == []
    assert duckdb.sql(f"SELECT count(*) FROM '{lost / DATA_FILE}'").fetchall() == [(table_rows,)]


def test_a_tampered_snapshot_is_detected(history, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(snapshot_dir(history, AS_OF, 2), copy)
    with open(copy / DATA_FILE, "ab") as fh:
        fh.write(b"x")
    (copy / "extra.parquet").write_bytes(b"")
    problems = verify_snapshot(copy)
    assert any("does not match the manifest" in p for p in problems)
    assert any("extra.parquet: not listed" in p for p in problems)
