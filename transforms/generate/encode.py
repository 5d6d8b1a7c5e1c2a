"""From the simulators' typed records to what a producer writes: text values or typed Arrow columns.

Typed records hold instants as int64 epoch milliseconds (UTC) and money as int64 cents; the contract decides which
column is which (``Column.kind``), so nothing here names a column. Text files carry ISO 8601 timestamps in three
styles mixed row by row (local time without an offset, local time with its offset, UTC with ``Z``), money with two
decimals as text and booleans as true/false. Parquet carries UTC timestamps, decimal128(18,2), bool and int64.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pyarrow as pa

from transforms.core.contract import CONTRACT, MONEY_PRECISION, MONEY_SCALE

NAIVE_LOCAL, WITH_OFFSET, UTC_Z = 0, 1, 2
# how often each producer writes each timestamp style (naive local, +hh:mm, Z)
STYLE_WEIGHTS = {
    "transactions": (0.70, 0.20, 0.10),
    "complaints": (0.50, 0.30, 0.20),
    "incidents": (0.20, 0.60, 0.20),
    "backups": (0.20, 0.20, 0.60),
}
# transaction systems stamp milliseconds; the others whole seconds
FRACTION = {"transactions": "%.3f"}
ARROW_TYPES = {
    "string": pa.string(),
    "enum": pa.string(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "decimal": pa.decimal128(MONEY_PRECISION, MONEY_SCALE),
    "bool": pa.bool_(),
    "int": pa.int64(),
}


def styles(source: str, n: int, rng: np.random.Generator) -> np.ndarray:
    weights = np.cumsum(STYLE_WEIGHTS[source])
    return np.searchsorted(weights / weights[-1], rng.random(n), side="right").astype(np.int8)


def text_frame(records: pl.DataFrame, source: str, style: np.ndarray, timezone: str) -> pl.DataFrame:
    """Contract columns as a producer's text: strings for timestamps and money, bool/int/str otherwise."""
    fraction = FRACTION.get(source, "")
    frame = records.with_columns(_style=pl.Series(style, dtype=pl.Int8))
    exprs = []
    for col in CONTRACT[source].columns:
        if col.kind == "timestamp":
            exprs.append(_timestamp_text(col.name, timezone, fraction))
        elif col.kind == "decimal":
            exprs.append(_money_text(col.name))
        else:
            exprs.append(pl.col(col.name))
    return frame.select(exprs)


def _timestamp_text(name: str, timezone: str, fraction: str) -> pl.Expr:
    utc = pl.col(name).cast(pl.Datetime("ms")).dt.replace_time_zone("UTC")
    local = utc.dt.convert_time_zone(timezone)
    base = f"%Y-%m-%dT%H:%M:%S{fraction}"
    return (
        pl.when(pl.col("_style") == NAIVE_LOCAL)
        .then(local.dt.to_string(base))
        .when(pl.col("_style") == WITH_OFFSET)
        .then(local.dt.to_string(base + "%:z"))
        .otherwise(utc.dt.to_string(base + "Z"))
        .alias(name)
    )


def _money_text(name: str) -> pl.Expr:
    cents = pl.col(name)
    return pl.format("{}.{}", cents // 100, (cents % 100).cast(pl.String).str.zfill(2)).alias(name)


def format_instant(ms: int, style: int, source: str, timezone: str) -> str:
    """One instant as text in a style, exactly as ``text_frame`` writes it (for hand-made bad values)."""
    utc = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    millis = f".{ms % 1000:03d}" if source in FRACTION else ""
    if style == UTC_Z:
        return utc.strftime("%Y-%m-%dT%H:%M:%S") + millis + "Z"
    local = utc.astimezone(ZoneInfo(timezone))
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + millis
    if style == WITH_OFFSET:
        offset = local.strftime("%z")
        text += f"{offset[:3]}:{offset[3:]}"
    return text


def arrow_table(records: pl.DataFrame, source: str) -> pa.Table:
    """Contract columns with their contract types (timestamps UTC-aware, money decimal128(18,2))."""
    exprs = []
    for col in CONTRACT[source].columns:
        c = pl.col(col.name)
        if col.kind == "timestamp":
            c = c.cast(pl.Datetime("ms")).dt.replace_time_zone("UTC").dt.cast_time_unit("us")
        elif col.kind == "decimal":
            c = (c.cast(pl.Decimal(MONEY_PRECISION, MONEY_SCALE)) / 100).cast(pl.Decimal(MONEY_PRECISION, MONEY_SCALE))
        exprs.append(c.alias(col.name))
    schema = pa.schema([pa.field(col.name, ARROW_TYPES[col.kind]) for col in CONTRACT[source].columns])
    return records.select(exprs).to_arrow().cast(schema)
