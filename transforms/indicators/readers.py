"""Reading the leaf indicators back from the warehouse (marts.fct_leaf_indicators), in catalogue order.

The values are computed by the dbt models only (one place for each formula); this module just reads them for the
CLI, validation and publishing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

# The keys of one indicator row, in order: `riskcard indicators --format json|csv` prints exactly these.
INDICATOR_KEYS = (
    "indicator_id",
    "criterion_id",
    "value",
    "numerator",
    "denominator",
    "sample_size",
    "level",
    "status",
)
WINDOW_KEYS = ("window_start", "window_end")

_QUERY = f"""
    SELECT {", ".join(f"leaves.{k}" for k in INDICATOR_KEYS + WINDOW_KEYS)}
    FROM marts.fct_leaf_indicators AS leaves
    JOIN marts.dim_indicators AS indicators ON indicators.indicator_id = leaves.indicator_id
    JOIN marts.dim_criteria AS criteria ON criteria.criterion_id = leaves.criterion_id
    WHERE leaves.as_of_date = ?
    ORDER BY criteria.sort_order, indicators.sort_order
"""


def read_indicators(con: duckdb.DuckDBPyConnection, as_of: date) -> list[dict[str, Any]]:
    """The 30 leaf rows of one as-of date (empty when that date has not been built), criteria then leaves in
    catalogue order. Keys: INDICATOR_KEYS plus window_start/window_end (UTC instants)."""
    cursor = con.execute(_QUERY, [as_of])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def built_dates(con: duckdb.DuckDBPyConnection) -> list[date]:
    """The as-of dates that have indicator rows."""
    return [
        r[0]
        for r in con.execute("SELECT DISTINCT as_of_date FROM marts.fct_leaf_indicators ORDER BY as_of_date").fetchall()
    ]


__all__ = ["INDICATOR_KEYS", "WINDOW_KEYS", "built_dates", "read_indicators"]
