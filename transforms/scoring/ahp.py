"""Analytic Hierarchy Process: judgment matrices, their checks, priority weights and consistency.

Method (``risk-evaluation-method.md`` section 2): weights by the principal eigenvector (default, Saaty's method)
or the row geometric mean (the paper's method); λmax = mean over i of (A·w)_i / w_i; CI = (λmax − n)/(n − 1);
CR = CI / RI with the random index of the paper's Table 2 (extended to n = 15 with Saaty's values). A matrix is
accepted only when it is well-formed AND CR < 0.1.

Validation comes first and reports every offending cell by its row and column labels, because a committee fixing
its judgments needs to know *which* comparison to revisit, not only that the matrix is wrong. The weights and CR of a
matrix that is positive and square are still computed when it fails reciprocity (so the printed Table 3 of the
paper can be audited as printed); such a matrix is never valid.

Matrices are CSV files people edit: full matrix, first column the row label, header the column labels, entries
like ``1/3``, ``0.333`` or ``5``; lines starting with ``#`` are comments.

Incomplete matrices. A judgment may be left out: both a(i,j) and a(j,i) empty. That is allowed while the
comparisons that are given still connect every item (directly or through others); otherwise the weights are not
determined and the matrix is rejected (rule ``disconnected``), as is a pair with only one of its two cells empty
(rule ``missing``). Weights follow Harker's method (:func:`complete_matrix`): the missing a(i,j) are filled with
w_i/w_j of Harker's eigenvector, and both methods, λmax, CI and CR then work on that *completed* matrix. The
eigenvector of the completed matrix is Harker's eigenvector itself, so the eigenvector method gives exactly
Harker's weights; the geometric method is the row geometric mean of the same completed matrix (one completion for
both methods, so the matrix whose CR is reported does not depend on the method). The completed cells agree with
the weights exactly, so they add no inconsistency: the CR measures the judgments that were given, against the
ordinary RI(n).
"""

from __future__ import annotations

import csv
import dataclasses
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from transforms.core.settings import AHP_METHODS as METHODS  # ("eigenvector", "geometric"): one list, in core

DEFAULT_METHOD = "eigenvector"
CR_LIMIT = 0.1

# Random index by matrix order: n = 1..9 from the paper's Table 2, n = 10..15 Saaty's values as quoted in the
# method document. Larger matrices need an RI supplied by the caller (no silent extrapolation).
RANDOM_INDEX: dict[int, float] = {
    1: 0.00,
    2: 0.00,
    3: 0.58,
    4: 0.90,
    5: 1.12,
    6: 1.24,
    7: 1.32,
    8: 1.41,
    9: 1.45,
    10: 1.49,
    11: 1.51,
    12: 1.48,
    13: 1.56,
    14: 1.57,
    15: 1.59,
}

# Reciprocity tolerance, relative: a(i,j) · a(j,i) must be 1 within 1 %. People write 1/3 as 0.333, 1/7 as 0.143,
# 1/6 as 0.167: three decimals are off by at most 0.2 %, and 0.33 for 1/3 by 1 %. A genuine judgment error moves a
# cell by at least one step of Saaty's scale, and adjacent scale values differ by 11 % or more (8 vs 9), so 1 %
# accepts every honest rounding and no real inconsistency. The same tolerance applies to the 1/9…9 range check.
# It is the one reciprocity rule (:func:`is_reciprocal`): the paper audit's repair changes exactly the cells it rejects.
RECIPROCITY_RTOL = 1e-2
DIAGONAL_ATOL = 1e-9
SAATY_MIN, SAATY_MAX = 1 / 9, 9.0

# power iteration for the principal eigenvector
_EIG_TOL = 1e-15
_EIG_MAX_ITER = 100_000
_EIG_STALL_TOL = 1e-13
_HARKER_SQUARINGS = 64  # complete_matrix's power iteration by squaring: up to 2^64 plain steps, then an eigen-solve
_ZERO = 1e-12  # |CI| or |CR| below this is reported as 0 (rounding noise of an exactly consistent matrix)

# Saaty's 1-9 scale with the reciprocals: the values a judgment can take (suggestions are snapped to these)
SAATY_SCALE: tuple[float, ...] = tuple(1 / k for k in range(9, 1, -1)) + tuple(float(k) for k in range(1, 10))

# defect rules
SHAPE, LABELS, NOT_POSITIVE, DIAGONAL, RECIPROCITY, SAATY_RANGE, CONSISTENCY, RANDOM_INDEX_MISSING, EXPERTS = (
    "shape",
    "labels",
    "not_positive",
    "diagonal",
    "reciprocity",
    "saaty_range",
    "consistency",
    "random_index_missing",
    "experts",
)
MISSING, DISCONNECTED, INCOMPLETE = "missing", "disconnected", "incomplete"  # incomplete matrices (warning: incomplete)
ERROR, WARNING = "error", "warning"
# defects after which no weights can be computed
UNUSABLE = (SHAPE, LABELS, NOT_POSITIVE, MISSING, DISCONNECTED)


