"""BI safety and crash safety of publishing, with real processes: readers and kill -9."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from orchestration.paths import PROJECT_ROOT, LedgerPaths
from orchestration.publish.parts import files_read_by
from orchestration.publish.publisher import FAULT_ENV
from orchestration.publish.store import VersionStore
from tests.test_read_write_clients import HOLDER, refused

PUBLISHER = """
import sys
import duckdb
from orchestration.publish.store import VersionStore
from orchestration.paths import LedgerPaths

duckdb.execute("select ?", [1])  # warm up: the first bound parameter imports pandas (~1.4 s)
print("ready", flush=True)
paths = LedgerPaths.from_env()
result = VersionStore(paths).publish(paths.staging_db, sys.argv[1], {"a": sys.argv[2]}, "abc", {})
print(result.status, result.version.version_id)
"""


# Opens the served file the way a BI tool does and checks every table against the row counts of
# the version the file says it is. `hold` keeps one connection open across publishes.
READER = """
import json, os, sys
import duckdb

path, stop_file, mode = sys.argv[1], sys.argv[2], sys.argv[3]
stats = {"reads": 0, "errors": [], "mismatches": [], "versions": []}

def check(con):
    vid, counts = con.execute(
        "select version_id, row_counts from ledger_versions where is_served"
    ).fetchone()
    counts = json.loads(counts)
    seen = {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in counts}
    if seen != counts:
        stats["mismatches"].append([vid, counts, seen])
    if vid not in stats["versions"]:
        stats["versions"].append(vid)
    stats["reads"] += 1

held = duckdb.connect(path, read_only=True) if mode == "hold" else None
print("ready", flush=True)
while not os.path.exists(stop_file):
    try:
        if held is not None:
            check(held)
        else:
            con = duckdb.connect(path, read_only=True)
            try:
                check(con)
            finally:
                con.close()
    except Exception as exc:
        stats["errors"].append(repr(exc))
