"""Contract enforcement on one batch, in Polars: every column typed, every broken rule found, bad rows explained.

Everything here is derived from ``transforms.core.contract`` (column kinds, enums, lower bounds, order rules, rule
names); no column name or enum value is written in this module.

A batch arrives as read (text columns as String, typed Parquet columns as their type) with personal columns
already hashed, and holds only the contract's columns (the caller drops the others, whose values never reach the
warehouse) and the readers' internal columns. It leaves split into good rows, typed for the raw table, and bad
rows, one quarantine record each: the first broken rule names the column and rule, the message lists every broken
rule of the row, and the raw record keeps the row's contract columns, each value cut to
``contract.QUARANTINE_VALUE_CHARS``.

Timestamps are also checked for plausibility: a value before ``plausible[0]`` or after ``plausible[1]`` breaks
``implausible_timestamp`` (a year-10000 instant, 1 BC, ...); a leap second (``:60``) is not a timestamp.

Speed comes from doing the exact work only where it is needed: each column is parsed with a fast expression for
the common shape (the timestamp layout of the column's first value, a plain decimal), and only the rows the fast
route could not parse go through the general one, which makes any accepted spelling canonical and then converts it
with the fast route's own conversion (see "typed values" below); rules are classified and messages written only
for bad rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from transforms.core import contract
from transforms.core.contract import Column, Source
from transforms.ingest.readers import DUPLICATE_KEY, NOT_TEXT, ROW_NUMBER

EXTRA = "_extra"
UTC = "UTC"
_MAX_INT_DIGITS = contract.MONEY_PRECISION - contract.MONEY_SCALE
_MONEY = pl.Decimal(contract.MONEY_PRECISION, contract.MONEY_SCALE)
_TS = pl.Datetime("us", UTC)
# ISO 8601 date-time: date, 'T' or a blank, hh:mm[:ss[.fraction]], optional Z or +hh[:mm] offset.
_ISO = (
    r"^(?P<date>\d{4}-\d{2}-\d{2})(?P<sep>[Tt ])(?P<hm>\d{2}:\d{2})(?P<sec>:\d{2})?(?P<frac>[.,]\d{1,9})?"
    r"(?P<blank>\s*)(?P<off>[Zz]|[+-]\d{2}(?::?\d{2})?)?$"
)
# A plain decimal number: sign, leading zeros, significant integer digits, optional fraction.
_DECIMAL = r"^[+-]?(?P<lead>0*)(?P<int>\d*)(?:\.(?P<frac>\d*))?$"
_PLAIN_MONEY = rf"^\d{{1,{_MAX_INT_DIGITS}}}(?:\.\d{{1,{contract.MONEY_SCALE}}})?$"  # the shape nearly all have
_INTEGER = r"^[+-]?\d+(?:\.0*)?$"
_SHOWN_CHARS = 80  # a value quoted in a message is cut to this length
_TIMESTAMP_SHAPES = 4  # timestamp shapes per column read by strptime before the general parser takes the rest
_BAD = "__bad__"


@dataclass(frozen=True)
class CheckedBatch:
    good: pl.DataFrame  # the contract's columns, typed, in contract order, then _extra (always null) and ROW_NUMBER
    bad: pl.DataFrame  # row_number, column_name, rule, message, raw_record (JSON text)


def missing_columns(source: Source, present: Iterable[str]) -> list[str]:
    """Contract columns absent from the file, in contract order."""
    have = set(present)
    return [name for name in source.column_names if name not in have]


def check_batch(
    frame: pl.DataFrame,
    source: Source,
    timezone: str,
    file_label: str,
    plausible: tuple[dt.datetime, dt.datetime] | None = None,
    *,
    fast_path: bool = True,
) -> CheckedBatch:
    """Type and check one batch. ``file_label`` (the file's landing path) starts every quarantine message;
    ``plausible`` (UTC instants) bounds every timestamp. ``fast_path=False`` reads every text value with the
    general route only: the same result, several times slower (the reference the fast route is tested against)."""
    outside = [c for c in frame.columns if c not in source.column_names and c not in _READER_COLUMNS]
    if outside:  # the caller drops them: values outside the contract never reach a quarantine record either
        raise ValueError(f"{file_label}: columns outside the contract reached the checks: {len(outside)}")
    for name in missing_columns(source, frame.columns):  # JSON Lines: a key absent from every line of the batch
        frame = frame.with_columns(pl.lit(None, pl.String).alias(name))
    for name in (DUPLICATE_KEY, NOT_TEXT):  # only JSON Lines has them
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(name))
    frame = frame.with_columns(_prepared(frame.schema[c.name], c) for c in source.columns)
    names = list(source.column_names)

    frame, values = _typed_values(frame, source, timezone, fast_path)
    frame = frame.hstack(values)
    flags = _broken_flags(source, plausible)
    frame = frame.with_columns(pl.any_horizontal(f.fill_null(False) for f in flags).alias(_BAD))
    good = frame.filter(~pl.col(_BAD)).select(
        *(pl.col(_value(c.name)).alias(c.name) for c in source.columns),
        pl.lit(None, pl.String).alias(EXTRA),
        ROW_NUMBER,
    )
    bad = _explain(frame.filter(pl.col(_BAD)), source, file_label, names, plausible)
    if good.height + bad.height != frame.height:  # rows in = loaded + quarantined, or the batch is not taken
        raise AssertionError(f"{file_label}: {frame.height} rows checked but {good.height} + {bad.height} kept")
    return CheckedBatch(good=good, bad=bad)


_READER_COLUMNS = (ROW_NUMBER, DUPLICATE_KEY, NOT_TEXT)


# ---- naming of the working columns ----------------------------------------------------------------------------


def _value(name: str) -> str:
    return f"__value__{name}"


def _rule(name: str) -> str:
    return f"__rule__{name}"


def _order(i: int) -> str:
    return f"__order__{i}"


# ---- preparing: native types stay, everything else becomes normalised text -------------------------------------


def _native(dtype: pl.DataType, column: Column) -> bool:
    """A typed (Parquet) column that can be taken without going through text."""
    kind = column.kind
    if kind == "timestamp":
        return isinstance(dtype, pl.Datetime)
    if kind == "decimal":
        return (
            isinstance(dtype, pl.Decimal)
            and dtype.scale <= contract.MONEY_SCALE
            and ((dtype.precision or 38) - dtype.scale <= _MAX_INT_DIGITS)
        )
    if kind == "int":
        return dtype.is_integer()
    if kind == "bool":
        return dtype == pl.Boolean
    return False


def _prepared(dtype: pl.DataType, column: Column) -> pl.Expr:
    """The column as the checks read it: native when typed right, else text.

    Identifiers and free text lose surrounding blanks here ('' and blank become null); other text columns are
    tidied the same way only in the rows their fast parser rejects (see ``_typed_values``), which spares a copy
    of every value in the common case.
    """
    col = pl.col(column.name)
    if _native(dtype, column):
        return col
    if isinstance(dtype, pl.Decimal):  # a finer scale than money: the type's trailing zeros are not digits
        text = col.cast(pl.String).str.replace(r"(\.\d*?)0+$", "${1}").str.strip_suffix(".")
    elif dtype == pl.Boolean:
        text = pl.when(col).then(pl.lit("true")).when(~col).then(pl.lit("false"))
    elif dtype != pl.String:
        text = col.cast(pl.String)
    else:
        text = col
    return (_tidy(text) if column.kind == "string" else text).alias(column.name)


def _tidy(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars().replace("", None)


# ---- typed values: one conversion per kind, reached by a fast route and a general one ----------------------------
#
# Each kind has one conversion from its canonical spelling to the stored value (``_instant``, ``_money``,
# ``_integer``, ``_boolean``, ``_member``). The fast route applies it to the text as read, guarded by a cheap test
# of the common shape (a timestamp in the layout of a sample value, a plain decimal); the general route first
# brings every spelling the contract accepts to the canonical one (on tidied text) and then applies the same
# conversion. Only the rows the fast route leaves null take the general one. So the routes can disagree only
# where the fast guard takes text the general one would read differently or not at all: ``check_batch(...,
# fast_path=False)`` takes the general route for every value, and tests/test_ingest_parsers.py checks that both give
# the same values, rules and messages, on random batches and on every text one character away from a common shape.

_STORED = {"timestamp": _TS, "decimal": _MONEY, "int": pl.Int64, "bool": pl.Boolean, "enum": pl.String}
_BOOL_SPELLINGS = {"1": "true", "0": "false"}  # besides true/false in any letter case


def _typed_values(
    frame: pl.DataFrame, source: Source, timezone: str, fast_path: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The frame (text tidied where it had to be) and one ``__value__<column>`` per contract column: the stored
    value, null where absent or unparseable."""
    schema = frame.schema
    general = [c for c in source.columns if _has_general_path(schema[c.name], c)]

    def first_route(c: Column) -> pl.Expr:
        if fast_path or c not in general:
            return _fast_value(frame, schema[c.name], c, timezone)
        return _nothing(_STORED[c.kind])  # every present value goes to the general route

    values = frame.select(first_route(c).alias(_value(c.name)) for c in source.columns)
    for c in general:
        if c.kind == "timestamp" and fast_path:  # producers mix a few layouts (local, +08:00, Z): a fast pass each
            values = _other_timestamp_layouts(frame.get_column(c.name), values, _value(c.name), timezone)
    if not general:
        return frame, values
    leftover = pl.any_horizontal(pl.col(c.name).is_not_null() & values[_value(c.name)].is_null() for c in general)
    rows = frame.select(leftover).to_series().arg_true()
    if rows.is_empty():
        return frame, values
    tidy = frame.select(_tidy(pl.col(c.name)) for c in general)[rows]
    slow = tidy.select(_general_value(c, timezone).alias(_value(c.name)) for c in general)
    frame = frame.with_columns(frame[c.name].scatter(rows, tidy[c.name]) for c in general)
    values = values.with_columns(values[_value(c.name)].scatter(rows, slow[_value(c.name)]) for c in general)
    return frame, values


def _other_timestamp_layouts(text: pl.Series, values: pl.DataFrame, name: str, timezone: str) -> pl.DataFrame:
    for _ in range(_TIMESTAMP_SHAPES - 1):
        rows = (text.is_not_null() & values[name].is_null()).arg_true()
        if rows.is_empty():
            break
        subset = text.gather(rows).to_frame("text")
        parsed = subset.select(_timestamp_in_layout(pl.col("text"), subset.item(0, 0), timezone)).to_series()
        if parsed.null_count() == parsed.len():
            break  # not a layout the fast pass reads: the general route takes the rest
        values = values.with_columns(values[name].scatter(rows, parsed))
    return values


def _has_general_path(dtype: pl.DataType, column: Column) -> bool:
    """Text columns whose fast route may reject a value the general one (after tidying) accepts."""
    return column.kind != "string" and not _native(dtype, column)


def _fast_value(frame: pl.DataFrame, dtype: pl.DataType, column: Column, timezone: str) -> pl.Expr:
    """The fast route: the kind's conversion on the value as read (native, or text in the common shape)."""
    col = pl.col(column.name)
    kind = column.kind
    native = _native(dtype, column)
    if kind == "timestamp":
        if native:
            if dtype.time_zone is None:  # a naive timestamp is the bank's local time, as in text
                col = _local_to_utc(col, timezone)
            return col.dt.convert_time_zone(UTC).cast(_TS)
        first = frame.get_column(column.name).drop_nulls().head(1).to_list()
        return _timestamp_in_layout(col, first[0] if first else None, timezone)
    if kind == "decimal":
        return _money(col) if native else pl.when(col.str.contains(_PLAIN_MONEY)).then(_money(col))
    if kind == "int":
        return _integer(col)
    if kind == "bool":
        return col if native else _boolean(col)
    if kind == "enum":
        return _member(col, column.enum)
    return col  # string


def _general_value(column: Column, timezone: str) -> pl.Expr:
    """The general route, on tidied text: any accepted spelling made canonical, then the fast route's conversion."""
    col = pl.col(column.name)
    kind = column.kind
    if kind == "timestamp":
        return _parse_timestamp(col, timezone)
    if kind == "decimal":
        return pl.when(_DecimalShape(col).valid).then(_money(col))
    if kind == "int":  # 12, +12, 12.0, 12. -> 12
        return _integer(pl.when(col.str.contains(_INTEGER)).then(col.str.replace(r"\.0*$", "")))
    if kind == "bool":  # TRUE, 1 -> true; False, 0 -> false
        return _boolean(col.str.to_lowercase().replace(_BOOL_SPELLINGS))
    return _member(col, column.enum)  # enum: tidying was all


def _nothing(dtype: pl.DataType) -> pl.Expr:
    """Null in every row (a bare literal would make a select of literals one row high)."""
    return pl.repeat(None, pl.len(), dtype=dtype)


# The conversions, from canonical text (anything else gives null).


def _money(text: pl.Expr) -> pl.Expr:
    return text.cast(_MONEY, strict=False)


def _integer(text: pl.Expr) -> pl.Expr:
    return text.cast(pl.Int64, strict=False)


def _boolean(text: pl.Expr) -> pl.Expr:
    return pl.when(text == "true").then(pl.lit(True)).when(text == "false").then(pl.lit(False))


def _member(text: pl.Expr, allowed: tuple[str, ...]) -> pl.Expr:
    return pl.when(text.is_in(allowed)).then(text)


def _instant(wall_clock: pl.Expr, sep: str, fraction: pl.Expr | None, width: int | None = None) -> pl.Expr:
    """Naive local date-time from ``wall_clock`` (``yyyy-mm-dd<sep>hh:mm:ss``) and ``fraction`` (the digits after
    the point; ``width`` of them in every row, else 1 to 9; digits beyond microseconds are dropped)."""
    local = wall_clock.str.to_datetime(f"%Y-%m-%d{sep}%H:%M:%S", strict=False, time_unit="us", cache=False)
    if fraction is None:
        return local
    if width is None:
        micros = fraction.str.slice(0, 6).str.pad_end(6, "0").cast(pl.UInt32, strict=False).cast(pl.Int64)
    else:
        micros = fraction.cast(pl.UInt32, strict=False).cast(pl.Int64) * 10 ** (6 - width)
    return local + pl.duration(microseconds=micros)


def _shifted(local: pl.Expr, offset_minutes: int | pl.Expr) -> pl.Expr:
    """A wall-clock time written with an offset (minutes east of UTC) as a UTC instant."""
    return (local - pl.duration(minutes=offset_minutes)).dt.replace_time_zone(UTC)


def _local_to_utc(naive: pl.Expr, timezone: str) -> pl.Expr:
    """A wall-clock time in the bank's zone as a UTC instant (a time skipped by a DST change is no time: null)."""
    return naive.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null").dt.convert_time_zone(UTC)


def _offset_minutes(offset: pl.Expr) -> pl.Expr:
    """Minutes east of UTC of an ISO 8601 offset as ``_ISO`` finds it (Z, +hh, +hhmm, +hh:mm); null when the hours
    or minutes are out of range."""
    off = offset.str.to_uppercase()
    hours = off.str.slice(1, 2).cast(pl.Int32, strict=False)
    minutes = off.str.replace(":", "", literal=True).str.slice(3, 2).cast(pl.Int32, strict=False).fill_null(0)
    sign = pl.when(off.str.starts_with("-")).then(-1).otherwise(1)
    return pl.when(off == "Z").then(0).when((hours <= 23) & (minutes <= 59)).then(sign * (hours * 60 + minutes))


def _iso_parts(text: pl.Expr) -> pl.Expr:
    """The ``_ISO`` groups of the text, as a struct (every field null when it is not ISO 8601)."""
    return text.str.extract_groups(_ISO)


def _parse_timestamp(text: pl.Expr, timezone: str) -> pl.Expr:
    """The general route: any ISO 8601 shape the contract accepts to a UTC instant (with an offset as given, else
    local time), by way of the canonical parts: ``yyyy-mm-ddThh:mm:ss`` (seconds :00 when not written), the
    fraction's digits, the offset."""
    field = _iso_parts(text).struct.field
    wall_clock = pl.concat_str(field("date"), pl.lit("T"), field("hm"), field("sec").fill_null(":00"))
    local = _instant(wall_clock, "T", field("frac").str.slice(1).fill_null("0"))
    off = field("off")
    value = pl.when(off.is_null()).then(_local_to_utc(local, timezone)).otherwise(_shifted(local, _offset_minutes(off)))
    leap_second = field("sec") == ":60"  # strptime would move it to the next minute: no stored type holds it
    return pl.when(leap_second.fill_null(False)).then(pl.lit(None, _TS)).otherwise(value).cast(_TS)


def _timestamp_in_layout(text: pl.Expr, sample: str | None, timezone: str) -> pl.Expr:
    """The fast route: the values laid out exactly like ``sample`` (its ``_ISO`` parts) to UTC instants; other
    layouts give null (and go to the next pass).

    One regular expression tells the values in the layout; the date and time of day are then read with a fixed
    strptime format, the fraction by position and the offset as the constant the sample carries: producers write
    one or a few layouts, each a quick pass.
    """
    parts = pl.select(_iso_parts(pl.lit(sample, pl.String).str.strip_chars())).item() if sample else None
    if parts is None or parts["date"] is None or not parts["sec"] or parts["blank"]:
        return _nothing(_TS)
    fraction, offset = parts["frac"] or "", parts["off"] or ""
    width = max(len(fraction) - 1, 0)
    minutes = pl.select(_offset_minutes(pl.lit(offset))).item() if offset else None
    if width > 6 or (offset and minutes is None):
        return _nothing(_TS)
    same_layout = text.str.contains(_layout_pattern(parts["sep"], fraction, offset))
    digits = text.str.slice(20, width) if fraction else None
    local = _instant(text.str.slice(0, 19), parts["sep"], digits, width)
    value = _shifted(local, minutes) if offset else _local_to_utc(local, timezone)
    return pl.when(same_layout).then(value).cast(_TS)


def _layout_pattern(sep: str, fraction: str, offset: str) -> str:
    """The layout of a fast pass as a regular expression (a part of ``_ISO``): ASCII digits where digits are due
    (strptime alone would take " 3" or "+3" for 03, and a signed year), seconds 00 to 59 (no leap second), and the
    sample's separator, fraction length and offset."""

    def literal(chars: str) -> str:
        return "".join(c if c.isalnum() else f"[{c}]" for c in chars)

    fraction_part = literal(fraction[0]) + f"[0-9]{{{len(fraction) - 1}}}" if fraction else ""
    return f"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}{literal(sep)}[0-9]{{2}}:[0-9]{{2}}:[0-5][0-9]{fraction_part}{literal(offset)}$"


class _DecimalShape:
    """What the text of a decimal looks like: a number at all, fits DECIMAL(18,2)'s integer digits, exact scale."""

    def __init__(self, text: pl.Expr):
        parts = text.str.extract_groups(_DECIMAL)
        lead = parts.struct.field("lead").str.len_bytes()
        int_digits = parts.struct.field("int").str.len_bytes()
        frac_digits = parts.struct.field("frac").str.len_bytes().fill_null(0)
        self.number = parts.struct.field("int").is_not_null() & (lead + int_digits + frac_digits > 0)
        self.fits = int_digits <= _MAX_INT_DIGITS
        self.exact = frac_digits <= contract.MONEY_SCALE
        self.valid = self.number & self.fits & self.exact


# ---- finding bad rows (cheap, every row) -----------------------------------------------------------------------


def _broken_flags(source: Source, plausible: tuple[dt.datetime, dt.datetime] | None) -> list[pl.Expr]:
    flags = [pl.col(DUPLICATE_KEY).is_not_null(), pl.col(NOT_TEXT).is_not_null()]
    for c in source.columns:
        col, value = pl.col(c.name), pl.col(_value(c.name))
        flags.append(col.is_not_null() & value.is_null())  # present but not parseable / not allowed
        if not c.nullable:
            flags.append(col.is_null())
        if c.min_value is not None:
            flags.append(value < c.min_value)
        if c.kind == "timestamp" and plausible is not None:
            flags.append(_implausible(value, plausible))
    for o in source.order_rules:
        flags.append(pl.col(_value(o.later)) < pl.col(_value(o.earlier)))
    return flags


# ---- explaining bad rows (exact, only the bad ones) ------------------------------------------------------------


_QUARANTINE_SCHEMA = {
    "row_number": pl.Int64,
    "column_name": pl.String,
    "rule": pl.String,
    "message": pl.String,
    "raw_record": pl.String,
}


def _implausible(value: pl.Expr, plausible: tuple[dt.datetime, dt.datetime]) -> pl.Expr:
    low, high = plausible
    return (value < pl.lit(low, _TS)) | (value > pl.lit(high, _TS))


def _explain(
    bad_rows: pl.DataFrame,
    source: Source,
    file_label: str,
    raw_names: list[str],
    plausible: tuple[dt.datetime, dt.datetime] | None,
) -> pl.DataFrame:
    if bad_rows.is_empty():  # the common case: skip building the explanation
        return pl.DataFrame(schema=_QUARANTINE_SCHEMA)
    rule_names = [_rule(c.name) for c in source.columns] + [_order(i) for i in range(len(source.order_rules))]
    line_rules = [
        pl.when(pl.col(DUPLICATE_KEY).is_not_null()).then(pl.lit(contract.RULE_DUPLICATE_KEY)),
        pl.when(pl.col(NOT_TEXT).is_not_null()).then(pl.lit(contract.RULE_TYPE)),
    ]
    return (
        bad_rows.lazy()
        .with_columns(_column_rule(bad_rows.schema[c.name], c, plausible).alias(_rule(c.name)) for c in source.columns)
        .with_columns(_order_rule(o).alias(_order(i)) for i, o in enumerate(source.order_rules))
        .select(
            pl.col(ROW_NUMBER).alias("row_number"),
            pl.coalesce(_cut(pl.col(DUPLICATE_KEY)), pl.col(NOT_TEXT), *_named_when_broken(source)).alias(
                "column_name"
            ),
            pl.coalesce(*line_rules, *(pl.col(r) for r in rule_names)).alias("rule"),
            _message(source, file_label, plausible).alias("message"),
            pl.struct(_recorded(name, bad_rows.schema[name]) for name in raw_names)
            .struct.json_encode()
            .alias("raw_record"),
        )
        .collect()
    )


def _cut(text: pl.Expr) -> pl.Expr:
    """Text cut to contract.QUARANTINE_VALUE_CHARS, with the marker when it was cut."""
    limit = contract.QUARANTINE_VALUE_CHARS
    return (
        pl.when(text.str.len_chars() > limit)
        .then(text.str.slice(0, limit) + pl.lit(contract.QUARANTINE_CUT_MARKER))
        .otherwise(text)
    )


def _recorded(name: str, dtype: pl.DataType) -> pl.Expr:
    """A contract column's value as the quarantine record keeps it: as read, long text cut."""
    return (_cut(pl.col(name)) if dtype == pl.String else pl.col(name)).alias(name)


def _column_rule(
    dtype: pl.DataType, column: Column, plausible: tuple[dt.datetime, dt.datetime] | None = None
) -> pl.Expr:
    """The first rule this column's value breaks, or null."""
    col, value = pl.col(column.name), pl.col(_value(column.name))
    present = col.is_not_null()
    rule = pl.when(~present).then(pl.lit(None if column.nullable else contract.RULE_REQUIRED, pl.String))
    unparsed = present & value.is_null()
    if column.kind == "decimal" and not _native(dtype, column):
        shape = _DecimalShape(col)
        rule = (
            rule.when(~shape.number | ~shape.fits)
            .then(pl.lit(contract.RULE_DECIMAL))
            .when(~shape.exact)
            .then(pl.lit(contract.RULE_DECIMAL_SCALE))
        )
    kind_rule = _KIND_RULE.get(column.kind)
    if kind_rule:
        rule = rule.when(unparsed).then(pl.lit(kind_rule))
    if column.kind == "timestamp" and plausible is not None:
        rule = rule.when(_implausible(value, plausible)).then(pl.lit(contract.RULE_IMPLAUSIBLE_TIMESTAMP))
    if column.min_value is not None:
        rule = rule.when(value < column.min_value).then(pl.lit(contract.RULE_NON_NEGATIVE))
    return rule.otherwise(pl.lit(None, pl.String))


_KIND_RULE = {
    "timestamp": contract.RULE_TIMESTAMP,
    "enum": contract.RULE_ENUM,
    "bool": contract.RULE_BOOL,
    "int": contract.RULE_INTEGER,
    "decimal": contract.RULE_DECIMAL,
}


def _rules_of(column: Column) -> tuple[str, ...]:
    """The value rules (besides required) a column of this kind can break."""
    rules = {
        "decimal": (contract.RULE_DECIMAL, contract.RULE_DECIMAL_SCALE),
        "timestamp": (contract.RULE_TIMESTAMP, contract.RULE_IMPLAUSIBLE_TIMESTAMP),
    }.get(column.kind) or ((_KIND_RULE[column.kind],) if column.kind in _KIND_RULE else ())
    return rules + ((contract.RULE_NON_NEGATIVE,) if column.min_value is not None else ())


def _order_rule(order: contract.OrderRule) -> pl.Expr:
    later, earlier = pl.col(_value(order.later)), pl.col(_value(order.earlier))
    return pl.when(later < earlier).then(pl.lit(contract.RULE_TIME_ORDER)).otherwise(pl.lit(None, pl.String))


def _named_when_broken(source: Source) -> list[pl.Expr]:
    names = [pl.when(pl.col(_rule(c.name)).is_not_null()).then(pl.lit(c.name)) for c in source.columns]
    names += [pl.when(pl.col(_order(i)).is_not_null()).then(pl.lit(o.later)) for i, o in enumerate(source.order_rules)]
    return names


def _shown(name: str) -> pl.Expr:
    text = pl.col(name).cast(pl.String)
    cut = (
        pl.when(text.str.len_chars() > _SHOWN_CHARS)
        .then(text.str.slice(0, _SHOWN_CHARS) + pl.lit("..."))
        .otherwise(text)
    )
    return pl.lit("'") + cut + pl.lit("'")


def _expectation(column: Column, rule: str, plausible: tuple[dt.datetime, dt.datetime] | None) -> str:
    name = column.name
    low, high = (f"{t.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}" for t in plausible) if plausible else ("", "")
    return {
        contract.RULE_TIMESTAMP: f"{name} must be an ISO 8601 timestamp (seconds 00 to 59)",
        contract.RULE_IMPLAUSIBLE_TIMESTAMP: (
            f"{name} must be between {low} (setting timestamp_min) and {high} (one day after ingestion)"
        ),
        contract.RULE_ENUM: f"{name} must be one of {', '.join(column.enum)}",
        contract.RULE_DECIMAL: f"{name} must be a plain decimal number with at most {_MAX_INT_DIGITS} integer digits",
        contract.RULE_DECIMAL_SCALE: f"{name} must have at most {contract.MONEY_SCALE} decimal places",
        contract.RULE_NON_NEGATIVE: f"{name} must be >= {column.min_value}",
        contract.RULE_BOOL: f"{name} must be true/false or 1/0",
        contract.RULE_INTEGER: f"{name} must be a whole number",
    }[rule]


def _column_fragment(column: Column, plausible: tuple[dt.datetime, dt.datetime] | None) -> pl.Expr:
    rule = pl.col(_rule(column.name))
    fragment = pl.when(rule == contract.RULE_REQUIRED).then(
        pl.lit(f"column {column.name} is empty: breaks {contract.RULE_REQUIRED} ({column.name} must have a value)")
    )
    for name in _rules_of(column):
        fragment = fragment.when(rule == name).then(
            pl.concat_str(
                pl.lit(f"column {column.name} = "),
                _shown(column.name),
                pl.lit(f" breaks {name} ({_expectation(column, name, plausible)})"),
            )
        )
    return fragment


def _line_fragments() -> list[pl.Expr]:
    repeated, not_text = pl.col(DUPLICATE_KEY), pl.col(NOT_TEXT)
    return [
        pl.when(repeated.is_not_null()).then(
            pl.concat_str(
                pl.lit("key "),
                _shown(DUPLICATE_KEY),
                pl.lit(f" appears more than once in the line: breaks {contract.RULE_DUPLICATE_KEY} "),
                pl.lit("(a JSON line must not repeat a key: which value counts would be ambiguous)"),
            )
        ),
        pl.when(not_text.is_not_null()).then(
            pl.concat_str(
                pl.lit("column "),
                not_text,
                pl.lit(f" is not a JSON string: breaks {contract.RULE_TYPE} ("),
                not_text,
                pl.lit(" must be a JSON string, not a number, boolean, list or object)"),
            )
        ),
    ]


def _order_fragment(i: int, order: contract.OrderRule) -> pl.Expr:
    return pl.when(pl.col(_order(i)).is_not_null()).then(
        pl.concat_str(
            pl.lit(f"column {order.later} = "),
            _shown(order.later),
            pl.lit(f" breaks {contract.RULE_TIME_ORDER} ({order.later} must not be before {order.earlier} = "),
            _shown(order.earlier),
            pl.lit(")"),
        )
    )


def _message(source: Source, file_label: str, plausible: tuple[dt.datetime, dt.datetime] | None) -> pl.Expr:
    fragments = _line_fragments() + [_column_fragment(c, plausible) for c in source.columns]
    fragments += [_order_fragment(i, o) for i, o in enumerate(source.order_rules)]
    return pl.concat_str(
        pl.lit(f"{file_label} row "),
        pl.col(ROW_NUMBER).cast(pl.String),
        pl.lit(": "),
        pl.concat_list(fragments).list.drop_nulls().list.join("; "),
    )