class MatrixError(ValueError):
    """A file cannot be read as a judgment matrix; the message names the file, line and column."""


@dataclass(frozen=True)
class JudgmentMatrix:
    """A pairwise comparison matrix as given: a(row, column) = how much more important row is than column."""

    name: str
    labels: tuple[str, ...]  # row labels
    column_labels: tuple[str, ...]
    values: tuple[tuple[float, ...], ...]
    texts: tuple[tuple[str, ...], ...] | None = None  # cells as written in the file
    lines: tuple[int, ...] | None = None  # file line of each row
    path: Path | None = None

    @classmethod
    def from_values(cls, labels, values, name: str = "matrix") -> JudgmentMatrix:
        labels = tuple(str(x) for x in labels)
        rows = tuple(tuple(float(v) for v in row) for row in np.asarray(values, dtype=float).tolist())
        return cls(name=name, labels=labels, column_labels=labels, values=rows)

    @property
    def n(self) -> int:
        return len(self.labels)

    def array(self) -> np.ndarray:
        return np.array(self.values, dtype=float)

    def value(self, row: str, column: str) -> float:
        return self.values[self.labels.index(row)][self.column_labels.index(column)]

    def cell_text(self, i: int, j: int) -> str:
        if self.texts is not None:
            return self.texts[i][j] or "(empty)"
        return format_judgment(self.values[i][j])

    @property
    def missing(self) -> tuple[tuple[str, str], ...]:
        """The judgments left out, once per pair: (row, column) with row before column in the file's order."""
        return tuple(
            (self.labels[i], self.column_labels[j])
            for i in range(len(self.values))
            for j in range(i + 1, len(self.values[i]))
            if math.isnan(self.values[i][j]) and j < len(self.values) and math.isnan(self.values[j][i])
        )

    def where(self, i: int) -> str:
        return f" (line {self.lines[i]})" if self.lines else ""

    def reordered(self, labels: tuple[str, ...] | list[str]) -> JudgmentMatrix:
        """The same judgments with rows and columns in the order of ``labels`` (same label set required)."""
        labels = tuple(labels)
        if sorted(labels) != sorted(self.labels) or self.labels != self.column_labels:
            raise MatrixError(
                f"{self.name}: labels {', '.join(self.labels)} cannot be put in order {', '.join(labels)}"
            )
        idx = [self.labels.index(x) for x in labels]
        return JudgmentMatrix(
            name=self.name,
            labels=labels,
            column_labels=labels,
            values=tuple(tuple(self.values[i][j] for j in idx) for i in idx),
            texts=None if self.texts is None else tuple(tuple(self.texts[i][j] for j in idx) for i in idx),
            lines=None if self.lines is None else tuple(self.lines[i] for i in idx),
            path=self.path,
        )


@dataclass(frozen=True)
class Defect:
    rule: str
    message: str
    severity: str = ERROR
    row: str | None = None
    column: str | None = None
    value: float | None = None
    mirror_value: float | None = None  # a(column, row), for reciprocity defects

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "mirror_value": self.mirror_value,
            "message": self.message,
        }


