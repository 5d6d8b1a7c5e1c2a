"""Weight profiles: the shipped ones, refusal of invalid judgments, explicit overrides, experts, content hash."""

from __future__ import annotations

import math
import shutil
import textwrap

import numpy as np
import pytest

from transforms.core.settings import PROJECT_DIR
from transforms.indicators.catalogue import load_catalogue
from transforms.scoring.ahp import read_matrix
from transforms.scoring.profiles import ProfileInvalid, check_profile, load_profile

# method document, section 6: weights of Table 3 repaired (a(u7,u5) = 1), principal eigenvector
DOC_REPAIRED_EIGENVECTOR = dict(
    zip([f"u{k}" for k in range(1, 9)], (0.331, 0.172, 0.115, 0.155, 0.056, 0.024, 0.080, 0.067), strict=True)
)
# paper Table 5 (the paper's printed input, used by the paper-published profile)
TABLE5 = dict(
    zip([f"u{k}" for k in range(1, 9)], (0.121, 0.205, 0.013, 0.212, 0.017, 0.117, 0.112, 0.203), strict=True)
)
LEAVES_DEFAULT = "\n".join(f'u{k} = {{ matrix = "../leaves/u{k}_leaves.csv" }}' for k in range(1, 9))
INCONSISTENT_3 = "item,a,b,c\na,1,9,1/9\nb,1/9,1,9\nc,9,1/9,1\n"
# a > b > c > a at 9 each: uniform weights, λmax = 1 + 9 + 1/9 = 91/9, CI = (91/9 - 3) / 2 = 32/9, CR = CI / 0.58
INCONSISTENT_3_CR = "CR = 6.130"


def perron_weights(a: np.ndarray) -> list[float]:
    """The principal eigenvector (sum 1) by LAPACK, independent of the module's power iteration."""
    vals, vecs = np.linalg.eig(a)
    w = np.abs(vecs[:, int(np.argmax(vals.real))].real)
    return list(w / w.sum())


@pytest.fixture
def project(tmp_path, settings):
    root = tmp_path / "project"
    shutil.copytree(PROJECT_DIR / "seeds", root / "seeds")
    return settings.replace(project_dir=root)


def ahp_dir(settings):
    return settings.seeds_dir / "ahp"


def write_profile(settings, name: str, body: str):
    path = ahp_dir(settings) / "profiles" / f"{name}.toml"
    path.write_text(f'name = "{name}"\n' + textwrap.dedent(body), encoding="utf-8")
    return path


def leaf_matrix(ids: list[str], rows: list[list[str]]) -> str:
    return (
        "leaf," + ",".join(ids) + "\n" + "".join(f"{i}," + ",".join(r) + "\n" for i, r in zip(ids, rows, strict=True))
    )


def test_default_profile(settings):
    profile = load_profile("default", settings)
    assert profile.method == "eigenvector" and profile.override is False
    assert "OVERRIDE" not in profile.label and "eigenvector" in profile.label
    for c, w in DOC_REPAIRED_EIGENVECTOR.items():
        assert profile.criterion_weights[c] == pytest.approx(w, abs=0.002)
    matrix = read_matrix(ahp_dir(settings) / "criterion_matrix.csv")
    assert list(matrix.labels) == list(profile.criterion_weights)
    assert list(profile.criterion_weights.values()) == pytest.approx(perron_weights(matrix.array()), rel=1e-9)
    cat = load_catalogue(settings)
    assert profile.local_weights["u4"] == pytest.approx({i.indicator_id: 0.2 for i in cat.leaves_of("u4")})
    g = profile.global_weights
    assert list(g) == cat.indicator_ids
    assert math.fsum(g.values()) == pytest.approx(1.0, abs=1e-12)
    assert g["SP1"] == pytest.approx(profile.criterion_weights["u1"] / 4, rel=1e-12)
    assert len(profile.checks) == 9 and all(r.valid for r in profile.checks)


def test_paper_published_profile_is_a_labelled_override(settings):
    profile = load_profile("paper-published", settings)
    assert profile.override is True and profile.method == "explicit"
    assert "OVERRIDE" in profile.label and profile.to_dict()["override"] is True
    assert profile.criterion_weights == TABLE5
    assert profile.local_weights["u6"] == pytest.approx({"OS1": 1 / 3, "OS2": 1 / 3, "OS3": 1 / 3})
    assert math.fsum(profile.global_weights.values()) == pytest.approx(1.0, abs=1e-12)
    assert profile.checks == []


def test_method_precedence_argument_profile_settings(project):
    body = f"""
        [criteria]
        matrix = "../criterion_matrix.csv"
        [leaves]
        {LEAVES_DEFAULT}
        """
    write_profile(project, "nomethod", body)
    assert load_profile("nomethod", project).method == "eigenvector"  # settings default
    assert load_profile("nomethod", project.replace(ahp_method="geometric")).method == "geometric"
    write_profile(project, "pinned", 'method = "geometric"\n' + textwrap.dedent(body))
    assert load_profile("pinned", project).method == "geometric"  # the profile's own beats settings
    chosen = load_profile("pinned", project, method="eigenvector")  # the argument beats both
    assert chosen.method == "eigenvector"
    geo = load_profile("pinned", project)
    assert geo.criterion_weights != pytest.approx(chosen.criterion_weights, abs=1e-4)
    assert geo.content_hash != chosen.content_hash  # the method is part of the hash


