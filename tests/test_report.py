"""The committee report (transforms/publishing/report*.py): written by every publish into the version's snapshot,
listed in its manifest, opened in a real (headless, offline) browser, printed to PDF with the headline and the
heat map on page 1, rendered from an in-memory scorecard (the paper's Table 6), and written by `riskcard report`."""

from __future__ import annotations

import csv
import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
import tomllib

import duckdb
import pytest

from tests.browser import is_blank, open_offline, require_chromium, screenshot_stats
from tests.warehouse_builder import AS_OF, EARLIER, copy_published, open_builder
from tests.warehouse_reads import settings_in
from transforms.core.settings import PROJECT_DIR
from transforms.publishing.report import REPORT_HTML, REPORT_PDF
from transforms.publishing.snapshots import MANIFEST, snapshot_dir, verify_snapshot

SEEDS = PROJECT_DIR / "seeds"


def _criteria_names() -> list[tuple[str, str, str]]:
    with (SEEDS / "criteria.csv").open(encoding="utf-8") as fh:
        return [(r["criterion_id"], r["name_en"], r["name_zh"]) for r in csv.DictReader(fh)]


def _version_row(settings, version: int = 1) -> dict:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        cur = con.execute(
            "SELECT composite, rating, rating_zh, profile_name FROM published.scorecard_versions "
            "WHERE as_of_date = ? AND version = ?",
            [AS_OF, version],
        )
        return dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
    finally:
        con.close()


def _pdf_text(path, first: int | None = None, last: int | None = None) -> str:
    pages = [*(["-f", str(first)] if first else []), *(["-l", str(last)] if last else [])]
    done = subprocess.run(["pdftotext", "-layout", *pages, str(path), "-"], capture_output=True, text=True, check=True)
    return done.stdout


def _need_poppler() -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("PDF TEST SKIPPED: pdftotext missing (apt-get install poppler-utils)")


# ---- the snapshot's report ---------------------------------------------------------------------------------------


