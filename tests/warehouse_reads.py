"""Helpers shared by the tests (no tests here): settings for a test folder, read-only queries of its warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb

from transforms.core.settings import Settings, load_settings

# For the tests of versions, proofs and blocks, which publish dozens of times: no committee report in the snapshot
# and no sensitivity analysis stored (together about 9 s of every publish). Both are real settings
# (report_formats, sensitivity_draws); the report and the analysis a default publish writes are tested in
# test_report.py, test_sensitivity.py, test_publish_snapshots.py and the Airflow end-to-end tests.
LEAN_PUBLISH = {"report_formats": (), "sensitivity_draws": 0}
LEAN_PUBLISH_ENV = {"RISKCARD_REPORT_FORMATS": "", "RISKCARD_SENSITIVITY_DRAWS": "0"}  # the same, for the CLI


def lean_publish(settings: Settings, monkeypatch) -> Settings:
    """``settings`` with LEAN_PUBLISH, and the same for every `riskcard` the test runs in-process."""
    import dataclasses

    for name, value in LEAN_PUBLISH_ENV.items():
        monkeypatch.setenv(name, value)
    return dataclasses.replace(settings, **LEAN_PUBLISH)


def settings_in(folder: Path, secret: str, **overrides) -> Settings:
    """Settings for a warehouse and landing folder under `folder`, with an empty riskcard.toml (no developer's own)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "riskcard.toml"
    config.touch()
    return load_settings(
        env={"RISKCARD_SECRET_KEY": secret},
        config_file=config,
        warehouse=folder / "warehouse" / "riskcard.duckdb",
        landing=folder / "landing",
        **overrides,
    )


def rows(settings: Settings, sql: str, params=None) -> list[tuple]:
    """The rows of one query on a read-only connection (timestamps in UTC), closed before returning."""
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def records(settings: Settings, sql: str, params=None) -> list[dict]:
    """The rows of one query as dicts keyed by column name."""
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        cur = con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()