def test_content_hash_covers_profile_and_every_matrix_file(project):
    before = load_profile("default", project).content_hash
    assert load_profile("default", project).content_hash == before
    leaf = ahp_dir(project) / "leaves" / "u7_leaves.csv"
    leaf.write_text(
        leaf.read_text(encoding="utf-8").replace("DC1,1,1", "DC1,1,2").replace("DC2,1,1", "DC2,1/2,1"), encoding="utf-8"
    )
    changed = load_profile("default", project)
    assert changed.content_hash != before
    assert changed.local_weights["u7"] == pytest.approx({"DC1": 2 / 3, "DC2": 1 / 3})
    profile_file = ahp_dir(project) / "profiles" / "default.toml"
    profile_file.write_text(profile_file.read_text(encoding="utf-8") + "\n# a note\n", encoding="utf-8")
    assert load_profile("default", project).content_hash != changed.content_hash


def test_inconsistent_matrix_makes_the_profile_invalid_naming_matrix_and_cr(project):
    bad = ahp_dir(project) / "leaves" / "u6_bad.csv"
    bad.write_text(
        INCONSISTENT_3.replace("a", "OS1").replace("b", "OS2").replace("c", "OS3").replace("item", "leaf"),
        encoding="utf-8",
    )
    write_profile(
        project,
        "shaky",
        f"""
        [criteria]
        matrix = "../criterion_matrix.csv"
        [leaves]
        {LEAVES_DEFAULT.replace("u6_leaves.csv", "u6_bad.csv")}
        """,
    )
    with pytest.raises(ProfileInvalid) as err:
        load_profile("shaky", project)
    msg = str(err.value)
    assert "seeds/ahp/leaves/u6_bad.csv" in msg and INCONSISTENT_3_CR in msg and "leaves of u6" in msg
    assert any("u6_bad.csv" in p for p in err.value.problems)
    check = check_profile("shaky", project)
    assert not check.valid and check.profile is None


def test_printed_table3_as_criterion_matrix_is_refused_with_cells_and_cr(project):
    write_profile(
        project,
        "printed",
        f"""
        [criteria]
        matrix = "../paper_table3_printed.csv"
        [leaves]
        {LEAVES_DEFAULT}
        """,
    )
    with pytest.raises(ProfileInvalid) as err:
        load_profile("printed", project)
    msg = str(err.value)
    assert "paper_table3_printed.csv" in msg and "a(u5,u7) = 1" in msg and "a(u7,u5) = 5" in msg
    assert "CR = 0.121" in msg


def test_explicit_weights_must_be_declared_override_and_sum_to_one(project):
    weights = ", ".join(f"{c} = {w}" for c, w in TABLE5.items())
    body = f"""
        [criteria]
        weights = {{ {weights} }}
        [leaves]
        {LEAVES_DEFAULT}
        """
    write_profile(project, "undeclared", body)
    with pytest.raises(ProfileInvalid, match="does not declare override = true"):
        load_profile("undeclared", project)
    declared = write_profile(project, "declared", "override = true\n" + textwrap.dedent(body))
    mixed = load_profile("declared", project)
    assert mixed.override and mixed.method == "eigenvector" and mixed.explicit == ("criteria",)
    assert "OVERRIDE" in mixed.label and mixed.criterion_weights == TABLE5
    declared.write_text(declared.read_text(encoding="utf-8").replace("u1 = 0.121", "u1 = 0.131"), encoding="utf-8")
    with pytest.raises(ProfileInvalid, match="sum to 1.01, not 1"):
        load_profile("declared", project)
    write_profile(
        project,
        "falseflag",
        "override = true\n"
        + textwrap.dedent(body.replace(f"weights = {{ {weights} }}", 'matrix = "../criterion_matrix.csv"')),
    )
    with pytest.raises(ProfileInvalid, match="every weight comes from a judgment matrix"):
        load_profile("falseflag", project)


def test_leaf_matrix_labels_must_match_the_catalogue(project):
    wrong = ahp_dir(project) / "leaves" / "u7_wrong.csv"
    wrong.write_text(leaf_matrix(["DC1", "DC9"], [["1", "1"], ["1", "1"]]), encoding="utf-8")
    write_profile(
        project,
        "mislabelled",
        f"""
        [criteria]
        matrix = "../criterion_matrix.csv"
        [leaves]
        {LEAVES_DEFAULT.replace("u7_leaves.csv", "u7_wrong.csv")}
        """,
    )
    with pytest.raises(ProfileInvalid) as err:
        load_profile("mislabelled", project)
    assert "u7_wrong.csv" in str(err.value) and "missing DC2" in str(err.value) and "DC9" in str(err.value)


