"""The published scorecard's tables and views (their DDL, and the migration of older files).

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
so they work while a load holds the live warehouse (transforms.publishing.queries).
"""

from __future__ import annotations

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

# the sensitivity analysis stored with a version (transforms.scoring.sensitivity; rows by
# transforms.publishing.sensitivity): one run per version, its figures as rows
SENSITIVITY_RUN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("as_of_date", "DATE NOT NULL"),
    ("version", "INTEGER NOT NULL"),
    ("draws", "INTEGER NOT NULL"),
    ("seed", "BIGINT NOT NULL"),
    ("rejected", "BIGINT NOT NULL"),  # perturbed matrices redrawn because their CR was >= 0.1
    ("inputs", "VARCHAR NOT NULL"),  # JSON: which inputs moved and how much
    ("document", "VARCHAR NOT NULL"),  # JSON: the whole analysis, as `riskcard sensitivity --format json` prints it
    ("computed_at", "TIMESTAMPTZ NOT NULL"),
    ("seconds", "DOUBLE"),
)
SENSITIVITY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("as_of_date", "DATE NOT NULL"),
    ("version", "INTEGER NOT NULL"),
    ("row_order", "INTEGER NOT NULL"),
    ("row_type", "VARCHAR NOT NULL"),  # composite | criterion | index | leave_one_out
    ("criterion_id", "VARCHAR"),
    ("indicator_id", "VARCHAR"),  # leave_one_out: the leaf left out
    ("input_group", "VARCHAR"),  # index: judgments:criteria, judgments:u1 .. , method, thresholds
    ("label", "VARCHAR"),
    ("nominal", "DOUBLE"),  # composite, or the criterion's W×C score, as published
    ("p05", "DOUBLE"),
    ("p50", "DOUBLE"),
    ("p95", "DOUBLE"),
    ("mean", "DOUBLE"),
    ("nominal_rank", "INTEGER"),
    ("rank_p05", "DOUBLE"),
    ("rank_p50", "DOUBLE"),
    ("rank_p95", "DOUBLE"),
    ("rank_mean", "DOUBLE"),
    ("nominal_band", "VARCHAR"),  # the criterion's band, or the composite's rating
    ("band_probability", "VARCHAR"),  # JSON {band: p} (criterion: band; composite: rating)
    ("attention_probability", "VARCHAR"),  # JSON {attention label: p}
    ("first_order", "DOUBLE"),
    ("total_order", "DOUBLE"),
    ("composite_change", "DOUBLE"),  # leave_one_out: composite without the leaf − the published composite
    ("ranking_changed", "BOOLEAN"),
)


def _table_ddl(name: str, columns, key: str) -> str:
    body = ",\n".join(f"    {c} {t}" for c, t in columns)
    return f"CREATE TABLE IF NOT EXISTS {name} (\n{body},\n    PRIMARY KEY ({key})\n)"


TABLES_DDL = (
    "CREATE SCHEMA IF NOT EXISTS published",
    _table_ddl("published.scorecard_versions", VERSION_COLUMNS, "as_of_date, version"),
    _table_ddl("published.scorecard", SCORECARD_COLUMNS, "as_of_date, version, row_order"),
    _table_ddl("published.scorecard_sensitivity_runs", SENSITIVITY_RUN_COLUMNS, "as_of_date, version"),
    _table_ddl("published.scorecard_sensitivity", SENSITIVITY_COLUMNS, "as_of_date, version, row_order"),
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
