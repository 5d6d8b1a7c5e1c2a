"""The indicator catalogue the AHP profiles and the synthesis hang off: loading and its validation errors."""

from __future__ import annotations

import re
import shutil

import pytest

from transforms.core.settings import PROJECT_DIR
from transforms.indicators.catalogue import CatalogueError, load_catalogue


@pytest.fixture
def project(tmp_path, settings):
    """A copy of the project's seeds that a test may edit; settings pointing at it."""
    root = tmp_path / "project"
    shutil.copytree(PROJECT_DIR / "seeds", root / "seeds")
    return settings.replace(project_dir=root)


def edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_catalogue_loads_the_hierarchy(settings):
    cat = load_catalogue(settings)
    assert cat.criterion_ids == [f"u{k}" for k in range(1, 9)]
    assert len(cat.indicators) == 30
    assert [i.indicator_id for i in cat.leaves_of("u7")] == ["DC1", "DC2"]
    assert [len(cat.leaves_of(c)) for c in cat.criterion_ids] == [4, 4, 4, 5, 5, 3, 2, 3]
    sp2 = cat.indicator("SP2")
    assert sp2.thresholds == (0.0, 1.0, 2.0, 4.0) and sp2.kind == "count" and sp2.sources == ("incidents",)
    assert cat.criterion("u3").name_en == "reputation risk"
    assert re.fullmatch(r"[0-9a-f]{64}", cat.content_hash)
    with pytest.raises(KeyError, match="XX1"):
        cat.indicator("XX1")


def test_catalogue_hash_follows_the_bytes(project):
    before = load_catalogue(project).content_hash
    edit(project.seeds_dir / "indicators.csv", "SP1,u1,1,", "SP1,u1,1,")  # no change
    assert load_catalogue(project).content_hash == before
    edit(project.seeds_dir / "indicators.csv", ",0.5,1,2,5", ",0.5,1,2,6")
    assert load_catalogue(project).content_hash != before


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        ("indicators.csv", "SP2,u1,2,", "SP1,u1,2,", r"indicators.csv line 3: indicator_id SP1 repeats line 2"),
        ("indicators.csv", ",0.5,1,2,5", ",0.5,3,2,5", r"indicators.csv line 2: thresholds of SP1 must increase"),
        ("indicators.csv", "DC1,u7,", "DC1,u9,", r"indicators.csv line 27: criterion_id u9 of DC1 is not in"),
        ("indicators.csv", ",ratio,%,", ",share,%,", r"indicators.csv line 2: column kind: 'share'"),
        ("indicators.csv", ",0.5,1,2,5", ",0.5,1,2,x", r"indicators.csv line 2: column t4: 'x' is not a number"),
        ("criteria.csv", "u2,2,", "u1,2,", r"criteria.csv line 3: criterion_id u1 repeats line 2"),
    ],
)
def test_catalogue_errors_name_file_line_and_rule(project, file, old, new, expected):
    edit(project.seeds_dir / file, old, new)
    with pytest.raises(CatalogueError, match=expected):
        load_catalogue(project)


def test_catalogue_needs_thirty_leaves_and_leaves_for_every_criterion(project):
    path = project.seeds_dir / "indicators.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(line for line in lines if not line.startswith("CO3,")) + "\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="29 indicators, the hierarchy has 30"):
        load_catalogue(project)
    crit = project.seeds_dir / "criteria.csv"
    crit.write_text(crit.read_text(encoding="utf-8") + "u9,9,新风险,new risk\n", encoding="utf-8")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="criterion u9 has no indicator"):
        load_catalogue(project)
