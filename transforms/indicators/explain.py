"""Drill-down from a leaf figure to the log records behind it (`riskcard explain`, and the committee report).

For an as-of date D and a leaf, :func:`explain` returns the leaf's row of ``marts.fct_leaf_indicators`` (value,
numerator, denominator or sample size, status, level, window) with the catalogue's names and formula, and the
records that make its numerator, newest first, so that an analyst can check the figure by hand. With ``version``,
the figures are those of that published version of D (``published.scorecard``) and the records those its build saw,
even when D has been rebuilt since.

One owner for every rule. This module knows no leaf's rule: the records come from the DuckDB table macros that the
dbt build defines in the schema ``drilldown`` (dbt_project/macros/drilldown.sql, models/drilldown/), rendered from
the same per-record macros the leaf models add up (dbt_project/macros/<family>_records.sql). A leaf's function
``drilldown.leaf_<id>(D, high_water)`` returns the record's key first, its own timestamp second (newest first orders
on the two), the columns worth checking and ``contribution`` last: the record's share of the numerator (1 for a
counted record, an amount or minutes for a sum; they add up to the numerator), or, for a median or percentile leaf,
the record's value in the sample (the records are the sample; their count is the sample size). The function's
comment says what its records are.

Any built date, not only the last one built: the functions read the raw change logs (through the staging views) and
the fraud index, not the intermediate tables a build keeps for its own dates only. They see the raw versions the
build of D saw: those ingested up to its ingest high water (``ops.build_runs``; a published version's own, from
``published.scorecard_versions``), so a file ingested since (which the mart has not seen either) never shows up in,
or changes, the drill-down. The reference data (vendor restore times, the system catalogue) and the settings are
read as they are now: a drill-down of a date built under other ones can differ from its figure.

Read-only: only SELECTs on the connection it is given. The committee report passes publish's own connection; the
CLI opens the live warehouse read-only (``transforms/cli/explain.py`` says how that shares the file with a load).
Customer ids are the raw logs' keyed hashes (ingestion replaces them before they reach DuckDB); no other personal
data is in the logs.
"""

from __future__ import annotations

import datetime as dt
import decimal
import weakref
from dataclasses import dataclass
from typing import Any

import duckdb

from transforms.indicators.build_runs import BUILD_SUCCESS, current_build
from transforms.indicators.catalogue import load_catalogue

DRILLDOWN_SCHEMA = "drilldown"
FACT_TABLE = "marts.fct_leaf_indicators"
DEFAULT_ROWS = 20
# A warehouse whose builds were never recorded (dbt run by hand): every raw version ingested so far counts.
_NO_HIGH_WATER = 2**62


class ExplainError(LookupError):
    """The drill-down cannot be given: the message names the indicator or date and what to do."""


class UnknownIndicator(ExplainError):
    """Not an indicator id of the catalogue; ``valid_ids`` lists the catalogue's, in its order."""

    def __init__(self, indicator_id: str, valid_ids: list[str]):
        super().__init__(f"unknown indicator id {indicator_id!r}; valid ids: {', '.join(valid_ids)}")
        self.indicator_id = indicator_id
        self.valid_ids = valid_ids


class NotBuilt(ExplainError):
    """The as-of date has no leaf indicators in this warehouse (never built, or not the warehouse)."""


