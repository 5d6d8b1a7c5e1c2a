"""The sensitivity analysis of a published version (issue 15): stored with the version, exact when nothing moves,
deterministic for a seed, probabilities that add up, indices that find the input that moves the composite.

Expected values come from the published rows (what dbt and the synthesis wrote), from numpy's LAPACK eigenvalues,
or from arithmetic written out here, never from the module under test."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from dataclasses import replace

import duckdb
import numpy as np
import pytest

from tests.warehouse_builder import AS_OF, EARLIER
from transforms.indicators.catalogue import load_catalogue
from transforms.publishing.sensitivity import leaf_inputs
from transforms.publishing.snapshots import MANIFEST, SENSITIVITY_FILE, snapshot_dir, verify_snapshot
from transforms.scoring import sensitivity
from transforms.scoring.ahp import RANDOM_INDEX
from transforms.scoring.levels import BANDS
from transforms.scoring.profiles import load_profile
from transforms.scoring.sensitivity import Perturbations, analyse, level_for, simulate

BAND_NAMES = [b.name for b in BANDS]


def _published_rows(settings, as_of=AS_OF, version=1) -> tuple[dict, list[dict]]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        cur = con.execute("SELECT * FROM published.scorecard_versions WHERE as_of_date = ? AND version = ?",
                          [as_of, version])  # fmt: skip
        info = dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
        cur = con.execute(
            "SELECT * FROM published.scorecard WHERE as_of_date = ? AND version = ? ORDER BY row_order",
            [as_of, version],
        )
        names = [d[0] for d in cur.description]
        return info, [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def _cli(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "transforms.cli", "sensitivity", "--warehouse", str(settings.warehouse), *args],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "RISKCARD_SECRET_KEY": "test-secret-key-0123456789"},
        check=False,
    )


@pytest.fixture
def inputs(published):
    info, rows = _published_rows(published)
    catalogue = load_catalogue(published)
    profile = load_profile(info["profile_name"], published, catalogue=catalogue)
    assert profile.content_hash == info["profile_hash"]
    return published, info, rows, catalogue, profile


def test_every_draw_is_the_published_version_when_nothing_moves(inputs):
    settings, info, rows, catalogue, profile = inputs
    criteria = {r["criterion_id"]: r for r in rows if r["row_type"] == "criterion"}
    sim = simulate(catalogue, profile, leaf_inputs(rows), 500, 11, Perturbations.none())
    assert (sim.composite == info["composite"]).all()  # bit for bit, every draw
    for k, cid in enumerate(sim.criterion_ids):
        assert (sim.rank[:, k] == criteria[cid]["rank"]).all(), cid
        assert (sim.likelihood[:, k] == criteria[cid]["likelihood"]).all(), cid
        assert (sim.score[:, k] == criteria[cid]["score"]).all(), cid
    doc = analyse(catalogue, profile, leaf_inputs(rows), 500, 11, Perturbations.none())
    assert doc["composite"]["p05"] == doc["composite"]["p95"] == info["composite"]
    assert doc["composite"]["rating_probability"][info["rating"]] == 1.0
    for c in doc["criteria"]:
        published = criteria[c["criterion_id"]]
        assert c["rank_p05"] == c["rank_p50"] == c["rank_p95"] == published["rank"]
        assert c["band_probability"][published["band"]] == 1.0
    assert doc["indices"] == [] and doc["rejected"] == 0


def test_the_level_rule_is_dbts_for_every_built_leaf(published):
    """level_for is the Python copy of dbt's level_from_thresholds: it gives every level dbt wrote."""
    catalogue = load_catalogue(published)
    con = duckdb.connect(str(published.warehouse), read_only=True)
    try:
        built = con.execute(
            "SELECT indicator_id, value, status, level FROM marts.fct_leaf_indicators WHERE as_of_date IN (?, ?)",
            [EARLIER, AS_OF],
        ).fetchall()
    finally:
        con.close()
    assert len(built) == 60
    for indicator_id, value, status, level in built:
        assert level_for(value, status, catalogue.indicator(indicator_id).thresholds) == level, indicator_id
    # and at the edge: a value exactly on a threshold takes that threshold's step, just above it the next one
    t = catalogue.indicator("SP1").thresholds
    assert [level_for(t[1], "ok", t), level_for(t[1] * (1 + 1e-12), "ok", t)] == [0.4, 0.6]


