"""``--bad-rows``: replace a fraction of the rows of text files with rows that break exactly one contract rule.

Which rules apply to a source, and in which columns, is derived from the contract (``transforms.core.contract``): a
missing key and other missing required values, unparseable timestamps, unknown enum values, non-decimal money, money
with three decimals, negative amounts and sizes, non-boolean flags, non-whole sizes, and the time-order rules.
Columns that take part in a time-order rule are never blanked or garbled, so the order rule is never left undecided
and each bad row breaks exactly the one rule reported. Every rule that applies to a source is injected at least once
(early in the run) whatever the rate; after that the rate decides.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from transforms.core.contract import (
    CONTRACT,
    ROW_RULES,
    RULE_BOOL,
    RULE_DECIMAL,
    RULE_DECIMAL_SCALE,
    RULE_ENUM,
    RULE_INTEGER,
    RULE_NON_NEGATIVE,
    RULE_REQUIRED,
    RULE_TIME_ORDER,
    RULE_TIMESTAMP,
)
from transforms.generate.clock import MS_PER_MINUTE
from transforms.generate.encode import format_instant

# values a careless producer might send, none of them a contract value in any spelling
BAD_ENUM_VALUES = {
    "channel": ("fax", "atm_kiosk", "telegram"),
    "txn_type": ("lottery", "crypto_purchase"),
    "status": ("pending", "processing", "timeout"),
    "failure_reason": ("timeout", "card_expired"),
    "auth_method": ("face_id_v2", "pin"),
    "category": ("billing", "account_closure"),
    "resolution": ("escalated", "in_progress"),
    "system": ("mainframe", "crm"),
    "cause": ("cosmic_ray", "human"),
    "severity": ("catastrophic", "sev1"),
    "backup_type": ("differential", "snapshot"),
}
BAD_BOOLS = ("maybe", "unknown", "2", "yes please")


@dataclass(frozen=True)
class Injection:
    row: int  # 0-based data row in the file
    column: str
    rule: str
    value: str | None  # the bad raw text as it appears in the file (None: null / empty)
    json_value: Any  # the JSON value written in a .jsonl file


def rule_columns(source: str) -> dict[str, tuple[str, ...]]:
    """The columns each row rule can be broken in, for one source (rules that do not apply are left out)."""
    src = CONTRACT[source]
    ordered = {r.later for r in src.order_rules} | {r.earlier for r in src.order_rules}
    plain = [c for c in src.columns if c.name not in ordered]
    candidates = {
        RULE_REQUIRED: [src.key] + [c.name for c in plain if not c.nullable and c.name != src.key],
        RULE_TIMESTAMP: [c.name for c in plain if c.kind == "timestamp"],
        RULE_ENUM: [c.name for c in src.columns if c.kind == "enum"],
        RULE_DECIMAL: [c.name for c in src.columns if c.kind == "decimal"],
        RULE_DECIMAL_SCALE: [c.name for c in src.columns if c.kind == "decimal"],
        RULE_NON_NEGATIVE: [c.name for c in src.columns if c.kind in ("decimal", "int") and c.min_value is not None],
        RULE_BOOL: [c.name for c in src.columns if c.kind == "bool"],
        RULE_INTEGER: [c.name for c in src.columns if c.kind == "int"],
        RULE_TIME_ORDER: [r.later for r in src.order_rules],
    }
    return {rule: tuple(cols) for rule, cols in candidates.items() if cols and rule in ROW_RULES}


def coverage_targets(source: str) -> list[tuple[str, tuple[str, ...]]]:
    """What every run must inject at least once per source: each applicable rule in some column, a missing key,
    and each time-order rule separately (detected_at and resolved_at are two rules of incidents). Rules that need
    particular rows (a closed complaint, an amount that is there) come first, so they are taken when they can be."""
    targets = []
    for rule, columns in sorted(rule_columns(source).items(), key=lambda item: -ROW_RULES.index(item[0])):
        if rule == RULE_TIME_ORDER:
            targets += [(rule, (column,)) for column in columns]
        elif rule == RULE_REQUIRED:
            targets.append((rule, (CONTRACT[source].key,)))
        else:
            targets.append((rule, columns))
    return targets


class BadRowInjector:
    """Decides, file by file, which rows to break and how; remembers what it did for the report."""

    def __init__(self, rate: float, timezone: str):
        self.rate, self.timezone = rate, timezone
        self.rules = {s: rule_columns(s) for s in CONTRACT}
        self.uncovered = {s: coverage_targets(s) for s in CONTRACT}
        self.report: list[dict] = []

    def plan(
        self,
        source: str,
        records: pl.DataFrame,
        text: pl.DataFrame,
        style: np.ndarray,
        kind: str,
        rng: np.random.Generator,
    ) -> list[Injection]:
        """Bad rows for one file of ``kind`` (jsonl or csv) holding ``records`` (typed) written as ``text``."""
        n = text.height
        if n == 0 or self.rate <= 0:
            return []
        count = int(rng.binomial(n, self.rate))
        if self.uncovered[source]:
            count = max(count, min(len(self.uncovered[source]), max(2, n // 4)))
        used: set[int] = set()
        out = []
        for _ in range(min(count, n - 1)):  # one good row stays, so a bad row never makes a day look stale
            injection = self._one(source, records, text, style, kind, used, rng)
            if injection is not None:
                used.add(injection.row)
                out.append(injection)
        return sorted(out, key=lambda i: i.row)

    def record(self, source: str, file: str, injections: list[Injection]) -> None:
        for i in injections:
            self.report.append(
                {"source": source, "file": file, "row": i.row + 1, "column": i.column, "rule": i.rule, "value": i.value}
            )

    # ---- one bad row ----------------------------------------------------------------------------------------

    def _one(self, source, records, text, style, kind, used, rng) -> Injection | None:
        rules = self.rules[source]
        anything = [(str(r), rules[str(r)]) for r in rng.permutation(list(rules))]
        for target in self.uncovered[source] + anything:
            rule, columns = target
            for column in rng.permutation(list(columns)):
                row = self._pick_row(source, rule, str(column), text, used, rng)
                if row is None:
                    continue
                value, json_value = self._bad_value(source, rule, str(column), row, records, text, style, kind, rng)
                if target in self.uncovered[source]:
                    self.uncovered[source].remove(target)
                return Injection(row, str(column), rule, value, json_value)
        return None

    def _pick_row(self, source, rule, column, text, used, rng) -> int | None:
        """A random row not yet used where ``column`` (and, for an order rule, its earlier column) has a value."""
        needed = [text[column]]
        if rule == RULE_TIME_ORDER:
            needed.append(text[next(r.earlier for r in CONTRACT[source].order_rules if r.later == column)])
        for _ in range(32):  # most rows qualify: try a few at random before scanning the file
            row = int(rng.integers(0, text.height))
            if row not in used and all(values[row] is not None for values in needed):
                return row
        ok = np.logical_and.reduce([values.is_not_null().to_numpy() for values in needed])
        rows = np.setdiff1d(np.flatnonzero(ok), np.fromiter(used, dtype=np.int64, count=len(used)))
        return int(rows[rng.integers(0, rows.size)]) if rows.size else None

    def _bad_value(self, source, rule, column, row, records, text, style, kind, rng) -> tuple[str | None, Any]:
        original = text[column][row]
        pick = int(rng.integers(0, 3))
        if rule == RULE_REQUIRED:  # JSON null or an empty string; CSV has only the empty field (read as null)
            return ("", "") if pick == 0 and kind == "jsonl" else (None, None)
        if rule == RULE_TIMESTAMP:
            value = str(original)
            garbled = (value[:5] + "13" + value[7:], value[:8] + "32" + value[10:], value[:11] + "25" + value[13:])
            return _text(garbled[pick])
        if rule == RULE_ENUM:
            choices = BAD_ENUM_VALUES.get(column, ("not_a_value",))
            return _text(choices[pick % len(choices)])
        if rule == RULE_DECIMAL:
            return _text((f"{original} CNY", str(original).replace(".", ","), "twelve")[pick])
        if rule == RULE_DECIMAL_SCALE:
            return _text(f"{original}{int(rng.integers(1, 10))}")
        if rule == RULE_NON_NEGATIVE:
            kind = CONTRACT[source].column(column).kind
            if kind == "int":
                value = -max(int(original), 1)
                return str(value), value
            return _text(f"-{original}" if original != "0.00" else "-1.00")
        if rule == RULE_BOOL:
            value = BAD_BOOLS[int(rng.integers(0, len(BAD_BOOLS)))]
            return (value, 2) if value == "2" else _text(value)
        if rule == RULE_INTEGER:
            if pick:
                number = int(original) + 0.5
                return json.dumps(number), number
            return _text(f"{original}KB")
        if rule == RULE_TIME_ORDER:
            earlier = next(r.earlier for r in CONTRACT[source].order_rules if r.later == column)
            before = int(records[earlier][row]) - int(rng.integers(1, 180)) * MS_PER_MINUTE
            return _text(format_instant(before, int(style[row]), source, self.timezone))
        raise ValueError(f"no bad value for rule {rule}")


def _text(value: str) -> tuple[str, str]:
    return value, value


# ---- writing the bad rows into a serialised file ------------------------------------------------------------


def apply_to_jsonl(data: bytes, text: pl.DataFrame, injections: list[Injection]) -> bytes:
    if not injections:
        return data
    lines = data.split(b"\n")  # one record per line, the last element is the empty tail
    for i in injections:
        record = text.row(i.row, named=True)
        record[i.column] = i.json_value
        lines[i.row] = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
    return b"\n".join(lines)


def apply_to_csv(data: bytes, text: pl.DataFrame, injections: list[Injection]) -> bytes:
    if not injections:
        return data
    lines = data.split(b"\n")  # line 0 is the header
    for i in injections:
        record = text.row(i.row, named=True)
        record[i.column] = i.value
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow([_csv_cell(v) for v in record.values()])
        lines[i.row + 1] = buf.getvalue().encode()
    return b"\n".join(lines)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
