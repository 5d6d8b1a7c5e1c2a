"""Judgment repair help: `riskcard ahp check` names the judgment to revise, with a suggestion and the CR after it.

Expected values come from numpy.linalg.eig (eigenvector CR) or the row-geometric-mean formula written out here,
never from the code under test.
"""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from transforms.core.settings import PROJECT_DIR
from transforms.scoring.ahp import JudgmentMatrix, analyse, read_matrix
from transforms.scoring.paper_audit import repair_from_upper
from transforms.scoring.repair import suggest_revisions, with_revisions

AHP = PROJECT_DIR / "seeds" / "ahp"
PRINTED = AHP / "paper_table3_printed.csv"
RI = {3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45}  # the paper's Table 2
SAATY = [1 / k for k in range(9, 1, -1)] + [float(k) for k in range(1, 10)]
# exponents of 2: weights 2^k make every ratio 1, 2, 4 or 8 (or a reciprocal), all on Saaty's scale, so the matrix
# is exactly consistent without snapping
POW2 = [3, 0, 2, 1, 3, 0, 2, 1, 3]


def reference_cr(a: np.ndarray, method: str = "eigenvector") -> float:
    """CR as the method document defines it, computed independently: Perron root by numpy.linalg.eig for the
    eigenvector method; for the geometric method w = normalised row geometric mean, λmax = mean (A·w)_i / w_i."""
    n = a.shape[0]
    if method == "eigenvector":
        lam = float(np.max(np.linalg.eigvals(a).real))
    else:
        w = np.prod(a, axis=1) ** (1 / n)
        w = w / w.sum()
        lam = float(np.mean((a @ w) / w))
    return (lam - n) / (n - 1) / RI[n]


def labels_for(n: int) -> list[str]:
    return [f"c{k}" for k in range(n)]


def cell_text(v: float) -> str:
    f = Fraction(v).limit_denominator(9)
    assert abs(float(f) - v) < 1e-12, v
    return str(f)


def write_matrix(path, a: np.ndarray, labels: list[str]) -> None:
    rows = ["item," + ",".join(labels)]
    rows += [labels[i] + "," + ",".join(cell_text(v) for v in a[i]) for i in range(len(labels))]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def check_json(ahp_cli, path, method: str = "eigenvector") -> tuple[int, dict]:
    code, out, _ = ahp_cli("check", str(path), "--format", "json", "--method", method)
    return code, json.loads(out)


def applied(a: np.ndarray, labels: list[str], revision: dict) -> np.ndarray:
    """The matrix with one revision made by hand: the cell and its mirror, reciprocally."""
    b = a.copy()
    i, j = labels.index(revision["row"]), labels.index(revision["col"])
    b[i, j], b[j, i] = revision["suggested"], 1 / revision["suggested"]
    return b


def pow2_matrix(n: int) -> np.ndarray:
    w = 2.0 ** np.array(POW2[:n])
    return w[:, None] / w[None, :]


# the corrupted judgment (row, column) and its new value; the mirror is set to the reciprocal
CORRUPTIONS = {
    "reciprocal": (0, 1, 1 / 8),  # a(c0,c1) = 8 replaced by its reciprocal
    "moved": (1, 2, 9.0),  # a(c1,c2) = 1/4 moved 11 steps of Saaty's scale up to 9
}


