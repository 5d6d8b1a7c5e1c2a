"""The sensitivity analysis of a published version: computed, stored as rows, read back.

The analysis itself is :mod:`transforms.scoring.sensitivity`; this module gives it a version's leaves and
profile, stores the result with the version (``published.scorecard_sensitivity_runs`` holds the run and the whole
JSON document, ``published.scorecard_sensitivity`` its figures as rows for SQL; both in the same transaction as
the version, so a version is never without the analysis it was published with) and reads it back.

For SQL::

    SELECT criterion_id, nominal_rank, rank_p05, rank_p50, rank_p95, band_probability
    FROM published.scorecard_sensitivity
    WHERE as_of_date = DATE '2025-01-31' AND version = 1 AND row_type = 'criterion' ORDER BY row_order;
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import duckdb

from transforms.publishing.tables import SENSITIVITY_COLUMNS, SENSITIVITY_RUN_COLUMNS


def leaf_inputs(rows: list[dict[str, Any]]):
    """The scorecard's leaf rows (published.scorecard or the rows being published) -> the analysis's inputs."""
    from transforms.scoring.sensitivity import LeafInput

    return {
        r["indicator_id"]: LeafInput(r["indicator_id"], r["value"], r["status"], float(r["level"]))
        for r in rows
        if r["row_type"] == "leaf"
    }


def compute(catalogue, profile, rows: list[dict[str, Any]], draws: int, seed: int, perturb):
    """(document, seconds) for one scorecard's rows."""
    from transforms.scoring.sensitivity import analyse

    started = time.perf_counter()
    document = analyse(catalogue, profile, leaf_inputs(rows), draws, seed, perturb)
    return document, time.perf_counter() - started


def for_publish(settings, catalogue, profile, rows: list[dict[str, Any]]):
    """The analysis stored with a new version, by the settings (None when ``sensitivity_draws`` is 0)."""
    from transforms.scoring.sensitivity import Perturbations

    if settings.sensitivity_draws == 0:
        return None
    return compute(
        catalogue,
        profile,
        rows,
        settings.sensitivity_draws,
        settings.sensitivity_seed,
        Perturbations.from_settings(settings),
    )


def document_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The document's figures as rows of published.scorecard_sensitivity (without as_of_date / version)."""
    rows: list[dict[str, Any]] = []

    def add(**fields: Any) -> None:
        row = {name: None for name, _ in SENSITIVITY_COLUMNS if name not in ("as_of_date", "version")}
        row.update(fields, row_order=len(rows) + 1)
        rows.append(row)

    comp = document["composite"]
    add(row_type="composite", label="composite", nominal=comp["nominal"], p05=comp["p05"], p50=comp["p50"],
        p95=comp["p95"], mean=comp["mean"], nominal_band=comp["nominal_rating"],
        band_probability=json.dumps(comp["rating_probability"], ensure_ascii=False))  # fmt: skip
    for c in document["criteria"]:
        add(row_type="criterion", criterion_id=c["criterion_id"], nominal=c["nominal_score"], p05=c["score_p05"],
            p50=c["score_p50"], p95=c["score_p95"], nominal_rank=c["nominal_rank"], rank_p05=c["rank_p05"],
            rank_p50=c["rank_p50"], rank_p95=c["rank_p95"], rank_mean=c["rank_mean"], nominal_band=c["nominal_band"],
            band_probability=json.dumps(c["band_probability"], ensure_ascii=False),
            attention_probability=json.dumps(c["attention_probability"], ensure_ascii=False))  # fmt: skip
    for i in document["indices"]:
        add(row_type="index", input_group=i["group"], label=i["label"], first_order=i["first_order"],
            total_order=i["total"])  # fmt: skip
    for leaf in document["leave_one_out"]:
        add(row_type="leave_one_out", criterion_id=leaf["criterion_id"], indicator_id=leaf["indicator_id"],
            nominal=leaf["composite"], composite_change=leaf["change"], nominal_band=leaf.get("rating"),
            nominal_rank=leaf.get("criterion_rank"), ranking_changed=leaf.get("ranking_changed"),
            label=leaf.get("note"))  # fmt: skip
    return rows


def insert(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, version: int, document: dict[str, Any], seconds: float
) -> None:
    """Store a version's analysis (the caller holds the version's transaction)."""
    document = with_version(document, as_of, version)
    run = {
        "as_of_date": as_of,
        "version": version,
        "draws": document["draws"],
        "seed": document["seed"],
        "rejected": document["rejected"],
        "inputs": json.dumps(document["inputs"], sort_keys=True),
        "document": to_json(document),
        "computed_at": dt.datetime.now(dt.UTC),
        "seconds": seconds,
    }
    names = [c for c, _ in SENSITIVITY_RUN_COLUMNS]
    con.execute(
        f"INSERT INTO published.scorecard_sensitivity_runs ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        [run[c] for c in names],
    )
    columns = [c for c, _ in SENSITIVITY_COLUMNS]
    con.executemany(
        f"INSERT INTO published.scorecard_sensitivity ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [[as_of, version, *(row[c] for c in columns[2:])] for row in document_rows(document)],
    )


def with_version(document: dict[str, Any], as_of: dt.date, version: int) -> dict[str, Any]:
    """The document as stored and printed: the version it belongs to first."""
    return {"as_of_date": as_of.isoformat(), "version": version, **document}


def to_json(document: dict[str, Any]) -> str:
    """The one serialisation (stored and printed): the same document gives the same bytes."""
    return json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False)


def stored_document(con: duckdb.DuckDBPyConnection, as_of: dt.date, version: int) -> dict[str, Any] | None:
    """The analysis stored with a version, or None (published before the analysis existed, or with 0 draws)."""
    from transforms.core.warehouse import table_exists

    if not table_exists(con, "published", "scorecard_sensitivity_runs"):
        return None
    row = con.execute(
        "SELECT document FROM published.scorecard_sensitivity_runs WHERE as_of_date = ? AND version = ?",
        [as_of, version],
    ).fetchone()
    return None if row is None else json.loads(row[0])
