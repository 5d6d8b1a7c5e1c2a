"""The audit of the published case study: the figures of the method document, section 6, recomputed."""

from __future__ import annotations

import json
import shutil

import pytest

from transforms.cli.main import main
from transforms.core.settings import PROJECT_DIR
from transforms.scoring.ahp import CONSISTENCY, RECIPROCITY, JudgmentMatrix, analyse
from transforms.scoring.paper_audit import audit_paper, repair_from_upper

CRITERIA = [f"u{k}" for k in range(1, 9)]
# method document, section 6 (approximate figures as the document lists them)
DOC_PRINTED_EIGENVECTOR = dict(zip(CRITERIA, (0.321, 0.168, 0.116, 0.150, 0.055, 0.024, 0.101, 0.065), strict=True))
DOC_REPAIRED_EIGENVECTOR = dict(zip(CRITERIA, (0.331, 0.172, 0.115, 0.155, 0.056, 0.024, 0.080, 0.067), strict=True))


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    from transforms.core.settings import load_settings

    empty = tmp_path_factory.mktemp("audit") / "riskcard.toml"
    empty.write_text("")
    return audit_paper(load_settings(env={}, config_file=empty))


def test_printed_table3_is_rejected_naming_the_cells_and_cr(audit):
    result = audit.printed["eigenvector"]
    assert not result.valid
    (recip,) = [d for d in result.errors if d.rule == RECIPROCITY]
    assert (recip.row, recip.column, recip.value, recip.mirror_value) == ("u5", "u7", 1.0, 5.0)
    assert "a(u5,u7) = 1" in recip.message and "a(u7,u5) = 5" in recip.message
    assert [d.rule for d in result.errors if d.rule == CONSISTENCY] == [CONSISTENCY]
    assert result.cr == pytest.approx(0.121, abs=0.001)
    assert result.lambda_max == pytest.approx(9.20, abs=0.01)
    assert result.ci == pytest.approx(0.171, abs=0.001)
    assert result.ri == 1.41
    for c, w in DOC_PRINTED_EIGENVECTOR.items():
        assert result.weights[c] == pytest.approx(w, abs=0.0015)
    assert not audit.printed["geometric"].valid and audit.printed["geometric"].cr > 0.1


def test_repaired_matrix_passes_with_the_documented_weights(audit):
    assert [(r["row"], r["column"], r["printed"], r["repaired"]) for r in audit.repairs] == [("u7", "u5", 5.0, 1.0)]
    assert audit.default_matrix_is_repair and audit.default_matrix == "seeds/ahp/criterion_matrix.csv"
    result = audit.repaired["eigenvector"]
    assert result.valid and result.errors == []
    assert result.cr == pytest.approx(0.087, abs=0.001)
    for c, w in DOC_REPAIRED_EIGENVECTOR.items():
        assert result.weights[c] == pytest.approx(w, abs=0.0015)
    assert audit.repaired["geometric"].valid and audit.repaired["geometric"].cr < 0.1


def test_the_repair_changes_exactly_the_cells_the_reciprocity_check_rejects():
    # a(b,a) = 0.333 is 1/3 written to three decimals (accepted); a(c,a) = 1 contradicts a(a,c) = 5 (rejected)
    m = JudgmentMatrix.from_values("abc", [[1, 3, 5], [0.333, 1, 2], [1, 0.5, 1]])
    assert [(d.row, d.column) for d in analyse(m).errors if d.rule == RECIPROCITY] == [("a", "c")]
    repaired, changes = repair_from_upper(m)
    assert [(c["row"], c["column"], c["printed"], c["repaired"]) for c in changes] == [("c", "a", 1.0, 0.2)]
    assert repaired.value("b", "a") == 0.333 and repaired.value("c", "a") == 0.2
    assert [d.rule for d in analyse(repaired).errors] == []