def test_leaf_order_in_the_file_does_not_matter(project):
    reordered = ahp_dir(project) / "leaves" / "u7_reordered.csv"
    reordered.write_text(leaf_matrix(["DC2", "DC1"], [["1", "3"], ["1/3", "1"]]), encoding="utf-8")
    write_profile(
        project,
        "reordered",
        f"""
        [criteria]
        matrix = "../criterion_matrix.csv"
        [leaves]
        {LEAVES_DEFAULT.replace("u7_leaves.csv", "u7_reordered.csv")}
        """,
    )
    profile = load_profile("reordered", project)
    assert list(profile.local_weights["u7"]) == ["DC1", "DC2"]
    assert profile.local_weights["u7"] == pytest.approx({"DC1": 0.25, "DC2": 0.75})


def test_missing_pieces_are_reported_not_defaulted(project):
    write_profile(
        project,
        "partial",
        """
        [criteria]
        matrix = "../criterion_matrix.csv"
        [leaves]
        u1 = { matrix = "../leaves/u1_leaves.csv" }
        u9 = { weights = "equal" }
        """,
    )
    check = check_profile("partial", project)
    assert not check.valid
    text = "\n".join(check.problems)
    assert "no entry for u2" in text and "no entry for u8" in text and "'u9'" in text
    with pytest.raises(ProfileInvalid, match="cannot read weight profile"):
        load_profile("no-such-profile", project)


def test_several_experts_are_aggregated_by_aij_with_every_cr_reported(project):
    experts = ahp_dir(project) / "experts"
    experts.mkdir()
    base = read_matrix(ahp_dir(project) / "criterion_matrix.csv").array()
    rng = np.random.default_rng(11)
    paths = []
    for k in range(3):  # each expert: the default judgments, a few upper cells nudged one scale step
        a = base.copy()
        for i, j in [(0, 1), (2, 5), (3, 7)]:
            a[i, j] = a[i, j] + (1 if rng.random() < 0.5 else 0)
            a[j, i] = 1 / a[i, j]
        text = (
            "criterion,"
            + ",".join(f"u{c}" for c in range(1, 9))
            + "\n"
            + "".join(f"u{i + 1}," + ",".join(repr(float(x)) for x in a[i]) + "\n" for i in range(8))
        )
        path = experts / f"expert{k}.csv"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    write_profile(
        project,
        "panel",
        f"""
        method = "geometric"
        [criteria]
        experts = ["../experts/expert0.csv", "../experts/expert1.csv", "../experts/expert2.csv"]
        [leaves]
        {LEAVES_DEFAULT}
        """,
    )
    profile = load_profile("panel", project)
    criteria = profile.checks[0]
    assert len(criteria.experts) == 3 and all(e.cr is not None for e in criteria.experts)
    assert [e.name for e in criteria.experts] == [f"seeds/ahp/experts/expert{k}.csv" for k in range(3)]
    # the reference, computed here: AIJ cell-wise cube root, row geometric mean, λmax = mean((A·w)_i / w_i),
    # CI = (λmax - 8) / 7, RI(8) = 1.41 (the paper's Table 2)
    matrices = [read_matrix(p) for p in paths]
    cube = np.cbrt(matrices[0].array() * matrices[1].array() * matrices[2].array())
    g = np.exp(np.log(cube).mean(axis=1))
    w = g / g.sum()
    assert list(profile.criterion_weights.values()) == pytest.approx(list(w), rel=1e-12)
    assert criteria.cr == pytest.approx((np.mean((cube @ w) / w) - 8) / 7 / 1.41, rel=1e-9)


def test_one_inconsistent_expert_invalidates_the_profile(project):
    experts = ahp_dir(project) / "experts"
    experts.mkdir()
    (experts / "ok.csv").write_text(leaf_matrix(["OS1", "OS2", "OS3"], [["1"] * 3] * 3), encoding="utf-8")
    (experts / "wild.csv").write_text(
        INCONSISTENT_3.replace("a", "OS1").replace("b", "OS2").replace("c", "OS3").replace("item", "leaf"),
        encoding="utf-8",
    )
    leaves = LEAVES_DEFAULT.replace(
        'u6 = { matrix = "../leaves/u6_leaves.csv" }', 'u6 = { experts = ["../experts/ok.csv", "../experts/wild.csv"] }'
    )
    assert "wild.csv" in leaves
    write_profile(
        project,
        "wildpanel",
        f"""
        [criteria]
        matrix = "../criterion_matrix.csv"
        [leaves]
        {leaves}
        """,
    )
    with pytest.raises(ProfileInvalid) as err:
        load_profile("wildpanel", project)
    assert "expert matrix seeds/ahp/experts/wild.csv" in str(err.value) and INCONSISTENT_3_CR in str(err.value)
