"""Shared fixtures. Every test gets its own warehouse and landing folder under tmp_path, and a clean
RISKCARD_* environment so a developer's own settings never leak into a test."""

from __future__ import annotations

import os

import pytest

from transforms.core.settings import Settings, load_settings

TEST_SECRET = "test-secret-key-0123456789"


@pytest.fixture(autouse=True)
def _clean_riskcard_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith("RISKCARD_"):
            monkeypatch.delenv(key)


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings pointing at a fresh warehouse and landing folder in tmp_path."""
    empty_config = tmp_path / "riskcard.toml"  # never pick up a developer's own ./riskcard.toml
    empty_config.write_text("")
    return load_settings(
        env={"RISKCARD_SECRET_KEY": TEST_SECRET},
        config_file=empty_config,
        warehouse=tmp_path / "warehouse" / "riskcard.duckdb",
        landing=tmp_path / "landing",
    )


@pytest.fixture(scope="session")
def warehouse_template(tmp_path_factory):
    """The raw logs of tests/warehouse_builder.py and the mart a real dbt build makes of them, once per session
    (tests copy the file: tests.warehouse_builder.build_warehouse)."""
    from tests.warehouse_builder import build_template

    return build_template(tmp_path_factory.mktemp("warehouse-template"), TEST_SECRET)


@pytest.fixture
def rebuild_settings(warehouse_template):
    """Like ``settings``, for a test that runs the real dbt build again: the template's own folder, emptied (dbt's
    parse of the project is kept: it is only reused for the same warehouse path)."""
    return warehouse_template.fresh_slot()


@pytest.fixture(scope="session")
def published_template(warehouse_template, tmp_path_factory):
    """The template with version 1 of its as-of date published, once per session (tests.warehouse_builder)."""
    from tests.warehouse_builder import publish_template

    return publish_template(warehouse_template, tmp_path_factory.mktemp("published-template"), TEST_SECRET)


@pytest.fixture
def published(settings, published_template):
    """``settings`` whose warehouse folder holds a copy of ``published_template``: version 1 is published."""
    from tests.warehouse_builder import copy_published

    copy_published(published_template, settings)
    return settings


@pytest.fixture
def ahp_cli(tmp_path, capsys):
    """ahp_cli(args...) -> (exit code, stdout, stderr): the real `riskcard ahp` entry point in-process, with an empty
    config so no local riskcard.toml leaks in."""
    from transforms.cli.main import main

    empty = tmp_path / "riskcard.toml"
    empty.write_text("")

    def _run(*args: str):
        code = main(["ahp", "--config", str(empty), *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return _run
