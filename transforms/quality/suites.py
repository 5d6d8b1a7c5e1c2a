"""Expectation suites as reviewable files: ``expectations/<suite>.json``.

A suite file is Great Expectations' own suite JSON (``name``, ``expectations`` with ``type``, ``kwargs``,
``severity``, ``description``, ``meta``), with three house rules checked here before GX sees it, so a typo in
review fails loudly instead of silently weakening a check:

- every expectation states its ``severity`` explicitly, ``critical`` (blocks publishing) or ``warning``
  (alerts only) — GX would otherwise default to critical, hiding the omission;
- every expectation has a short ``meta.name``, unique in the suite: the name alerts and ``ops.dq_alerts`` use;
- values that depend on settings or the catalogue are GX suite parameters (``{"$PARAMETER": "leaf_count"}``),
  declared in the suite's ``meta.parameters`` and supplied by the runner; an undeclared or unsupplied
  parameter is an error. So is the likelihood scale (:func:`scale_parameters`, from
  ``transforms.scoring.levels``, its one definition), which the runner supplies to every suite: no suite file
  writes the scale's values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transforms.scoring.levels import HIGHEST_LEVEL, LEVELS, LOWEST_LEVEL

SEVERITIES = ("critical", "warning")
SUITE_NAMES = ("indicators", "ingestion_health", "scorecard")


def scale_parameters() -> dict[str, Any]:
    """The likelihood scale as suite parameters, supplied to every suite (a suite declares the ones it uses)."""
    return {
        "likelihood_levels": list(LEVELS),
        "lowest_level": LOWEST_LEVEL,
        "highest_level": HIGHEST_LEVEL,
        "lowest_level_set": [LOWEST_LEVEL],
    }


class SuiteFileError(ValueError):
    """An expectation suite file breaks a house rule; the message names the file and the expectation."""


@dataclass(frozen=True)
class ExpectationSpec:
    name: str
    type: str
    kwargs: dict[str, Any]
    severity: str
    description: str

    @property
    def parameters(self) -> set[str]:
        return _parameters_in(self.kwargs)


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    path: Path
    dataset: str
    key_columns: tuple[str, ...]
    parameters: dict[str, str]  # name -> what it means
    expectations: tuple[ExpectationSpec, ...]
    raw: dict[str, Any]  # the file's JSON, handed to GX as is

    def expectation(self, name: str) -> ExpectationSpec:
        for exp in self.expectations:
            if exp.name == name:
                return exp
        raise KeyError(f"suite {self.name} has no expectation {name!r}")

    def check_parameters(self, supplied: dict[str, Any]) -> None:
        missing = sorted(set(self.parameters) - set(supplied))
        if missing:
            raise SuiteFileError(f"{self.path}: parameters {', '.join(missing)} were not supplied by the runner")


def suite_path(settings, name: str) -> Path:
    return Path(settings.expectations_dir) / f"{name}.json"


def load_suite(settings, name: str) -> SuiteSpec:
    return read_suite(suite_path(settings, name))


def read_suite(path: Path) -> SuiteSpec:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SuiteFileError(f"{path}: cannot read the suite ({exc.strerror or exc})") from None
    except json.JSONDecodeError as exc:
        raise SuiteFileError(f"{path} line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise SuiteFileError(f"{path}: a suite is an object with a list 'expectations'")
    name = data.get("name")
    if name != path.stem:
        raise SuiteFileError(f"{path}: suite name {name!r} must equal the file name {path.stem!r}")
    meta = data.get("meta") or {}
    declared = meta.get("parameters") or {}
    if not isinstance(declared, dict):
        raise SuiteFileError(f"{path}: meta.parameters must be an object of name -> meaning")

    specs: list[ExpectationSpec] = []
    seen: set[str] = set()
    for i, exp in enumerate(data["expectations"], start=1):
        where = f"{path} expectation {i}"
        if not isinstance(exp, dict):
            raise SuiteFileError(f"{where}: must be an object")
        exp_name = (exp.get("meta") or {}).get("name")
        if not exp_name or not isinstance(exp_name, str):
            raise SuiteFileError(f"{where} ({exp.get('type')}): meta.name is required (the name alerts use)")
        where = f"{path} expectation {i} ({exp_name})"
        if exp_name in seen:
            raise SuiteFileError(f"{where}: meta.name repeats an earlier expectation")
        seen.add(exp_name)
        if not str(exp.get("type", "")).startswith("expect_"):
            raise SuiteFileError(f"{where}: 'type' must name a GX expectation, got {exp.get('type')!r}")
        if "severity" not in exp:
            raise SuiteFileError(f"{where}: 'severity' is required ({' or '.join(SEVERITIES)})")
        if exp["severity"] not in SEVERITIES:
            raise SuiteFileError(f"{where}: severity {exp['severity']!r} is not one of {', '.join(SEVERITIES)}")
        kwargs = exp.get("kwargs")
        if not isinstance(kwargs, dict):
            raise SuiteFileError(f"{where}: 'kwargs' must be an object")
        spec = ExpectationSpec(
            name=exp_name,
            type=exp["type"],
            kwargs=kwargs,
            severity=exp["severity"],
            description=str(exp.get("description") or ""),
        )
        undeclared = sorted(spec.parameters - set(declared))
        if undeclared:
            raise SuiteFileError(f"{where}: parameter(s) {', '.join(undeclared)} not declared in meta.parameters")
        specs.append(spec)
    if not specs:
        raise SuiteFileError(f"{path}: the suite has no expectations")
    return SuiteSpec(
        name=name,
        path=path,
        dataset=str(meta.get("dataset", "")),
        key_columns=tuple(meta.get("key_columns") or ()),
        parameters={str(k): str(v) for k, v in declared.items()},
        expectations=tuple(specs),
        raw=data,
    )


def _parameters_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        if set(value) == {"$PARAMETER"}:
            return {str(value["$PARAMETER"])}
        out: set[str] = set()
        for v in value.values():
            out |= _parameters_in(v)
        return out
    if isinstance(value, list):
        out = set()
        for v in value:
            out |= _parameters_in(v)
        return out
    return set()