def test_publish_stores_the_analysis_in_the_table_the_snapshot_and_the_serving_copy(inputs):
    settings, info, rows, catalogue, profile = inputs
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        run = con.execute(
            "SELECT draws, seed, rejected, document FROM published.scorecard_sensitivity_runs WHERE as_of_date = ?",
            [AS_OF],
        ).fetchall()
        table_rows = con.execute(
            "SELECT row_type, count(*) FROM published.scorecard_sensitivity WHERE as_of_date = ? GROUP BY 1",
            [AS_OF],
        ).fetchall()
        composite_row = con.execute(
            "SELECT nominal FROM published.scorecard_sensitivity WHERE as_of_date = ? AND row_type = 'composite'",
            [AS_OF],
        ).fetchone()
    finally:
        con.close()
    assert len(run) == 1
    draws, seed, rejected, document = run[0]
    assert (draws, seed) == (settings.sensitivity_draws, settings.sensitivity_seed) == (10000, 20261201)
    assert rejected > 0  # the criterion matrix has CR 0.087: some of its perturbations fail the 0.1 test
    counts = dict(table_rows)
    # 9 judgment matrices of the default profile (u7's 2x2 included), the method, the thresholds
    assert counts == {"composite": 1, "criterion": 8, "index": 11, "leave_one_out": 30}
    assert composite_row[0] == info["composite"]

    snap = snapshot_dir(settings, AS_OF, 1)
    manifest = json.loads((snap / MANIFEST).read_text(encoding="utf-8"))
    entry = next(f for f in manifest["files"] if f["path"] == SENSITIVITY_FILE)
    assert entry["sha256"] == hashlib.sha256((snap / SENSITIVITY_FILE).read_bytes()).hexdigest()
    assert (
        entry["rows"]
        == sum(counts.values())
        == duckdb.sql(f"SELECT count(*) FROM read_parquet('{snap / SENSITIVITY_FILE}')").fetchall()[0][0]
    )
    assert verify_snapshot(snap) == []

    served = duckdb.connect(str(settings.serving_db), read_only=True)
    try:
        assert served.execute("SELECT count(*) FROM published.scorecard_sensitivity").fetchone()[0] == entry["rows"]
    finally:
        served.close()
    # without options the CLI prints the stored document, byte for byte
    shown = _cli(settings, "--as-of", AS_OF.isoformat(), "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.rstrip("\n") == document
    table = _cli(settings, "--as-of", AS_OF.isoformat())
    assert table.returncode == 0 and "stored with version 1" in table.stdout
    assert all(cid in table.stdout for cid in catalogue.criterion_ids)


def test_same_seed_same_bytes_and_probabilities_sum_to_one(inputs):
    settings = inputs[0]
    args = ("--as-of", AS_OF.isoformat(), "--draws", "3000", "--format", "json")
    first, again, other = (_cli(settings, *args, "--seed", s) for s in ("7", "7", "8"))
    for r in (first, again, other):
        assert r.returncode == 0, r.stderr
    assert first.stdout == again.stdout
    assert first.stdout != other.stdout
    doc = json.loads(first.stdout)
    assert (doc["draws"], doc["seed"], doc["version"]) == (3000, 7, 1)
    assert set(doc) >= {"draws", "rejected", "seed", "criteria", "composite", "indices", "leave_one_out"}
    for c in doc["criteria"]:
        assert set(c["band_probability"]) == set(BAND_NAMES)
        assert math.isclose(sum(c["band_probability"].values()), 1, abs_tol=1e-12), c
        assert math.isclose(sum(c["attention_probability"].values()), 1, abs_tol=1e-12), c
        assert c["rank_p05"] <= c["rank_p50"] <= c["rank_p95"]
    assert math.isclose(sum(doc["composite"]["rating_probability"].values()), 1, abs_tol=1e-12)


def test_accepted_judgment_draws_pass_the_consistency_test_and_rejections_are_counted(inputs):
    *_, profile = inputs
    result = profile.judgments["criteria"]
    rng = np.random.default_rng(3)
    draws = sensitivity.draw_judgments(rng, result, "criteria", "eigenvector", 2000, 0.2)
    a = draws.matrices
    assert draws.rejected > 0
    assert np.allclose(a * np.swapaxes(a, 1, 2), 1)  # reciprocal
    lam = np.max(np.linalg.eigvals(a).real, axis=1)  # LAPACK, not the module's power iteration
    cr = (lam - 8) / 7 / RANDOM_INDEX[8]
    assert (cr < 0.1 + 1e-9).all()
    moved = ~np.isclose(a, np.array(result.matrix)).all(axis=(1, 2))
    assert 0.5 < moved.mean() < 1  # most draws moved something
    none = sensitivity.draw_judgments(np.random.default_rng(3), result, "criteria", "eigenvector", 50, 0.0)
    assert none.rejected == 0 and (none.matrices == np.array(result.matrix)).all()


def test_indices_name_the_only_input_that_moves(inputs):
    _, _, rows, catalogue, profile = inputs
    leaves = leaf_inputs(rows)
    only = {
        "thresholds": Perturbations(judgments=False, method=False, leave_one_out=False, threshold_range=0.5),
        "method": Perturbations(judgments=False, thresholds=False, leave_one_out=False),
    }
    for group, perturb in only.items():
        doc = analyse(catalogue, profile, leaves, 4000, 5, perturb)
        [index] = doc["indices"]
        assert index["group"] == group
        if doc["composite"]["p05"] == doc["composite"]["p95"]:
            pytest.fail(f"{group}: the composite does not vary; the test data cannot show the index")
        assert 0.9 < index["first_order"] < 1.1 and 0.9 < index["total"] < 1.1, index


def test_leave_one_out_renormalises_the_criterions_other_leaves(inputs):
    _, info, rows, catalogue, profile = inputs
    doc = analyse(catalogue, profile, leaf_inputs(rows), 100, 1, replace(Perturbations.none(), leave_one_out=True))
    criteria = {r["criterion_id"]: r for r in rows if r["row_type"] == "criterion"}
    leaves = [r for r in rows if r["row_type"] == "leaf"]
    by_leaf = {x["indicator_id"]: x for x in doc["leave_one_out"]}
    assert set(by_leaf) == {r["indicator_id"] for r in leaves}
    for leaf in leaves:
        cid = leaf["criterion_id"]
        c = criteria[cid]
        weight = c["global_weight"]  # a criterion row's global weight is W
        local = leaf["local_weight"]
        c_without = (c["likelihood"] - local * leaf["level"]) / (1 - local)
        expected = info["composite"] - weight * c["likelihood"] + weight * c_without
        assert math.isclose(by_leaf[leaf["indicator_id"]]["composite"], expected, abs_tol=1e-12), leaf
        assert math.isclose(by_leaf[leaf["indicator_id"]]["change"], expected - info["composite"], abs_tol=1e-12)


def test_an_explicit_profile_has_no_judgments_to_move(inputs):
    settings, _, rows, catalogue, _ = inputs
    paper = load_profile("paper-published", settings, catalogue=catalogue)
    doc = analyse(catalogue, paper, leaf_inputs(rows), 1000, 2, Perturbations())
    assert [i["group"] for i in doc["indices"]] == ["thresholds"]
    assert doc["rejected"] == 0 and doc["rejected_by_matrix"] == {}


def test_an_incomplete_matrix_keeps_its_gaps_and_is_completed_by_harker(tmp_path, inputs):
    """A judgment left empty stays empty in every draw; the draw's weights come from the completed matrix."""
    from pathlib import Path

    from transforms.scoring.ahp import complete_matrix
    from transforms.scoring.profiles import check_profile
    from transforms.scoring.synthesis import synthesize

    settings, _, rows, catalogue, _ = inputs
    ahp_dir = Path(__file__).resolve().parents[1] / "seeds" / "ahp"
    lines = (ahp_dir / "criterion_matrix.csv").read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        cells = line.split(",")
        if cells[0] == "u1":
            cells[8] = ""  # a(u1, u8)
        elif cells[0] == "u8":
            cells[1] = ""  # a(u8, u1)
        out.append(",".join(cells))
    matrix = tmp_path / "gappy_criteria.csv"
    matrix.write_text("\n".join(out) + "\n", encoding="utf-8")
    spec = "\n".join(f'u{k} = {{ matrix = "{ahp_dir}/leaves/u{k}_leaves.csv" }}' for k in range(1, 9))
    path = tmp_path / "gappy.toml"
    path.write_text(f'name = "gappy"\n[criteria]\nmatrix = "{matrix}"\n[leaves]\n{spec}\n', encoding="utf-8")
    check = check_profile(path, settings, catalogue=catalogue)
    assert check.valid, check.problems
    profile = check.profile
    leaves = leaf_inputs(rows)

    nominal = analyse(catalogue, profile, leaves, 200, 4, Perturbations.none())
    card = synthesize({k: v.level for k, v in leaves.items()}, profile, catalogue)
    assert nominal["composite"]["p05"] == nominal["composite"]["p95"] == card.composite

    result = profile.judgments["criteria"]
    draws = sensitivity.draw_judgments(np.random.default_rng(9), result, "criteria", "eigenvector", 500, 0.3)
    gaps = np.isnan(draws.matrices)
    assert gaps[:, 0, 7].all() and gaps[:, 7, 0].all() and gaps.sum() == 2 * 500
    completed = complete_matrix(draws.matrices)
    lam = np.max(np.linalg.eigvals(completed).real, axis=1)
    eig = np.linalg.eig(completed)
    principal = np.abs(np.take_along_axis(eig.eigenvectors, eig.eigenvalues.real.argmax(axis=1)[:, None, None], 2))
    w = principal[:, :, 0] / principal[:, :, 0].sum(axis=1, keepdims=True)
    assert np.allclose(draws.weights["eigenvector"], w, atol=1e-9)
    assert ((lam - 8) / 7 / RANDOM_INDEX[8] < 0.1 + 1e-9).all()
    doc = analyse(catalogue, profile, leaves, 1000, 4, Perturbations())
    assert doc["rejected_by_matrix"]["criteria"] > 0
