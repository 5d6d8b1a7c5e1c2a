"""The package tree follows the pipeline's stages, and imports follow the stages (README "The package, by stage").

Read from the source with ``ast``, so a new sideways import fails here before anyone has to find it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from transforms.core.settings import PROJECT_DIR

PACKAGE = PROJECT_DIR / "transforms"
# A stage may import its own modules and those of lower ranks.
RANKS = {
    "core": 0,
    "generate": 1,
    "ingest": 1,
    "indicators": 2,
    "scoring": 3,
    "quality": 4,
    "publishing": 5,
    "monitoring": 5,
    "orchestration": 6,
    "cli": 6,
    "demo": 7,
}
# Upward imports that are deliberate; each is lazy (inside a function) and named with its reason in the README.
LAZY_UPWARD = {
    ("quality", "publishing"),  # the scorecard suite and the snapshot check read publishing's tables; the serving
    # copy is refreshed after a validation so analysts see it
}


def _stage(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "transforms" or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path):
    """(imported module, names, at module level?) for every riskcard import in one file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "transforms":  # from transforms import ingest
            for alias in node.names:
                yield f"transforms.{alias.name}", [], id(node) in top_level, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("transforms"):
            yield node.module, [a.name for a in node.names], id(node) in top_level, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("transforms"):
                    yield alias.name, [], id(node) in top_level, node.lineno


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PROJECT_DIR).with_suffix("")
        yield ".".join(rel.parts), path


def test_every_module_lives_in_a_stage():
    loose = [m for m, _ in _modules() if m.count(".") == 1 and m not in ("transforms.__init__", "transforms.demo")]
    assert loose == [], f"modules outside a stage subpackage: {loose}"
    stages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert stages == set(RANKS) - {"demo"}


def test_imports_follow_the_stages():
    wrong = []
    for module, path in _modules():
        own = "demo" if module == "transforms.demo" else _stage(module)
        for target, _names, top, line in _imports(path):
            other = _stage(target)
            if other is None or other == own:
                continue
            if RANKS[other] <= RANKS[own] and not (RANKS[other] == RANKS[own] and own != other):
                continue
            if not top and (own, other) in LAZY_UPWARD:
                continue
            wrong.append(f"{path.relative_to(PROJECT_DIR)}:{line} ({own}) imports {target} ({other})")
    assert wrong == [], "imports against the stage order:\n" + "\n".join(wrong)


def test_no_stage_imports_another_stages_private_names():
    wrong = []
    for module, path in _modules():
        own = _stage(module)
        for target, names, _top, line in _imports(path):
            if _stage(target) in (None, own):
                continue
            private = [n for n in names if n.startswith("_")]
            if private or any(part.startswith("_") for part in target.split(".")[2:]):
                wrong.append(f"{path.relative_to(PROJECT_DIR)}:{line} imports {target} {private}")
    assert wrong == [], "private names used across stages:\n" + "\n".join(wrong)


@pytest.mark.parametrize("dag_file", sorted((PROJECT_DIR / "dags").glob("*.py")), ids=lambda p: p.name)
def test_dag_files_only_wire_tasks(dag_file):
    """A DAG file imports the orchestration stage and settings only: no stage's internals at parse time."""
    allowed = {"transforms.orchestration", "transforms.core.settings"}
    for target, names, _top, line in _imports(dag_file):
        modules = {target} | {f"{target}.{n}" for n in names}
        assert any(m in allowed or m.startswith("transforms.orchestration.") for m in modules), (
            f"{dag_file.name}:{line} imports {target}"
        )
