"""AHP core: reading and validating judgment matrices, weights by both methods, consistency, experts (AIJ)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.scoring.ahp import (
    CONSISTENCY,
    DIAGONAL,
    EXPERTS,
    LABELS,
    METHODS,
    NOT_POSITIVE,
    RANDOM_INDEX,
    RANDOM_INDEX_MISSING,
    RECIPROCITY,
    SAATY_RANGE,
    SHAPE,
    JudgmentMatrix,
    MatrixError,
    aggregate_aij,
    analyse,
    analyse_experts,
    parse_judgment,
    random_index,
    read_matrix,
)

SAATY = [1 / 9, 1 / 8, 1 / 7, 1 / 6, 1 / 5, 1 / 4, 1 / 3, 1 / 2, 1, 2, 3, 4, 5, 6, 7, 8, 9]
# RI by order: the paper's Table 2 for n = 1..9, Saaty's values for n = 10..15 (method document, section 2)
RI_VALUES = (0, 0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59)
RI = dict(zip(range(1, 16), RI_VALUES, strict=True))
# The cyclic matrix a > b > c > a at 9 each: circulant, so every row has the same geometric mean and the principal
# eigenvector is uniform; λmax = 1 + 9 + 1/9 = 91/9, CI = (91/9 - 3) / 2 = 32/9, CR = CI / 0.58 = 6.130.
CYCLIC = [[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]]
CYCLIC_CR = 32 / 9 / 0.58


def labels_for(n: int) -> list[str]:
    return [f"x{i}" for i in range(1, n + 1)]


def consistent(w: np.ndarray) -> np.ndarray:
    return np.outer(w, 1 / w)


def random_reciprocal(rng: np.random.Generator, n: int) -> np.ndarray:
    a = np.ones((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            a[i, j] = rng.choice(SAATY)
            a[j, i] = 1 / a[i, j]
    return a


def perron(a: np.ndarray) -> tuple[float, np.ndarray]:
    """The principal eigenvalue and eigenvector (sum 1) by LAPACK (numpy.linalg.eig), not by the module's power
    iteration: the reference the tests compare the module with."""
    vals, vecs = np.linalg.eig(np.asarray(a, dtype=float))
    k = int(np.argmax(vals.real))
    w = np.abs(vecs[:, k].real)
    return float(vals[k].real), w / w.sum()


def reference_cr(a: np.ndarray) -> float:
    n = len(a)
    return (perron(a)[0] - n) / (n - 1) / RI[n]


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


# ---- reading ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"), [("5", 5.0), ("1/3", 1 / 3), (" 1 / 7 ", 1 / 7), ("0.333", 0.333), ("2.5", 2.5)]
)
def test_parse_judgment_accepts_saaty_notations(text, value):
    assert parse_judgment(text) == pytest.approx(value, rel=1e-15)


@pytest.mark.parametrize("text", ["", "abc", "1/0", "nan", "inf", "1//3"])
def test_parse_judgment_rejects_non_numbers(text):
    with pytest.raises(ValueError):
        parse_judgment(text)


def test_read_matrix_skips_comments_and_keeps_lines(tmp_path):
    path = write(tmp_path / "m.csv", "# a comment\n\nitem,a,b,c\n# between rows\na,1,3,1/5\nb,0.333,1,1/7\nc,5,7,1\n")
    m = read_matrix(path)
    assert m.labels == ("a", "b", "c") and m.column_labels == ("a", "b", "c")
    assert m.value("a", "c") == pytest.approx(0.2)
    assert m.texts[1][0] == "0.333"
    assert m.lines == (5, 6, 7)


def test_read_matrix_names_file_line_and_cell_of_an_unreadable_value(tmp_path):
    path = write(tmp_path / "bad.csv", "item,a,b\na,1,three\nb,1/3,1\n")
    with pytest.raises(MatrixError) as err:
        read_matrix(path)
    msg = str(err.value)
    assert "bad.csv line 2" in msg and "row a, column b" in msg and "three" in msg


def test_read_matrix_rejects_ragged_rows_and_duplicate_labels(tmp_path):
    with pytest.raises(MatrixError, match="line 3: 1 value"):
        read_matrix(write(tmp_path / "r.csv", "item,a,b\na,1,2\nb,1\n"))
    with pytest.raises(MatrixError, match="row label a appears twice"):
        read_matrix(write(tmp_path / "d.csv", "item,a,b\na,1,2\na,1/2,1\n"))


# ---- validation ------------------------------------------------------------------------------------------------


def test_reciprocity_tolerance_accepts_three_decimals_but_not_a_real_error():
    ok = JudgmentMatrix.from_values("abc", [[1, 3, 7], [0.333, 1, 2], [0.143, 0.5, 1]])
    assert analyse(ok).errors == []
    bad = JudgmentMatrix.from_values("abc", [[1, 3, 7], [0.3, 1, 2], [0.143, 0.5, 1]])
    result = analyse(bad)
    (defect,) = [d for d in result.errors if d.rule == RECIPROCITY]
    assert (defect.row, defect.column, defect.value, defect.mirror_value) == ("a", "b", 3.0, 0.3)
    assert "a(a,b) = 3" in defect.message and "a(b,a) = 0.3" in defect.message
    assert not result.valid


def test_every_offending_cell_is_reported(tmp_path):
    path = write(
        tmp_path / "m.csv",
        "item,a,b,c,d\na,2,3,1,1\nb,1/3,1,5,1\nc,1,1/5,1,4\nd,1,1,1,1\n",
    )
    result = analyse(read_matrix(path))
    cells = sorted((d.rule, d.row, d.column) for d in result.errors if d.rule != CONSISTENCY)
    assert cells == [(DIAGONAL, "a", "a"), (RECIPROCITY, "c", "d")]
    recip = next(d for d in result.errors if d.rule == RECIPROCITY)
    assert "line 4" in recip.message and "line 5" in recip.message and "m.csv" in recip.message
    assert result.weights is not None  # a square positive matrix is still weighed, for information


def test_non_positive_cells_make_the_matrix_unusable():
    result = analyse(JudgmentMatrix.from_values("ab", [[1, 0], [-2, 1]]))
    assert {(d.rule, d.row, d.column) for d in result.errors} == {(NOT_POSITIVE, "a", "b"), (NOT_POSITIVE, "b", "a")}
    assert result.weights is None and result.cr is None and not result.valid


def test_shape_and_label_defects():
    non_square = JudgmentMatrix(
        name="ns", labels=("a", "b"), column_labels=("a", "b", "c"), values=((1, 2, 3), (0.5, 1, 2))
    )
    assert [d.rule for d in analyse(non_square).errors] == [SHAPE]
    mislabelled = JudgmentMatrix(name="ml", labels=("a", "b"), column_labels=("b", "a"), values=((1, 2), (0.5, 1)))
    assert [d.rule for d in analyse(mislabelled).errors] == [LABELS]


def test_values_outside_saaty_scale_are_flagged_as_warnings():
    result = analyse(JudgmentMatrix.from_values("ab", [[1, 12], [1 / 12, 1]]))
    assert {(d.rule, d.row, d.column) for d in result.warnings} == {(SAATY_RANGE, "a", "b"), (SAATY_RANGE, "b", "a")}
    assert result.valid  # flagged, not rejected: reciprocity and CR decide validity
    assert "warning" in result.verdict


def test_inconsistent_matrix_is_rejected_with_its_cr():
    a = JudgmentMatrix.from_values("abc", CYCLIC, name="cyclic.csv")
    for method in METHODS:
        result = analyse(a, method)
        assert result.cr == pytest.approx(CYCLIC_CR, rel=1e-9) and result.lambda_max == pytest.approx(91 / 9)
        assert result.weights == pytest.approx(dict.fromkeys("abc", 1 / 3), rel=1e-12)
        (defect,) = result.errors
        assert defect.rule == CONSISTENCY and "cyclic.csv" in defect.message and f"{result.cr:.3f}" in defect.message
        assert result.verdict.startswith(f"REJECTED ({method})")


# ---- weights, λmax, CI, CR -------------------------------------------------------------------------------------

weights_strategy = st.integers(1, 12).flatmap(
    lambda n: st.lists(st.floats(0.05, 20, allow_nan=False), min_size=n, max_size=n)
)


@settings(max_examples=80, deadline=None)
@given(raw=weights_strategy)
def test_consistent_matrix_returns_its_weights_and_zero_cr(raw):
    w = np.array(raw) / np.sum(raw)
    m = JudgmentMatrix.from_values(labels_for(len(w)), consistent(w))
    for method in METHODS:
        result = analyse(m, method)
        got = np.array([result.weights[x] for x in m.labels])
        np.testing.assert_allclose(got, w, rtol=1e-9, atol=1e-12)
        assert abs(result.cr) < 1e-9 and abs(result.ci) < 1e-9
        assert result.lambda_max == pytest.approx(len(w), rel=1e-9)
        assert result.valid, result.verdict
        assert result.method == method and method in result.verdict


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 10), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_relabelling_permutes_the_weights_the_same_way(n, seed, data):
    a = random_reciprocal(np.random.default_rng(seed), n)
    perm = data.draw(st.permutations(range(n)))
    labels = labels_for(n)
    relabelled = JudgmentMatrix.from_values([labels[p] for p in perm], a[np.ix_(perm, perm)])
    # the references, computed on the matrix in its original order: LAPACK's Perron vector, the row geometric mean
    g = np.prod(a, axis=1) ** (1 / n)
    expected = {"eigenvector": perron(a)[1], "geometric": g / g.sum()}
    for method in METHODS:
        result = analyse(relabelled, method)
        w = expected[method]
        for k, label in enumerate(labels):
            assert result.weights[label] == pytest.approx(w[k], rel=1e-9, abs=1e-13)
        if n > 2:
            cr = (float(np.mean((a @ w) / w)) - n) / (n - 1) / RI[n]
            assert result.cr == pytest.approx(cr, rel=1e-6, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 15), seed=st.integers(0, 2**32 - 1))
def test_weights_are_positive_and_sum_to_one(n, seed):
    a = random_reciprocal(np.random.default_rng(seed), n)
    for method in METHODS:
        result = analyse(JudgmentMatrix.from_values(labels_for(n), a), method)
        values = list(result.weights.values())
        assert all(v > 0 for v in values)
        assert sum(values) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_order_one_and_two(method):
    one = analyse(JudgmentMatrix.from_values(["a"], [[1]]), method)
    assert one.weights == {"a": 1.0} and one.cr == 0 and one.ci == 0 and one.valid
    two = analyse(JudgmentMatrix.from_values(["a", "b"], [[1, 3], [1 / 3, 1]]), method)
    assert two.weights["a"] == pytest.approx(0.75) and two.weights["b"] == pytest.approx(0.25)
    assert two.cr == 0 and two.lambda_max == pytest.approx(2.0) and two.valid


def test_eigenvector_agrees_with_numpy_and_scipy_on_random_reciprocal_matrices():
    rng = np.random.default_rng(20240605)
    for _ in range(200):
        n = int(rng.integers(3, 16))
        a = random_reciprocal(rng, n)
        result = analyse(JudgmentMatrix.from_values(labels_for(n), a), "eigenvector")
        ours = np.array(list(result.weights.values()))
        for vals, vecs in (np.linalg.eig(a), scipy.linalg.eig(a)):
            k = int(np.argmax(vals.real))
            ref = np.abs(vecs[:, k].real)
            ref /= ref.sum()
            np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9)
            assert result.principal_eigenvalue == pytest.approx(vals[k].real, rel=1e-9)
        # the method document's λmax (mean of (A·w)_i / w_i) is the Perron root for the eigenvector
        lam = float(vals[k].real)
        assert result.lambda_max == pytest.approx(lam, rel=1e-9)
        assert result.ci == pytest.approx((lam - n) / (n - 1), rel=1e-6, abs=1e-12)
        assert result.cr == pytest.approx((lam - n) / (n - 1) / RI[n], rel=1e-6, abs=1e-12)


def test_geometric_method_is_the_normalised_row_geometric_mean():
    a = random_reciprocal(np.random.default_rng(7), 6)
    result = analyse(JudgmentMatrix.from_values(labels_for(6), a), "geometric")
    g = np.prod(a, axis=1) ** (1 / 6)
    np.testing.assert_allclose(list(result.weights.values()), g / g.sum(), rtol=1e-12)
    assert result.principal_eigenvalue is None
    assert result.lambda_max == pytest.approx(np.mean((a @ (g / g.sum())) / (g / g.sum())), rel=1e-12)


def test_random_index_table_and_larger_orders():
    assert [random_index(n) for n in range(10, 16)] == [1.49, 1.51, 1.48, 1.56, 1.57, 1.59]
    assert [random_index(n) for n in range(1, 16)] == [RI[n] for n in range(1, 16)]
    assert RANDOM_INDEX == RI
    with pytest.raises(ValueError, match="16x16"):
        random_index(16)
    a = random_reciprocal(np.random.default_rng(3), 16)
    m = JudgmentMatrix.from_values(labels_for(16), a)
    missing = analyse(m)
    assert [d.rule for d in missing.errors] == [RANDOM_INDEX_MISSING] and missing.cr is None and not missing.valid
    supplied = analyse(m, ri=1.6)
    assert supplied.ri == 1.6 and supplied.cr == pytest.approx((perron(a)[0] - 16) / 15 / 1.6, rel=1e-6)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="eigenvector, geometric"):
        analyse(JudgmentMatrix.from_values(["a"], [[1]]), "power")


# ---- several experts (AIJ) -------------------------------------------------------------------------------------


def test_aij_is_the_cellwise_geometric_mean_and_reports_every_cr():
    e1 = JudgmentMatrix.from_values("abc", [[1, 3, 5], [1 / 3, 1, 2], [1 / 5, 1 / 2, 1]], name="alice.csv")
    e2 = JudgmentMatrix.from_values("abc", [[1, 5, 9], [1 / 5, 1, 3], [1 / 9, 1 / 3, 1]], name="bob.csv")
    e3 = JudgmentMatrix.from_values("abc", [[1, 1, 3], [1, 1, 2], [1 / 3, 1 / 2, 1]], name="carol.csv")
    agg = aggregate_aij([e1, e2, e3], "criteria")
    expected = np.cbrt(e1.array() * e2.array() * e3.array())
    np.testing.assert_allclose(agg.array(), expected, rtol=1e-12)
    np.testing.assert_allclose(agg.array() * agg.array().T, np.ones((3, 3)), rtol=1e-12)  # still reciprocal

    result = analyse_experts([e1, e2, e3], "eigenvector", name="criteria")
    assert [e.name for e in result.experts] == ["alice.csv", "bob.csv", "carol.csv"]
    for expert, m in zip(result.experts, (e1, e2, e3), strict=True):
        assert expert.cr == pytest.approx(reference_cr(m.array()), rel=1e-6)
    # λmax 3.0037, 3.0291, 3.0183: CR = (λmax - 3) / 2 / 0.58
    assert [round(e.cr, 4) for e in result.experts] == [0.0032, 0.0251, 0.0158]
    assert result.cr == pytest.approx(reference_cr(expected), rel=1e-6)  # the aggregate's, not an expert's
    assert list(result.weights.values()) == pytest.approx(list(perron(expected)[1]), rel=1e-9)
    assert result.valid and "AIJ" in result.aggregation


def test_aij_reorders_labels_and_refuses_different_items():
    e1 = JudgmentMatrix.from_values("ab", [[1, 3], [1 / 3, 1]], name="e1")
    e2 = JudgmentMatrix.from_values("ba", [[1, 1 / 3], [3, 1]], name="e2")  # same judgment, other order
    assert analyse_experts([e1, e2]).weights == pytest.approx({"a": 0.75, "b": 0.25})
    e3 = JudgmentMatrix.from_values("ac", [[1, 3], [1 / 3, 1]], name="e3")
    result = analyse_experts([e1, e3])
    assert not result.valid and "experts must judge the same items" in result.problems()[0]


def test_one_inconsistent_expert_invalidates_the_comparison():
    good = JudgmentMatrix.from_values("abc", [[1, 2, 4], [1 / 2, 1, 2], [1 / 4, 1 / 2, 1]], name="good.csv")
    bad = JudgmentMatrix.from_values("abc", CYCLIC, name="bad.csv")
    result = analyse_experts([good, good, good, bad])
    assert not result.valid
    assert any("bad.csv" in p and "CR = 6.130" in p for p in result.problems())
    unusable = analyse_experts([good, JudgmentMatrix.from_values("abc", np.zeros((3, 3)), name="zero.csv")])
    assert [d.rule for d in unusable.errors] == [EXPERTS] and unusable.weights is None
