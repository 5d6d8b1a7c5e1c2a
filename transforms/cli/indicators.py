"""`riskcard indicators`: the 30 leaf indicators of one as-of date, as a table, JSON or CSV."""

from __future__ import annotations

import sys

from transforms.cli.arguments import add_format_option, iso_date

HELP = "show the leaf indicators of an as-of date (value, numerator, denominator, level, status)"


def add_arguments(parser) -> None:
    parser.add_argument("--as-of", type=iso_date, metavar="DATE", required=True, help="the as-of date")
    add_format_option(parser, ("table", "json", "csv"))


def run(args, settings) -> int:
    import duckdb

    from transforms.core.rendering import table, to_csv, to_json
    from transforms.core.warehouse import connect
    from transforms.indicators.readers import INDICATOR_KEYS, read_indicators

    try:
        con = connect(settings, read_only=True)
    except (FileNotFoundError, duckdb.Error) as exc:
        print(f"riskcard indicators: {exc}", file=sys.stderr)
        return 1
    try:
        rows = read_indicators(con, args.as_of)
    except duckdb.CatalogException:
        rows = []
    finally:
        con.close()
    if not rows:
        print(
            f"riskcard indicators: no indicators for {args.as_of} in {settings.warehouse}; "
            f"run `riskcard build --as-of {args.as_of}` first",
            file=sys.stderr,
        )
        return 1
    rows = [{k: row[k] for k in INDICATOR_KEYS} for row in rows]
    if args.format == "json":
        print(to_json(rows))
    elif args.format == "csv":
        sys.stdout.write(to_csv(rows, INDICATOR_KEYS))
    else:
        print(table(rows, INDICATOR_KEYS, title=f"leaf indicators as of {args.as_of}"))
    return 0
