"""Incomplete judgment matrices: Harker's method, the completed matrix, its CR, and what `ahp check` says.

Expected values come from the known weights, from Harker's B matrix built and solved here with numpy.linalg.eig,
or from numpy.linalg.eig on the completed matrix, never from the code under test.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from transforms.core.settings import PROJECT_DIR
from transforms.scoring.ahp import (
    DISCONNECTED,
    INCOMPLETE,
    MISSING,
    JudgmentMatrix,
    aggregate_aij,
    analyse,
    analyse_experts,
    complete_matrix,
    read_matrix,
)
from transforms.scoring.profiles import check_profile

AHP = PROJECT_DIR / "seeds" / "ahp"
RI = {3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45}  # the paper's Table 2


def labels_for(n: int) -> list[str]:
    return [f"c{k}" for k in range(n)]


def known_weights(n: int, seed: int) -> np.ndarray:
    w = np.exp(np.random.default_rng(seed).uniform(0, np.log(9), n))
    return w / w.sum()


def remove(a: np.ndarray, pairs) -> np.ndarray:
    b = np.array(a, dtype=float)
    for i, j in pairs:
        b[i, j] = b[j, i] = np.nan
    return b


def connected(n: int, missing) -> bool:
    """Breadth-first search over the given comparisons (independent of the code under test)."""
    gone = {frozenset(p) for p in missing}
    seen, todo = {0}, [0]
    while todo:
        i = todo.pop()
        for j in range(n):
            if j not in seen and frozenset((i, j)) not in gone:
                seen.add(j)
                todo.append(j)
    return len(seen) == n


def patterns(n: int):
    """Named patterns of left-out pairs that keep the items connected."""
    everything = [(i, j) for i in range(n) for j in range(i + 1, n)]
    rng = np.random.default_rng(n)
    random_pairs = [everything[k] for k in rng.permutation(len(everything))[: len(everything) // 2]]
    while not connected(n, random_pairs):
        random_pairs.pop()
    return {
        "one pair": [(0, n - 1)],
        "star (only row c0 given)": [(i, j) for i, j in everything if i != 0],
        "path (only neighbours given)": [(i, j) for i, j in everything if j != i + 1],
        "half at random": random_pairs,
    }


def harker_reference(a: np.ndarray) -> np.ndarray:
    """Harker's B (missing -> 0, b_ii = 1 + missing in row i) and its Perron vector by numpy.linalg.eig."""
    gap = np.isnan(a)
    b = np.where(gap, 0.0, a)
    b[np.diag_indices_from(b)] = 1 + gap.sum(axis=1)
    values, vectors = np.linalg.eig(b)
    v = vectors[:, np.argmax(values.real)].real
    return v / v.sum()


def eig_cr(a: np.ndarray) -> float:
    n = a.shape[0]
    return (float(np.max(np.linalg.eigvals(a).real)) - n) / (n - 1) / RI[n]


