"""A BI tool that opens published files read-write (DBeaver's default), with real processes.

Its commits are refused by the WAL guard, its lock is cut short by serving a fresh copy, and a
stray WAL is moved aside before any reader replays it; the run says so in one line each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from orchestration.paths import PROJECT_ROOT, LedgerPaths
from orchestration.publish.guard import GUARD_TARGET, Finding
from orchestration.publish.registry import VersionError
from orchestration.publish.store import VersionStore
from tests.conftest import run_ledger
from tests.test_read_only_storage import (
    ledger,
    published_home,
    read_only,
    tree,
    unprivileged_python,
)
from tests.test_versions import BASE, publish, served_counts, stage

# Opens the file read-write like DBeaver, then tries to change it until told to stop; prints
# the outcome of every attempt (committed or the error).
HOLDER = """
import json, os, sys
import duckdb

path, stop = sys.argv[1], sys.argv[2]
con = duckdb.connect(path)
print("holding", flush=True)
outcomes = []
n = 0
while True:
    n += 1
    for sql in ("delete from quarantine", f"create table extra_{n} (i integer)"):
        try:
            con.execute(sql)
            outcomes.append("committed")
        except duckdb.Error as exc:
            outcomes.append(str(exc))
    if n == 1:
        print("tried", flush=True)
    if os.path.exists(stop):
        break
print(json.dumps(sorted(set(outcomes))), flush=True)
"""

READ = """
import sys
import duckdb
try:
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.execute("select count(*) from fct_shipments").fetchone()[0])
except duckdb.Error as exc:
    print(str(exc).splitlines()[0])
