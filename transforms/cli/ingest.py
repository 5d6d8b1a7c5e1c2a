"""`riskcard ingest`: load every complete landing file that is new since the last call (one micro-batch).

`riskcard ingest ack PATH --reason TEXT` acknowledges a failed file (refused as a whole) so that it stops
blocking publishing (transforms.quality.acks); PATH is relative to the landing folder, as validation names it.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from transforms.cli.arguments import add_format_option

HELP = "ingest new landing-log files into the warehouse (exactly once, bad rows quarantined)"

COLUMNS = ("source", "files_new", "files_skipped", "rows_in", "rows_loaded", "rows_quarantined", "files_failed")


def add_arguments(parser) -> None:
    parser.add_argument(
        "action", nargs="?", choices=["ack"], help="ack: acknowledge a failed file (with PATH and --reason)"
    )
    parser.add_argument("path", nargs="?", metavar="PATH", help="ack: the failed file, relative to the landing folder")
    parser.add_argument("--reason", help="ack: why the failed file may be ignored (recorded in ops.ingest_acks)")
    parser.add_argument("--landing", type=Path, help="landing root holding <source>/ folders (default: landing)")
    add_format_option(parser)
    parser.add_argument(
        "--progress",
        action="store_true",
        default=None,
        help="print a line per file and batch on stderr (default: when stderr is a terminal)",
    )


def run(args, settings) -> int:
    from dataclasses import asdict

    import duckdb

    from transforms.core.rendering import table, to_json
    from transforms.ingest import LandingMissing, WarehouseBusy, ingest

    if args.action == "ack":
        return run_ack(args, settings)
    if args.path is not None or args.reason is not None:
        print("riskcard ingest: PATH and --reason belong to `riskcard ingest ack PATH --reason TEXT`", file=sys.stderr)
        return 2
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    try:
        report = ingest(settings, landing=args.landing, progress=progress)
    except (WarehouseBusy, LandingMissing) as exc:
        print(f"riskcard ingest: {exc}", file=sys.stderr)
        return 1
    except (duckdb.Error, OSError) as exc:  # files committed before the error stay; the next call resumes
        logging.getLogger(__name__).debug("ingest stopped", exc_info=True)
        print(f"riskcard ingest: stopped by {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(to_json(report.to_dict()))
        return report.exit_code
    rows = [{"source": name, **asdict(s)} for name, s in report.sources.items()]
    rows.append({"source": "total", **asdict(report.totals())})
    print(table(rows, COLUMNS, title=f"ingest {report.run_id} from {report.landing}"))
    failed = [f for f in report.files if f.status == "failed"]
    if failed:
        print()
        print(table([{"rule": f.rule, "reason": f.reason} for f in failed], ("rule", "reason"), title="failed files"))
    if report.rows_quarantined:
        print(f"\n{report.rows_quarantined:,} row(s) quarantined: see raw.quarantine (run_id = '{report.run_id}')")
    return report.exit_code


def run_ack(args, settings) -> int:
    from transforms.core.rendering import to_json
    from transforms.core.warehouse import WarehouseBusy
    from transforms.quality.acks import AckRefused, acknowledge

    if not args.path or not args.reason:
        print("riskcard ingest ack: give the failed file and why: riskcard ingest ack PATH --reason TEXT",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        record = acknowledge(settings, args.path, args.reason)
    except (AckRefused, WarehouseBusy) as exc:
        print(f"riskcard ingest ack: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(to_json(record))
    else:
        print(
            f"acknowledged {record['path']} ({record['source']}, ingest_seq {record['ingest_seq']}, failed: "
            f"{record['failure']}): {record['reason']}. It no longer blocks publishing; a new failed delivery of "
            "the same path would."
        )
    return 0
