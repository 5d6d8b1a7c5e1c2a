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