print(json.dumps(stats))
"""


def stage(paths: LedgerPaths, shipments: int, quarantine: int) -> None:
    paths.staging_db.unlink(missing_ok=True)
    con = duckdb.connect(str(paths.staging_db))
    con.execute(
        "create table fct_shipments as select 's' || range as waybill_no, "
        "range * 1.5 as gross_cargo_tonnes, true as is_synthetic from range(?)",
        [shipments],
    )
    con.execute(
        "create table quarantine as select 'unknown_unit' as reason_code, true as is_synthetic "
        "from range(?)",
        [quarantine],
    )
    con.close()


def run_publisher(
    paths: LedgerPaths, run: str, input_hash: str, kill_at: str | None = None
) -> subprocess.Popen[str]:
    env = {**os.environ, "LEDGER_HOME": str(paths.home)}
    env.pop(FAULT_ENV, None)
    if kill_at:
        env[FAULT_ENV] = kill_at
    return subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, run, input_hash],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def served(paths: LedgerPaths) -> tuple[int, int, dict[str, int]]:
    """(served version id, fct_shipments rows, registry row counts of that version)."""
    con = duckdb.connect(str(paths.serving_db), read_only=True)
    try:
        vid, counts = con.execute(
            "select version_id, row_counts from ledger_versions where is_served"
        ).fetchone()
        rows = con.execute("select count(*) from fct_shipments").fetchone()[0]
    finally:
        con.close()
    return vid, rows, json.loads(counts)


def pending(store: VersionStore) -> int:
    con = sqlite3.connect(store.registry_path)
    try:
        return con.execute("select count(*) from versions where status = 'pending'").fetchone()[0]
    finally:
        con.close()


def leftovers(paths: LedgerPaths) -> list[str]:
    """Temp files of a killed publish, and part files no version reads."""
    temp = [
        *paths.versions_dir.glob(".tmp-*"),
        *paths.versions_dir.glob("parts/*/.tmp-*"),
        *paths.warehouse_dir.glob(".ledger.duckdb.tmp-*"),
    ]
    read = set().union(*(files_read_by(p) for p in paths.versions_dir.glob("v*.duckdb")))
    unread = [p for p in paths.versions_dir.glob("parts/*/*/*.parquet") if str(p) not in read]
    return sorted(p.name for p in [*temp, *unread])


@pytest.mark.parametrize(
    ("stage_name", "survivor", "next_status", "next_id"),
    [
        ("registered", 1, "published", 3),
        ("version_written", 1, "published", 3),
        ("serving_built", 1, "published", 3),
        # killed after the swap, before the registry commit: the next run rolls forward
        ("served", 2, "unchanged", 2),
    ],
)
@pytest.mark.slow
def test_kill_9_mid_publish_keeps_the_served_version_and_the_next_publish_succeeds(
    ledger_home: LedgerPaths, stage_name: str, survivor: int, next_status: str, next_id: int
) -> None:
    store = VersionStore(ledger_home)
    stage(ledger_home, 1000, 2)
    store.publish(ledger_home.staging_db, "run-1", {"a": "h1"}, "abc", {})
    stage(ledger_home, 2000, 3)
    killed = run_publisher(ledger_home, "run-2", "h2", kill_at=stage_name)
    killed.communicate(timeout=60)
    assert killed.returncode == -signal.SIGKILL

    expected_rows = {1: 1000, 2: 2000}[survivor]
    vid, rows, counts = served(ledger_home)
    assert (vid, rows, counts["fct_shipments"]) == (survivor, expected_rows, expected_rows)

    again = store.publish(ledger_home.staging_db, "run-3", {"a": "h2"}, "abc", {})
    assert (again.status, again.version.version_id) == (next_status, next_id)
    assert served(ledger_home)[:2] == (next_id, 2000)
    assert leftovers(ledger_home) == []
    assert [(v.version_id, v.status) for v in store.versions()] == [
        (1, "published"),
        (next_id, "published"),
    ]
    kept = sorted(p.name for p in ledger_home.versions_dir.glob("v*.duckdb"))
    assert kept == ["v0001.duckdb", f"v{next_id:04d}.duckdb"]


@pytest.mark.slow
def test_kill_9_at_random_moments_never_breaks_the_served_file(ledger_home: LedgerPaths) -> None:
    store = VersionStore(ledger_home)
    stage(ledger_home, 300_000, 5)
    start = time.monotonic()
    store.publish(ledger_home.staging_db, "run-0", {"a": "h0"}, "abc", {})
    window = time.monotonic() - start  # kill somewhere inside a publish of the same size
    rng = random.Random(20240613)
    interrupted = 0
    for attempt in range(1, 7):
        stage(ledger_home, 300_000 + attempt, 5)
        proc = run_publisher(ledger_home, f"run-{attempt}", f"h{attempt}")
        assert proc.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0.0, window))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        vid, rows, counts = served(ledger_home)
        assert rows == counts["fct_shipments"]
        assert 300_000 <= rows <= 300_000 + attempt
        interrupted += bool(leftovers(ledger_home) or pending(store))
    assert interrupted >= 2  # the kills did land inside publishes
    final = store.publish(ledger_home.staging_db, "run-final", {"a": "final"}, "abc", {})
    vid = final.version.version_id
    assert served(ledger_home) == (vid, 300_006, {"fct_shipments": 300_006, "quarantine": 5})
    assert leftovers(ledger_home) == []
    assert all(v.status == "published" for v in store.versions())
    on_disk = sorted(p.name for p in ledger_home.versions_dir.glob("v*.duckdb"))
    assert on_disk == sorted(v.file_name for v in store.versions())


@pytest.mark.slow
def test_readers_see_only_complete_versions_while_runs_publish(
    ledger_home: LedgerPaths, tmp_path: Path
) -> None:
    """With a read-write session (DBeaver's default) inserting rows into the served file all
    along: it holds the file first, so the readers start after the run freed the served path."""
    stage(ledger_home, 50_000, 1)
    store = VersionStore(ledger_home)
    store.publish(ledger_home.staging_db, "run-0", {"a": "0"}, "abc", {})
    script, stop = tmp_path / "reader.py", tmp_path / "stop"
    script.write_text(READER)
    writer = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(ledger_home.serving_db), str(stop)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert [writer.stdout.readline() for _ in range(2)] == ["holding\n", "tried\n"]
    assert [f.kind for f in store.free_published_files()] == ["read_write_client"]
    readers = {
        mode: subprocess.Popen(
            [sys.executable, str(script), str(ledger_home.serving_db), str(stop), mode],
            stdout=subprocess.PIPE,
            text=True,
        )
        for mode in ("reconnect", "hold")
    }
    for proc in readers.values():  # both readers are connected before the first swap
        assert proc.stdout.readline() == "ready\n"
    for n in range(1, 6):
        stage(ledger_home, 50_000 + 10_000 * n, 1 + n)
        result = store.publish(ledger_home.staging_db, f"run-{n}", {"a": str(n)}, "abc", {})
        assert result.status == "published"
        time.sleep(0.5)
    stop.touch()
    stats = {mode: json.loads(proc.communicate(timeout=60)[0]) for mode, proc in readers.items()}
    assert json.loads(writer.communicate(timeout=60)[0]) == refused(ledger_home)

    for mode in ("reconnect", "hold"):
        assert stats[mode]["errors"] == []
        assert stats[mode]["mismatches"] == []
        assert stats[mode]["reads"] > 20
    # a reader that reconnects moves forward through versions; one that holds its connection
    # keeps reading the version it opened, undisturbed by the swaps
    assert len(stats["reconnect"]["versions"]) >= 4
    assert stats["reconnect"]["versions"] == sorted(stats["reconnect"]["versions"])
    assert stats["hold"]["versions"] == [1]
    assert served(ledger_home)[:2] == (6, 100_000)


def test_killed_after_the_swap_the_read_side_names_the_served_version(
    ledger_home: LedgerPaths,
) -> None:
    """The registry still says pending; `ledger versions` asks the served file, writes nothing."""
    store = VersionStore(ledger_home)
    stage(ledger_home, 1000, 2)
    store.publish(ledger_home.staging_db, "run-1", {"a": "h1"}, "abc", {})
    stage(ledger_home, 2000, 3)
    killed = run_publisher(ledger_home, "run-2", "h2", kill_at="served")
    killed.communicate(timeout=60)
    assert killed.returncode == -signal.SIGKILL
    assert pending(store) == 1

    env = {**os.environ, "LEDGER_HOME": str(ledger_home.home)}
    listing = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "versions"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert [line.split()[:3] for line in listing[2:4]] == [
        ["v0001", "published", listing[2].split()[2]],
        ["*", "v0002", "published"],
    ]
    assert listing[4:] == ["", "* = served (data/warehouse/ledger.duckdb)"]
    assert store.get(2).is_served and store.get(2).status == "published"
    assert pending(store) == 1  # the read side wrote nothing; the next publish rolls forward
