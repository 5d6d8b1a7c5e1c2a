"""`riskcard scorecard show|diff`: read published scorecards from the serving copy (works during a load).

    riskcard scorecard show [--as-of D] [--version N] [--format table|json]
    riskcard scorecard diff --as-of D [--version N] [--against DATE_OR_VERSION] [--format table|json]
    riskcard scorecard check [--as-of D] [--format table|json]

show: the latest version of the newest date by default. diff: what moved between version N (default: latest)
of D and ``--against`` (a version number of D, or a date: its latest version; default: the previous version of
D, else the latest version of the newest earlier date). check: every published version (of D, or of every
date) has its Parquet snapshot matching its manifest; exit 1 naming each one that is missing or does not match
(`riskcard publish --as-of D` writes the missing ones of D).
"""

from __future__ import annotations

import sys

from transforms.cli.arguments import add_format_option, iso_date
from transforms.core.rendering import table, to_json

HELP = "show a published scorecard, diff two versions, or check their snapshots (reads the serving copy)"


def add_arguments(parser) -> None:
    parser.add_argument(
        "action", choices=["show", "diff", "check"], help="show a version, diff two versions, check the snapshots"
    )
    parser.add_argument("--as-of", type=iso_date, metavar="D", help="as-of date (show: default newest)")
    parser.add_argument("--version", type=int, metavar="N", help="version of the as-of date (default: latest)")
    parser.add_argument("--against", metavar="DATE_OR_VERSION", help="diff: compare with this version or date")
    add_format_option(parser)


def run(args, settings) -> int:
    import duckdb

    from transforms.core.warehouse import connect_serving
    from transforms.publishing.queries import NotPublished, diff, load_version, resolve_version, show_payload

    if args.action == "diff" and args.as_of is None:
        print("riskcard scorecard diff: --as-of is required", file=sys.stderr)
        return 2
    if args.action == "show" and args.against:
        print("riskcard scorecard show: --against belongs to diff", file=sys.stderr)
        return 2
    try:
        con = connect_serving(settings)
    except (FileNotFoundError, duckdb.Error) as exc:
        print(f"riskcard scorecard: {exc}", file=sys.stderr)
        return 1
    try:
        if args.action == "check":
            return run_check(args, settings, con)
        if args.action == "show":
            as_of, version = resolve_version(con, args.as_of, args.version)
            card = load_version(con, as_of, version)
            print(to_json(show_payload(card)) if args.format == "json" else render_show(card))
        else:
            changes = diff(con, args.as_of, args.against, args.version)
            print(to_json(changes) if args.format == "json" else render_diff(changes))
    except (NotPublished, ValueError) as exc:
        print(f"riskcard scorecard: {exc}", file=sys.stderr)
        return 1
    finally:
        con.close()
    return 0


def run_check(args, settings, con) -> int:
    from transforms.publishing.snapshots import missing_snapshots, snapshot_dir, verify_snapshot

    missing = {(day, version) for day, version, _ in missing_snapshots(settings, con, args.as_of)}
    sql = "SELECT as_of_date, version FROM published.scorecard_versions"
    params = []
    if args.as_of is not None:
        sql += " WHERE as_of_date = ?"
        params.append(args.as_of)
    rows = []
    for day, version in con.execute(sql + " ORDER BY as_of_date, version", params).fetchall():
        path = snapshot_dir(settings, day, version)
        problems = [] if (day, version) in missing else verify_snapshot(path)
        state = "missing" if (day, version) in missing else ("mismatch" if problems else "ok")
        rows.append({"as_of_date": day.isoformat(), "version": version, "snapshot": state, "path": str(path),
                     "problems": "; ".join(problems)})  # fmt: skip
    bad = [r for r in rows if r["snapshot"] != "ok"]
    if args.format == "json":
        print(to_json({"versions": rows, "problems": len(bad)}))
    else:
        for r in bad:
            fix = f" (`riskcard publish --as-of {r['as_of_date']}` writes it)" if r["snapshot"] == "missing" else ""
            print(f"{r['as_of_date']} version {r['version']}: {r['snapshot']} {r['path']}{fix} {r['problems']}")
        print(f"{len(rows) - len(bad)} of {len(rows)} published version(s) have their snapshot")
    return 1 if bad else 0


def profile_label(info: dict) -> str:
    if info.get("profile_override"):
        return f"{info['profile_name']} [OVERRIDE: explicit weights, not derived by AHP]"
    return f"{info['profile_name']} ({info['ahp_method']})"


def render_show(card: dict) -> str:
    info = card["info"]
    head = (
        f"Scorecard {info['as_of_date']} version {info['version']} (published {info['published_at']:%Y-%m-%d %H:%M} "
        f"UTC), profile {profile_label(info)}\n"
        f"composite {info['composite']:.4f}: {info['rating']} ({info['rating_zh']})"
    )
    criteria = table(
        card["criteria"],
        ["criterion_id", "name_en", "global_weight", "likelihood", "score", "rank", "band", "attention"],
        title="criteria",
    )
    leaves = table(
        card["leaves"],
        [
            "indicator_id",
            "criterion_id",
            "name_en",
            "value",
            "unit",
            "status",
            "level",
            "local_weight",
            "global_weight",
        ],
        title="leaves",
    )
    return f"{head}\n\n{criteria}\n\n{leaves}"


def render_diff(d: dict) -> str:
    comp, rating = d["composite"], d["rating"]
    lines = [
        f"{d['as_of_date']} version {d['version']} against {d['against']['as_of_date']} version "
        f"{d['against']['version']}",
        f"composite {comp['before']:.4f} -> {comp['after']:.4f} ({comp['change']:+.4f}); "
        f"rating {rating['before']} -> {rating['after']}" + (" (changed)" if rating["changed"] else " (same)"),
        "",
    ]
    if d["criteria"]:
        lines.append(
            table(
                d["criteria"],
                [
                    "criterion_id",
                    "name_en",
                    "rank_before",
                    "rank_after",
                    "band_before",
                    "band_after",
                    "score_before",
                    "score_after",
                ],
                title="criteria whose rank or band changed",
            )
        )
    else:
        lines.append("no criterion changed rank or band")
    lines.append("")
    if d["leaves"]:
        lines.append(
            table(
                d["leaves"],
                [
                    "indicator_id",
                    "criterion_id",
                    "name_en",
                    "value_before",
                    "value_after",
                    "unit",
                    "level_before",
                    "level_after",
                    "status_after",
                ],
                title="leaves whose level changed",
            )
        )
    else:
        lines.append("no leaf changed level")
    return "\n".join(lines)
