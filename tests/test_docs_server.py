"""`ledger docs --serve` in a real subprocess: the landing page, its links, and nothing else."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from orchestration.paths import LedgerPaths

URL_LINE = re.compile(r"serving the docs on (http://127\.0\.0\.1:\d+/) \(Ctrl-C to stop\)")


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _ctrl_c_stops_it() -> None:
    """In the child before exec: a shell's background job (nohup, `&`, some CI runners) starts
    with SIGINT ignored, and so would the server; the default lets the teardown's Ctrl-C stop it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, LedgerPaths]]:
    """A warehouse with docs, two reports and the files that must stay private, served on a
    free port by the real CLI; one server for the module (the tests only read from it)."""
    ledger_home = LedgerPaths.from_env(tmp_path_factory.mktemp("docs_home")).ensure()
    wh = ledger_home.warehouse_dir
    for rel in ("docs/dbt/index.html", "docs/gx/index.html", "docs/gx/static/styles/x.css"):
        (wh / rel).parent.mkdir(parents=True, exist_ok=True)
        (wh / rel).write_text(f"<p>{rel}</p>")
    for version in ("v0001", "v0002"):
        (wh / "reports" / version).mkdir(parents=True)
        (wh / "reports" / version / "index.html").write_text(f"<p>report {version}</p>")
    (wh / "staging.duckdb").write_bytes(b"private")
    (wh / "ledger.duckdb").write_bytes(b"private")
    (wh / "dagster").mkdir()
    (wh / "dagster" / "dagster.yaml").write_text("private")
    env = {**os.environ, "LEDGER_HOME": str(ledger_home.home)}
    env.pop("LEDGER_SERVING_DB", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "docs", "--serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        preexec_fn=_ctrl_c_stops_it,
    )
    try:
        url = None
        for line in proc.stdout:  # the URL line comes after the three locations
            if match := URL_LINE.fullmatch(line.strip()):
                url = match.group(1)
                break
        assert url is not None, "the server printed no URL"
        yield url, ledger_home
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C, as the URL line says
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()  # leave nothing running, then fail
            proc.wait()
            raise


def test_landing_page_links_to_docs_and_each_report(served: tuple[str, LedgerPaths]) -> None:
    url, _ = served
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback
        page = response.read().decode()
    links = re.findall(r'href="([^"]+)"', page)
    assert links == [
        "/docs/dbt/index.html",
        "/docs/gx/index.html",
        "/reports/v0002/index.html",
        "/reports/v0001/index.html",
    ]
    expected = {
        "/docs/dbt/index.html": "<p>docs/dbt/index.html</p>",
        "/docs/gx/index.html": "<p>docs/gx/index.html</p>",
        "/reports/v0002/index.html": "<p>report v0002</p>",
        "/reports/v0001/index.html": "<p>report v0001</p>",
    }
    for link in links:
        with urllib.request.urlopen(url + link.lstrip("/"), timeout=30) as response:  # noqa: S310
            assert response.read().decode() == expected[link]
    assert _status(url + "docs/gx/static/styles/x.css") == 200


@pytest.mark.parametrize(
    "path",
    [
        "staging.duckdb",
        "ledger.duckdb",
        "dagster/",
        "dagster/dagster.yaml",
        "docs/",
        "docs/gx/",
        "reports/",
        "reports/v0001/",
        "docs/dbt/../../staging.duckdb",
        "docs/dbt/%2e%2e/%2e%2e/staging.duckdb",
        "nothing.html",
    ],
)
def test_everything_else_is_404(served: tuple[str, LedgerPaths], path: str) -> None:
    url, _ = served
    assert _status(url + path) == 404


def test_listens_on_loopback_only(served: tuple[str, LedgerPaths]) -> None:
    url, _ = served
    assert url.startswith("http://127.0.0.1:")


def test_landing_page_without_docs_says_how_to_build_them(ledger_home: LedgerPaths) -> None:
    from orchestration.docs_server import landing_page

    page = landing_page(ledger_home)
    assert "<li>dbt docs: not built yet (run <code>ledger run</code>)</li>" in page
    assert "<p>No version published yet.</p>" in page
