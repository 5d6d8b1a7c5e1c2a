"""The evaluation hierarchy as reference data: 8 criteria (``seeds/criteria.csv``) and 30 leaf indicators
(``seeds/indicators.csv``).

The AHP weights, the synthesis and publishing all hang off this catalogue, so it is validated once, here, with
errors that name the file, the line and the rule, instead of surfacing later as a wrong weight or a missing row.

This module owns the catalogue's rules: the header, ids, sort orders, the 30 leaves and their criteria, ``kind``,
``direction``, strictly increasing thresholds and ``sources`` (names of ``transforms.core.contract.SOURCES``; the
first is the source whose family model ``int_<source>_leaves`` computes the leaf, as ``int_leaf_values`` reads it).
`riskcard build` checks them before dbt loads the seeds; the dbt project keeps only the key and relationship tests
its joins rely on (``dbt_project/models/reference/_seeds.yml``).
"""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

from transforms.core.contract import SOURCES

EXPECTED_LEAVES = 30
KINDS = ("ratio", "count", "median", "percentile")
DIRECTIONS = ("higher_is_riskier",)
CRITERIA_COLUMNS = ("criterion_id", "sort_order", "name_zh", "name_en")
INDICATOR_COLUMNS = (
    "indicator_id",
    "criterion_id",
    "sort_order",
    "name_zh",
    "name_en",
    "kri_en",
    "sources",
    "kind",
    "unit",
    "direction",
    "t1",
    "t2",
    "t3",
    "t4",
)


class CatalogueError(ValueError):
    """The catalogue seed files break a rule; the message names the file, line and rule."""


@dataclass(frozen=True)
class Criterion:
    criterion_id: str
    sort_order: int
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Indicator:
    indicator_id: str
    criterion_id: str
    sort_order: int
    name_zh: str
    name_en: str
    kri_en: str
    sources: tuple[str, ...]
    kind: str
    unit: str
    direction: str
    thresholds: tuple[float, float, float, float]


@dataclass(frozen=True)
class Catalogue:
    criteria: list[Criterion]  # by sort_order
    indicators: list[Indicator]  # by criterion sort_order, then the leaf's sort_order
    content_hash: str  # sha256 over criteria.csv then indicators.csv, as bytes
    files: tuple[Path, ...] = field(default=())

    def leaves_of(self, criterion_id: str) -> list[Indicator]:
        self.criterion(criterion_id)  # unknown id -> KeyError with a clear message
        return [i for i in self.indicators if i.criterion_id == criterion_id]

    def indicator(self, indicator_id: str) -> Indicator:
        for ind in self.indicators:
            if ind.indicator_id == indicator_id:
                return ind
        raise KeyError(f"unknown indicator id {indicator_id!r}")

    def criterion(self, criterion_id: str) -> Criterion:
        for crit in self.criteria:
            if crit.criterion_id == criterion_id:
                return crit
        raise KeyError(f"unknown criterion id {criterion_id!r}")

    @property
    def criterion_ids(self) -> list[str]:
        return [c.criterion_id for c in self.criteria]

    @property
    def indicator_ids(self) -> list[str]:
        return [i.indicator_id for i in self.indicators]


def load_catalogue(settings) -> Catalogue:
    """The catalogue of ``settings.seeds_dir``."""
    return read_catalogue(settings.seeds_dir / "criteria.csv", settings.seeds_dir / "indicators.csv")


def read_catalogue(criteria_csv: Path, indicators_csv: Path, expected_leaves: int = EXPECTED_LEAVES) -> Catalogue:
    """Read and validate both seed files; raises CatalogueError on the first file that breaks a rule."""
    criteria_bytes = _read_bytes(criteria_csv)
    indicators_bytes = _read_bytes(indicators_csv)
    criteria = _parse_criteria(criteria_csv, criteria_bytes)
    indicators = _parse_indicators(indicators_csv, indicators_bytes, {c.criterion_id: c for c in criteria})

    if len(indicators) != expected_leaves:
        raise CatalogueError(f"{indicators_csv}: {len(indicators)} indicators, the hierarchy has {expected_leaves}")
    used = {i.criterion_id for i in indicators}
    for crit in criteria:
        if crit.criterion_id not in used:
            raise CatalogueError(
                f"{criteria_csv}: criterion {crit.criterion_id} has no indicator in {indicators_csv.name}"
            )

    order = {c.criterion_id: c.sort_order for c in criteria}
    digest = hashlib.sha256()
    for name, data in (("criteria.csv", criteria_bytes), ("indicators.csv", indicators_bytes)):
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return Catalogue(
        criteria=sorted(criteria, key=lambda c: c.sort_order),
        indicators=sorted(indicators, key=lambda i: (order[i.criterion_id], i.sort_order)),
        content_hash=digest.hexdigest(),
        files=(criteria_csv, indicators_csv),
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read the catalogue file ({exc.strerror or exc})") from None


def _rows(path: Path, data: bytes, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) pairs; the header must hold exactly ``columns``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogueError(f"{path}: not UTF-8 ({exc})") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise CatalogueError(f"{path}: empty file, expected a header {','.join(columns)}")
    header = [h.strip() for h in header]
    if tuple(header) != columns:
        missing = [c for c in columns if c not in header]
        extra = [c for c in header if c not in columns]
        raise CatalogueError(
            f"{path} line 1: header must be {','.join(columns)}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unexpected {', '.join(extra)}" if extra else "")
        )
    out = []
    for line_no, cells in enumerate(reader, start=2):
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(columns):
            raise CatalogueError(f"{path} line {line_no}: {len(cells)} fields, expected {len(columns)}")
        row = {c: v.strip() for c, v in zip(columns, cells, strict=True)}
        for c in columns:
            if row[c] == "":
                raise CatalogueError(f"{path} line {line_no}: column {c} is empty")
        out.append((line_no, row))
    return out


