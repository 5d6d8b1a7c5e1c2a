"""`riskcard ahp check` through the real CLI entry point: output and exit codes."""

from __future__ import annotations

import json

import pytest

from transforms.core.settings import PROJECT_DIR

AHP = PROJECT_DIR / "seeds" / "ahp"


def test_check_printed_table3_exits_1_naming_cells_and_cr(ahp_cli):
    code, out, _ = ahp_cli("check", str(AHP / "paper_table3_printed.csv"))
    assert code == 1
    assert "a(u5,u7) = 1" in out and "a(u7,u5) = 5" in out
    assert "CR = 0.121" in out and "REJECTED (eigenvector)" in out and "λmax" in out


def test_check_repaired_matrix_passes_with_either_method(ahp_cli):
    for method in ("eigenvector", "geometric"):
        code, out, _ = ahp_cli("check", str(AHP / "criterion_matrix.csv"), "--method", method)
        assert code == 0 and f"accepted ({method})" in out and f"weights ({method})" in out
        assert "CI =" in out and "RI(8) = 1.41" in out
    code, out, _ = ahp_cli("check", str(AHP / "criterion_matrix.csv"), "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["valid"] is True and data["method"] == "eigenvector"
    # method document section 6: CR ≈ 0.087 with RI(8) = 1.41, so λmax ≈ 8 + 7 x 1.41 x 0.087 = 8.859 (±0.005)
    assert data["cr"] == pytest.approx(0.087, abs=0.001)
    assert data["lambda_max"] == pytest.approx(8.859, abs=0.005)
    assert data["principal_eigenvalue"] == pytest.approx(8.859, abs=0.005)
    assert sum(data["weights"].values()) == pytest.approx(1.0)


def test_check_json_lists_every_defect(ahp_cli):
    code, out, _ = ahp_cli("check", str(AHP / "paper_table3_printed.csv"), "--format", "json", "--method", "geometric")
    data = json.loads(out)
    assert code == 1 and data["valid"] is False and data["method"] == "geometric"
    assert {(d["rule"], d["row"], d["column"]) for d in data["defects"]} == {
        ("reciprocity", "u5", "u7"),
        ("consistency", None, None),
    }


def test_check_profiles(ahp_cli):
    code, out, _ = ahp_cli("check", "default")
    assert code == 0 and "verdict: VALID" in out and "content hash:" in out and "SP1" in out
    code, out, _ = ahp_cli("check", "paper-published")
    assert code == 0 and "OVERRIDE" in out
    code, out, _ = ahp_cli("check", "paper-published", "--format", "json")
    data = json.loads(out)
    assert data["override"] is True and data["weights"]["override"] is True and "OVERRIDE" in data["weights"]["label"]


def test_check_invalid_profile_exits_1(ahp_cli, tmp_path):
    profile = tmp_path / "printed.toml"
    leaves = "\n".join(f'u{k} = {{ matrix = "{AHP}/leaves/u{k}_leaves.csv" }}' for k in range(1, 9))
    profile.write_text(
        f'name = "printed"\n[criteria]\nmatrix = "{AHP}/paper_table3_printed.csv"\n[leaves]\n{leaves}\n',
        encoding="utf-8",
    )
    code, out, _ = ahp_cli("check", str(profile))
    assert code == 1 and "INVALID" in out and "paper_table3_printed.csv" in out and "CR = 0.121" in out


def test_check_several_experts(ahp_cli, tmp_path):
    a = tmp_path / "alice.csv"
    b = tmp_path / "bob.csv"
    a.write_text("x,p,q\np,1,3\nq,1/3,1\n", encoding="utf-8")
    b.write_text("x,q,p\nq,1,1/5\np,5,1\n", encoding="utf-8")
    code, out, _ = ahp_cli("check", str(a), str(b), "--format", "json")
    data = json.loads(out)
    assert code == 0 and len(data["experts"]) == 2 and "AIJ" in data["aggregation"]
    assert data["weights"]["p"] == pytest.approx(15**0.5 / (15**0.5 + 1))  # AIJ: a(p,q) = sqrt(3 x 5)


def test_check_usage_errors(ahp_cli, tmp_path):
    code, _, err = ahp_cli("check", "no-such-profile")
    assert code == 2 and "known profiles:" in err and "paper-published" in err
    code, _, err = ahp_cli("check", str(tmp_path / "missing.csv"))
    assert code == 2 and "no such file" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("x,a,b\na,1,two\nb,1/2,1\n", encoding="utf-8")
    code, out, _ = ahp_cli("check", str(bad))
    assert code == 1 and "line 2" in out and "column b" in out


def test_settings_the_cli_and_the_module_know_the_same_two_methods(ahp_cli, tmp_path, capsys):
    from transforms.core.settings import SettingsError, load_settings
    from transforms.scoring.ahp import METHODS

    assert METHODS == ("eigenvector", "geometric")  # method document section 2: Saaty's and the paper's
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    for method in ("eigenvector", "geometric"):
        assert load_settings(env={}, config_file=empty, ahp_method=method).ahp_method == method
    with pytest.raises(SettingsError, match="setting ahp_method must be eigenvector or geometric"):
        load_settings(env={}, config_file=empty, ahp_method="power")
    with pytest.raises(SystemExit) as exit_info:
        ahp_cli("check", str(AHP / "criterion_matrix.csv"), "--method", "power")
    assert exit_info.value.code == 2
    assert "invalid choice: 'power' (choose from 'eigenvector', 'geometric')" in capsys.readouterr().err
