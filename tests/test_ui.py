"""`ledger ui` as a person meets it: served after a sample run, seen in a real browser (Debian's
chromium driven headless by Playwright), and stopped by one SIGTERM to its process group."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from orchestration.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
START_TIMEOUT_S = 900.0  # loads the definitions (dbt manifest, GX) on a shared 2-core machine
STOP_TIMEOUT_S = 180.0
WORKSPACE_QUERY = (
    b'{"query": "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus '
    b'locationOrLoadError { __typename } } } } }"}'
)
GROUPS = ("ingest", "staging", "intermediate", "marts", "publish")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def workspace_loaded(url: str) -> bool:
    """True once the code location has loaded (the graph can render), False while loading."""
    request = urllib.request.Request(
        f"{url}/graphql", data=WORKSPACE_QUERY, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.load(response)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False
    entries = body["data"]["workspaceOrError"]["locationEntries"]
    if entries and entries[0]["loadStatus"] == "LOADED":
        kind = entries[0]["locationOrLoadError"]["__typename"]
        assert kind == "RepositoryLocation", f"the definitions failed to load: {body}"
        return True
    return False


def group_processes(leader: int) -> list[psutil.Process]:
    """`ledger ui` and every process under it (the server runs in a session of its own)."""
    root = psutil.Process(leader)
    return [root, *root.children(recursive=True)]


@pytest.fixture(scope="module")
def ui(sample_cli_runs: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`ledger ui` on a free loopback port, in its own process group, once it serves."""
    log_path = tmp_path_factory.mktemp("ui") / "ui.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli", "ui", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=sample_cli_runs["env"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while not workspace_loaded(url):
            assert proc.poll() is None, f"ledger ui exited:\n{log_path.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"not serving:\n{log_path.read_text()[-3000:]}"
            time.sleep(1.0)
        yield {"url": url, "proc": proc, "log": log_path}
    finally:
        if proc.poll() is None:  # a failed test: leave nothing running
            for process in group_processes(proc.pid):
                with contextlib.suppress(psutil.Error):
                    process.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: `make setup` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


def error_toasts(page) -> list[str]:
    return (
        page.locator("[class*='toast']")
        .filter(has_text=re.compile("error", re.I))
        .all_inner_texts()
    )


def test_the_asset_graph_renders_its_groups(ui: dict, browser, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(f"{ui['url']}/asset-groups", timeout=120_000)
    for group in GROUPS:  # zoomed out to fit: group boxes, named, with their asset counts
        page.get_by_text(group, exact=True).first.wait_for(timeout=120_000)
    expect(page.get_by_text("fetching statuses")).to_have_count(0, timeout=120_000)
    page.screenshot(path=str(tmp_path / "asset_graph.png"))
    assert error_toasts(page) == []
    assert page.get_by_text("Join the Dagster community").count() == 0, "offline: no pop-up"
    page.close()


@pytest.mark.parametrize("asset", ["raw/file_registry", "raw/quarantine", "published_version"])
def test_asset_pages_show_the_sample_runs_materializations(
    ui: dict, browser, asset: str, tmp_path: Path
) -> None:
    """The UI reads `ledger run`'s instance (not a throwaway one), where every asset ran,
    bookkeeping tables included (they were external assets, "Never materialized", before)."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(f"{ui['url']}/assets/{asset}", timeout=120_000)
    page.get_by_text("Latest materialization").first.wait_for(timeout=120_000)
    status = page.get_by_text("Latest materialization").first.locator("xpath=..")
    # a green tag ("17 minutes ago") linking to the run; else "Never materialized"
    expect(status.locator("[aria-label='run_success']")).to_have_count(1, timeout=120_000)
    expect(status.locator("a[href^='/runs/']")).to_have_count(1)
    page.screenshot(path=str(tmp_path / "asset.png"))
    assert page.get_by_text("Never materialized").count() == 0
    assert page.get_by_text("Join the Dagster community").count() == 0
    page.close()


def test_a_check_page_shows_what_the_check_protects(ui: dict, browser, tmp_path: Path) -> None:
    from orchestration.defs.ingest.assets import FILES_READABLE

    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(
        f"{ui['url']}/assets/raw/manifests?view=checks&checkDetail=files_readable",
        timeout=120_000,
    )
    description = FILES_READABLE.format(source="manifests")
    page.get_by_text(description[:60]).first.wait_for(timeout=120_000)
    page.screenshot(path=str(tmp_path / "check_page.png"))
    assert page.get_by_text("No description provided").count() == 0
    assert error_toasts(page) == []
    page.close()


def test_one_sigterm_to_the_process_group_stops_the_whole_ui(ui: dict) -> None:
    proc = ui["proc"]
    processes = group_processes(proc.pid)
    assert len(processes) >= 4, "ledger ui, the server, its webserver and daemon"
    os.killpg(proc.pid, signal.SIGTERM)
    _, alive = psutil.wait_procs(processes, timeout=STOP_TIMEOUT_S)
    left = [(p.pid, " ".join(p.cmdline()[:4])) for p in alive if p.is_running()]
    assert left == [], f"still running after SIGTERM: {left}"
    assert proc.wait() == 0
    log = ui["log"].read_text()
    assert "SupersessionWarning" not in log
    assert "Serving dagster-webserver on" in log
