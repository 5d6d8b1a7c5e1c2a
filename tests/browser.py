"""Open a local HTML file in headless Chromium with the network cut off, for tests of what a person would see.

Debian's ``/usr/bin/chromium`` is driven through playwright (no browser download: ``executable_path``). Every
request whose URL is not ``file:``, ``data:``, ``blob:`` or ``about:`` is aborted *and* recorded, so a test can
assert both that a page renders without the network (the bank's closed network) and that it never even tried to
reach it. The resolver is also told every host is unknown (``--host-resolver-rules``), so nothing that slips past
the request routing can reach the network either.

API (shared by the Data Docs tests and the HTML report tests; keep it stable)::

    from tests.browser import open_offline, require_chromium, is_blank, screenshot_stats

    require_chromium()  # pytest.skip, loudly, when /usr/bin/chromium is missing or cannot start
    page = open_offline(path, wait_for="table tbody tr", screenshot=tmp_path / "page.png", pdf=True)
    page.requests_blocked  # list[str]: every non-file URL the page tried to load (aborted), in order
    page.requests_file  # list[str]: every file:// URL it loaded (the page itself first)
    page.text  # str: document.body.innerText once loaded (what JavaScript rendered, not the raw HTML)
    page.html  # str: the DOM serialised after load (page.content())
    page.screenshot_png  # bytes: a full-page PNG (also written to ``screenshot`` when given)
    page.pdf_bytes  # bytes | None: the page printed to PDF (A4, backgrounds) when pdf=True
    page.console_errors  # list[str]: console.error messages and uncaught exceptions ("pageerror: ...")
    page.failed_file  # list[str]: file:// URLs that failed to load (a missing local asset)
    is_blank(page.screenshot_png)  # True for an empty/white or single-colour screenshot
    screenshot_stats(png)  # (distinct colours, share of non-white pixels), for a message

``open_offline`` waits for the ``load`` event, then for network idle, then (``wait_for``) for a CSS selector to be
visible; a selector that never appears raises :class:`OfflinePageError` (an AssertionError) naming the blocked
requests, the console errors and the text the page showed. Keyword-only extras: ``viewport`` (default 1280x900)
and ``timeout_ms`` (default 30 s per wait). Each call starts its own browser (about 1-2 s).
``require_chromium`` is also available as the fixture ``chromium`` (import it into the test module)::

    from tests.browser import chromium  # noqa: F401 - a fixture
    pytestmark = pytest.mark.usefixtures("chromium")  # or call require_chromium() at the top of a test

Chromium, poppler-utils (pdftotext for PDF tests) and a CJK font come from Debian's packages; ``make test``
installs them (``make system-deps``) when apt-get is there.
"""

from __future__ import annotations