@pytest.mark.parametrize("method", ["eigenvector", "geometric"])
@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
@pytest.mark.parametrize("n", range(3, 10))
def test_one_corrupted_judgment_is_named_first_and_its_suggestion_restores_consistency(
    tmp_path, ahp_cli, n, kind, method
):
    labels = labels_for(n)
    good = pow2_matrix(n)
    assert reference_cr(good) < 0.1 and abs(reference_cr(good)) < 1e-9  # exactly consistent (numpy's eig)
    i, j, value = CORRUPTIONS[kind]
    bad = good.copy()
    bad[i, j], bad[j, i] = value, 1 / value
    assert reference_cr(bad, method) >= 0.1  # the corruption is enough to reject the matrix
    path = tmp_path / "m.csv"
    write_matrix(path, bad, labels)
    before = path.read_bytes()

    code, data = check_json(ahp_cli, path, method)

    assert code == 1 and data["valid"] is False
    first = data["revisions"][0]
    assert {first["row"], first["col"]} == {labels[i], labels[j]}
    assert first["reason"] == "consistency"
    assert first["current"] == pytest.approx(bad[labels.index(first["row"]), labels.index(first["col"])])
    assert first["suggested"] == pytest.approx(good[labels.index(first["row"]), labels.index(first["col"])])
    fixed = applied(bad, labels, first)
    assert reference_cr(fixed, method) < 0.1
    assert first["cr_after"] == pytest.approx(reference_cr(fixed, method), abs=1e-9)
    crs = [r["cr_after"] for r in data["revisions"]]
    assert all(b >= a - 1e-12 for a, b in zip(crs, crs[1:], strict=False))  # best first (equal CRs: either order)
    assert all(cr < data["cr"] for cr in crs)  # each lowers the CR
    for r in data["revisions"]:  # every listed CR is the CR of that change, on a Saaty value
        assert r["cr_after"] == pytest.approx(reference_cr(applied(bad, labels, r), method), abs=1e-9)
        assert any(r["suggested"] == pytest.approx(s) for s in SAATY)
    assert path.read_bytes() == before  # suggestions only