@dataclass(frozen=True)
class Explanation:
    indicator_id: str
    criterion_id: str
    name_en: str
    name_zh: str
    unit: str
    kind: str  # ratio | count | median | percentile (the catalogue's)
    formula: str  # the catalogue's KRI (kri_en)
    numerator: float | None
    denominator: float | None
    value: float | None
    status: str
    level: float | None
    window_start: dt.datetime  # UTC instants, half-open
    window_end: dt.datetime
    columns: tuple[str, ...]  # the record columns, in order (``contribution`` last)
    records: list[dict]  # the first N contributing records, newest first
    total_records: int  # how many contribute in all
    # beyond the committee report's minimum: what the figure was built from, and what a record is
    as_of_date: dt.date | None = None
    sample_size: int | None = None  # median / percentile leaves: the sample's size (= total_records)
    records_are: str = ""  # what one record is and what its contribution holds (the dbt function's comment)
    build_id: str | None = None  # the build whose mart row and raw versions these are (ops.build_runs)
    ingest_high_water: int | None = None  # the raw versions read: _ingest_seq up to this
    version: int | None = None  # the published version whose figures these are (None: the mart's current row)

    @property
    def listed(self) -> int:
        return len(self.records)

    def to_dict(self) -> dict:
        """JSON-ready: dates and instants as ISO text, amounts (DECIMAL) as numbers, records in column order."""
        return {
            "indicator_id": self.indicator_id,
            "criterion_id": self.criterion_id,
            "name_en": self.name_en,
            "name_zh": self.name_zh,
            "unit": self.unit,
            "kind": self.kind,
            "formula": self.formula,
            "as_of_date": _plain(self.as_of_date),
            "value": self.value,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "sample_size": self.sample_size,
            "status": self.status,
            "level": self.level,
            "window_start": _plain(self.window_start),
            "window_end": _plain(self.window_end),
            "version": self.version,
            "build_id": self.build_id,
            "ingest_high_water": self.ingest_high_water,
            "records_are": self.records_are,
            "columns": list(self.columns),
            "total_records": self.total_records,
            "listed_records": self.listed,
            "records": [{c: _plain(r.get(c)) for c in self.columns} for r in self.records],
        }


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def explain(
    con: duckdb.DuckDBPyConnection,
    settings,
    as_of: dt.date,
    indicator_id: str,
    rows: int = DEFAULT_ROWS,
    version: int | None = None,
) -> Explanation:
    """The drill-down of one leaf of one as-of date on an open connection to the warehouse (read-only use).

    ``rows``: how many records to return (newest first); ``total_records`` counts them all. ``version``: explain
    that published version of D (its figures, its build's raw versions) instead of the mart's current row.
    Raises UnknownIndicator (listing the valid ids), NotBuilt (no leaf rows, or no such published version, for the
    date) or ExplainError (the date's latest build failed, or the warehouse has no drill-down functions yet).
    """
    if rows < 0:
        raise ValueError(f"rows must not be negative, got {rows}")
    catalogue = load_catalogue(settings)
    wanted = indicator_id.strip().upper()
    try:
        leaf = catalogue.indicator(wanted)
    except KeyError:
        raise UnknownIndicator(indicator_id, catalogue.indicator_ids) from None
    with _utc_session(con):
        if version is None:
            row = _leaf_row(con, as_of, leaf.indicator_id)
            build = current_build(con, as_of)
            if build is not None and build["status"] != BUILD_SUCCESS:
                raise ExplainError(
                    f"the latest build of {as_of} ({build['build_id']}) is {build['status']}: its indicator rows "
                    f"are not to be trusted; run `riskcard build --as-of {as_of}` again"
                )
            build_id = None if build is None else build["build_id"]
            high_water = None if build is None else int(build["ingest_high_water"])
        else:
            row = _published_row(con, as_of, version, leaf.indicator_id)
            build_id, high_water = row["build_id"], row["ingest_high_water"]
        function = f"{DRILLDOWN_SCHEMA}.leaf_{leaf.indicator_id.lower()}"
        comment = _function_comment(con, leaf.indicator_id, function)
        read_up_to = _NO_HIGH_WATER if high_water is None else high_water
        columns, records, total = _records(con, function, as_of, read_up_to, rows)
    return Explanation(
        indicator_id=leaf.indicator_id,
        criterion_id=leaf.criterion_id,
        name_en=leaf.name_en,
        name_zh=leaf.name_zh,
        unit=leaf.unit,
        kind=leaf.kind,
        formula=leaf.kri_en,
        numerator=row["numerator"],
        denominator=row["denominator"],
        value=row["value"],
        status=row["status"],
        level=row["level"],
        window_start=row["window_start"],
        window_end=row["window_end"],
        columns=columns,
        records=records,
        total_records=total,
        as_of_date=as_of,
        sample_size=row["sample_size"],
        records_are=comment,
        build_id=build_id,
        ingest_high_water=high_water,
        version=version,
    )


class _utc_session:
    """The drill-down compares instants and adds days as dbt does, in a UTC session (dbt_project/profiles.yml):
    set it for the call when the caller's connection is in another zone, and put the caller's back after."""

    def __init__(self, con):
        self.con = con
        self.previous = None

    def __enter__(self):
        (zone,) = self.con.execute("SELECT current_setting('TimeZone')").fetchone()
        if zone != "UTC":
            self.previous = zone
            self.con.execute("SET TimeZone = 'UTC'")
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            self.con.execute(f"SET TimeZone = '{self.previous}'")
        return False