"""


KILLED_WRITER = """
import os, sys
import duckdb
con = duckdb.connect(sys.argv[1])
con.execute("create table extra as select 1 as x")
os._exit(0)  # no checkpoint: the WAL stays
"""


def fresh_read(path: Path) -> str:
    """What a BI tool opening the file now sees: the row count, or DuckDB's error."""
    return subprocess.run(
        [sys.executable, "-c", READ, str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()


def hold(db: Path, stop: Path) -> subprocess.Popen:
    """A read-write session on ``db`` (as this process's user: root here), once it has tried
    to write; it goes on trying until ``stop`` exists."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), str(stop)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline() == "holding\n"
    assert proc.stdout.readline() == "tried\n"
    return proc


@pytest.fixture
def holder(ledger_home: LedgerPaths, tmp_path: Path) -> Iterator[tuple[subprocess.Popen, Path]]:
    """A read-write session on the served v1, once it has tried to write."""
    store = VersionStore(ledger_home)
    stage(ledger_home, BASE)
    publish(store, "run-1", {"a": "1"})
    stop = tmp_path / "stop"
    proc = hold(ledger_home.serving_db, stop)
    yield proc, stop
    stop.touch()
    proc.communicate(timeout=60)


def holder_name(proc: subprocess.Popen) -> str:
    return f"pid {proc.pid} ({Path(f'/proc/{proc.pid}/comm').read_text().strip()})"


def refused(paths: LedgerPaths) -> list[str]:
    wal = paths.serving_db.with_name("ledger.duckdb.wal")
    error = f'Cannot open file "{wal}": No such file or directory'
    return [f"TransactionContext Error: Failed to commit: {error}"]


def test_a_read_write_client_changes_nothing_and_is_cut_off_from_readers(
    ledger_home: LedgerPaths, holder: tuple[subprocess.Popen, Path]
) -> None:
    proc, stop = holder
    store = VersionStore(ledger_home)
    served = ledger_home.serving_db
    assert os.readlink(served.with_name("ledger.duckdb.wal")) == GUARD_TARGET
    assert fresh_read(served).startswith(f'IO Error: Could not set lock on file "{served}"')

    message = (
        f"read-write client: {holder_name(proc)} holds {served} open read-write; its "
        "writes are refused and readers get a fresh copy (open it read-only)"
    )
    assert store.free_published_files() == [Finding("read_write_client", str(served), message)]
    assert fresh_read(served) == "10"  # a fresh copy of v1: readers are back
    assert store.served_version_id() == 1
    assert store.free_published_files() == []  # the session now holds a file nobody serves

    stage(ledger_home, BASE | {"s10": 1.0})
    result = publish(store, "run-2", {"a": "2"})
    assert (result.status, result.findings) == ("published", [])
    assert served_counts(ledger_home) == (11, 2, 2)
    con = duckdb.connect(str(served), read_only=True)
    try:
        tables = con.execute("select table_name from duckdb_tables() order by 1").fetchall()
    finally:
        con.close()
    assert tables == [("ledger_versions",), ("quarantine",)]  # no extra_*; fct_shipments: a view

    stop.touch()
    outcomes = json.loads(proc.communicate(timeout=60)[0])
    assert outcomes == refused(ledger_home)  # not one commit, before or after the swaps
    assert served_counts(ledger_home) == (11, 2, 2)
    assert sorted(p.name for p in ledger_home.versions_dir.glob("*.wal*")) == [
        "v0001.duckdb.wal",
        "v0002.duckdb.wal",
    ]


def test_a_stray_wal_is_moved_aside_before_the_swap_and_reported(
    ledger_home: LedgerPaths,
) -> None:
    store = VersionStore(ledger_home)
    stage(ledger_home, BASE)
    publish(store, "run-1", {"a": "1"})
    wal = ledger_home.serving_db.with_name("ledger.duckdb.wal")
    # what a read-write session killed before it checkpointed left where no guard was
    wal.unlink()
    subprocess.run([sys.executable, "-c", KILLED_WRITER, str(ledger_home.serving_db)], check=True)
    wal_bytes = wal.read_bytes()
    with duckdb.connect(str(ledger_home.serving_db), read_only=True) as con:
        assert con.execute("select * from extra").fetchall() == [(1,)]  # every reader replays it
    stage(ledger_home, BASE | {"s10": 1.0})
    result = publish(store, "run-2", {"a": "2"})

    strays = sorted(ledger_home.warehouse_dir.glob("ledger.duckdb.wal.stray-*"))
    assert len(strays) == 1 and strays[0].read_bytes() == wal_bytes
    assert result.findings == [
        Finding(
            "stray_wal",
            str(wal),
            f"stray WAL {wal} (writes of a read-write client) moved aside to {strays[0].name}; "
            "it is not part of any version",
        )
    ]
    assert served_counts(ledger_home) == (11, 2, 2)
    assert os.readlink(wal) == GUARD_TARGET


def test_an_ordinary_users_read_write_client_is_refused_by_the_file_mode(
    ledger_home: LedgerPaths,
) -> None:
    """0444: a user without root's capabilities cannot open the served file read-write at all,
    so takes no lock; DBeaver shows DuckDB's error and the user switches to read-only."""
    store = VersionStore(ledger_home)
    stage(ledger_home, BASE)
    publish(store, "run-1", {"a": "1"})
    served = ledger_home.serving_db
    open_rw = "import sys, duckdb; duckdb.connect(sys.argv[1])"

    client = subprocess.run(
        [*unprivileged_python(), "-c", open_rw, str(served)], capture_output=True, text=True
    )

    assert client.returncode == 1
    assert f'Cannot open file "{served}": Permission denied' in client.stderr
    assert fresh_read(served) == str(served_counts(ledger_home)[0])


COUNT = "select count(*) as n from fct_shipments"


def test_ledger_query_frees_readers_of_the_served_file_at_once(
    ledger_home: LedgerPaths, holder: tuple[subprocess.Popen, Path]
) -> None:
    """No run, publish or sensor needed: the read command serves a fresh copy and reads it."""
    proc, stop = holder
    served = ledger_home.serving_db
    assert fresh_read(served).startswith(f'IO Error: Could not set lock on file "{served}"')

    query = run_ledger(dict(os.environ), "query", COUNT)

    assert (query.returncode, query.stdout) == (0, "n\n--\n10\n(1 rows)\n")
    assert query.stderr == (
        f"WARNING read-write client: {holder_name(proc)} holds {served} open read-write; its "
        "writes are refused and readers get a fresh copy (open it read-only)\n"
    )
    assert fresh_read(served) == "10"  # a BI tool opening the file now gets in too
    assert VersionStore(ledger_home).served_version_id() == 1
    stop.touch()
    assert json.loads(proc.communicate(timeout=60)[0]) == refused(ledger_home)
    assert served_counts(ledger_home) == (10, 2, 1)


def test_a_held_version_file_is_not_copied_and_the_query_names_the_holder(
    ledger_home: LedgerPaths, tmp_path: Path
) -> None:
    store = VersionStore(ledger_home)
    stage(ledger_home, BASE)
    publish(store, "run-1", {"a": "1"})
    version_file = ledger_home.versions_dir / "v0001.duckdb"
    stop = tmp_path / "stop"
    proc = hold(version_file, stop)
    before = version_file.stat()

    query = run_ledger(dict(os.environ), "query", "--version", "v1", COUNT)

    assert (query.returncode, query.stdout) == (2, "")
    assert query.stderr == (
        f"ledger query: {holder_name(proc)} holds {version_file} open read-write, which locks "
        "out every reader; version files are immutable and never copied afresh: close it or "
        "open it read-only\n"
    )
    assert version_file.stat().st_ino == before.st_ino
    stop.touch()
    proc.communicate(timeout=60)
    assert fresh_read(version_file) == "10"


def test_a_held_file_no_version_serves_is_named_not_said_to_be_copied(
    ledger_home: LedgerPaths, tmp_path: Path
) -> None:
    """A served file put there by hand (no version recorded as served): nothing to copy, and
    the message must not claim readers got a fresh copy."""
    with duckdb.connect(str(ledger_home.serving_db)) as con:
        con.execute("create table fct_shipments (waybill_no varchar, t double, x boolean)")
    stop = tmp_path / "stop"
    proc = hold(ledger_home.serving_db, stop)
    try:
        with pytest.raises(VersionError) as raised:
            VersionStore(ledger_home).free_readers()
        assert str(raised.value) == (
            f"{holder_name(proc)} holds {ledger_home.serving_db} open read-write, which locks "
            "out every reader, and no published version is recorded as served, so there is no "
            "fresh copy to serve: close it or open it read-only"
        )
    finally:
        stop.touch()
        proc.communicate(timeout=60)


def test_on_read_only_storage_ledger_query_names_the_holder_and_the_remedy(
    shared_dir: Path, tmp_path: Path
) -> None:
    """Root's session on a warehouse this user cannot write: no fresh copy, no traceback."""
    python = unprivileged_python()
    paths = published_home(shared_dir)
    stop = tmp_path / "stop"
    proc = hold(paths.serving_db, stop)
    try:
        read_only(shared_dir)
        before = tree(paths.home)

        query = ledger(python, paths.home, "query", COUNT)

        assert (query.returncode, query.stdout) == (2, "")
        assert query.stderr == (
            f"ledger query: {holder_name(proc)} holds {paths.serving_db} open read-write, "
            "which locks out every reader, and a fresh copy cannot be served here (cannot "
            f"write to {paths.versions_dir}: permission denied): close it or open it "
            "read-only; the next run, publish or rollback, or the sensor of Dagster's daemon, "
            "frees readers\n"
        )
        assert tree(paths.home) == before
    finally:
        stop.touch()
        outcomes = json.loads(proc.communicate(timeout=60)[0])
    assert outcomes == refused(paths)
    assert ledger(python, paths.home, "query", COUNT).stdout == "n\n--\n11\n(1 rows)\n"
