"""`riskcard report`: the committee report of a published version, as one offline HTML file and its PDF.

    riskcard report [--as-of D] [--version N] [--out PATH] [--format html|pdf]

Default: the latest version of D (D: the newest published date), both formats, written to
``<warehouse dir>/reports/riskcard-report-D-vN.html`` / ``.pdf``. ``--out`` is a folder, or a file name ending
in ``.html`` / ``.pdf`` (the other format, when both are written, takes the same name with its own ending).

Read-only, like `riskcard scorecard show`: the version, its history, validation and sensitivity come from the
serving copy (safe during a load); the drill-down's contributing records need the live warehouse's raw and mart
tables, opened read-only (no writer lock) as `riskcard indicators` does. When a writer holds the live file, the
report says the records are not available and points at the version's snapshot report (written at publish, with
them). Every publish writes ``report.html`` and ``report.pdf`` into the version's snapshot folder by itself.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from transforms.cli.arguments import iso_date

HELP = "write the committee report (self-contained HTML and PDF) of a published scorecard version"
FORMATS = ("html", "pdf")


def add_arguments(parser) -> None:
    parser.add_argument("--as-of", type=iso_date, metavar="D", help="as-of date (default: the newest published)")
    parser.add_argument("--version", type=int, metavar="N", help="version of the as-of date (default: latest)")
    parser.add_argument("--out", type=Path, metavar="PATH",
                        help="folder, or file name ending in .html/.pdf (default: <warehouse dir>/reports/)")  # fmt: skip
    parser.add_argument("--format", choices=FORMATS, help="write only this format (default: both)")


def targets(out: Path | None, default_dir: Path, stem: str, formats: tuple[str, ...]) -> dict[str, Path]:
    """Where each format goes: a folder gets ``<stem>.<format>``; a file name is used for its own format and
    gives its stem to the other."""
    out = default_dir if out is None else out
    if out.suffix.lower() in (".html", ".htm", ".pdf"):
        own = "pdf" if out.suffix.lower() == ".pdf" else "html"
        return {f: out if f == own else out.with_suffix(f".{f}") for f in formats}
    return {f: out / f"{stem}.{f}" for f in formats}


def run(args, settings) -> int:
    import duckdb

    from transforms.core.warehouse import connect, connect_serving
    from transforms.publishing.queries import NotPublished, resolve_version
    from transforms.publishing.report import render, write_files
    from transforms.publishing.report_data import gather
    from transforms.publishing.snapshots import snapshot_dir

    formats = (args.format,) if args.format else FORMATS
    suffix = args.out.suffix.lower() if args.out is not None else ""
    if args.format and suffix in (".html", ".htm", ".pdf") and (suffix == ".pdf") != (args.format == "pdf"):
        print(f"riskcard report: --out {args.out} does not end in .{args.format}", file=sys.stderr)
        return 2
    try:
        con = connect_serving(settings)
    except (FileNotFoundError, duckdb.Error) as exc:
        print(f"riskcard report: {exc}", file=sys.stderr)
        return 1
    records_con = None
    try:
        try:
            as_of, version = resolve_version(con, args.as_of, args.version)
        except (NotPublished, ValueError) as exc:
            print(f"riskcard report: {exc}", file=sys.stderr)
            return 1
        note = ""
        try:
            records_con = connect(settings, read_only=True)
        except Exception as exc:  # WarehouseBusy, a DuckDB lock error, no file
            note = (f"The contributing records are not available: the live warehouse could not be opened read-only "
                    f"({exc}). The snapshot's report ({snapshot_dir(settings, as_of, version) / 'report.html'}) "
                    "has them as they were at publish.")  # fmt: skip
        started = time.perf_counter()
        data = gather(con, settings, as_of, version, records_con=records_con, records_note=note)
        gathered = time.perf_counter() - started
    finally:
        if records_con is not None:
            records_con.close()
        con.close()
    rendered = render(data, pdf="pdf" in formats)
    paths = targets(args.out, settings.warehouse_dir / "reports", data.file_stem, formats)
    written = write_files(rendered, paths)
    timings = {"gather": gathered, **rendered.seconds}
    for kind, path in written.items():
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB, rendered in {timings[kind]:.2f} s)")
    print(f"report of {as_of} version {version}: composite {data.composite:.4f} ({data.rating}); data read in "
          f"{gathered:.2f} s")  # fmt: skip
    if "pdf" in formats and "pdf" not in written:
        print(f"riskcard report: no PDF: {rendered.pdf_error}", file=sys.stderr)
        return 1
    return 0
