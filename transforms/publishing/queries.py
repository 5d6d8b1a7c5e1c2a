"""The queries behind `riskcard scorecard show|diff`: which version, its rows, and what changed between two."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb


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
