"""GX Data Docs that work without a network.

GX's page templates load Bootstrap, jQuery, bootstrap-table, Font Awesome and Vega from CDNs:
offline, the pages are unstyled and the index's results table (drawn by bootstrap-table) stays
empty. After each build, the files are copied from Python packages in uv.lock (xstatic-jquery,
xstatic-bootstrap, xstatic-font-awesome, django-js-lib-vega-embed) into ``static/vendor/``
beside the docs, and every CDN URL in the pages is rewritten to a relative path. No Python
package ships bootstrap-table, so ``static/gx_table.js`` (this repository) draws the same rows,
sorted as GX asks and linking to each validation page, without GX's filter controls; the
stylesheets and scripts of those filters, of the date picker they use and of the dark theme are
dropped. Bootstrap's bundle replaces Popper + Bootstrap.
"""

from __future__ import annotations

import os
import re
import shutil
from importlib.resources import files
from pathlib import Path

VENDOR = "static/vendor"
TABLE_SCRIPT = "static/gx_table.js"
LOGO = "static/images/logo-long.png"  # GX copies its images into the docs' static/ itself

# CDN URL (query string removed) -> file under the docs folder, or None to drop the tag
CDN_FILES: dict[str, str | None] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": (
        f"{VENDOR}/bootstrap/css/bootstrap.min.css"
    ),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": (
        f"{VENDOR}/bootstrap/js/bootstrap.bundle.min.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": None,
    "https://code.jquery.com/jquery-3.7.1.min.js": f"{VENDOR}/jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        f"{VENDOR}/font-awesome/css/all.min.css"
    ),
    "https://cdn.jsdelivr.net/npm/vega@5": f"{VENDOR}/vega/vega5.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": f"{VENDOR}/vega/vega-lite5.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": f"{VENDOR}/vega/vega-embed6.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": TABLE_SCRIPT,
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": None,
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js": None,
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css": None,
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css": None,
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css": None,
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js": None,
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/"
    "bootstrap-prefers-dark.css": None,
    "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png": LOGO,
}

# tags that load something: <script src>, <link href>, <img src>
TAG_RE = re.compile(
    r"<(?P<tag>script|link|img)\b(?P<attrs>[^>]*?)\b(?P<attr>src|href)="
    r"\"(?P<url>https?://[^\"]+)\"(?P<rest>[^>]*)>(?P<close>\s*</script>)?",
    re.IGNORECASE,
)
SRI_RE = re.compile(r"\s+(?:integrity|crossorigin)=\"[^\"]*\"")
# GX's own relative links into static/ (its favicon link has one "../" too few on pages)
STATIC_LINK_RE = re.compile(
    r"(?P<head><(?:script|link|img)\b[^>]*?\b(?:src|href)=\")(?P<path>(?:\.\./)+static/[^\"]+)\""
)


def vendor_sources() -> dict[str, Path]:
    """Where each vendored file comes from: folders and files inside installed packages."""
    bootstrap = files("xstatic.pkg.bootstrap") / "data"
    font_awesome = files("xstatic.pkg.font_awesome") / "data"
    vega = files("js_lib_vega_embed") / "static" / "js_lib_vega_embed"
    return {
        f"{VENDOR}/bootstrap/css/bootstrap.min.css": bootstrap / "css" / "bootstrap.min.css",
        f"{VENDOR}/bootstrap/js/bootstrap.bundle.min.js": bootstrap
        / "js"
        / "bootstrap.bundle.min.js",
        f"{VENDOR}/jquery/jquery.min.js": files("xstatic.pkg.jquery") / "data" / "jquery.min.js",
        f"{VENDOR}/font-awesome/css/all.min.css": font_awesome / "css" / "all.min.css",
        f"{VENDOR}/font-awesome/webfonts": font_awesome / "webfonts",  # all.min.css loads them
        f"{VENDOR}/vega/vega5.js": vega / "vega5.js",
        f"{VENDOR}/vega/vega-lite5.js": vega / "vega-lite5.js",
        f"{VENDOR}/vega/vega-embed6.js": vega / "vega-embed6.js",
        TABLE_SCRIPT: files("orchestration.quality") / "static" / "gx_table.js",
    }


def copy_vendor_files(docs_dir: Path) -> None:
    """Copy what is missing or differs in size (cheap on every run, exact after an upgrade)."""
    for rel, source in vendor_sources().items():
        target = docs_dir / rel
        if source.is_dir():
            for item in source.iterdir():
                _copy(Path(str(item)), target / item.name)
        else:
            _copy(Path(str(source)), target)


def _copy(source: Path, target: Path) -> None:
    if target.exists() and target.stat().st_size == source.stat().st_size:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def localize_page(page: Path, docs_dir: Path) -> list[str]:
    """Rewrite one page's CDN URLs to paths relative to it; drop the tags with no local copy;
    re-anchor GX's relative links into static/ that miss it.

    Returns the URLs it has no entry for (left as they are: a GX upgrade that changes its
    CDN links shows up in the tests, never as a failed audit).
    """
    unknown: list[str] = []
    prefix = os.path.relpath(docs_dir, page.parent).replace(os.sep, "/") + "/"
    text = page.read_text(encoding="utf-8")

    def local(m: re.Match[str]) -> str:
        url = m["url"].split("?", 1)[0]
        if url not in CDN_FILES:
            unknown.append(m["url"])
            return m.group()
        target = CDN_FILES[url]
        if target is None:
            return ""
        tag = f'<{m["tag"]}{m["attrs"]}{m["attr"]}="{prefix}{target}"{m["rest"]}>'
        tag = SRI_RE.sub("", tag)
        return tag + (m["close"] or "")

    def anchored(m: re.Match[str]) -> str:
        if (page.parent / m["path"]).exists():
            return m.group()
        return f'{m["head"]}{prefix}static/{m["path"].split("static/", 1)[1]}"'

    localized = STATIC_LINK_RE.sub(anchored, TAG_RE.sub(local, text))
    if localized != text:
        tmp = page.with_name(f".{page.name}.tmp")
        tmp.write_text(localized, encoding="utf-8")
        os.replace(tmp, page)
    return unknown


def make_offline(docs_dir: Path, pages: list[Path]) -> list[str]:
    """Vendor files in place, then the given pages (just built by GX) rewritten to use them;
    returns the URLs left remote."""
    copy_vendor_files(docs_dir)
    return [url for page in pages if page.exists() for url in localize_page(page, docs_dir)]
