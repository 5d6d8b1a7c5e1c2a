"""The committee report of a version: rendered (HTML, then PDF from the same HTML) and written.

- :func:`render` turns a :class:`~transforms.publishing.report_data.ReportData` into the HTML document and its PDF;
- :func:`snapshot_reports` writes ``report.html`` and ``report.pdf`` into a snapshot's staging folder (called by
  ``transforms.publishing.snapshots.write_snapshot_from`` before the manifest, so both are listed with their
  sha256 and are as immutable as the Parquet file);
- :func:`write_files` writes them under any name (`riskcard report --out`), each atomically.

A report that cannot be rendered never costs the version its snapshot: the version is already committed and its
Parquet file is the record. A PDF that fails (no pango on the machine, a WeasyPrint error) is left out, the HTML is
kept, the manifest's ``report.absent`` says why and a warning is logged; an HTML report that fails (a bug) is
left out the same way, logged as an error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

REPORT_HTML = "report.html"
REPORT_PDF = "report.pdf"
MEDIA_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}
KINDS = {"html": REPORT_HTML, "pdf": REPORT_PDF}


@dataclass
class RenderedReport:
    html: str
    pdf: bytes | None = None
    pdf_error: str | None = None  # why there is no PDF
    seconds: dict[str, float] = field(default_factory=dict)  # gather / html / pdf


def render(data, *, pdf: bool = True) -> RenderedReport:
    """The HTML of ``data`` and (``pdf``) its PDF; a PDF failure is reported in ``pdf_error``, never raised."""
    from transforms.publishing.report_html import render_html
    from transforms.publishing.report_pdf import PdfUnavailable, render_pdf

    started = time.perf_counter()
    document = render_html(data)
    out = RenderedReport(document, seconds={"html": time.perf_counter() - started})
    if pdf:
        started = time.perf_counter()
        try:
            out.pdf = render_pdf(document)
        except PdfUnavailable as exc:
            out.pdf_error = str(exc)
        out.seconds["pdf"] = time.perf_counter() - started
    return out


def snapshot_reports(settings, con, as_of: dt.date, version: int, folder: Path) -> tuple[list[dict], dict]:
    """Write report.html and report.pdf of a version (those the setting report_formats names) into ``folder`` (a
    snapshot's staging folder).

    Returns the manifest entries of the files written and the manifest's ``report`` note (timings, and what is
    absent and why). Never raises for a rendering failure (see the module docstring)."""
    from transforms.publishing.report_data import gather

    formats = tuple(settings.report_formats)
    skipped = "the setting report_formats leaves it out"
    note: dict = {"absent": [{"path": p, "reason": skipped} for k, p in KINDS.items() if k not in formats]}
    if not formats:
        return [], note
    started = time.perf_counter()
    try:
        data = gather(con, settings, as_of, version)
        note["seconds"] = {"gather": round(time.perf_counter() - started, 3)}
        rendered = render(data, pdf="pdf" in formats)
    except Exception as exc:
        reason = f"the report could not be rendered ({type(exc).__name__}: {exc})"
        log.exception("snapshot %s v%s: %s; the snapshot is written without it", as_of, version, reason)
        note["absent"] += [{"path": KINDS[k], "reason": reason} for k in formats]
        return [], note
    note["seconds"].update({k: round(v, 3) for k, v in rendered.seconds.items()})
    files = [_write(folder / REPORT_HTML, rendered.html.encode("utf-8"), "html")] if "html" in formats else []
    if rendered.pdf is not None:
        files.append(_write(folder / REPORT_PDF, rendered.pdf, "pdf"))
    elif "pdf" in formats:
        log.warning("snapshot %s v%s: no %s: %s (the HTML report is written)", as_of, version, REPORT_PDF,
                    rendered.pdf_error)  # fmt: skip
        note["absent"].append({"path": REPORT_PDF, "reason": rendered.pdf_error})
    if data.drilldown is not None and data.drilldown.errors:
        note["drilldown_errors"] = dict(data.drilldown.errors)
    return files, note


def _write(path: Path, payload: bytes, kind: str) -> dict:
    path.write_bytes(payload)
    return {
        "path": path.name,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "bytes": len(payload),
        "media_type": MEDIA_TYPES[kind],
    }


def write_files(rendered: RenderedReport, targets: dict[str, Path]) -> dict[str, Path]:
    """Write the requested formats (``{"html": path, "pdf": path}``), each to a temporary name renamed into
    place; returns what was written (a format whose PDF is missing is not)."""
    written = {}
    for kind, path in targets.items():
        payload = rendered.html.encode("utf-8") if kind == "html" else rendered.pdf
        if payload is None:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            tmp.write_bytes(payload)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        written[kind] = path
    return written


__all__ = ["REPORT_HTML", "REPORT_PDF", "RenderedReport", "render", "snapshot_reports", "write_files"]
