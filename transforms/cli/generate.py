"""`riskcard generate`: write realistic landing logs (the four sources, one file per source per day)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

HELP = "generate realistic landing logs (transactions, complaints, incidents, backups) for a date range"

SCENARIOS = ("baseline", "paper-2018", "stress")
FILE_FORMATS = ("jsonl", "csv", "parquet", "mixed")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 0.5:
        raise argparse.ArgumentTypeError(f"must be a fraction between 0 and 0.5, got {value}")
    return value


def add_arguments(parser) -> None:
    parser.add_argument("--out", type=Path, help="output folder (default: the configured landing folder)")
    parser.add_argument("--start", type=_date, help="first local day, YYYY-MM-DD (default: DAYS days before today)")
    parser.add_argument("--days", type=_positive, default=90, help="number of days (default: 90)")
    parser.add_argument(
        "--transactions", type=_count, default=200_000, help="new transactions over all days (default: 200000)"
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed; same seed, same bytes (default: 42)")
    parser.add_argument(
        "--scenario",
        choices=SCENARIOS,
        default="baseline",
        help="baseline (calm bank), paper-2018 (fraud ramps Aug-Nov 2018), stress (outages, "
        "vendor overruns, backup failures)",
    )
    parser.add_argument(
        "--format",
        dest="file_format",
        choices=FILE_FORMATS,
        default="jsonl",
        help="file format; mixed rotates jsonl, csv, parquet, jsonl.gz, csv.gz (default: jsonl)",
    )
    parser.add_argument(
        "--bad-rows",
        type=_rate,
        default=0.0,
        metavar="RATE",
        help="fraction of text-file rows to replace with contract violations, plus a few malformed "
        "files; writes bad_rows_report.json (default: 0)",
    )


def run(args, settings) -> int:
    from transforms.core.rendering import table
    from transforms.generate import REPORT_NAME, generate

    out = args.out or settings.landing
    start = args.start or dt.date.today() - dt.timedelta(days=args.days)
    summary = generate(
        out=out,
        start=start,
        days=args.days,
        transactions=args.transactions,
        seed=args.seed,
        scenario=args.scenario,
        fmt=args.file_format,
        bad_rows=args.bad_rows,
        timezone=settings.timezone,
        progress=True,
        seeds_dir=settings.seeds_dir,
    )
    rows = [{"source": source, **tally} for source, tally in summary["sources"].items()]
    title = (
        f"{summary['scenario']} {summary['start']}..{summary['end']} ({summary['days']} days, "
        f"{summary['customers']} customers, seed {summary['seed']}, {summary['format']}) -> {out}"
    )
    print(table(rows, ["source", "files", "rows", "first_versions", "updates", "bad_rows"], title=title))
    if summary["bad_files"]:
        print(f"\nmalformed files: {len(summary['bad_files'])}")
        for entry in summary["bad_files"]:
            print(f"  {entry['file']}: {entry['rule']} ({entry['detail']})")
    print(f"\nsummary: {Path(out) / REPORT_NAME}", file=sys.stderr)
    return 0
