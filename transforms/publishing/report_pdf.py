"""The committee report as PDF: the same HTML, laid out by WeasyPrint with the report's print stylesheet.

Why WeasyPrint: it is a maintained (BSD) HTML/CSS-to-PDF engine in Python that renders the report's own HTML
and inline SVG (its SVG renderer keeps the charts' text as PDF text), honours CSS paged media (``@page``,
page-break rules, running footers: headline and heat map on page 1), embeds subsets of the system fonts
(the CJK names with fontconfig's CJK font), and needs no browser or network: one HTML, two faithful outputs.
It needs the system's pango; where pango is missing the import fails and the caller keeps the HTML
(:class:`PdfUnavailable`).

Offline: every URL the document might name is refused (``url_fetcher``), so the PDF never loads anything.
"""

from __future__ import annotations

import contextlib
import logging
import re


class PdfUnavailable(RuntimeError):
    """The PDF could not be rendered (WeasyPrint or the system's pango missing, or a rendering failure)."""


def _refusing_fetcher():
    """A WeasyPrint URL fetcher that fetches nothing (every protocol refused; WeasyPrint 70 takes a URLFetcher, not
    a function). A refused resource is left out and the rendering goes on."""
    import weasyprint

    return weasyprint.URLFetcher(allowed_protocols=(), fail_on_errors=False)


@contextlib.contextmanager
def _quiet():
    """WeasyPrint logs a warning for every SVG presentation property its HTML stylesheet parser does not know
    (``fill``, ``stroke``: its SVG renderer does use them) and its progress at INFO: errors only, while it runs."""
    loggers = [logging.getLogger(name) for name in ("weasyprint", "weasyprint.progress", "fontTools")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def printed(document: str) -> str:
    """The document without its screen-only parts (the record tables, ``display: none`` in print anyway): the
    same pages, without WeasyPrint parsing and styling hundreds of rows it would not lay out."""
    from transforms.publishing.report_html import END_SCREEN_ONLY, SCREEN_ONLY

    return re.sub(re.escape(SCREEN_ONLY) + ".*?" + re.escape(END_SCREEN_ONLY), "", document, flags=re.S)


def render_pdf(document: str) -> bytes:
    """The PDF of an HTML document from :func:`transforms.publishing.report_html.render_html`."""
    document = printed(document)
    with _quiet():
        try:
            import weasyprint
        except Exception as exc:  # ImportError, or OSError when pango / gobject cannot be loaded
            raise PdfUnavailable(f"WeasyPrint is not usable here ({type(exc).__name__}: {exc})") from exc
        try:
            return weasyprint.HTML(string=document, url_fetcher=_refusing_fetcher(), base_url=None).write_pdf()
        except Exception as exc:
            raise PdfUnavailable(f"WeasyPrint failed to render the report ({type(exc).__name__}: {exc})") from exc


__all__ = ["PdfUnavailable", "render_pdf"]