def test_every_publish_writes_the_report_listed_in_the_manifest(published):
    folder = snapshot_dir(published, AS_OF, 1)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    listed = {entry["path"]: entry for entry in manifest["files"]}
    for name, media in ((REPORT_HTML, "text/html"), (REPORT_PDF, "application/pdf")):
        entry = listed[name]
        payload = (folder / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(payload).hexdigest()
        assert entry["bytes"] == len(payload) and entry["media_type"].startswith(media)
    assert manifest["report"]["absent"] == []
    assert "drilldown_errors" not in manifest["report"], manifest["report"]["drilldown_errors"]
    assert verify_snapshot(folder) == []
    assert (folder / REPORT_PDF).read_bytes().startswith(b"%PDF-")


def test_the_report_renders_offline_in_chromium(published, tmp_path):
    require_chromium()
    folder = snapshot_dir(published, AS_OF, 1)
    page = open_offline(folder / REPORT_HTML, wait_for="#composite", screenshot=tmp_path / "report.png")
    assert page.requests_blocked == [], f"the report tried to reach the network: {page.requests_blocked}"
    assert page.requests_file == [(folder / REPORT_HTML).resolve().as_uri()]  # the page itself, nothing else
    assert page.console_errors == [] and page.failed_file == []
    assert not is_blank(page.screenshot_png), f"blank screenshot: {screenshot_stats(page.screenshot_png)}"

    version = _version_row(published)
    composite = f"{version['composite']:.4f}"
    assert composite in page.text
    assert f"{version['rating_zh']} {version['rating']}" in page.text
    for cid, name_en, name_zh in _criteria_names():
        assert name_en in page.text and name_zh in page.text, cid
    # the heat map and the ranking are inline SVG (charts with their own text), one leaf table per criterion
    assert page.html.count("<svg") >= 3
    assert 'class="chart chart-heatmap' in page.html and 'class="chart chart-ranking' in page.html
    leaves = re.findall(r'data-leaf="([A-Z]+\d)"', page.html)
    assert len(leaves) == 30
    # every leaf links to its contributing records in the appendix, and the records are there
    for leaf in leaves:
        assert f'href="#rec-{leaf}"' in page.html and f'id="rec-{leaf}"' in page.html, leaf
    assert "Unavailable:" not in page.text
    assert page.html.count('class="rec-table"') >= 20  # a leaf without records in the window has no table
    for section in ("What to act on", "1. Risk matrix", "2. Trend", "3. What moved", "4. Criteria and their leaves",
                    "5. Sensitivity", "6. Provenance", "Appendix: contributing records"):  # fmt: skip
        assert section in page.text, section


def test_the_report_file_names_nothing_to_load(published):
    text = (snapshot_dir(published, AS_OF, 1) / REPORT_HTML).read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", text, re.I)
    assert not re.search(r"""(src|href)\s*=\s*["'](?!#)""", text, re.I)  # only in-page anchors
    assert not re.search(r"url\(\s*(?!#)", text)  # url(#clip) of the charts' own clip paths only
    assert "@import" not in text and "@font-face" not in text
    assert "default-src 'none'" in text  # and the browser is told to refuse any load


def test_the_pdf_has_the_headline_and_the_heat_map_on_page_one(published):
    _need_poppler()
    pdf = snapshot_dir(published, AS_OF, 1) / REPORT_PDF
    version = _version_row(published)
    first = _pdf_text(pdf, 1, 1)
    flat = " ".join(first.split())
    assert f"{version['composite']:.4f}" in flat
    assert version["rating"] in flat and version["rating_zh"] in flat
    assert "2025-03-31" in flat and "version 1" in flat and version["profile_name"] in flat
    # the heat map's own labels (the SVG's text is PDF text): its axes, its band legend and every criterion
    assert "1. Risk matrix" in flat and "weight W (AHP)" in flat and "likelihood C" in flat
    assert "band of C → attention" in flat
    for cid, _name_en, _name_zh in _criteria_names():
        assert re.search(rf"\b{cid}\b", first), cid
    assert "4. Criteria and their leaves" not in flat  # the evidence starts on a later page
    everything = _pdf_text(pdf)
    assert "4. Criteria and their leaves" in everything and "6. Provenance" in everything


def _text(document: str) -> str:
    """The visible text of an HTML fragment, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", document)).split())


def _section(document: str, anchor: str) -> str:
    return re.search(rf'<section id="{anchor}".*?</section>', document, re.S).group(0)


@pytest.fixture(scope="module")
def history(tmp_path_factory, published_template):
    """2025-03-31 v1 (the published template), then 2025-03-30 v1, then 2025-03-31 v2 with BC2 above its t4."""
    from transforms.publishing.publish import publish

    settings = settings_in(tmp_path_factory.mktemp("report-history"), "report-secret")
    copy_published(published_template, settings)
    assert publish(settings, EARLIER).version == 1
    builder = open_builder(settings)
    builder.move_leaf("BC2", 45.0)  # dbt gave 0.8
    builder.con.close()
    assert publish(settings, AS_OF).version == 2
    return settings


def test_what_moved_and_the_trend_against_the_previous_version(history):
    page = (snapshot_dir(history, AS_OF, 2) / REPORT_HTML).read_text(encoding="utf-8")
    moved = _text(_section(page, "changes"))
    assert "Compared with the previous version of the same date (2025-03-31 version 1)" in moved
    leaves = re.findall(r"<tr><td><a href=\"#leaf-(\w+)\">", _section(page, "changes"))
    assert leaves == ["BC2"]  # the only leaf whose level changed
    con = duckdb.connect(str(history.warehouse), read_only=True)
    try:
        (num, den) = con.execute(
            "SELECT numerator, denominator FROM published.scorecard WHERE as_of_date = ? AND version = 2 "
            "AND indicator_id = 'BC2'",
            [AS_OF],
        ).fetchone()
    finally:
        con.close()
    figures = f"{num:g} / {den:g}"
    assert "0.8 → 1" in moved and moved.count(figures) == 2  # numerator / denominator before and after
    trend = _section(page, "trend")
    assert re.findall(r"<tr><td>(2025-03-\d\d)</td><td>(\d)</td>", trend) == [("2025-03-31", "2"), ("2025-03-30", "1")]

    # the earlier date's report compares with nothing (no earlier date); its trend is that date alone
    first = (snapshot_dir(history, EARLIER, 1) / REPORT_HTML).read_text(encoding="utf-8")
    assert "This is the first published scorecard" in _text(_section(first, "changes"))
    assert "Only one date has been published so far" in _text(_section(first, "trend"))


def test_a_pdf_that_cannot_be_rendered_keeps_the_version_and_says_why(history, monkeypatch, caplog):
    """No pango (WeasyPrint fails to import): the snapshot is written with the HTML only, and the manifest says
    why the PDF is absent; verify_snapshot passes."""
    from transforms.publishing.publish import write_snapshot

    folder = snapshot_dir(history, EARLIER, 1)
    shutil.rmtree(folder)  # lost: the next writer re-creates it, here without a PDF
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # `import weasyprint` raises ImportError
    assert write_snapshot(history, EARLIER, 1) == folder
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    assert [f["path"] for f in manifest["files"] if f["path"].startswith("report")] == [REPORT_HTML]
    (absent,) = manifest["report"]["absent"]
    assert absent["path"] == REPORT_PDF and "WeasyPrint is not usable here" in absent["reason"]
    assert not (folder / REPORT_PDF).exists() and (folder / REPORT_HTML).is_file()
    assert verify_snapshot(folder) == []
    assert any("no report.pdf" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


# ---- the paper's case study, from a scorecard built in memory ---------------------------------------------------


def test_a_report_of_the_paper_case_shows_table_6(settings, tmp_path):
    from transforms.indicators.catalogue import load_catalogue
    from transforms.publishing.report import render
    from transforms.publishing.report_data import from_scorecard
    from transforms.scoring.paper_audit import _levels_from_c, load_case_study
    from transforms.scoring.profiles import load_profile
    from transforms.scoring.synthesis import synthesize

    case = tomllib.loads((SEEDS / "ahp" / "paper" / "case_study.toml").read_text(encoding="utf-8"))
    catalogue = load_catalogue(settings)
    _path, study = load_case_study(settings)
    profile = load_profile(case["published_profile"], settings, catalogue=catalogue)
    card = synthesize(_levels_from_c(study, catalogue), profile, catalogue)
    rendered = render(from_scorecard(card, catalogue, profile=profile, title="Paper case study, Table 6"))
    page = rendered.html

    rows = dict(re.findall(r'<tr data-criterion="(u\d)" data-rank="\d+">(.*?)</tr>', page, re.S))
    assert sorted(rows) == sorted(r["criterion_id"] for r in case["table6"])
    for printed in case["table6"]:
        row = rows[printed["criterion_id"]]
        assert re.search(r'<span class="rank">(\d+)</span>', row).group(1) == str(printed["rank"])
        assert re.search(r'<span class="score">([\d.]+)</span>', row).group(1) == f"{printed['score']:.4f}"
        assert re.search(r'<span class="w">([\d.]+)</span>', row).group(1) == f"{printed['weight']:.4f}"
        assert html.unescape(row).count(printed["attention_zh"]) == 1
    composite = re.search(r'id="composite">([\d.]+)<', page).group(1)
    assert round(float(composite), 3) == case["composite"]["value"]
    assert case["composite"]["rating_zh"] in page and "OVERRIDE" in page

    # the same HTML prints: the PDF's first page has the headline and the heat map
    assert rendered.pdf_error is None, rendered.pdf_error
    if shutil.which("pdftotext"):
        (tmp_path / "paper.pdf").write_bytes(rendered.pdf)
        first = " ".join(_pdf_text(tmp_path / "paper.pdf", 1, 1).split())
        assert composite in first and "weight W (AHP)" in first and "u4 business continuity" in first


# ---- riskcard report -----------------------------------------------------------------------------------------------


def test_riskcard_report_writes_html_and_pdf_to_out(published, tmp_path, monkeypatch, capsys):
    from transforms.cli.main import main

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "committee"
    code = main(["report", "--as-of", AS_OF.isoformat(), "--out", str(out), "--warehouse", str(published.warehouse),
                 "--config", str(tmp_path / "riskcard.toml")])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    html_file, pdf_file = out / "riskcard-report-2025-03-31-v1.html", out / "riskcard-report-2025-03-31-v1.pdf"
    assert html_file.is_file() and pdf_file.read_bytes().startswith(b"%PDF-")
    assert f"wrote {html_file}" in printed.out and f"wrote {pdf_file}" in printed.out
    composite = f"{_version_row(published)['composite']:.4f}"
    assert composite in html_file.read_text(encoding="utf-8")

    # one format, to a file name (the newest date and its latest version by default)
    single = tmp_path / "one" / "card.html"
    assert main(["report", "--format", "html", "--out", str(single), "--warehouse", str(published.warehouse)]) == 0
    assert composite in single.read_text(encoding="utf-8") and not single.with_suffix(".pdf").exists()
    assert main(["report", "--format", "pdf", "--out", str(single), "--warehouse", str(published.warehouse)]) == 2
    assert main(["report", "--as-of", "2025-03-31", "--version", "9", "--warehouse", str(published.warehouse)]) == 1
    assert "version 9 of 2025-03-31 has not been published" in capsys.readouterr().err


def test_the_pdf_renderer_fetches_nothing_a_document_names():
    """WeasyPrint is given a fetcher that refuses every protocol: a document naming an image on a live local HTTP
    server and a local file still renders, and the server sees no request."""
    import http.server
    import threading

    from transforms.publishing.report_pdf import render_pdf

    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's hook name
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        document = (
            f'<html><head><link rel="stylesheet" href="{url}/style.css"></head><body><p>headline</p>'
            f'<img src="{url}/logo.png"><img src="file:///etc/hostname"></body></html>'
        )
        pdf = render_pdf(document)
    finally:
        server.shutdown()
        server.server_close()
    assert pdf.startswith(b"%PDF") and hits == []
