"""`riskcard monitor`: provisional indicators as of now, open breach and staleness episodes, their alerts."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from transforms.cli.arguments import add_format_option

HELP = "refresh the provisional (intraday) indicators as of now, alert on KRI breaches and stale sources"


def local_datetime(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date-time (YYYY-MM-DDTHH:MM[:SS]): {text!r}") from None


def add_arguments(parser) -> None:
    parser.add_argument(
        "--now",
        type=local_datetime,
        metavar="ISO_LOCAL_DATETIME",
        help="evaluate as of this local time in the bank's zone (default: the clock); for replays, tests and demos",
    )
    add_format_option(parser)


LEAF_COLUMNS = ("indicator_id", "value", "numerator", "denominator", "level", "status")


def run(args, settings) -> int:
    from transforms.core.rendering import table, to_json
    from transforms.core.warehouse import WarehouseBusy
    from transforms.monitoring.monitor import monitor
    from transforms.monitoring.provisional import ProvisionalFailed

    try:
        result = monitor(settings, args.now)
    except (WarehouseBusy, ProvisionalFailed) as exc:
        print(f"riskcard monitor: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        out = result.to_dict()
        print(to_json({"now": out["now"], "as_of_date": out["as_of_date"], "provisional": True,
                       "refreshed": out["refreshed"], "leaves": out["leaves"], "breaches": out["breaches"],
                       "stale_sources": out["stale_sources"], "alerts": out["alerts"], "seconds": out["seconds"]}))  # fmt: skip
        return 0
    refreshed = "refreshed" if result.refreshed else "nothing new since the last refresh"
    title = f"PROVISIONAL leaf indicators of {result.as_of_date} as of {result.now.isoformat()} ({refreshed})"
    print(table([{k: leaf[k] for k in LEAF_COLUMNS} for leaf in result.leaves], LEAF_COLUMNS, title=title))
    print()
    if result.breaches:
        columns = ("indicator_id", "opened_at", "level", "value", "threshold")
        print(table(result.breaches, columns, title="open KRI breaches (provisional)"))
    else:
        print("no open KRI breach")
    if result.stale_sources:
        print(table(result.stale_sources, ("source", "opened_at", "newest_record_at", "limit_minutes"),
                    title="stale sources"))  # fmt: skip
    else:
        print("no stale source")
    for alert in result.alerts:
        state = "sent" if alert["delivered"] else "NOT delivered (retried next run)"
        print(f"alert {state} via {', '.join(alert['channels']) or '-'}: {alert['subject']}")
    return 0
