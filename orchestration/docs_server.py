"""`ledger docs --serve`: the docs an analyst reads, and nothing else of the warehouse.

The warehouse folder also holds the working database, every version file and the Dagster
instance; a plain directory server would hand all of them to anyone who can reach the port.
This one answers a landing page at ``/``, files under ``/docs/dbt/``, ``/docs/gx/`` and
``/reports/<version>/``, and 404 for everything else (directory listings included).
"""

from __future__ import annotations

import html
import posixpath
import re
import urllib.parse
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path

from orchestration.paths import LedgerPaths

LOOPBACK = "127.0.0.1"
VERSION_DIR = re.compile(r"v\d{4,}")
SERVED_PREFIXES = ("/docs/dbt/", "/docs/gx/", "/reports/")


def report_versions(paths: LedgerPaths) -> list[str]:
    """Versions with an evidence report, newest first."""
    if not paths.reports_dir.is_dir():
        return []
    found = [
        d.name
        for d in paths.reports_dir.iterdir()
        if VERSION_DIR.fullmatch(d.name) and (d / "index.html").is_file()
    ]
    return sorted(found, reverse=True)


def landing_page(paths: LedgerPaths) -> str:
    """Links to what exists; what is missing says how to build it."""

    def item(href: str, text: str, path: Path, what: str) -> str:
        if path.is_file():
            return f'<li><a href="{href}">{text}</a>: {what}</li>'
        return f"<li>{text}: not built yet (run <code>ledger run</code>)</li>"

    versions = report_versions(paths)
    reports = "".join(
        f'<li><a href="/reports/{v}/index.html">{v}</a>{" (newest)" if i == 0 else ""}</li>'
        for i, v in enumerate(versions)
    )
    docs = paths.docs_dir
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Shipment ledger docs</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;"
        "padding:0 1rem}</style></head><body>\n<h1>Shipment ledger docs</h1>\n<ul>"
        + item(
            "/docs/dbt/index.html",
            "dbt docs",
            docs / "dbt" / "index.html",
            "every model and column, lineage, exposures",
        )
        + item(
            "/docs/gx/index.html",
            "GX Data Docs",
            docs / "gx" / "index.html",
            "validation results of every suite",
        )
        + "</ul>\n<h2>Evidence reports</h2>\n"
        + (f"<ul>{reports}</ul>" if versions else "<p>No version published yet.</p>")
        + f"\n<p>Served from <code>{html.escape(str(paths.warehouse_dir))}</code>.</p>"
        + "</body></html>\n"
    )


def is_served(url_path: str) -> bool:
    """True for the landing page and files under the docs and report folders."""
    path = posixpath.normpath(urllib.parse.unquote(url_path.split("?", 1)[0].split("#", 1)[0]))
    if path == "/":
        return True
    if not any((path + "/").startswith(p) for p in SERVED_PREFIXES) or path.endswith("/"):
        return False
    if path.startswith("/reports/"):
        parts = path.split("/")
        return len(parts) > 3 and VERSION_DIR.fullmatch(parts[2]) is not None
    return path not in ("/docs/dbt", "/docs/gx")


class DocsHandler(SimpleHTTPRequestHandler):
    """Static files from the warehouse folder, restricted to :data:`SERVED_PREFIXES`."""

    def __init__(self, *args: object, paths: LedgerPaths, **kwargs: object) -> None:
        self.paths = paths
        super().__init__(*args, directory=str(paths.warehouse_dir), **kwargs)

    def send_head(self):  # noqa: ANN201 - signature of the base class
        if not is_served(self.path):
            self.send_error(404, "Not found")
            return None
        if urllib.parse.urlsplit(self.path).path == "/":
            body = landing_page(self.paths).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return BytesIO(body)
        if Path(self.translate_path(self.path)).is_dir():
            self.send_error(404, "Not found")  # no directory listings
            return None
        return super().send_head()


def make_server(paths: LedgerPaths, port: int) -> ThreadingHTTPServer:
    """Bound to loopback only; port 0 picks a free one (``server.server_address`` has it)."""
    return ThreadingHTTPServer((LOOPBACK, port), partial(DocsHandler, paths=paths))