import contextlib
import functools
import io
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
INSTALL_HINT = (
    "install Debian's packages: `make system-deps` (or `apt-get install -y --no-install-recommends chromium "
    "poppler-utils fonts-wqy-zenhei`); playwright's own browser download is not used"
)
# every host unknown to the resolver, whatever the request routing lets through; no background traffic of Chromium's
LAUNCH_ARGS = [
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--no-proxy-server",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1280, "height": 900}


class OfflinePageError(AssertionError):
    """The page did not get to the state asked for (a selector never appeared); says what it showed."""


@dataclass
class OfflinePage:
    url: str
    requests_blocked: list[str]
    requests_file: list[str]
    text: str
    html: str
    screenshot_png: bytes
    console_errors: list[str]
    failed_file: list[str] = field(default_factory=list)
    pdf_bytes: bytes | None = None


@functools.cache
def _chromium_problem() -> str | None:
    """Why Chromium cannot be used here (None when it can): missing, or it does not start headless."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # the dev extra is not installed
        return f"the playwright package is missing ({exc}); run `make setup`"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, timeout=60_000)
            browser.close()
    except Exception as exc:  # noqa: BLE001 - any start failure is a skip reason, shown in full
        version = subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True, check=False)
        return f"{CHROMIUM} does not start headless ({exc!s:.500}; --version said {version.stdout.strip()!r})"
    return None


def require_chromium() -> None:
    """Skip the calling test, loudly, when headless Chromium cannot be had on this machine."""
    problem = _chromium_problem()
    if problem:
        pytest.skip(f"BROWSER TEST SKIPPED: {problem}. To run it, {INSTALL_HINT}.")


@pytest.fixture
def chromium() -> None:
    """Fixture form of :func:`require_chromium`."""
    require_chromium()


def open_offline(
    path: Path,
    *,
    wait_for: str | None = None,
    screenshot: Path | None = None,
    pdf: bool = False,
    viewport: dict[str, int] | None = None,
    timeout_ms: int = 30_000,
) -> OfflinePage:
    """Open ``path`` (a local file) in headless Chromium with every network request aborted and recorded."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(path)
    url = path.as_uri()
    blocked: list[str] = []  # aborted by the route
    seen: list[str] = []  # non-local requests seen as events (routing does not cover every kind)
    files: list[str] = []
    failed_file: list[str] = []
    errors: list[str] = []

    def route(route_) -> None:
        request_url = route_.request.url
        if request_url.startswith(LOCAL_SCHEMES):
            route_.continue_()
        else:
            blocked.append(request_url)
            route_.abort("internetdisconnected")

    def on_request(request) -> None:
        if request.url.startswith("file:"):
            files.append(request.url)
        elif not request.url.startswith(LOCAL_SCHEMES):
            seen.append(request.url)

    def on_failed(request) -> None:
        if request.url.startswith("file:"):
            failed_file.append(request.url)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, timeout=60_000)
        try:
            context = browser.new_context(viewport=viewport or VIEWPORT, service_workers="block")
            context.route("**/*", route)
            page = context.new_page()
            page.set_default_timeout(timeout_ms)
            page.on("request", on_request)
            page.on("requestfailed", on_failed)
            page.on("websocket", lambda ws: seen.append(ws.url))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            page.goto(url, wait_until="load")
            with contextlib.suppress(PlaywrightTimeout):  # a page that keeps polling still gets looked at
                page.wait_for_load_state("networkidle", timeout=timeout_ms)
            if wait_for:
                try:
                    page.wait_for_selector(wait_for, state="visible")
                except PlaywrightTimeout as exc:
                    text = page.evaluate("() => document.body ? document.body.innerText : ''")
                    raise OfflinePageError(
                        f"{wait_for!r} never became visible in {path}; blocked requests: {blocked}; "
                        f"console errors: {errors}; the page showed: {text[:2000]!r}"
                    ) from exc
            text = page.evaluate("() => document.body ? document.body.innerText : ''")
            html = page.content()
            png = page.screenshot(full_page=True)
            pdf_bytes = page.pdf(format="A4", print_background=True) if pdf else None
        finally:
            browser.close()
    if screenshot is not None:
        Path(screenshot).write_bytes(png)
    return OfflinePage(
        url=url,
        requests_blocked=blocked + [u for u in seen if u not in blocked],
        requests_file=files,
        text=text,
        html=html,
        screenshot_png=png,
        console_errors=errors,
        failed_file=failed_file,
        pdf_bytes=pdf_bytes,
    )


def screenshot_stats(png: bytes) -> tuple[int, float]:
    """(distinct colours, share of pixels that are not near-white) of a PNG."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 24)
    distinct = len(colours) if colours is not None else 1 << 24
    grey = image.convert("L")
    histogram = grey.histogram()
    ink = sum(histogram[:245]) / max(1, image.width * image.height)
    return distinct, ink


def is_blank(png: bytes, *, min_colours: int = 16, min_ink: float = 0.005) -> bool:
    """Whether a screenshot shows (next to) nothing: too few colours, or almost every pixel near-white."""
    distinct, ink = screenshot_stats(png)
    return distinct < min_colours or ink < min_ink
