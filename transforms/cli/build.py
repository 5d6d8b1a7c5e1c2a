"""`riskcard build`: compute the 30 leaf indicators for one as-of date or a range of dates (one dbt run)."""

from __future__ import annotations

import sys

from transforms.cli.arguments import iso_date

HELP = "compute the leaf indicators for an as-of date or a date range (dbt build)"


def add_arguments(parser) -> None:
    parser.add_argument("--as-of", type=iso_date, metavar="DATE", help="the as-of date (default: yesterday, local)")
    parser.add_argument("--from", dest="date_from", type=iso_date, metavar="DATE", help="first as-of date of a range")
    parser.add_argument("--to", dest="date_to", type=iso_date, metavar="DATE", help="last as-of date of a range")
    parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild fct_leaf_indicators from this run's dates only (drops every other date)",
    )
    parser.add_argument("--unit-tests", action="store_true", help="run the dbt unit tests too")
    parser.add_argument(
        "--progress",
        action="store_true",
        default=None,
        help="print a line per dbt node on stderr (default: when stderr is a terminal)",
    )


def run(args, settings) -> int:
    from transforms.core.warehouse import WarehouseBusy
    from transforms.indicators.build import BuildFailed, build

    if args.as_of is not None and (args.date_from is not None or args.date_to is not None):
        print("riskcard build: give either --as-of or --from/--to, not both", file=sys.stderr)
        return 2
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    try:
        result = build(
            settings,
            as_of=args.as_of,
            date_from=args.date_from,
            date_to=args.date_to,
            full_refresh=args.full_refresh,
            unit_tests=args.unit_tests,
            progress=progress,
        )
    except ValueError as exc:
        print(f"riskcard build: {exc}", file=sys.stderr)
        return 2
    except (BuildFailed, WarehouseBusy) as exc:
        print(f"riskcard build: {exc}", file=sys.stderr)
        return 1
    span = str(result.date_from) if result.dates == 1 else f"{result.date_from}..{result.date_to}"
    counts = ", ".join(f"{status} {result.status_counts.get(status, 0)}" for status in ("ok", "no_events", "no_data"))
    print(
        f"built {result.rows_written} indicator rows for {result.dates} as-of date(s) {span} "
        f"in {result.seconds:.1f}s: {counts}"
    )
    if result.status_counts.get("no_data"):
        print(
            "some leaves are no_data (a source has no record in the window): "
            "`riskcard indicators --as-of DATE` shows which",
            file=sys.stderr,
        )
    return 0
