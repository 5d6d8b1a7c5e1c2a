"""The analysts' serving copy: readable by another process while a writer holds the live warehouse, swapped in
atomically at publish (an open reader keeps its snapshot, a new one sees the new version), with the same views
as the live file plus a view over the Parquet snapshots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import duckdb
import pytest

from tests.warehouse_builder import AS_OF, build_warehouse, open_builder
from transforms.core.settings import PROJECT_DIR
from transforms.publishing.publish import publish
from transforms.publishing.serving import refresh_serving

# Holds the writer lock and the live DuckDB file open for writing, mid-transaction, until stdin closes.
WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from transforms.core.settings import load_settings
    from transforms.core.warehouse import connect, writer_lock
    settings = load_settings(env={}, config_file=Path(sys.argv[2]), warehouse=Path(sys.argv[1]))
    with writer_lock(settings, what="test: a long load"):
        con = connect(settings)
        con.execute("BEGIN TRANSACTION")
        con.execute("CREATE TABLE IF NOT EXISTS raw.load_in_progress AS SELECT 1 AS n")
        print("holding", flush=True)
        sys.stdin.read()
        con.execute("COMMIT")
        con.close()
    """
)

# What an analyst runs: the documented SQL against the serving copy.
ANALYST = textwrap.dedent(
    """
    import json, sys
    import duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    latest = con.execute('''
        SELECT row_type, criterion_id, indicator_id, score, rank, band, version
        FROM published.scorecard_latest
        WHERE as_of_date = (SELECT max(as_of_date) FROM published.scorecard_latest)
        ORDER BY row_order''').fetchall()
    snap = con.execute("SELECT count(*) FROM published.scorecard_snapshots").fetchall()[0][0]
    print(json.dumps({"rows": len(latest), "version": latest[0][6], "composite": latest[0][3], "snapshots": snap}))
    """
)

ENV = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}


def _run(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout, env=ENV, cwd=PROJECT_DIR
    )


def test_analysts_read_the_serving_copy_while_a_writer_holds_the_live_file(published, tmp_path):
    settings = published
    config = tmp_path / "riskcard.toml"
    config.write_text("")
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(settings.warehouse), str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
        cwd=PROJECT_DIR,
    )
    try:
        assert writer.stdout.readline().strip() == "holding"
        # the live file really is locked: a reader of it fails
        live = _run("import duckdb, sys; duckdb.connect(sys.argv[1], read_only=True)", str(settings.warehouse))
        assert live.returncode != 0 and "lock" in live.stderr.lower()
        # the analyst's SQL on the serving copy works
        analyst = _run(ANALYST, str(settings.serving_db))
        assert analyst.returncode == 0, analyst.stderr
        seen = json.loads(analyst.stdout)
        assert seen["rows"] == 39 and seen["version"] == 1 and seen["snapshots"] == 39
        # and so does the CLI (show reads the serving copy)
        show = subprocess.run(
            [
                sys.executable,
                "-m",
                "transforms.cli.main",
                "scorecard",
                "show",
                "--format",
                "json",
                "--config",
                str(config),
                "--warehouse",
                str(settings.warehouse),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=ENV,
            cwd=PROJECT_DIR,
        )
        assert show.returncode == 0, show.stderr
        assert json.loads(show.stdout)["composite"] == pytest.approx(seen["composite"])
    finally:
        writer.stdin.close()
        assert writer.wait(timeout=30) == 0


def test_a_refresh_swaps_the_file_under_an_open_reader(published):
    settings = published
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
            import sys, duckdb
            path = sys.argv[1]
            con = duckdb.connect(path, read_only=True)
            q = "SELECT max(version) FROM published.scorecard_versions"
            print(con.execute(q).fetchall()[0][0], flush=True)
            sys.stdin.readline()
            print(con.execute(q).fetchall()[0][0], flush=True)  # still the file it opened
            con.close()
            con = duckdb.connect(path, read_only=True)
            print(con.execute(q).fetchall()[0][0], flush=True)  # the swapped-in file
            """
            ),
            str(settings.serving_db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert reader.stdout.readline().strip() == "1"
        inode_before = os.stat(settings.serving_db).st_ino
        assert publish(settings, AS_OF, force=True).version == 2
        assert os.stat(settings.serving_db).st_ino != inode_before  # a new file, not written in place
        reader.stdin.write("go\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "1"
        assert reader.stdout.readline().strip() == "2"
    finally:
        reader.stdin.close()
        assert reader.wait(timeout=30) == 0, reader.stderr.read()
    leftovers = [p.name for p in settings.serving_db.parent.iterdir() if p.name != settings.serving_db.name]
    assert leftovers == []


def test_the_serving_copy_matches_the_live_tables_and_views(published):
    settings = published
    builder = open_builder(settings)
    builder.move_leaf("DC1", 60.0)  # above DC1's t4 (40 %): 1.0, dbt gave 0.8
    builder.con.close()
    assert publish(settings, AS_OF).version == 2
    queries = [
        "SELECT * FROM published.scorecard ORDER BY version, row_order",
        "SELECT * FROM published.scorecard_versions ORDER BY version",
        "SELECT * FROM published.scorecard_latest ORDER BY row_order",
        "SELECT * FROM published.scorecard_history ORDER BY version, row_order",
        "SELECT * FROM ops.validation_runs ORDER BY started_at",
    ]
    live = duckdb.connect(str(settings.warehouse), read_only=True)
    serving = duckdb.connect(str(settings.serving_db), read_only=True)
    try:
        for sql in queries:
            assert serving.execute(sql).fetchall() == live.execute(sql).fetchall(), sql
        from_snapshots = serving.execute(
            "SELECT * EXCLUDE (as_of_date, version) FROM published.scorecard_snapshots "
            "WHERE version = 2 ORDER BY row_order"
        ).fetchall()
        from_table = serving.execute(
            "SELECT * EXCLUDE (as_of_date, version) FROM published.scorecard WHERE version = 2 ORDER BY row_order"
        ).fetchall()
        assert from_snapshots == from_table
    finally:
        live.close()
        serving.close()


def test_refresh_serving_before_anything_is_published(settings, warehouse_template):
    build_warehouse(warehouse_template, settings, indicators=False).con.close()
    path = refresh_serving(settings)
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM published.scorecard_latest").fetchall() == [(0,)]
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert {"scorecard", "scorecard_versions", "validation_runs", "dq_alerts"} <= tables
    finally:
        con.close()
