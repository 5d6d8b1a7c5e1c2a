"""`riskcard publish --as-of D [--profile NAME] [--force]`: validate, synthesize and publish version N.

Exit status 0 when published or unchanged (identical content: nothing created), 1 when blocked (a critical
expectation failed or the weight profile is invalid; the previous version stays the latest).
"""

from __future__ import annotations

import sys

from transforms.cli.arguments import add_format_option, iso_date
from transforms.core.rendering import to_json

HELP = "publish the scorecard for an as-of date as a new version (SQL table + Parquet snapshot)"


def add_arguments(parser) -> None:
    parser.add_argument("--as-of", type=iso_date, required=True, metavar="D", help="as-of date (YYYY-MM-DD)")
    parser.add_argument("--profile", help="weight profile name or .toml path (default: settings profile)")
    parser.add_argument("--force", action="store_true", help="publish a new version even if nothing changed")
    parser.add_argument("--run-id", help="run id to record (default: generated)")
    parser.add_argument("--validation-run-id", help="trust this recorded validation run instead of validating again")
    add_format_option(parser)


def run(args, settings) -> int:
    from transforms.core.warehouse import WarehouseBusy
    from transforms.indicators.catalogue import CatalogueError
    from transforms.publishing.publish import PublishBlocked, publish
    from transforms.quality import SuiteFileError

    try:
        result = publish(
            settings,
            args.as_of,
            profile=args.profile,
            force=args.force,
            run_id=args.run_id,
            validation_run_id=args.validation_run_id,
        )
    except PublishBlocked as exc:
        if args.format == "json":
            print(to_json(exc.result.to_dict()))
        print(f"riskcard publish: {exc}", file=sys.stderr)
        return 1
    except (WarehouseBusy, FileNotFoundError, SuiteFileError, CatalogueError) as exc:
        print(f"riskcard publish: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(to_json(result.to_dict()))
    else:
        print(result.message)
    return 0
