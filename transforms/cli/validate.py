"""`riskcard validate --as-of D`: run the data-quality suites (ingestion health, indicators) for an as-of date.

Records ops.validation_runs and one ops.dq_alerts row per failed expectation, builds the Data Docs site, and
sends one alert (SMTP and/or webhook, as configured) when anything failed. Exit status 1 when a critical
expectation failed (publishing would be blocked), 0 otherwise (warnings only alert).
"""

from __future__ import annotations

import sys

from transforms.cli.arguments import add_format_option, iso_date
from transforms.core.rendering import table, to_json

HELP = "validate the data for an as-of date with Great Expectations (exit 1 on a critical failure)"


def add_arguments(parser) -> None:
    parser.add_argument("--as-of", type=iso_date, required=True, metavar="D", help="as-of date (YYYY-MM-DD)")
    parser.add_argument("--run-id", help="run id to record (default: generated)")
    parser.add_argument("--no-alert", action="store_true", help="record failures but send no alert")
    add_format_option(parser)


def run(args, settings) -> int:
    from transforms.core.warehouse import WarehouseBusy
    from transforms.indicators.catalogue import CatalogueError
    from transforms.quality import SuiteFileError, validate

    try:
        outcome = validate(settings, args.as_of, run_id=args.run_id, alert=not args.no_alert)
    except (WarehouseBusy, FileNotFoundError, SuiteFileError, CatalogueError) as exc:
        print(f"riskcard validate: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(to_json(outcome.to_dict()))
    else:
        rows = [
            {
                "suite": r.suite,
                "expectation": r.expectation,
                "severity": r.severity,
                "result": "pass" if r.success else "FAIL",
                "observed": r.observed if not r.success else "",
                "expected": r.expected,
            }
            for r in outcome.results
        ]
        print(table(rows, title=f"validation {outcome.run_id} for {outcome.as_of}"))
        counts = outcome.counts()
        print(
            f"\n{counts['passed']}/{counts['evaluated']} passed; {counts['failed_critical']} critical and "
            f"{counts['failed_warning']} warning failure(s)."
            + (" Publishing is BLOCKED." if outcome.critical_failed else "")
        )
        for note in outcome.notes:
            print(f"note: {note}")
        print(f"Data Docs: {outcome.data_docs_index}")
    return 1 if outcome.critical_failed else 0
