"""`riskcard explain`: the log records behind one leaf of one as-of date (transforms.indicators.explain).

    riskcard explain --as-of D INDICATOR_ID [--rows N] [--version N] [--format table|json|csv] [--wait SECONDS]

table: the leaf's formula, value, numerator and denominator (or sample size), window and build, then its first N
contributing records, newest first by the record's own time (its second column: event_at, opened_at, started_at,
scheduled_at, ...; default 20; ``--rows 0`` lists none, the count stays). json: all of it
(Explanation.to_dict). csv: the records only, with a header row. ``--version N``: the figures of that published
version of D and the raw versions its build read, instead of the mart's current row.

Where it reads: the live warehouse, opened read-only (the serving copy has only the published tables, not the raw
change logs). It never takes the writer lock and never writes. DuckDB lets a read-only process in only while no
process has the file open for writing, and a writer in only while no reader has it open: so explain waits (up to
``--wait`` seconds, default the settings' lock_timeout_seconds) while a load holds the file, then keeps it open only
for its few queries (well under a second on a nightly window) and closes it. A writer that tries to open the file in
that moment gets WarehouseBusy, which every writing task retries (Airflow retries, the CLI's lock timeout).
"""

from __future__ import annotations

import sys
import time

from transforms.cli.arguments import iso_date

HELP = "show the log records behind a leaf indicator of an as-of date (reads the warehouse read-only)"


def add_arguments(parser) -> None:
    parser.add_argument("indicator_id", metavar="INDICATOR_ID", help="a leaf of the catalogue, e.g. SP1")
    parser.add_argument("--as-of", type=iso_date, metavar="D", required=True, help="the as-of date")
    parser.add_argument("--rows", type=_rows, default=20, metavar="N", help="records to list (default 20)")
    parser.add_argument("--version", type=int, metavar="N", help="a published version of D (default: the mart's row)")
    parser.add_argument("--format", choices=["table", "json", "csv"], default="table", help="output format")
    parser.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        help="how long to wait while a load holds the warehouse (default: the settings' lock_timeout_seconds)",
    )


def _rows(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of rows: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"--rows must not be negative, got {value}")
    return value


def run(args, settings) -> int:
    import duckdb

    from transforms.core.rendering import to_csv, to_json
    from transforms.core.warehouse import WarehouseBusy
    from transforms.indicators.explain import ExplainError, UnknownIndicator, explain

    wait = settings.lock_timeout_seconds if args.wait is None else max(args.wait, 0.0)
    try:
        con = _connect_reader(settings, wait)
    except (FileNotFoundError, WarehouseBusy, duckdb.Error) as exc:
        print(f"riskcard explain: {exc}", file=sys.stderr)
        return 1
    try:
        explanation = explain(con, settings, args.as_of, args.indicator_id, rows=args.rows, version=args.version)
    except UnknownIndicator as exc:
        print(f"riskcard explain: {exc}", file=sys.stderr)
        return 2
    except ExplainError as exc:
        print(f"riskcard explain: {exc}", file=sys.stderr)
        return 1
    finally:
        con.close()
    if args.format == "json":
        print(to_json(explanation.to_dict()))
    elif args.format == "csv":
        sys.stdout.write(to_csv(explanation.records, explanation.columns))
    else:
        print(render(explanation, settings))
    return 0


def _connect_reader(settings, wait: float):
    """The live warehouse, read-only; retried while a writer has the file open (WarehouseBusy), up to `wait` s."""
    from transforms.core.warehouse import WarehouseBusy, connect

    deadline = time.monotonic() + wait
    while True:
        try:
            return connect(settings, read_only=True)
        except WarehouseBusy:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


def _figure(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def render(e, settings) -> str:
    from transforms.core.rendering import table

    tz = settings.tz
    start, end = e.window_start.astimezone(tz), e.window_end.astimezone(tz)
    figures = f"value {_figure(e.value)} {e.unit}, status {e.status}, level {_figure(e.level)}"
    if e.kind in ("median", "percentile"):
        parts = f"sample size {_figure(e.sample_size)} (the records are the sample; contribution: each one's value)"
    elif e.kind == "count":
        parts = f"numerator {_figure(e.numerator)} (a count: no denominator)"
    else:
        parts = f"numerator {_figure(e.numerator)}, denominator {_figure(e.denominator)}"
    build = (
        f"build {e.build_id}, raw versions ingested up to {e.ingest_high_water}" if e.build_id else "no build record"
    )
    if e.version is not None:
        build = f"published version {e.version}; {build}"
    notes = "by their own time, " + e.columns[1] if len(e.columns) > 1 else "by their own time"
    notes += "; timestamps in UTC" + ("; customer_id is the keyed hash" if "customer_id" in e.columns else "")
    lines = [
        f"{e.indicator_id} ({e.criterion_id}) {e.name_en} / {e.name_zh} as of {e.as_of_date}",
        f"formula ({e.kind}, {e.unit}): {e.formula}",
        f"{figures}; {parts}",
        f"window [{start:%Y-%m-%d %H:%M}, {end:%Y-%m-%d %H:%M}) {settings.timezone}; {build}",
        f"records: {e.records_are}",
        "",
        table(e.records, e.columns, title=f"contributing records, newest first ({notes})"),
        f"listed {e.listed} of {e.total_records} record(s)"
        + ("" if e.listed == e.total_records else f" (--rows {e.total_records} lists all)"),
    ]
    return "\n".join(lines)
