"""The indicator dataset the ``indicators`` suite validates, read from the warehouse.

The frame is marts.fct_leaf_indicators for one as-of date with the catalogue's unit and criterion set beside
each row (``catalogue_unit``, ``catalogue_criterion_id``), so that unit-dependent bounds and the leaf's place in
the hierarchy can be checked by plain column expectations. A leaf id the catalogue does not know gets nulls
there (and fails ``leaf_ids_in_catalogue``). ``build_status`` is the status of the build that wrote the rows
(the latest ``ops.build_runs`` row covering the date; ``not recorded`` when there is none): only ``success``
passes ``built_by_a_successful_build``.

:func:`indicator_rows_hash` is the fingerprint that ties a validation (and a published version) to exactly the
rows it checked: sha256 of the canonical JSON of the date's rows (every column, ordered by indicator_id, floats
as Python's shortest exact repr: no rounding, any change at all is another hash).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import duckdb
import pandas as pd

from transforms.core.warehouse import table_exists
from transforms.indicators.readers import INDICATOR_KEYS as INDICATOR_COLUMNS  # one definition of an indicator row


def indicator_rows_hash(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> str | None:
    """sha256 of the as-of date's marts.fct_leaf_indicators rows (None: no mart); see the module docstring."""
    if not table_exists(con, "marts", "fct_leaf_indicators"):
        return None
    cur = con.execute("SELECT * FROM marts.fct_leaf_indicators WHERE as_of_date = ? ORDER BY ALL", [as_of])
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    canonical = json.dumps(rows, sort_keys=True, default=_plain, allow_nan=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def indicator_frame(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, catalogue, build: dict | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """(frame, notes): the as-of date's leaf rows; an empty frame and a note when the mart is missing.

    ``build``: the date's latest ops.build_runs row (its status goes in ``build_status``)."""
    notes: list[str] = []
    if table_exists(con, "marts", "fct_leaf_indicators"):
        frame = con.execute(
            f"""
            SELECT {", ".join(INDICATOR_COLUMNS)}
            FROM marts.fct_leaf_indicators
            WHERE as_of_date = ?
            ORDER BY indicator_id
            """,
            [as_of],
        ).df()
        if frame.empty:
            notes.append(f"marts.fct_leaf_indicators has no rows for {as_of}: run `riskcard build --as-of {as_of}`")
    else:
        notes.append("marts.fct_leaf_indicators does not exist: run `riskcard build` first")
        frame = pd.DataFrame({c: pd.Series(dtype="object") for c in INDICATOR_COLUMNS})
    for column in ("value", "numerator", "denominator", "sample_size", "level"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")  # NULL -> NaN
    known = {i.indicator_id: i for i in catalogue.indicators}
    frame["catalogue_unit"] = [known[i].unit if i in known else None for i in frame["indicator_id"]]
    frame["catalogue_criterion_id"] = [known[i].criterion_id if i in known else None for i in frame["indicator_id"]]
    frame["build_status"] = pd.Series([build["status"] if build else "not recorded"] * len(frame), dtype="object")
    return frame, notes
