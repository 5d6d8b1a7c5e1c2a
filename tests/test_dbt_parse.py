"""`dbt parse` needs no warehouse: the project compiles into dbt_project/target/manifest.json with the models,
seeds, sources and unit tests it should have (a broken ref, a lost seed or a misplaced schema fails here, in seconds,
rather than inside a nightly build)."""

from __future__ import annotations

import json

from transforms.core.settings import load_settings
from transforms.indicators.build import parse_manifest


def test_parse_manifest_without_a_warehouse(tmp_path):
    config = tmp_path / "riskcard.toml"
    config.touch()
    settings = load_settings(env={}, config_file=config, warehouse=tmp_path / "absent" / "riskcard.duckdb")
    path = parse_manifest(settings)
    assert path == settings.dbt_project_dir / "target" / "manifest.json"
    assert not (tmp_path / "absent").exists()

    manifest = json.loads(path.read_text())
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert {"fct_leaf_indicators", "dim_indicators", "dim_criteria", "dim_systems"} <= set(models)
    assert {m["schema"] for m in models.values()} == {"staging", "intermediate", "marts"}
    seeds = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "seed"}
    assert set(seeds) == {"indicators", "criteria", "systems", "vendor_slas"}
    assert {s["schema"] for s in seeds.values()} == {"reference"}
    # seeds/ahp/ belongs to the AHP module: parsed as disabled, never loaded by dbt
    assert all("ahp" not in n.get("original_file_path", "") for n in manifest["nodes"].values())
    assert sum(1 for n in manifest["unit_tests"].values()) >= 35
    sources = {n["name"] for n in manifest["sources"].values()}
    assert sources == {"transactions", "complaints", "incidents", "backups"}