def _leaf_row(con, as_of: dt.date, indicator_id: str) -> dict[str, Any]:
    try:
        cur = con.execute(
            f"SELECT value, numerator, denominator, sample_size, level, status, window_start, window_end "
            f"FROM {FACT_TABLE} WHERE as_of_date = ? AND indicator_id = ?",
            [as_of, indicator_id],
        )
    except duckdb.CatalogException:
        raise NotBuilt(
            f"no leaf indicators for {as_of}: this database has no {FACT_TABLE} (explain reads the warehouse, "
            "where the raw change logs are, not the serving copy); run `riskcard build` first"
        ) from None
    found = cur.fetchall()
    if not found:
        (first, last, dates) = con.execute(
            f"SELECT min(as_of_date), max(as_of_date), count(DISTINCT as_of_date) FROM {FACT_TABLE}"
        ).fetchone()
        built = f"built: {dates} date(s), {first} .. {last}" if dates else "nothing has been built yet"
        raise NotBuilt(f"no leaf indicators for {as_of} ({built}); run `riskcard build --as-of {as_of}` first")
    return dict(zip([d[0] for d in cur.description], found[0], strict=True))


def _published_row(con, as_of: dt.date, version: int, indicator_id: str) -> dict[str, Any]:
    try:
        cur = con.execute(
            "SELECT leaf.value, leaf.numerator, leaf.denominator, leaf.sample_size, leaf.level, leaf.status, "
            "versions.window_start, versions.window_end, versions.build_id, versions.ingest_high_water "
            "FROM published.scorecard_versions AS versions "
            "JOIN published.scorecard AS leaf ON leaf.as_of_date = versions.as_of_date "
            "AND leaf.version = versions.version AND leaf.row_type = 'leaf' AND leaf.indicator_id = ? "
            "WHERE versions.as_of_date = ? AND versions.version = ?",
            [indicator_id, as_of, version],
        )
    except duckdb.CatalogException:
        raise NotBuilt(f"no published version {version} of {as_of}: nothing has been published here") from None
    found = cur.fetchall()
    if not found:
        versions = [
            v for (v,) in con.execute(
                "SELECT version FROM published.scorecard_versions WHERE as_of_date = ? ORDER BY version", [as_of]
            ).fetchall()
        ]  # fmt: skip
        known = f"published versions of {as_of}: {', '.join(map(str, versions))}" if versions else "none published"
        raise NotBuilt(f"no published version {version} of {as_of} ({known})")
    row = dict(zip([d[0] for d in cur.description], found[0], strict=True))
    if row["ingest_high_water"] is None:
        raise ExplainError(
            f"version {version} of {as_of} was published before versions recorded their build's ingest high water: "
            "its raw versions cannot be told apart; explain the date without a version"
        )
    return row


# the drill-down functions' comments, read once per connection: duckdb_functions() lists every function DuckDB
# knows (about 30 ms a call), and a report explains 30 leaves on one connection
_COMMENTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _function_comment(con, indicator_id: str, function: str) -> str:
    schema, name = function.split(".")
    comments = _COMMENTS.get(con)
    if comments is None or (schema, name) not in comments:
        comments = {
            (s, n): c or ""
            for s, n, c in con.execute(
                "SELECT schema_name, function_name, comment FROM duckdb_functions() "
                "WHERE schema_name = ? AND function_type = 'table_macro'",
                [schema],
            ).fetchall()
        }
        _COMMENTS[con] = comments
    if (schema, name) not in comments:
        raise ExplainError(
            f"this warehouse has no drill-down of {indicator_id} ({function}): the dbt build defines it; run "
            "`riskcard build` (any date) once"
        )
    return comments[(schema, name)]


def _records(con, function: str, as_of: dt.date, high_water: int, rows: int):
    """(columns, the first `rows` records newest first, how many in all): one evaluation of the function."""
    source = f"{function}(?, ?)"
    if rows == 0:
        cur = con.execute(f"SELECT * FROM {source} LIMIT 0", [as_of, high_water])
        columns = tuple(d[0] for d in cur.description)
        (total,) = con.execute(f"SELECT count(*) FROM {source}", [as_of, high_water]).fetchone()
        return columns, [], int(total)
    # the function's first column is the record's key, its second the record's own timestamp (newest first)
    cur = con.execute(
        f"SELECT *, count(*) OVER () AS __total FROM {source} ORDER BY 2 DESC NULLS LAST, 1 DESC LIMIT ?",
        [as_of, high_water, rows],
    )
    names = [d[0] for d in cur.description]
    fetched = cur.fetchall()
    columns = tuple(names[:-1])
    records = [dict(zip(columns, r[:-1], strict=True)) for r in fetched]
    total = int(fetched[0][-1]) if fetched else 0
    return columns, records, total


__all__ = [
    "DEFAULT_ROWS",
    "DRILLDOWN_SCHEMA",
    "ExplainError",
    "Explanation",
    "NotBuilt",
    "UnknownIndicator",
    "explain",
]
