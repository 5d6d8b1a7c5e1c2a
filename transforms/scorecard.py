"""The published scorecard: its tables and views, and the queries behind `riskcard scorecard show|diff`.

Tables (append-only; rows are never updated or deleted):

- ``published.scorecard_versions``: one row per (as_of_date, version) with what produced it — profile name,
  content hash, AHP method and override flag, catalogue hash, the digest of the ingested files that fed it, the
  code version, and the content hash of its scorecard rows.
- ``published.scorecard``: per version one ``overall`` row (score = composite, band = rating), one ``criterion``
  row per criterion (local_weight = global_weight = W, likelihood = C, score = W x C, rank, band, attention) and
  one ``leaf`` row per indicator (local and global weight, value with numerator/denominator/sample size, status,
  level, score = global weight x level, band of the level). ``row_order`` nests leaves under their criterion.

Views: ``published.scorecard_history`` (every version's rows with the version's metadata and ``is_latest``)
and ``published.scorecard_latest`` (the latest version of each as-of date). The serving copy exposes the same
names (plus ``published.scorecard_snapshots`` over the Parquet snapshots); show and diff read the serving copy,
so they work while a load holds the live warehouse.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

GOAL_ZH = "网络银行风险评价"
GOAL_EN = "online-banking risk evaluation"

VERSION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("as_of_date", "DATE NOT NULL"),
    ("version", "INTEGER NOT NULL"),
    ("published_at", "TIMESTAMPTZ NOT NULL"),
    ("run_id", "VARCHAR NOT NULL"),
    ("validation_run_id", "VARCHAR"),
    ("profile_name", "VARCHAR NOT NULL"),
    ("profile_hash", "VARCHAR NOT NULL"),
    ("ahp_method", "VARCHAR NOT NULL"),
    ("profile_override", "BOOLEAN NOT NULL"),
    ("catalogue_hash", "VARCHAR NOT NULL"),
    ("input_digest", "VARCHAR NOT NULL"),
    ("input_files", "INTEGER NOT NULL"),
    ("code_version", "VARCHAR NOT NULL"),
    ("content_hash", "VARCHAR NOT NULL"),
    ("composite", "DOUBLE NOT NULL"),
    ("rating", "VARCHAR NOT NULL"),
    ("rating_zh", "VARCHAR"),
    ("window_start", "TIMESTAMPTZ"),
    ("window_end", "TIMESTAMPTZ"),
    ("forced", "BOOLEAN NOT NULL"),
    ("snapshot_path", "VARCHAR"),
    # the proof (added later: nullable, appended by ALTER TABLE to warehouses that predate them)
    ("build_id", "VARCHAR"),  # the ops.build_runs row that wrote the leaf rows
    ("ingest_high_water", "BIGINT"),  # the largest raw.ingested_files.ingest_seq that build read
    ("indicator_rows_hash", "VARCHAR"),  # sha256 of the mart rows validated and used (= the validation's)
    ("failed_files_cleared", "VARCHAR"),  # JSON: failed files of the window acknowledged or superseded
)
# columns added after the first release: ensure_published_tables adds them to an older file
ADDED_VERSION_COLUMNS = ("build_id", "ingest_high_water", "indicator_rows_hash", "failed_files_cleared")

SCORECARD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("as_of_date", "DATE NOT NULL"),
    ("version", "INTEGER NOT NULL"),
    ("row_order", "INTEGER NOT NULL"),
    ("row_type", "VARCHAR NOT NULL"),  # overall | criterion | leaf
    ("criterion_id", "VARCHAR"),
    ("indicator_id", "VARCHAR"),
    ("name_zh", "VARCHAR"),
    ("name_en", "VARCHAR"),
    ("unit", "VARCHAR"),
    ("local_weight", "DOUBLE"),
    ("global_weight", "DOUBLE"),
    ("value", "DOUBLE"),
    ("numerator", "DOUBLE"),
    ("denominator", "DOUBLE"),
    ("sample_size", "BIGINT"),
    ("status", "VARCHAR"),
    ("level", "DOUBLE"),
    ("likelihood", "DOUBLE"),
    ("score", "DOUBLE"),
    ("rank", "INTEGER"),
    ("band", "VARCHAR"),
    ("band_zh", "VARCHAR"),
    ("attention", "VARCHAR"),
    ("attention_zh", "VARCHAR"),
)
ROW_FIELDS = tuple(name for name, _ in SCORECARD_COLUMNS if name not in ("as_of_date", "version"))


def _table_ddl(name: str, columns, key: str) -> str:
    body = ",\n".join(f"    {c} {t}" for c, t in columns)
    return f"CREATE TABLE IF NOT EXISTS {name} (\n{body},\n    PRIMARY KEY ({key})\n)"


TABLES_DDL = (
    "CREATE SCHEMA IF NOT EXISTS published",
    _table_ddl("published.scorecard_versions", VERSION_COLUMNS, "as_of_date, version"),
    _table_ddl("published.scorecard", SCORECARD_COLUMNS, "as_of_date, version, row_order"),
)

VIEWS_DDL = (
    """
    CREATE OR REPLACE VIEW published.scorecard_history AS
    WITH latest_version AS (
        SELECT as_of_date, max(version) AS version FROM published.scorecard_versions GROUP BY as_of_date
    )
    SELECT
        s.*,
        v.published_at, v.profile_name, v.ahp_method, v.profile_override, v.content_hash, v.input_digest,
        v.code_version,
        (s.version = l.version) AS is_latest
    FROM published.scorecard AS s
    JOIN published.scorecard_versions AS v USING (as_of_date, version)
    JOIN latest_version AS l USING (as_of_date)
    """,
    """
    CREATE OR REPLACE VIEW published.scorecard_latest AS
    SELECT * EXCLUDE (is_latest) FROM published.scorecard_history WHERE is_latest
    """,
)


def ensure_published_tables(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in TABLES_DDL:
        con.execute(ddl)
    types = dict(VERSION_COLUMNS)
    for column in ADDED_VERSION_COLUMNS:
        con.execute(f"ALTER TABLE published.scorecard_versions ADD COLUMN IF NOT EXISTS {column} {types[column]}")
    for ddl in VIEWS_DDL:
        con.execute(ddl)


class NotPublished(LookupError):
    """The requested as-of date / version has not been published."""


# ---- show -------------------------------------------------------------------------------------------------------


def resolve_version(con: duckdb.DuckDBPyConnection, as_of: dt.date | None, version: int | None) -> tuple[dt.date, int]:
    """(as_of_date, version): defaults to the newest as-of date and its latest version."""
    if as_of is None:
        if version is not None:
            raise ValueError("--version needs --as-of")
        row = con.execute("SELECT max(as_of_date) FROM published.scorecard_versions").fetchone()
        if row is None or row[0] is None:
            raise NotPublished("nothing has been published yet: run `riskcard publish --as-of D`")
        as_of = row[0]
    if version is None:
        row = con.execute(
            "SELECT max(version) FROM published.scorecard_versions WHERE as_of_date = ?", [as_of]
        ).fetchone()
        if row is None or row[0] is None:
            raise NotPublished(f"no scorecard has been published for {as_of}")
        return as_of, int(row[0])
    row = con.execute(
        "SELECT count(*) FROM published.scorecard_versions WHERE as_of_date = ? AND version = ?", [as_of, version]
    ).fetchone()
    if not row or not row[0]:
        raise NotPublished(f"version {version} of {as_of} has not been published")
    return as_of, version


def load_version(con: duckdb.DuckDBPyConnection, as_of: dt.date, version: int) -> dict[str, Any]:
    """A published version: its metadata (``info``) and its rows by type."""
    cur = con.execute(
        "SELECT * FROM published.scorecard_versions WHERE as_of_date = ? AND version = ?", [as_of, version]
    )
    info_row = cur.fetchone()
    if info_row is None:
        raise NotPublished(f"version {version} of {as_of} has not been published")
    info = dict(zip([d[0] for d in cur.description], info_row, strict=True))
    cur = con.execute(
        "SELECT * FROM published.scorecard WHERE as_of_date = ? AND version = ? ORDER BY row_order", [as_of, version]
    )
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return {
        "info": info,
        "overall": next(r for r in rows if r["row_type"] == "overall"),
        "criteria": [r for r in rows if r["row_type"] == "criterion"],
        "leaves": [r for r in rows if r["row_type"] == "leaf"],
    }


def show(con: duckdb.DuckDBPyConnection, as_of: dt.date | None = None, version: int | None = None) -> dict[str, Any]:
    """The JSON of `riskcard scorecard show` (keys fixed by the issue)."""
    as_of, version = resolve_version(con, as_of, version)
    card = load_version(con, as_of, version)
    return show_payload(card)


def show_payload(card: dict[str, Any]) -> dict[str, Any]:
    info = card["info"]
    return {
        "version": info["version"],
        "as_of_date": info["as_of_date"].isoformat(),
        "profile": info["profile_name"],
        "composite": info["composite"],
        "rating": info["rating"],
        "criteria": [
            {
                "criterion_id": c["criterion_id"],
                "weight": c["global_weight"],
                "likelihood": c["likelihood"],
                "score": c["score"],
                "rank": c["rank"],
                "band": c["band"],
                "attention": c["attention"],
            }
            for c in card["criteria"]
        ],
        "leaves": [
            {
                "indicator_id": leaf["indicator_id"],
                "local_weight": leaf["local_weight"],
                "global_weight": leaf["global_weight"],
                "value": leaf["value"],
                "level": leaf["level"],
                "status": leaf["status"],
            }
            for leaf in card["leaves"]
        ],
    }


# ---- diff -------------------------------------------------------------------------------------------------------


def resolve_against(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, version: int, against: str | None
) -> tuple[dt.date, int]:
    """What to compare (as_of, version) with.

    ``against`` may be a version number of the same date, or an as-of date (its latest version). By default:
    the previous version of the same date, else the latest version of the newest earlier published date.
    """
    if against:
        text = against.strip()
        if text.isdigit():
            return resolve_version(con, as_of, int(text))
        try:
            other = dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"--against {against!r} is neither a version number nor a date (YYYY-MM-DD)") from None
        return resolve_version(con, other, None)
    if version > 1:
        return as_of, version - 1
    row = con.execute(
        "SELECT max(as_of_date) FROM published.scorecard_versions WHERE as_of_date < ?", [as_of]
    ).fetchone()
    if row is None or row[0] is None:
        raise NotPublished(f"nothing to compare {as_of} version {version} with: it is the first published scorecard")
    return resolve_version(con, row[0], None)


def diff(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, against: str | None = None, version: int | None = None
) -> dict[str, Any]:
    """What moved between two published versions: composite and rating, criteria whose rank or band changed,
    leaves whose level changed (with values before and after)."""
    as_of, version = resolve_version(con, as_of, version)
    base_date, base_version = resolve_against(con, as_of, version, against)
    after = load_version(con, as_of, version)
    before = load_version(con, base_date, base_version)
    comp_before, comp_after = before["info"]["composite"], after["info"]["composite"]

    crit_before = {c["criterion_id"]: c for c in before["criteria"]}
    criteria = []
    for c in after["criteria"]:
        b = crit_before.get(c["criterion_id"])
        if b is None or b["rank"] != c["rank"] or b["band"] != c["band"]:
            criteria.append(
                {
                    "criterion_id": c["criterion_id"],
                    "name_en": c["name_en"],
                    "rank_before": b["rank"] if b else None,
                    "rank_after": c["rank"],
                    "band_before": b["band"] if b else None,
                    "band_after": c["band"],
                    "likelihood_before": b["likelihood"] if b else None,
                    "likelihood_after": c["likelihood"],
                    "score_before": b["score"] if b else None,
                    "score_after": c["score"],
                }
            )

    leaf_before = {leaf["indicator_id"]: leaf for leaf in before["leaves"]}
    leaves = []
    for leaf in after["leaves"]:
        b = leaf_before.get(leaf["indicator_id"])
        if b is None or b["level"] != leaf["level"]:
            leaves.append(
                {
                    "indicator_id": leaf["indicator_id"],
                    "criterion_id": leaf["criterion_id"],
                    "name_en": leaf["name_en"],
                    "level_before": b["level"] if b else None,
                    "level_after": leaf["level"],
                    "value_before": b["value"] if b else None,
                    "value_after": leaf["value"],
                    "status_before": b["status"] if b else None,
                    "status_after": leaf["status"],
                    "unit": leaf["unit"],
                }
            )
    return {
        "as_of_date": as_of.isoformat(),
        "version": version,
        "against": {"as_of_date": base_date.isoformat(), "version": base_version},
        "composite": {"before": comp_before, "after": comp_after, "change": comp_after - comp_before},
        "rating": {
            "before": before["info"]["rating"],
            "after": after["info"]["rating"],
            "changed": before["info"]["rating"] != after["info"]["rating"],
        },
        "profile": {"before": before["info"]["profile_name"], "after": after["info"]["profile_name"]},
        "criteria": criteria,
        "leaves": leaves,
    }