def snapped_case(n: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """A matrix a_ij = nearest Saaty value of w_i/w_j for random weights (CR < 0.1 by numpy), and the same matrix
    with its strongest judgment replaced by the reciprocal, chosen so that numpy's CR rejects it."""
    for seed in range(100):
        rng = np.random.default_rng(1000 * n + seed)
        w = np.exp(rng.uniform(0, np.log(9), n))
        a = np.ones((n, n))
        for i in range(n):
            for j in range(i + 1, n):
                ratio = w[i] / w[j]
                a[i, j] = min(SAATY, key=lambda s: abs(np.log(s / ratio)))
                a[j, i] = 1 / a[i, j]
        if reference_cr(a) >= 0.1:
            continue
        i, j = max(((i, j) for i in range(n) for j in range(i + 1, n)), key=lambda p: abs(np.log(a[p])))
        bad = a.copy()
        bad[i, j], bad[j, i] = a[j, i], a[i, j]
        if reference_cr(bad) >= 0.1:
            return a, bad, (i, j)
    raise AssertionError(f"no snapped {n}x{n} case found")


@pytest.mark.parametrize("n", range(4, 10))  # 3x3 has one cycle: any of its 3 judgments can be the culprit
def test_snapped_random_weights_with_one_flipped_judgment(tmp_path, ahp_cli, n):
    labels = labels_for(n)
    good, bad, (i, j) = snapped_case(n)
    path = tmp_path / "m.csv"
    write_matrix(path, bad, labels)
    code, data = check_json(ahp_cli, path)
    assert code == 1
    first = data["revisions"][0]
    assert {first["row"], first["col"]} == {labels[i], labels[j]}
    assert reference_cr(applied(bad, labels, first)) < 0.1


def test_printed_table3_names_u5_u7_first(ahp_cli):
    for method in ("eigenvector", "geometric"):
        code, data = check_json(ahp_cli, PRINTED, method)
        assert code == 1
        first = data["revisions"][0]
        # the upper triangle holds the judgment a(u5,u7) = 1: the lower cell a(u7,u5) = 5 is revised to 1/1
        assert (first["row"], first["col"], first["reason"]) == ("u7", "u5", "reciprocity")
        assert (first["current"], first["mirror"], first["suggested"]) == (5.0, 1.0, 1.0)
        a = read_matrix(PRINTED).array()
        a[6, 4] = 1.0  # by hand: a(u7,u5) = 1
        assert first["cr_after"] == pytest.approx(reference_cr(a, method), abs=1e-9)
        assert first["cr_after"] < 0.1  # the repaired Table 3 passes: nothing else to revise
        assert [r["reason"] for r in data["revisions"]] == ["reciprocity"]
    code, out, _ = ahp_cli("check", str(PRINTED))
    assert code == 1 and "suggested revisions" in out
    row = next(line for line in out.splitlines() if line.startswith("1  "))
    assert row.split()[:5] == ["1", "u7", "u5", "5", "1"] and "reciprocity" in row


def test_reciprocity_revisions_follow_the_paper_audits_repair_rule():
    """The cells revised for reciprocity are exactly those repair_from_upper changes, to the same values."""
    m = read_matrix(PRINTED)
    rev = [r for r in with_revisions(analyse(m)).revisions if r.reason == "reciprocity"]
    _, changes = repair_from_upper(m)
    assert [(r.row, r.col, r.current, r.suggested) for r in rev] == [
        (c["row"], c["column"], c["printed"], c["repaired"]) for c in changes
    ]


def test_non_reciprocal_pairs_come_before_consistency_revisions(tmp_path, ahp_cli):
    n, labels = 6, labels_for(6)
    a = pow2_matrix(n)
    a[0, 1], a[1, 0] = 1 / 8, 8.0  # a reciprocal corruption of (c0,c1)
    a[4, 2] = 9.0  # a(c2,c4) = 1/2 but a(c4,c2) = 9: not reciprocal
    assert a[2, 4] == 0.5
    path = tmp_path / "m.csv"
    write_matrix(path, a, labels)
    code, data = check_json(ahp_cli, path)
    assert code == 1
    revs = data["revisions"]
    assert (revs[0]["row"], revs[0]["col"], revs[0]["reason"], revs[0]["suggested"]) == ("c4", "c2", "reciprocity", 2.0)
    single = a.copy()
    single[4, 2] = 2.0
    assert revs[0]["cr_after"] == pytest.approx(reference_cr(single), abs=1e-9)
    # then the corrupted judgment, its CR computed with the reciprocity revision made
    assert revs[1]["reason"] == "consistency" and {revs[1]["row"], revs[1]["col"]} == {"c0", "c1"}
    assert revs[1]["cr_after"] == pytest.approx(reference_cr(applied(single, labels, revs[1])), abs=1e-9)
    assert all(r["reason"] == "consistency" for r in revs[1:])


def test_upper_triangle_is_the_files_order_also_when_reordered():
    m = read_matrix(PRINTED)
    reordered = m.reordered(list(reversed(m.labels)))  # as a profile would, into another order
    result = analyse(reordered)
    plain = suggest_revisions(result)
    assert (plain[0].row, plain[0].col) == ("u5", "u7")  # the reversed order's upper triangle
    kept = suggest_revisions(result, order=m.labels)
    assert (kept[0].row, kept[0].col, kept[0].suggested) == ("u7", "u5", 1.0)


def test_accepted_matrices_get_no_revisions(ahp_cli):
    code, data = check_json(ahp_cli, AHP / "criterion_matrix.csv")
    assert code == 0 and data["revisions"] == [] and data["missing"] == []
    result = with_revisions(analyse(JudgmentMatrix.from_values("abc", pow2_matrix(3))))
    assert result.valid and result.revisions == ()


def test_profile_check_shows_revisions_for_each_failing_matrix(tmp_path, ahp_cli):
    profile = tmp_path / "printed.toml"
    leaves = "\n".join(f'u{k} = {{ matrix = "{AHP}/leaves/u{k}_leaves.csv" }}' for k in range(1, 9))
    profile.write_text(
        f'name = "printed"\n[criteria]\nmatrix = "{PRINTED}"\n[leaves]\n{leaves}\n',
        encoding="utf-8",
    )
    code, out, _ = ahp_cli("check", str(profile))
    assert code == 1 and "suggested revisions of" in out and "paper_table3_printed.csv" in out
    code, out, _ = ahp_cli("check", str(profile), "--format", "json")
    data = json.loads(out)
    failing = [c for c in data["checks"] if not c["valid"]]
    assert len(failing) == 1 and (failing[0]["revisions"][0]["row"], failing[0]["revisions"][0]["col"]) == (
        "u7",
        "u5",
    )
    assert all(c["revisions"] == [] for c in data["checks"] if c["valid"])
