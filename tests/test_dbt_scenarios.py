"""The generator's `stress` scenario (more and longer outages, vendor overruns, failing backups) must move the
continuity, outsourcing and backup leaves the right way against `baseline` on the same seed and dates."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from transforms.core.settings import load_settings
from transforms.generate import generate
from transforms.indicators.build import build
from transforms.ingest import ingest

pytestmark = pytest.mark.slow

START = dt.date(2024, 3, 1)
DAYS = 31
AS_OF = START + dt.timedelta(days=DAYS - 1)


def _built(folder, scenario: str) -> dict[str, tuple]:
    config = folder / "riskcard.toml"
    config.touch()
    settings = load_settings(
        env={"RISKCARD_SECRET_KEY": "test-secret-key-scenarios"},
        config_file=config,
        warehouse=folder / "warehouse" / "riskcard.duckdb",
        landing=folder / "landing",
    )
    generate(settings.landing, START, DAYS, 8_000, seed=404, scenario=scenario)
    ingest(settings)
    build(settings, as_of=AS_OF)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rows = con.execute(
            "SELECT indicator_id, value, level, status FROM marts.fct_leaf_indicators WHERE as_of_date = ?", [AS_OF]
        ).fetchall()
    finally:
        con.close()
    return {r[0]: r[1:] for r in rows}


@pytest.fixture(scope="module")
def leaves(tmp_path_factory) -> dict[str, dict[str, tuple]]:
    return {name: _built(tmp_path_factory.mktemp(f"dbt_{name}"), name) for name in ("baseline", "stress")}


@pytest.mark.parametrize("indicator", ["BC4", "BC5", "OS1", "DC2"])
def test_stress_raises_continuity_vendor_and_backup_leaves(leaves, indicator):
    base, stress = leaves["baseline"][indicator], leaves["stress"][indicator]
    assert base[2] == stress[2] == "ok", (base, stress)
    assert stress[0] > base[0], f"{indicator}: stress {stress[0]} is not above baseline {base[0]}"
    assert stress[1] >= base[1]


def test_both_scenarios_have_every_leaf_with_data(leaves):
    for name, rows in leaves.items():
        assert len(rows) == 30
        assert not [i for i, r in rows.items() if r[2] == "no_data"], name
