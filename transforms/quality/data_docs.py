"""Make the Data Docs site render with no network: GX's assets served from the site folder, not from CDNs.

GX 1.x's page templates load jQuery, Bootstrap, bootstrap-table, bootstrap-datepicker, Font Awesome and Vega from
public CDNs (jsdelivr, cdnjs, unpkg, bootstrapcdn, code.jquery.com) and its logo from S3; GX has no setting for a
local asset base (custom views are looked up *after* its own templates, so they cannot replace them). In a closed
network such a page shows no index table at all: the list of validations is drawn by bootstrap-table.

So after every build the pinned copies vendored in ``expectations/data_docs_assets/`` (``manifest.json`` there
names, for each file, the CDN URL it replaces; its README the package, version, license, source and sha256) are
copied into ``<site>/static/vendor/``, and every HTML page of the site (and GX's own CSS copy) is rewritten:

- each CDN URL of the manifest in a ``src``/``href`` becomes the relative path of its copy, and the tag loses its
  ``integrity``/``crossorigin`` attributes (a ``file://`` page cannot make the CORS request SRI needs; the vendored
  files are the very ones those hashes name: the README says which were checked);
- GX's S3 logo becomes the copy GX itself ships in ``static/images/logo-long.png``; the dark-mode logo, which GX
  does not ship, is dropped (``background: none``: the dark navbar shows no logo);
- links a person clicks (``<a href="https://greatexpectations.io">``) are left alone.

The rewrite is idempotent and runs over every page, so pages built before it (older runs) are fixed too. A loaded
``http(s)`` reference that the manifest does not know (a GX upgrade) is left as it is and logged as a warning.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

ASSETS_SUBDIR = "data_docs_assets"
MANIFEST = "manifest.json"
VENDOR_DIR = Path("static") / "vendor"  # in the site
GX_LOGO = Path("static") / "images" / "logo-long.png"  # copied into the site by GX's own build
S3 = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
DROPPED = "none"

_TAG = re.compile(r"<(script|link|img)\b[^>]*>", re.IGNORECASE)
_URL_ATTR = re.compile(r"""\b(src|href)(\s*=\s*)(["'])(https?://[^"']*)\3""", re.IGNORECASE)
_SRI_ATTR = re.compile(r"""\s+(integrity|crossorigin)(\s*=\s*(["'])[^"']*\3)?""", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(["']?)(https?://[^"')\s]+)\1\s*\)""", re.IGNORECASE)
# what a page loads from the network (for the warning): src= anywhere, <link href=>, CSS url(...) and @import
_LOADED = re.compile(
    r"""\bsrc\s*=\s*["']?(https?://[^"'\s>]+)"""
    r"""|<link\b[^>]*?\bhref\s*=\s*["']?(https?://[^"'\s>]+)"""
    r"""|url\(\s*["']?(https?://[^"')\s]+)"""
    r"""|@import\s+(?:url\()?\s*["']?(https?://[^"')\s;]+)""",
    re.IGNORECASE,
)


@dataclass
class OfflineSite:
    """What one pass did: the pages rewritten, the vendored files copied, external loads left (should be none)."""

    site_dir: Path
    rewritten: list[Path] = field(default_factory=list)
    copied: list[Path] = field(default_factory=list)
    external: dict[Path, list[str]] = field(default_factory=dict)


def assets_dir(settings) -> Path:
    return Path(settings.expectations_dir) / ASSETS_SUBDIR


def load_manifest(assets: Path) -> dict:
    return json.loads((assets / MANIFEST).read_text(encoding="utf-8"))


def make_offline(site_dir: Path, assets: Path) -> OfflineSite:
    """Copy the vendored assets into ``site_dir`` and point every page of the site at them."""
    site_dir = Path(site_dir)
    manifest = load_manifest(assets)
    outcome = OfflineSite(site_dir)
    outcome.copied = _copy_assets(site_dir, assets, manifest)
    targets = {f["replaces"]: VENDOR_DIR / f["file"] for f in manifest["files"] if f.get("replaces")}
    for path in sorted(site_dir.rglob("*")):
        if path.suffix not in (".html", ".css") or not path.is_file() or _is_vendored(site_dir, path):
            continue
        text = path.read_text(encoding="utf-8")
        new = rewrite(text, _root_from(site_dir, path), targets)
        if new != text:
            _write(path, new)
            outcome.rewritten.append(path)
        left = external_loads(new)
        if left:
            outcome.external[path] = left
    if outcome.external:
        log.warning(
            "Data Docs pages still load from the network (not in %s): %s",
            assets / MANIFEST,
            sorted({u for urls in outcome.external.values() for u in urls}),
        )
    return outcome


def rewrite(text: str, root: str, targets: dict[str, Path]) -> str:
    """``text`` (a page or a stylesheet) with the known external assets pointed at their local copies; ``root``
    is the relative path from the page's folder to the site root (``"."``, ``"../../../.."``)."""

    def local(url: str) -> str | None:
        if url in targets:
            return _join(root, targets[url])
        if url.split("?", 1)[0] == S3 + "logo-long.png":
            return _join(root, GX_LOGO)
        return None

    def tag(match: re.Match) -> str:
        whole = match.group(0)
        attr = _URL_ATTR.search(whole)
        target = local(attr.group(4)) if attr else None
        if target is None:
            return whole
        whole = f"{whole[: attr.start(4)]}{target}{whole[attr.end(4) :]}"
        return _SRI_ATTR.sub("", whole)

    def css_url(match: re.Match) -> str:
        url = match.group(2)
        if url.startswith(S3) and url.split("?", 1)[0] != S3 + "logo-long.png":
            return DROPPED  # the dark-mode logo: GX does not ship it
        target = local(url)
        return match.group(0) if target is None else f"url('{target}')"

    return _CSS_URL.sub(css_url, _TAG.sub(tag, text))


def external_loads(text: str) -> list[str]:
    """The http(s) URLs that ``text`` would load (scripts, stylesheets, images, fonts), not the links in it."""
    return sorted({next(g for g in m.groups() if g) for m in _LOADED.finditer(text)})


def _copy_assets(site_dir: Path, assets: Path, manifest: dict) -> list[Path]:
    wanted = [f["file"] for f in manifest["files"]] + [p["license_file"] for p in manifest["packages"]]
    wanted += ["README.md", MANIFEST]
    copied = []
    for name in wanted:
        source, target = assets / name, site_dir / VENDOR_DIR / name
        if target.is_file() and target.read_bytes() == source.read_bytes():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        copied.append(target)
    return copied


def _is_vendored(site_dir: Path, path: Path) -> bool:
    return path.relative_to(site_dir).parts[:2] == VENDOR_DIR.parts


def _root_from(site_dir: Path, page: Path) -> str:
    return Path(os.path.relpath(site_dir, page.parent)).as_posix()


def _join(root: str, target: Path) -> str:
    return target.as_posix() if root == "." else f"{root}/{target.as_posix()}"


def _write(path: Path, text: str) -> None:
    """Replace the page whole (a reader never sees half a page)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