@dataclass(frozen=True)
class Revision:
    """A suggested change of one judgment (``transforms.scoring.repair``): set a(row, col) to ``suggested`` and its
    mirror a(col, row) to 1/suggested. ``cr_after`` is the CR that change gives (see the repair module for what it
    assumes); ``implied`` is the real-valued a(row, col) the other judgments imply, None when no other judgment links
    the two items."""

    row: str
    col: str
    current: float  # a(row, col) as given
    mirror: float  # a(col, row) as given
    suggested: float
    cr_after: float | None
    implied: float | None
    reason: str  # "reciprocity" (a non-reciprocal pair, repaired from the upper triangle) or "consistency"

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "col": self.col,
            "current": self.current,
            "mirror": self.mirror,
            "suggested": self.suggested,
            "suggested_text": format_judgment(self.suggested),
            "cr_after": self.cr_after,
            "implied": self.implied,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class AhpResult:
    """Weights and consistency of one comparison (a matrix, or the AIJ aggregate of several experts' matrices)."""

    name: str
    method: str
    labels: tuple[str, ...]
    weights: dict[str, float] | None  # None when the matrix is not usable (shape, labels, non-positive cells)
    lambda_max: float | None  # mean of (A·w)_i / w_i, as in the method document
    principal_eigenvalue: float | None  # eigenvector method only: the Perron root (equals λmax up to rounding)
    ci: float | None
    ri: float | None
    cr: float | None
    defects: tuple[Defect, ...] = ()
    experts: tuple[AhpResult, ...] = ()  # per-expert results when this is an aggregate
    path: str | None = None
    aggregation: str | None = None  # "AIJ geometric mean of N expert matrices"
    matrix: tuple[tuple[float, ...], ...] | None = field(default=None, repr=False)  # as given (NaN: missing)
    missing: tuple[tuple[str, str], ...] = ()  # judgments left out (row before column in the matrix's order)
    # the matrix the weights and CR were computed on: ``matrix`` with the missing cells filled by Harker's method
    # (complete_matrix); None when nothing is missing (then it is ``matrix``)
    completed: tuple[tuple[float, ...], ...] | None = field(default=None, repr=False)
    revisions: tuple[Revision, ...] = ()  # suggested judgment changes, best first (transforms.scoring.repair)

    @property
    def n(self) -> int:
        return len(self.labels)

    def implied(self, row: str, column: str) -> float | None:
        """The value the completed matrix gives a(row, column): w_row/w_column of Harker's weights for a missing
        judgment, the judgment itself for a given one; None when no weights were computed."""
        values = self.completed if self.completed is not None else self.matrix
        if values is None:
            return None
        return values[self.labels.index(row)][self.labels.index(column)]

    def missing_dicts(self) -> list[dict[str, Any]]:
        """Each missing judgment with the value the others imply (w_row/w_col) and its nearest Saaty value."""
        out = []
        for row, col in self.missing:
            implied = self.implied(row, col)
            out.append(
                {
                    "row": row,
                    "col": col,
                    "implied": implied,
                    "suggested": None if implied is None else nearest_saaty(implied),
                    "suggested_text": None if implied is None else format_judgment(nearest_saaty(implied)),
                }
            )
        return out

    @property
    def errors(self) -> list[Defect]:
        return [d for d in self.defects if d.severity == ERROR]

    @property
    def warnings(self) -> list[Defect]:
        return [d for d in self.defects if d.severity == WARNING]

    @property
    def valid(self) -> bool:
        return not self.errors and all(e.valid for e in self.experts)

    @property
    def verdict(self) -> str:
        if self.valid:
            cr = "CR = 0 (n <= 2)" if self.n <= 2 else f"CR = {self.cr:.3f} < {CR_LIMIT}"
            extra = f", {len(self.warnings)} warning(s)" if self.warnings else ""
            return f"accepted ({self.method}): {cr}{extra}"
        return f"REJECTED ({self.method}): " + "; ".join(self.problems())

    def problems(self) -> list[str]:
        """One short line per reason this comparison is invalid (naming matrices, cells and CRs)."""
        out = []
        for e in self.experts:
            if not e.valid:
                out.append(f"expert matrix {e.name}: " + "; ".join(e.problems()))
        for d in self.errors:
            if d.rule == EXPERTS:
                continue  # already listed per expert above
            out.append(d.message)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "matrix": self.name,
            "path": self.path,
            "method": self.method,
            "n": self.n,
            "labels": list(self.labels),
            "weights": self.weights,
            "lambda_max": self.lambda_max,
            "principal_eigenvalue": self.principal_eigenvalue,
            "ci": self.ci,
            "ri": self.ri,
            "cr": self.cr,
            "cr_limit": CR_LIMIT,
            "valid": self.valid,
            "verdict": self.verdict,
            "defects": [d.to_dict() for d in self.errors],
            "warnings": [d.to_dict() for d in self.warnings],
            "aggregation": self.aggregation,
            "experts": [e.to_dict() for e in self.experts],
            "missing": self.missing_dicts(),
            "revisions": [r.to_dict() for r in self.revisions],
        }


# ---- reading ------------------------------------------------------------------------------------------------


def parse_judgment(text: str) -> float:
    """``5``, ``1/3``, ``0.333``, ``1 / 7`` -> float. Raises ValueError for anything else."""
    cleaned = text.strip().replace(" ", "")
    if not cleaned:
        raise ValueError("empty cell")
    try:
        value = float(Fraction(cleaned)) if "/" in cleaned else float(cleaned)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{text.strip()!r} is not a number or fraction like 1/3") from None
    if not math.isfinite(value):
        raise ValueError(f"{text.strip()!r} is not a finite number")
    return value


