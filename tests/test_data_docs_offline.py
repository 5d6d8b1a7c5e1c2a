"""The Data Docs site works with no network (a bank's closed network): real GX validations on the test warehouse,
then the index and a validation page opened in headless Chromium with every non-file request aborted, and a
static scan of every page the build wrote (transforms/quality/data_docs.py, expectations/data_docs_assets/)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser import is_blank, open_offline, require_chromium, screenshot_stats
from tests.conftest import TEST_SECRET
from tests.warehouse_builder import AS_OF, build_warehouse, open_builder
from tests.warehouse_reads import settings_in
from transforms.core.settings import Settings
from transforms.quality import ValidationOutcome, validate
from transforms.quality.data_docs import assets_dir, load_manifest, make_offline

FIRST, SECOND = "docs-first", "docs-second"
NEGATIVE_VALUE = "[critical] Values are physical quantities"  # the expectation the second run breaks
# what a page would load from the network: src= on any tag, <link href=>, CSS url(...) and @import
LOADED = re.compile(
    r"""\bsrc\s*=\s*["']?\s*(https?:)?//"""
    r"""|<link\b[^>]*?\bhref\s*=\s*["']?\s*(https?:)?//"""
    r"""|url\(\s*["']?\s*(https?:)?//"""
    r"""|@import\s+(url\()?\s*["']?\s*(https?:)?//""",
    re.IGNORECASE,
)
LINK = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*["'](https?://[^"']+)""", re.IGNORECASE)
GX_LINKS = ("https://greatexpectations.io",)  # GX's own credit and newsletter links: clicked, never loaded


@dataclass(frozen=True)
class Site:
    settings: Settings
    first: ValidationOutcome
    second: ValidationOutcome

    @property
    def root(self) -> Path:
        return self.settings.data_docs_dir


@pytest.fixture(scope="module")
def site(tmp_path_factory, warehouse_template) -> Site:
    """Two real validations of the test warehouse: a clean one, then one where leaf SP1's value is negative."""
    settings = settings_in(tmp_path_factory.mktemp("data-docs"), TEST_SECRET)
    build_warehouse(warehouse_template, settings).con.close()
    first = validate(settings, AS_OF, run_id=FIRST, alert=False)
    builder = open_builder(settings)
    builder.con.execute(
        "UPDATE marts.fct_leaf_indicators SET value = -1 WHERE as_of_date = ? AND indicator_id = 'SP1'", [AS_OF]
    )
    builder.con.close()
    second = validate(settings, AS_OF, run_id=SECOND, alert=False)
    assert not first.failures and second.critical_failed
    return Site(settings, first, second)


def _pages(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".html", ".css") and p.is_file())


def _validation_page(site: Site) -> Path:
    (page,) = {f.data_docs_page for f in site.second.failures if f.suite == "indicators"}
    assert page and page.startswith("file://"), page
    return Path(page.removeprefix("file://"))


def test_the_vendored_assets_are_the_pinned_files(settings):
    """Every file the manifest names is there with its sha256, listed in the README, with its package's license."""
    assets = assets_dir(settings)
    manifest = load_manifest(assets)
    readme = (assets / "README.md").read_text(encoding="utf-8")
    for item in manifest["files"]:
        digest = hashlib.sha256((assets / item["file"]).read_bytes()).hexdigest()
        assert digest == item["sha256"], item["file"]
        assert f"`{item['file']}`" in readme and item["sha256"] in readme, item["file"]
    for package in manifest["packages"]:
        assert (assets / package["license_file"]).is_file(), package
        assert f"`{package['npm_spec']}`" in readme, package
    assert all(f["replaces"] is None or f["replaces"].startswith("https://") for f in manifest["files"])


def test_no_page_loads_anything_from_the_network(site):
    pages = _pages(site.root)
    assert len([p for p in pages if p.suffix == ".html"]) >= 1 + 3 + 4  # index, suites, two runs of two suites
    loading = {
        str(p.relative_to(site.root)): sorted({m.group(0) for m in LOADED.finditer(p.read_text(encoding="utf-8"))})
        for p in pages
    }
    assert {page: found for page, found in loading.items() if found} == {}
    links = {url for p in pages for url in LINK.findall(p.read_text(encoding="utf-8"))}
    assert all(url.startswith(GX_LINKS) for url in links), links  # only GX's credit and newsletter links remain
    # the rewrite is idempotent and every vendored file is in place: a second pass changes nothing
    again = make_offline(site.root, assets_dir(site.settings))
    assert (again.rewritten, again.copied, again.external) == ([], [], {})


def test_the_index_lists_the_validations_with_no_network(site, tmp_path):
    require_chromium()
    page = open_offline(
        site.root / "index.html",
        wait_for=".ge-index-page-validation-results-table tbody tr",
        screenshot=tmp_path / "index.png",
    )
    assert page.requests_blocked == []
    assert page.failed_file == [] and page.console_errors == []
    assert not is_blank(page.screenshot_png), screenshot_stats(page.screenshot_png)
    # the table bootstrap-table draws from the page's data: every run and suite, one row per validation
    for text in (FIRST, SECOND, "indicators", "ingestion_health"):
        assert text in page.text, (text, page.text)
    assert "Showing 1 to 4 of 4 rows" in page.text, page.text
    assert any(url.endswith("/bootstrap-table.min.js") for url in page.requests_file), page.requests_file


def test_a_validation_page_shows_its_results_with_no_network(site, tmp_path):
    require_chromium()
    path = _validation_page(site)
    page = open_offline(path, wait_for="table tbody tr", screenshot=tmp_path / "validation.png")
    assert page.requests_blocked == []
    assert page.failed_file == [] and page.console_errors == []
    assert not is_blank(page.screenshot_png), screenshot_stats(page.screenshot_png)
    assert "Expectation Validation Result" in page.text and SECOND in page.text
    assert "Failed" in page.text and NEGATIVE_VALUE in page.text, page.text
    assert "Unsuccessful Expectations" in page.text
    # the status icons are Font Awesome's: its webfont came from the site folder
    assert any(url.endswith(".woff2") and "/static/vendor/" in url for url in page.requests_file), page.requests_file


def test_the_harness_refuses_and_records_every_network_request(tmp_path):
    """What makes ``requests_blocked == []`` above mean something: a page that reaches out is caught at it."""
    require_chromium()
    page_file = tmp_path / "reaching.html"
    page_file.write_text(
        "<html><head><link rel='stylesheet' href='https://cdn.example.com/a.css'>"
        "<style>body { background: url('http://images.example.com/b.png') }</style></head>"
        "<body><h1>offline</h1><img src='https://images.example.com/c.png'>"
        "<script>fetch('https://api.example.com/d').catch(() => {})</script></body></html>"
    )
    page = open_offline(page_file)
    assert set(page.requests_blocked) == {
        "https://cdn.example.com/a.css",
        "http://images.example.com/b.png",
        "https://images.example.com/c.png",
        "https://api.example.com/d",
    }
    assert page.requests_file == [page_file.as_uri()] and page.text.strip() == "offline"
    blank = tmp_path / "blank.html"
    blank.write_text("<html><body></body></html>")
    empty = open_offline(blank, pdf=True, screenshot=tmp_path / "blank.png")
    assert is_blank(empty.screenshot_png) and (tmp_path / "blank.png").read_bytes() == empty.screenshot_png
    assert empty.pdf_bytes is not None and empty.pdf_bytes.startswith(b"%PDF")