def noisy_reciprocal(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = known_weights(n, seed)
    a = np.ones((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            a[i, j] = w[i] / w[j] * np.exp(rng.normal(0, 0.5))
            a[j, i] = 1 / a[i, j]
    return a


@pytest.mark.parametrize("n", range(4, 9))
def test_harker_returns_the_known_weights_of_a_consistent_matrix(n):
    w = known_weights(n, seed=n)
    full = w[:, None] / w[None, :]
    for name, missing in patterns(n).items():
        assert connected(n, missing), name
        a = remove(full, missing)
        for method in ("eigenvector", "geometric"):
            result = analyse(JudgmentMatrix.from_values(labels_for(n), a), method)
            assert result.valid, (name, method, result.problems())
            got = np.array([result.weights[x] for x in labels_for(n)])
            np.testing.assert_allclose(got, w, rtol=0, atol=1e-9, err_msg=f"{name}, {method}")
            assert result.cr == pytest.approx(0.0, abs=1e-9)
        completed = complete_matrix(a)
        np.testing.assert_allclose(completed, full, rtol=1e-9, err_msg=name)
        assert not np.isnan(completed).any()


@pytest.mark.parametrize("n", [4, 6, 8])
def test_complete_matrix_is_harkers_on_inconsistent_matrices_and_batched(n):
    stack, expected = [], []
    for seed in range(6):
        a = noisy_reciprocal(n, seed)
        missing = list(patterns(n).values())[seed % 4] if seed < 5 else []  # the last one: nothing missing
        gappy = remove(a, missing)
        h = harker_reference(gappy) if missing else None
        stack.append(gappy)
        expected.append(np.where(np.isnan(gappy), h[:, None] / h[None, :], gappy) if missing else gappy)
    stack, expected = np.array(stack), np.array(expected)
    got = complete_matrix(stack.reshape(2, 3, n, n))  # any leading shape
    assert got.shape == (2, 3, n, n)
    np.testing.assert_allclose(got.reshape(6, n, n), expected, rtol=1e-9)
    given = ~np.isnan(stack)
    assert np.array_equal(got.reshape(6, n, n)[given], stack[given])  # given cells are unchanged, bit for bit
    assert np.array_equal(got[1, 2], stack[5])  # nothing missing: unchanged
    np.testing.assert_array_equal(complete_matrix(stack[5]), stack[5])


def test_complete_matrix_on_ten_thousand_draws():
    n = 8
    base = remove(noisy_reciprocal(n, 3), [(0, 5), (1, 6), (2, 7), (3, 4)])
    rng = np.random.default_rng(0)
    draws = np.broadcast_to(base, (10_000, n, n)).copy()
    noise = np.triu(rng.normal(0, 0.1, draws.shape), 1)
    draws *= np.exp(noise - np.swapaxes(noise, 1, 2))  # reciprocal perturbations; NaN stays NaN
    got = complete_matrix(draws)
    assert got.shape == draws.shape and not np.isnan(got).any()
    for k in (0, 4321, 9999):
        h = harker_reference(draws[k])
        np.testing.assert_allclose(got[k], np.where(np.isnan(draws[k]), h[:, None] / h[None, :], draws[k]), rtol=1e-9)


def test_cr_is_the_completed_matrixs_by_numpy():
    for n, seed in ((4, 1), (6, 2), (8, 3)):
        a = remove(noisy_reciprocal(n, seed), [(0, 1), (2, 3)])
        result = analyse(JudgmentMatrix.from_values(labels_for(n), a))
        completed = complete_matrix(a)
        assert result.cr == pytest.approx(eig_cr(completed), abs=1e-9)
        assert np.allclose(np.array(result.completed), completed, rtol=1e-12)
        h = harker_reference(a)
        np.testing.assert_allclose([result.weights[x] for x in labels_for(n)], h, atol=1e-9)
        # the matrix as given is kept: NaN where judgments are missing
        assert np.isnan(np.array(result.matrix)[0, 1]) and result.missing == (("c0", "c1"), ("c2", "c3"))


def test_disconnected_pattern_is_a_defect_naming_the_cells():
    n = 5
    w = known_weights(n, 0)
    full = w[:, None] / w[None, :]
    split = [(i, j) for i in range(2) for j in range(2, n)]  # {c0, c1} never compared with {c2, c3, c4}
    assert not connected(n, split)
    result = analyse(JudgmentMatrix.from_values(labels_for(n), remove(full, split)))
    assert not result.valid and result.weights is None and result.cr is None
    (defect,) = result.errors
    assert defect.rule == DISCONNECTED
    assert "{c0, c1}" in defect.message and "{c2, c3, c4}" in defect.message and "(c0,c2)" in defect.message
    with pytest.raises(ValueError, match="do not connect"):
        complete_matrix(remove(full, split))
    with pytest.raises(ValueError, match=r"at \(1,\)"):
        complete_matrix(np.stack([remove(full, [(0, 1)]), remove(full, split)]))


def test_one_cell_of_a_pair_empty_is_a_defect():
    a = np.array([[1, 2, 4], [0.5, 1, 2], [np.nan, 0.5, 1]])
    result = analyse(JudgmentMatrix.from_values("xyz", a))
    assert [(d.rule, d.row, d.column) for d in result.errors] == [(MISSING, "z", "x")]
    assert "a(x,z) = 4" in result.errors[0].message and result.weights is None
    with pytest.raises(ValueError, match="only one"):
        complete_matrix(a)


def write_csv(path, labels, texts):
    path.write_text(
        "# two judgments left out\nitem,"
        + ",".join(labels)
        + "\n"
        + "".join(f"{lab},{','.join(row)}\n" for lab, row in zip(labels, texts, strict=True)),
        encoding="utf-8",
    )


# weights 8:4:2:1:2 -> every given ratio is on Saaty's scale; (a,c) and (b,d) are left out
LABELS = ["a", "b", "c", "d", "e"]
W = np.array([8, 4, 2, 1, 2]) / 17
TEXTS = [
    ["1", "2", "", "8", "4"],
    ["1/2", "1", "2", "", "2"],
    ["", "1/2", "1", "2", "1"],
    ["1/8", "", "1/2", "1", "1/2"],
    ["1/4", "1/2", "1", "2", "1"],
]


def test_check_lists_the_missing_cells_and_what_they_imply(tmp_path, ahp_cli):
    path = tmp_path / "incomplete.csv"
    write_csv(path, LABELS, TEXTS)
    m = read_matrix(path)
    assert np.isnan(m.value("a", "c")) and m.cell_text(0, 2) == "(empty)" and m.missing == (("a", "c"), ("b", "d"))
    for method in ("eigenvector", "geometric"):
        code, out, _ = ahp_cli("check", str(path), "--format", "json", "--method", method)
        data = json.loads(out)
        assert code == 0 and data["valid"] is True, data["verdict"]
        assert [(x["row"], x["col"]) for x in data["missing"]] == [("a", "c"), ("b", "d")]
        for x in data["missing"]:
            i, j = LABELS.index(x["row"]), LABELS.index(x["col"])
            assert x["implied"] == pytest.approx(W[i] / W[j], rel=1e-9)
            assert x["suggested"] == pytest.approx(W[i] / W[j])  # 4 and 4: on the scale already
        assert data["weights"] == pytest.approx(dict(zip(LABELS, W, strict=True)), abs=1e-9)
        assert [w["rule"] for w in data["warnings"]] == [INCOMPLETE]
    code, out, _ = ahp_cli("check", str(path))
    assert code == 0 and "judgments left out: 2" in out
    lines = {tuple(line.split()) for line in out.splitlines()}
    assert ("a", "c", "4", "4") in lines and ("b", "d", "4", "4") in lines


def test_check_rejects_a_disconnected_file(tmp_path, ahp_cli):
    path = tmp_path / "split.csv"
    texts = [row[:] for row in TEXTS]
    for i in (0, 1):  # a and b compared with nothing else
        for j in (2, 3, 4):
            texts[i][j] = texts[j][i] = ""
    write_csv(path, LABELS, texts)
    code, out, _ = ahp_cli("check", str(path), "--format", "json")
    data = json.loads(out)
    assert code == 1 and [d["rule"] for d in data["defects"]] == [DISCONNECTED]
    assert "(a,c)" in data["defects"][0]["message"]


def test_inconsistent_incomplete_matrix_gets_revisions(tmp_path, ahp_cli):
    path = tmp_path / "bad.csv"
    texts = [row[:] for row in TEXTS]
    texts[0][1], texts[1][0] = "1/8", "8"  # a(a,b) = 2 flipped far
    write_csv(path, LABELS, texts)
    code, out, _ = ahp_cli("check", str(path), "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["cr"] >= 0.1
    first = data["revisions"][0]
    assert {first["row"], first["col"]} == {"a", "b"} and first["suggested"] == pytest.approx(2.0)
    a = np.array([[np.nan if t == "" else float(eval(t)) for t in row] for row in texts])  # noqa: S307
    a[0, 1], a[1, 0] = 2.0, 0.5
    assert first["cr_after"] == pytest.approx(eig_cr(complete_matrix(a)), abs=1e-9)


def test_aij_of_incomplete_experts_uses_the_judgments_given():
    full = np.array([[1, 2, 4], [0.5, 1, 2], [0.25, 0.5, 1]])
    other = np.array([[1, 3, np.nan], [1 / 3, 1, 3], [np.nan, 1 / 3, 1]])
    one, two = JudgmentMatrix.from_values("xyz", full, "e1"), JudgmentMatrix.from_values("xyz", other, "e2")
    agg = aggregate_aij([one, two], "agg").array()
    assert agg[0, 2] == pytest.approx(4.0) and agg[0, 1] == pytest.approx(np.sqrt(6))
    nobody = aggregate_aij([two, JudgmentMatrix.from_values("xyz", other, "e3")], "agg").array()
    assert np.isnan(nobody[0, 2]) and np.isnan(nobody[2, 0])
    assert analyse_experts([one, two]).valid


def test_profiles_accept_incomplete_matrices(tmp_path, settings):
    leaves = tmp_path / "leaves"
    shutil.copytree(AHP / "leaves", leaves)
    source = read_matrix(AHP / "leaves" / "u1_leaves.csv")
    lines = (AHP / "leaves" / "u1_leaves.csv").read_text(encoding="utf-8").splitlines()
    # leave out the judgment of the first leaf against the last, in both cells
    first, last = source.labels[0], source.labels[-1]
    out = []
    for line in lines:
        if line.startswith("#") or not line.strip():
            out.append(line)
            continue
        cells = line.split(",")
        if cells[0] == first:
            cells[-1] = ""
        elif cells[0] == last:
            cells[1] = ""
        out.append(",".join(cells))
    (leaves / "u1_leaves.csv").write_text("\n".join(out) + "\n", encoding="utf-8")
    assert read_matrix(leaves / "u1_leaves.csv").missing == ((first, last),)
    spec = "\n".join(f'u{k} = {{ matrix = "{leaves}/u{k}_leaves.csv" }}' for k in range(1, 9))
    profile = tmp_path / "gappy.toml"
    profile.write_text(f'name = "gappy"\n[criteria]\nmatrix = "{AHP}/criterion_matrix.csv"\n[leaves]\n{spec}\n')
    check = check_profile(profile, settings)
    assert check.valid, check.problems
    full = analyse(source)
    assert full.cr == pytest.approx(0.0, abs=1e-9)  # the seed's leaf matrix is consistent, so nothing is lost
    assert check.profile.local_weights["u1"] == pytest.approx(full.weights, abs=1e-9)
    gappy = check.profile.judgments["u1"]
    assert gappy.missing == ((first, last),) and np.isnan(np.array(gappy.matrix)).sum() == 2


def test_complete_matrix_falls_back_to_an_eigen_solve(monkeypatch):
    """With no squaring allowed to converge, the batched eigen-solve gives the same completion."""
    import transforms.scoring.ahp as ahp

    n = 7
    a = remove(noisy_reciprocal(n, 5), list(patterns(n).values())[2])  # the path: slowest to converge
    monkeypatch.setattr(ahp, "_HARKER_SQUARINGS", 1)
    h = harker_reference(a)
    np.testing.assert_allclose(complete_matrix(a), np.where(np.isnan(a), h[:, None] / h[None, :], a), rtol=1e-9)