def read_matrix(path: Path | str, name: str | None = None) -> JudgmentMatrix:
    """Read a judgment-matrix CSV. Raises MatrixError (file, line, column) when a cell cannot be read.
    An empty cell is a judgment left out: NaN in ``values``, "" in ``texts`` (validate_matrix decides whether the
    pattern of empty cells is allowed)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise MatrixError(f"{path}: cannot read judgment matrix ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise MatrixError(f"{path}: not UTF-8 ({exc})") from None
    name = name or str(path)
    numbered = [
        (no, line)
        for no, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not numbered:
        raise MatrixError(f"{path}: no header row (first non-comment line must list the column labels)")
    rows = list(csv.reader([line for _, line in numbered]))
    header_no, header = numbered[0][0], [c.strip() for c in rows[0]]
    column_labels = tuple(header[1:])
    if not column_labels:
        raise MatrixError(f"{path} line {header_no}: header has no column labels")
    _no_duplicates(path, header_no, "column", column_labels)

    labels, values, texts, lines = [], [], [], []
    for (line_no, _), cells in zip(numbered[1:], rows[1:], strict=True):
        cells = [c.strip() for c in cells]
        if len(cells) != len(column_labels) + 1:
            raise MatrixError(
                f"{path} line {line_no}: {len(cells) - 1} value(s) after the row label, "
                f"the header has {len(column_labels)} column(s)"
            )
        label = cells[0]
        if not label:
            raise MatrixError(f"{path} line {line_no}: the first column must hold the row label")
        row = []
        for column, cell in zip(column_labels, cells[1:], strict=True):
            if not cell:
                row.append(math.nan)  # left out
                continue
            try:
                row.append(parse_judgment(cell))
            except ValueError as exc:
                raise MatrixError(f"{path} line {line_no}: row {label}, column {column}: {exc}") from None
        labels.append(label)
        values.append(tuple(row))
        texts.append(tuple(cells[1:]))
        lines.append(line_no)
    if not labels:
        raise MatrixError(f"{path}: header but no matrix rows")
    _no_duplicates(path, lines[0], "row", labels)
    return JudgmentMatrix(
        name=name,
        labels=tuple(labels),
        column_labels=column_labels,
        values=tuple(values),
        texts=tuple(texts),
        lines=tuple(lines),
        path=path,
    )


def _no_duplicates(path: Path, line: int, kind: str, labels) -> None:
    seen = set()
    for label in labels:
        if label in seen:
            raise MatrixError(f"{path} line {line}: {kind} label {label} appears twice")
        seen.add(label)


# ---- validation ---------------------------------------------------------------------------------------------


def is_reciprocal(a_ij: float, a_ji: float) -> bool:
    """Whether a(i,j) and a(j,i) are reciprocal judgments: their product is 1 within :data:`RECIPROCITY_RTOL`."""
    return abs(a_ij * a_ji - 1) <= RECIPROCITY_RTOL


def validate_matrix(m: JudgmentMatrix) -> list[Defect]:
    """Every defect of the matrix: shape and labels, then each non-positive cell, then the pattern of empty cells
    (a pair with one cell empty, an empty diagonal, judgments that do not connect every item), then each diagonal,
    non-reciprocal and out-of-scale cell, by row and column label with both values. Out-of-scale cells are
    warnings, and so is a matrix with judgments left out (rule ``incomplete``, naming them)."""
    defects: list[Defect] = []
    rows, cols = len(m.values), len(m.column_labels)
    if rows != cols:
        defects.append(Defect(SHAPE, f"{m.name}: not square ({rows} rows x {cols} columns)"))
        return defects
    if m.labels != m.column_labels:
        defects.append(
            Defect(
                LABELS,
                f"{m.name}: row labels ({', '.join(m.labels)}) differ from column labels ({', '.join(m.column_labels)}); "
                "they must be the same, in the same order",
            )
        )
        return defects
    a, lab = m.values, m.labels
    empty = [[math.isnan(v) for v in row] for row in a]
    for i in range(rows):
        for j in range(cols):
            if not empty[i][j] and not (math.isfinite(a[i][j]) and a[i][j] > 0):
                defects.append(
                    Defect(
                        NOT_POSITIVE,
                        f"{m.name}{m.where(i)}: a({lab[i]},{lab[j]}) = {m.cell_text(i, j)} is not positive",
                        row=lab[i],
                        column=lab[j],
                        value=a[i][j],
                    )
                )
    if defects:
        return defects
    defects = _missing_defects(m, empty)
    if defects:
        return defects
    for i in range(rows):
        if abs(a[i][i] - 1) > DIAGONAL_ATOL:
            defects.append(
                Defect(
                    DIAGONAL,
                    f"{m.name}{m.where(i)}: diagonal a({lab[i]},{lab[i]}) = {m.cell_text(i, i)}, must be 1",
                    row=lab[i],
                    column=lab[i],
                    value=a[i][i],
                )
            )
    for i in range(rows):
        for j in range(i + 1, cols):
            if empty[i][j]:
                continue
            product = a[i][j] * a[j][i]
            if not is_reciprocal(a[i][j], a[j][i]):
                defects.append(
                    Defect(
                        RECIPROCITY,
                        f"{m.name}: not reciprocal: a({lab[i]},{lab[j]}) = {m.cell_text(i, j)}{m.where(i)} but "
                        f"a({lab[j]},{lab[i]}) = {m.cell_text(j, i)}{m.where(j)}; reciprocity needs "
                        f"a({lab[j]},{lab[i]}) = 1/a({lab[i]},{lab[j]}) = {format_judgment(1 / a[i][j])} "
                        f"(their product is {product:.4g}, not 1 within {RECIPROCITY_RTOL:.0%})",
                        row=lab[i],
                        column=lab[j],
                        value=a[i][j],
                        mirror_value=a[j][i],
                    )
                )
    for i in range(rows):
        for j in range(cols):
            v = a[i][j]
            if empty[i][j]:
                continue
            if i != j and not (SAATY_MIN * (1 - RECIPROCITY_RTOL) <= v <= SAATY_MAX * (1 + RECIPROCITY_RTOL)):
                defects.append(
                    Defect(
                        SAATY_RANGE,
                        f"{m.name}{m.where(i)}: a({lab[i]},{lab[j]}) = {m.cell_text(i, j)} is outside Saaty's scale 1/9…9",
                        severity=WARNING,
                        row=lab[i],
                        column=lab[j],
                        value=v,
                    )
                )
    if m.missing:
        cells = ", ".join(f"({r},{c})" for r, c in m.missing)
        defects.append(
            Defect(
                INCOMPLETE,
                f"{m.name}: {len(m.missing)} judgment(s) left out: {cells}; weights by Harker's method, "
                "CR on the completed matrix",
                severity=WARNING,
                row=m.missing[0][0],
                column=m.missing[0][1],
            )
        )
    return defects


def _missing_defects(m: JudgmentMatrix, empty: list[list[bool]]) -> list[Defect]:
    """The empty cells that are not allowed: an empty diagonal, a pair with only one cell empty, and a pattern of
    left-out judgments that no longer connects every item (then the weights are not determined)."""
    a, lab, n = m.values, m.labels, m.n
    defects = []
    for i in range(n):
        if empty[i][i]:
            defects.append(
                Defect(
                    MISSING,
                    f"{m.name}{m.where(i)}: diagonal a({lab[i]},{lab[i]}) is empty, must be 1",
                    row=lab[i],
                    column=lab[i],
                )
            )
    for i in range(n):
        for j in range(i + 1, n):
            if empty[i][j] != empty[j][i]:
                e, g = (i, j) if empty[i][j] else (j, i)
                defects.append(
                    Defect(
                        MISSING,
                        f"{m.name}{m.where(e)}: a({lab[e]},{lab[g]}) is empty but a({lab[g]},{lab[e]}) = "
                        f"{m.cell_text(g, e)}{m.where(g)}; leave both empty (a judgment left out) or give "
                        f"a({lab[e]},{lab[g]}) = {format_judgment(1 / a[g][e])}",
                        row=lab[e],
                        column=lab[g],
                        mirror_value=a[g][e],
                    )
                )
    if defects or not m.missing:
        return defects
    groups = _components([[not x for x in row] for row in empty])
    if len(groups) > 1:
        first, rest = groups[0], [k for g in groups[1:] for k in g]
        links = [(lab[i], lab[j]) for i in first for j in rest]
        shown = ", ".join(f"({r},{c})" for r, c in links[:12]) + (
            f" and {len(links) - 12} more" if len(links) > 12 else ""
        )
        parts = " | ".join("{" + ", ".join(lab[k] for k in g) + "}" for g in groups)
        defects.append(
            Defect(
                DISCONNECTED,
                f"{m.name}: the judgments given do not connect all items: {parts} are never compared with each "
                f"other, directly or through others, so their weights are not determined; give at least one of "
                f"the empty judgments {shown}",
                row=links[0][0],
                column=links[0][1],
            )
        )
    return defects


def _components(given: list[list[bool]]) -> list[list[int]]:
    """Connected components (item indices, in order) of the graph whose edges are the given judgments."""
    n, seen, groups = len(given), set(), []
    for start in range(n):
        if start in seen:
            continue
        group, stack = [], [start]
        seen.add(start)
        while stack:
            i = stack.pop()
            group.append(i)
            for j in range(n):
                if j not in seen and (given[i][j] or given[j][i]):
                    seen.add(j)
                    stack.append(j)
        groups.append(sorted(group))
    return groups


# ---- weights and consistency --------------------------------------------------------------------------------


def geometric_mean_weights(a: np.ndarray) -> np.ndarray:
    """The paper's method: n-th root of each row's product, normalised to sum 1 (computed in logs)."""
    a = np.asarray(a, dtype=float)
    g = np.exp(np.log(a).mean(axis=1))
    return g / g.sum()


def eigenvector_weights(a: np.ndarray) -> tuple[np.ndarray, float]:
    """Principal (Perron) eigenvector normalised to sum 1, and its eigenvalue, by power iteration.

    A positive matrix has a simple, strictly dominant positive eigenvalue (Perron–Frobenius), so the iteration
    converges from any positive start; starting from the geometric-mean vector it takes a handful of steps.
    Power iteration is used rather than a general eigen-solver so that the tests can check it against one."""
    a = np.asarray(a, dtype=float)
    w = geometric_mean_weights(a)
    best, since_best = math.inf, 0
    for _ in range(_EIG_MAX_ITER):
        v = a @ w
        lam = float(v.sum())  # = λ when w is the eigenvector (w sums to 1)
        v /= lam
        delta = float(np.max(np.abs(v - w)))
        if delta <= _EIG_TOL:
            return v, lam
        if delta < best:
            best, since_best = delta, 0
        else:
            since_best += 1
            if since_best >= 50 and best <= _EIG_STALL_TOL:  # only rounding noise left in the last digits
                return v, lam
        w = v
    raise ArithmeticError(f"power iteration did not converge in {_EIG_MAX_ITER} steps (last change {delta:.3g})")


def priority_weights(a: np.ndarray, method: str) -> tuple[np.ndarray, float | None]:
    """(weights, principal eigenvalue or None) for ``method`` in METHODS."""
    check_method(method)
    if method == "eigenvector":
        return eigenvector_weights(a)
    return geometric_mean_weights(a), None


def random_index(n: int, supplied: float | None = None) -> float:
    """RI for order n; n > 15 needs ``supplied`` (raises ValueError otherwise)."""
    if supplied is not None:
        if not (math.isfinite(supplied) and supplied > 0) and n > 2:
            raise ValueError(f"random index must be positive, got {supplied}")
        return float(supplied)
    if n in RANDOM_INDEX:
        return RANDOM_INDEX[n]
    raise ValueError(
        f"no random index for a {n}x{n} matrix: the table covers n = 1..{max(RANDOM_INDEX)}; supply one (ri = ...)"
    )


def consistency(a: np.ndarray, w: np.ndarray, ri: float) -> tuple[float, float, float]:
    """(λmax, CI, CR) as in the method document: λmax = mean_i (A·w)_i / w_i, CI = (λmax − n)/(n − 1),
    CR = CI / RI; for n <= 2 (RI = 0) CI and CR are 0 when the matrix is reciprocal."""
    a = np.asarray(a, dtype=float)
    n = a.shape[0]
    lambda_max = float(np.mean((a @ w) / w))
    ci = 0.0 if n == 1 else (lambda_max - n) / (n - 1)
    ci = 0.0 if abs(ci) < _ZERO else ci
    cr = 0.0 if ri == 0 else ci / ri
    cr = 0.0 if abs(cr) < _ZERO else cr
    return lambda_max, ci, cr


def weights_and_consistency(
    a: np.ndarray, method: str, ri: float
) -> tuple[np.ndarray, float | None, float, float, float, np.ndarray]:
    """(weights, principal eigenvalue or None, λmax, CI, CR, matrix used) of one matrix, NaN for judgments left out:
    an incomplete matrix is completed first (:func:`complete_matrix`, Harker) and everything is computed on the
    completed matrix, which is returned as the last item (``a`` itself when nothing is missing). What
    :func:`analyse` computes, without validation (the caller knows the matrix is usable)."""
    a = np.asarray(a, dtype=float)
    used = complete_matrix(a) if np.isnan(a).any() else a
    w, eigenvalue = priority_weights(used, method)
    lambda_max, ci, cr = consistency(used, w, ri)
    return w, eigenvalue, lambda_max, ci, cr, used


def comparisons_connected(given: np.ndarray) -> np.ndarray:
    """Whether the given judgments connect every item, for each matrix of a stack: ``given`` is a boolean array of
    shape (..., n, n), True where a(i,j) is given; the result has shape (...). Items i and j are linked when a(i,j)
    or a(j,i) is given; the weights of an incomplete matrix are determined exactly when the links connect all items.
    Vectorised: boolean reachability by repeated squaring (log2 n matrix products on the whole stack)."""
    given = np.asarray(given, dtype=bool)
    n = given.shape[-1]
    reach = (given | np.swapaxes(given, -1, -2) | np.eye(n, dtype=bool)).astype(float)
    for _ in range(max(1, math.ceil(math.log2(max(n, 2))))):
        reach = (reach @ reach > 0).astype(float)
    return reach[..., 0, :].all(axis=-1)


def complete_matrix(a: np.ndarray) -> np.ndarray:
    """Harker-completed matrices: ``a`` has shape (..., n, n), NaN for each judgment left out (both a(i,j) and
    a(j,i); the diagonal is given, 1). Returns the same shape with every missing a(i,j) set to w_i/w_j, where w is
    Harker's eigenvector; given cells, and matrices with nothing missing, are returned unchanged.

    Harker's method: B = A with the missing entries 0 and b_ii = a_ii + (number of missing entries in row i), i.e.
    1 + m_i; w is the principal (Perron) eigenvector of B. w is also the principal eigenvector of the completed
    matrix C, with the same eigenvalue: (C·w)_i = Σ_given a_ij w_j + Σ_missing (w_i/w_j) w_j = (B·w)_i. So the
    eigenvector method on C gives Harker's weights, and λmax, CI and CR of C are those of Harker's solution.

    Vectorised over the stack (the sensitivity analysis completes 10,000 draws at once), no loop over it: one
    batched power iteration (by repeated squaring of B) on the matrices that have missing cells, from the row
    geometric mean of their given judgments, with a batched eigen-solve for any that has not converged.
    Raises ValueError when a matrix cannot be completed: an empty diagonal, a pair with one cell empty, a given
    cell that is not positive, or judgments that do not connect every item (:func:`comparisons_connected`)."""
    a = np.array(a, dtype=float)  # a copy: the result
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"complete_matrix needs an array of shape (..., n, n), got {a.shape}")
    empty = np.isnan(a)
    if not empty.any():
        return a
    n = a.shape[-1]
    flat, flat_empty = a.reshape(-1, n, n), empty.reshape(-1, n, n)
    todo = np.flatnonzero(flat_empty.any(axis=(1, 2)))
    sub, gap = flat[todo], flat_empty[todo]
    diag = np.arange(n)
    given_values = np.where(gap, 1.0, sub)
    problems = [
        (gap[:, diag, diag].any(axis=1), "an empty diagonal cell"),
        ((gap != np.swapaxes(gap, 1, 2)).any(axis=(1, 2)), "a pair with only one of its two cells empty"),
        (~((given_values > 0) & np.isfinite(given_values)).all(axis=(1, 2)), "a given cell that is not positive"),
    ]
    for bad, what in problems:
        if bad.any():
            raise ValueError(f"cannot complete the matrix{_stack_index(todo[bad], a.shape[:-2])}: {what}")
    disconnected = ~comparisons_connected(~gap)
    if disconnected.any():
        raise ValueError(
            f"cannot complete the matrix{_stack_index(todo[disconnected], a.shape[:-2])}: the given judgments do not "
            "connect every item, so the weights are not determined"
        )
    b = np.where(gap, 0.0, sub)
    b[:, diag, diag] += gap.sum(axis=2)
    start = np.exp(np.log(given_values).sum(axis=2) / (n - gap.sum(axis=2)))  # geometric mean of the given
    w = _perron_stack(b, start / start.sum(axis=1, keepdims=True))
    flat[todo] = np.where(gap, w[:, :, None] / w[:, None, :], sub)
    return flat.reshape(a.shape)


def _stack_index(indices: np.ndarray, shape: tuple[int, ...]) -> str:
    """Which matrices of a stack, for an error message: " at (3,)", " at (0, 2) and 4 more"; "" for a single one."""
    if not shape:
        return ""
    shown = ", ".join(str(tuple(int(x) for x in np.unravel_index(k, shape))) for k in indices[:5])
    return " at " + shown + (f" and {len(indices) - 5} more" if len(indices) > 5 else "")


def _perron_stack(b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Principal eigenvectors (sum 1) of a stack (k, n, n) of non-negative irreducible matrices with a positive
    diagonal (hence primitive), from the positive start vectors ``w`` (k, n).

    Power iteration with repeated squaring: step s applies M = B^(2^s) (normalised), so s steps do 2^(s+1) - 1
    plain iterations. Harker's B of a sparse pattern has a second eigenvalue close to the first (a path of
    judgments: thousands of plain iterations), which a few dozen squarings cover. Every entry is non-negative, so
    the products have no cancellation and stay accurate to rounding. An eigen-solve takes any that has not
    converged after the last squaring."""
    m = b / b.sum(axis=(1, 2), keepdims=True)
    delta = np.full(len(w), np.inf)
    for _ in range(_HARKER_SQUARINGS):
        v = np.einsum("kij,kj->ki", m, w)
        v /= v.sum(axis=1, keepdims=True)
        delta = np.abs(v - w).max(axis=1)
        w = v
        if (delta <= _EIG_TOL).all():
            return w
        m = m @ m
        m /= m.sum(axis=(1, 2), keepdims=True)
    slow = delta > _EIG_STALL_TOL
    if slow.any():
        values, vectors = np.linalg.eig(b[slow])
        top = vectors[np.arange(int(slow.sum())), :, values.real.argmax(axis=1)].real
        w[slow] = top / top.sum(axis=1, keepdims=True)
    return w


