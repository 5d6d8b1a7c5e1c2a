"""The rows of one scorecard version: overall, each criterion, its leaves, from a synthesis and the leaf facts."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import duckdb

from transforms.core.warehouse import table_exists
from transforms.publishing.tables import GOAL_EN, GOAL_ZH, ROW_FIELDS


def leaf_facts(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> dict[str, dict[str, Any]]:
    if not table_exists(con, "marts", "fct_leaf_indicators"):
        return {}
    cur = con.execute(
        """
        SELECT indicator_id, value, numerator, denominator, sample_size, level, status
        FROM marts.fct_leaf_indicators WHERE as_of_date = ?
        """,
        [as_of],
    )
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def scorecard_rows(card, catalogue, leaves: dict[str, dict[str, Any]], band_of) -> list[dict[str, Any]]:
    """The rows of one version: overall, then each criterion followed by its leaves (catalogue order)."""
    rows: list[dict[str, Any]] = []

    def add(**fields: Any) -> None:
        row = dict.fromkeys(ROW_FIELDS)
        row.update(fields, row_order=len(rows))
        rows.append(row)

    add(
        row_type="overall",
        name_zh=GOAL_ZH,
        name_en=GOAL_EN,
        local_weight=1.0,
        global_weight=1.0,
        score=card.composite,
        band=card.rating,
        band_zh=card.rating_zh,
    )
    leaf_scores = {leaf.indicator_id: leaf for leaf in card.leaves}
    for crit in catalogue.criteria:
        c = card.criterion(crit.criterion_id)
        add(
            row_type="criterion",
            criterion_id=c.criterion_id,
            name_zh=crit.name_zh,
            name_en=crit.name_en,
            local_weight=c.weight,
            global_weight=c.weight,
            likelihood=c.likelihood,
            score=c.score,
            rank=c.rank,
            band=c.band,
            band_zh=c.band_zh,
            attention=c.attention,
            attention_zh=c.attention_zh,
        )
        for ind in catalogue.leaves_of(crit.criterion_id):
            leaf = leaf_scores[ind.indicator_id]
            fact = leaves.get(ind.indicator_id, {})
            band = band_of(leaf.level)
            add(
                row_type="leaf",
                criterion_id=crit.criterion_id,
                indicator_id=ind.indicator_id,
                name_zh=ind.name_zh,
                name_en=ind.name_en,
                unit=ind.unit,
                local_weight=leaf.local_weight,
                global_weight=leaf.global_weight,
                value=_num(fact.get("value")),
                numerator=_num(fact.get("numerator")),
                denominator=_num(fact.get("denominator")),
                sample_size=_int(fact.get("sample_size")),
                status=fact.get("status"),
                level=leaf.level,
                score=leaf.global_weight * leaf.level,
                band=band.name,
                band_zh=band.name_zh,
            )
    return rows


def _num(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    return None if value is None else int(value)