def _int(path: Path, line: int, column: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CatalogueError(f"{path} line {line}: column {column}: {text!r} is not an integer") from None


def _float(path: Path, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CatalogueError(f"{path} line {line}: column {column}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise CatalogueError(f"{path} line {line}: column {column}: {text!r} is not a finite number")
    return value


def _parse_criteria(path: Path, data: bytes) -> list[Criterion]:
    criteria: list[Criterion] = []
    seen: dict[str, int] = {}
    orders: dict[int, int] = {}
    for line, row in _rows(path, data, CRITERIA_COLUMNS):
        cid = row["criterion_id"]
        if cid in seen:
            raise CatalogueError(f"{path} line {line}: criterion_id {cid} repeats line {seen[cid]} (ids are unique)")
        seen[cid] = line
        order = _int(path, line, "sort_order", row["sort_order"])
        if order in orders:
            raise CatalogueError(f"{path} line {line}: sort_order {order} repeats line {orders[order]}")
        orders[order] = line
        criteria.append(Criterion(cid, order, row["name_zh"], row["name_en"]))
    if not criteria:
        raise CatalogueError(f"{path}: no criteria")
    return criteria


def _parse_indicators(path: Path, data: bytes, criteria: dict[str, Criterion]) -> list[Indicator]:
    indicators: list[Indicator] = []
    seen: dict[str, int] = {}
    orders: dict[tuple[str, int], int] = {}
    for line, row in _rows(path, data, INDICATOR_COLUMNS):
        iid = row["indicator_id"]
        if iid in seen:
            raise CatalogueError(f"{path} line {line}: indicator_id {iid} repeats line {seen[iid]} (ids are unique)")
        if iid in criteria:
            raise CatalogueError(f"{path} line {line}: indicator_id {iid} is also a criterion id")
        seen[iid] = line
        cid = row["criterion_id"]
        if cid not in criteria:
            raise CatalogueError(
                f"{path} line {line}: criterion_id {cid} of {iid} is not in criteria.csv "
                f"({', '.join(sorted(criteria))})"
            )
        order = _int(path, line, "sort_order", row["sort_order"])
        if (cid, order) in orders:
            raise CatalogueError(
                f"{path} line {line}: sort_order {order} within {cid} repeats line {orders[(cid, order)]}"
            )
        orders[(cid, order)] = line
        if row["kind"] not in KINDS:
            raise CatalogueError(f"{path} line {line}: column kind: {row['kind']!r} is not one of {', '.join(KINDS)}")
        if row["direction"] not in DIRECTIONS:
            raise CatalogueError(
                f"{path} line {line}: column direction: {row['direction']!r} is not one of {', '.join(DIRECTIONS)}"
            )
        thresholds = tuple(_float(path, line, c, row[c]) for c in ("t1", "t2", "t3", "t4"))
        for k in range(3):
            if not thresholds[k] < thresholds[k + 1]:
                raise CatalogueError(
                    f"{path} line {line}: thresholds of {iid} must increase strictly: "
                    f"t{k + 1} = {thresholds[k]:g} is not below t{k + 2} = {thresholds[k + 1]:g}"
                )
        sources = tuple(s.strip() for s in row["sources"].split("|"))
        for source in sources:
            if source not in SOURCES:
                raise CatalogueError(
                    f"{path} line {line}: column sources: {source!r} of {iid} is not a source of the landing-log "
                    f"contract ({', '.join(SOURCES)}; several are separated by '|')"
                )
        if len(set(sources)) != len(sources):
            raise CatalogueError(
                f"{path} line {line}: column sources: {row['sources']!r} of {iid} names a source twice"
            )
        indicators.append(
            Indicator(
                indicator_id=iid,
                criterion_id=cid,
                sort_order=order,
                name_zh=row["name_zh"],
                name_en=row["name_en"],
                kri_en=row["kri_en"],
                sources=sources,
                kind=row["kind"],
                unit=row["unit"],
                direction=row["direction"],
                thresholds=thresholds,  # type: ignore[arg-type]
            )
        )
    return indicators


__all__ = [
    "Catalogue",
    "CatalogueError",
    "Criterion",
    "Indicator",
    "load_catalogue",
    "read_catalogue",
    "EXPECTED_LEAVES",
]