def nearest_saaty(value: float) -> float:
    """The value of Saaty's scale (1/9 … 1 … 9) nearest to ``value`` as a ratio (in logs: 2.9 -> 3, 1/2.9 -> 1/3)."""
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"a judgment must be a positive number, got {value!r}")
    logs = np.log(np.array(SAATY_SCALE))
    return SAATY_SCALE[int(np.argmin(np.abs(logs - math.log(value))))]


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown AHP weighting method {method!r}: use one of {', '.join(METHODS)}")
    return method


def analyse(m: JudgmentMatrix, method: str = DEFAULT_METHOD, ri: float | None = None) -> AhpResult:
    """Validate ``m`` then compute weights, λmax, CI and CR. Never raises for a bad matrix: the result carries
    every defect and ``valid`` is False. An incomplete matrix (judgments left out, connected) is weighed by
    Harker's method and its CR computed on the completed matrix (module docstring, :func:`complete_matrix`)."""
    check_method(method)
    defects = validate_matrix(m)
    base = {"name": m.name, "method": method, "labels": m.labels, "path": str(m.path) if m.path else None}
    if any(d.rule in UNUSABLE for d in defects):
        return AhpResult(
            **base,
            weights=None,
            lambda_max=None,
            principal_eigenvalue=None,
            ci=None,
            ri=None,
            cr=None,
            defects=tuple(defects),
        )
    try:
        ri_value: float | None = random_index(m.n, ri)
    except ValueError as exc:
        ri_value = None
        defects.append(Defect(RANDOM_INDEX_MISSING, f"{m.name}: {exc}"))
    missing = m.missing
    w, eigenvalue, lambda_max, ci, cr, used = weights_and_consistency(
        m.array(), method, ri_value if ri_value is not None else float("nan")
    )
    if ri_value is None:
        cr = None
    elif cr >= CR_LIMIT:
        defects.append(
            Defect(
                CONSISTENCY,
                f"{m.name}: CR = {cr:.3f} >= {CR_LIMIT} ({method}: λmax = {lambda_max:.4f}, CI = {ci:.4f}, "
                f"RI({m.n}) = {ri_value:.2f}); the judgments must be revised",
                value=cr,
            )
        )
    return AhpResult(
        **base,
        weights={label: float(x) for label, x in zip(m.labels, w, strict=True)},
        lambda_max=lambda_max,
        principal_eigenvalue=eigenvalue,
        ci=ci,
        ri=ri_value,
        cr=cr,
        defects=tuple(defects),
        matrix=m.values,
        missing=missing,
        completed=tuple(tuple(float(x) for x in row) for row in used.tolist()) if missing else None,
    )