def test_published_weights_follow_from_no_method(audit):
    assert len(audit.weight_gaps) == 4  # printed/repaired x eigenvector/geometric
    for gap in audit.weight_gaps:
        assert gap["reproduces_published"] is False
        assert "u3" in gap["criteria_off_by_more_than_rounding"]
        assert gap["largest_ratio"]["criterion"] == "u3"
        assert 0.10 <= gap["weights"]["u3"] <= 0.12  # "u3 comes out near 0.11, not 0.013"
        assert abs(gap["largest_difference"]["difference"]) > 0.1
    assert "OVERRIDE" in audit.published_label


def test_random_index_misquote_is_noted(audit):
    q = audit.ri_quote
    assert (q["quoted_n"], q["quoted_ri"], q["matrix_order"], q["ri_for_matrix_order"]) == (6, 1.24, 8, 1.41)
    assert q["misquoted"] and q["quote_is_table2_value_for_quoted_n"]
    # the method document's figures with RI = 1.24 instead of 1.41: printed CI ≈ 0.171 -> 0.171 / 1.24 ≈ 0.138;
    # repaired CR ≈ 0.087 with RI(8) = 1.41, so CI ≈ 0.087 x 1.41 -> 0.087 x 1.41 / 1.24 ≈ 0.099
    assert q["cr_with_quoted_ri"]["printed/eigenvector"] == pytest.approx(0.171 / 1.24, abs=0.001)
    assert q["cr_with_quoted_ri"]["repaired/eigenvector"] == pytest.approx(0.087 * 1.41 / 1.24, abs=0.001)
    assert q["cr_with_quoted_ri"]["printed/eigenvector"] > 0.1 > q["cr_with_quoted_ri"]["repaired/eigenvector"]


def test_table6_glued_rank_digit_is_explained(audit):
    assert audit.glued == [
        {
            "criterion_id": "u1",
            "printed_text": "0.7264",
            "computed_score": "0.0726",
            "computed_rank": 4,
            "explained_as_score_then_rank": True,
        }
    ]


def test_tables_6_and_7_reproduced_with_the_override(audit):
    rep = audit.reproduction
    assert rep["override"] is True and "OVERRIDE" in rep["profile"]
    assert rep["all_match"] and audit.reproduced
    assert [r["rank"] for r in rep["criteria"]] == [4, 2, 8, 1, 7, 5, 6, 3]
    assert [f"{r['score']:.4f}" for r in rep["criteria"]] == [
        "0.0726",
        "0.1640",
        "0.0052",
        "0.1696",
        "0.0068",
        "0.0702",
        "0.0672",
        "0.1624",
    ]
    assert f"{rep['composite']:.3f}" == "0.718" and rep["rating"] == "medium" and rep["rating_zh"] == "中等"


def test_audit_detects_a_printed_figure_that_does_not_follow(tmp_path, settings):
    root = tmp_path / "project"
    shutil.copytree(PROJECT_DIR / "seeds", root / "seeds")
    case = root / "seeds" / "ahp" / "paper" / "case_study.toml"
    case.write_text(case.read_text(encoding="utf-8").replace("score = 0.1696", "score = 0.1697"), encoding="utf-8")
    audit = audit_paper(settings.replace(project_dir=root))
    assert not audit.reproduced
    (u4,) = [r for r in audit.reproduction["criteria"] if r["criterion_id"] == "u4"]
    assert u4["score_match"] is False and u4["rank_match"] is True


def test_cli_paper_prints_the_audit(capsys, tmp_path):
    empty = tmp_path / "riskcard.toml"
    empty.write_text("")
    assert main(["ahp", "--config", str(empty), "paper"]) == 0
    out = capsys.readouterr().out
    for needle in (
        "(u5,u7)/(u7,u5)",
        "0.1213",
        "REJECTED",
        "0.0869",
        "accepted",
        "does NOT reproduce",
        "n = 6, RI = 1.24",
        "MISQUOTED",
        '"0.7264"',
        "OVERRIDE",
        "0.718",
        "中等 medium",
        "REPRODUCED",
    ):
        assert needle in out, needle
    assert main(["ahp", "--config", str(empty), "paper", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["reproduced"] is True
    assert data["printed_table3"]["eigenvector"]["cr"] == pytest.approx(0.121, abs=0.001)
    assert data["published_weights"]["override"] is True