def aggregate_aij(matrices: list[JudgmentMatrix], name: str) -> JudgmentMatrix:
    """Aggregation of individual judgments: the cell-wise geometric mean of the experts' matrices (rows and columns
    put in the first matrix's order). The result is reciprocal when every input is. A judgment some experts left
    out is the geometric mean of those who gave it (it stays out only when nobody gave it)."""
    if not matrices:
        raise MatrixError(f"{name}: no expert matrices to aggregate")
    labels = matrices[0].labels
    ordered = []
    for m in matrices:
        if sorted(m.labels) != sorted(labels) or sorted(m.column_labels) != sorted(labels):
            raise MatrixError(
                f"{name}: expert matrix {m.name} compares {', '.join(m.labels)} but {matrices[0].name} compares "
                f"{', '.join(labels)}; experts must judge the same items"
            )
        ordered.append(m.reordered(labels))
    stack = np.stack([np.log(m.array()) for m in ordered])
    given = ~np.isnan(stack)
    if given.all():
        mean = np.exp(stack.mean(axis=0))
    else:
        count = given.sum(axis=0)
        mean = np.exp(np.where(given, stack, 0.0).sum(axis=0) / np.maximum(count, 1))
        mean[count == 0] = math.nan
    return JudgmentMatrix.from_values(labels, mean, name=name)


def analyse_experts(
    matrices: list[JudgmentMatrix], method: str = DEFAULT_METHOD, ri: float | None = None, name: str | None = None
) -> AhpResult:
    """Each expert's matrix analysed on its own, then their AIJ aggregate; the aggregate's weights are the ones
    used. Valid only when every expert matrix and the aggregate are valid."""
    if len(matrices) == 1:
        return analyse(matrices[0], method, ri)
    name = name or " + ".join(m.name for m in matrices)
    experts = tuple(analyse(m, method, ri) for m in matrices)
    aggregation = f"AIJ: cell-wise geometric mean of {len(matrices)} expert matrices"
    unusable = [e.name for e in experts if e.weights is None]

    def not_aggregated(defect: Defect) -> AhpResult:
        return AhpResult(
            name=name,
            method=method,
            labels=matrices[0].labels,
            weights=None,
            lambda_max=None,
            principal_eigenvalue=None,
            ci=None,
            ri=None,
            cr=None,
            experts=experts,
            aggregation=aggregation,
            defects=(defect,),
        )

    if unusable:
        return not_aggregated(
            Defect(EXPERTS, f"{name}: cannot aggregate, unusable expert matrix: {', '.join(unusable)}")
        )
    try:
        aggregate = aggregate_aij(list(matrices), name)
    except MatrixError as exc:
        return not_aggregated(Defect(LABELS, str(exc)))
    result = analyse(aggregate, method, ri)
    return dataclasses.replace(result, experts=experts, aggregation=aggregation)


def format_judgment(v: float) -> str:
    """1/3 for 0.333…, 5 for 5.0, else 4 significant digits."""
    if v > 0 and math.isfinite(v):
        if abs(v - round(v)) < 1e-9:
            return str(int(round(v)))
        inv = 1 / v
        if abs(inv - round(inv)) < 1e-9:
            return f"1/{int(round(inv))}"
    return f"{v:.4g}"


__all__ = [
    "AhpResult",
    "Defect",
    "JudgmentMatrix",
    "MatrixError",
    "METHODS",
    "DEFAULT_METHOD",
    "CR_LIMIT",
    "RANDOM_INDEX",
    "RECIPROCITY_RTOL",
    "MISSING",
    "DISCONNECTED",
    "INCOMPLETE",
    "SAATY_SCALE",
    "Revision",
    "aggregate_aij",
    "analyse",
    "comparisons_connected",
    "complete_matrix",
    "format_judgment",
    "nearest_saaty",
    "weights_and_consistency",
    "analyse_experts",
    "consistency",
    "eigenvector_weights",
    "is_reciprocal",
    "geometric_mean_weights",
    "parse_judgment",
    "priority_weights",
    "random_index",
    "read_matrix",
    "validate_matrix",
]
