"""kill -9 of `ledger run` during ingest and dbt: the served version stays, the next run heals.

Publish-time kills are covered in test_versions_crash.py; these kill the real CLI process at
the two earlier phases, detected from evidence (the ingest scratch folder, dbt's log of a
node it started writing), not from timing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import duckdb
import psutil
import pytest

from orchestration.defs.resources import LedgerResource
from orchestration.ingest.loader import ingest_source
from orchestration.ingest.table_source import MANIFESTS
from orchestration.paths import DBT_PROJECT_DIR, PROJECT_ROOT, LedgerPaths
from orchestration.publish.publisher import FAULT_ENV
from orchestration.publish.registry import Version
from orchestration.publish.store import VersionStore
from tests.conftest import run_ledger

CHANGED_FILE = "manifests/01_synthetic_manifests_2023-07_2023-09.csv"
ROWS_REMOVED = 50
# Stands in for the `dbt build` a killed run leaves behind: it holds the staging write lock.
LOCK_HOLDER = """
import sys, time
import duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def home(tmp_path: Path) -> Iterator[tuple[LedgerPaths, dict[str, str]]]:
    """A fresh LEDGER_HOME and the environment for `ledger` subprocesses pointed at it."""
    env = {**os.environ, "LEDGER_HOME": str(tmp_path / "home")}
    for name in ("LEDGER_SERVING_DB", FAULT_ENV, "DAGSTER_HOME"):
        env.pop(name, None)
    yield LedgerPaths.from_env(env["LEDGER_HOME"]).ensure(), env


ledger = run_ledger


def kill_run_when(
    env: dict[str, str], log: Path, reached: Callable[[psutil.Process], bool]
) -> list[psutil.Process]:
    """Start `ledger run`, SIGKILL it (only it, as an OOM killer would) once ``reached``.

    Waits on events only (the phase, or the run ending first), never on a number of seconds a
    loaded machine could miss. Returns its children, which outlive it.
    """
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli", "run"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    watched = psutil.Process(proc.pid)
    try:
        while not reached(watched):
            assert proc.poll() is None, f"run ended before the phase:\n{log.read_text()[-3000:]}"
            time.sleep(0.002)
    finally:
        children = watched.children(recursive=True)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return children


def in_ingest(paths: LedgerPaths) -> Callable[[psutil.Process], bool]:
    """Ingest parses each file inside a scratch folder that exists only while it runs."""
    return lambda _run: any(paths.warehouse_dir.glob("ingest-*"))


def dbt_writing(paths: LedgerPaths) -> Callable[[psutil.Process], bool]:
    """dbt runs in the run's process and logs to its step's target folder: it counts once that
    log shows a seed, snapshot or model started (each writes the staging database)."""
    since = time.time()
    writing = re.compile(r"START (seed file|snapshot|sql \w+ model)")

    def reached(_run: psutil.Process) -> bool:
        for log in (DBT_PROJECT_DIR / "target").glob("*_dbt_assets-*/dbt.log"):
            with contextlib.suppress(OSError):
                if log.stat().st_mtime >= since and writing.search(log.read_text()):
                    return True
        return False

    return reached


def holding(processes: list[psutil.Process], path: Path) -> list[psutil.Process]:
    """Those of ``processes`` still alive with ``path`` open."""
    found = []
    for process in processes:
        with contextlib.suppress(psutil.Error):
            if process.status() != psutil.STATUS_ZOMBIE and any(
                Path(f.path) == path for f in process.open_files()
            ):
                found.append(process)
    return found


def assert_served_is(paths: LedgerPaths, version: Version) -> None:
    """The served file opens read-only (as BI opens it) and holds exactly ``version``."""
    assert VersionStore(paths).served_version_id() == version.version_id
    with duckdb.connect(str(paths.serving_db), read_only=True) as con:
        (served,) = con.execute("select version_id from ledger_versions where is_served").fetchone()
        counts = {
            table: con.execute(f'select count(*) from "{table}"').fetchone()[0]  # noqa: S608
            for table in version.row_counts
        }
    assert (served, counts) == (version.version_id, version.row_counts)


def shipment_rows(paths: LedgerPaths) -> set[tuple[str, int]]:
    with duckdb.connect(str(paths.serving_db), read_only=True) as con:
        return set(con.execute("select source_file, source_row from fct_shipments").fetchall())


def drop_last_rows(path: Path, count: int) -> int:
    """Remove the last ``count`` data lines (no quoted newlines in this file); rows left."""
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-count]))
    return len(lines) - 1 - count


@pytest.mark.slow
def test_kill_9_during_ingest_and_dbt_keeps_v1_and_the_next_run_publishes_v2(
    home: tuple[LedgerPaths, dict[str, str]], tmp_path: Path
) -> None:
    paths, env = home
    assert ledger(env, "generate").returncode == 0
    (paths.raw_dir / "voyages" / "zz junk.csv").write_bytes(bytes(range(256)) * 40)
    first = ledger(env, "run")
    assert first.returncode == 0, first.stderr[-3000:]
    rejected = "WARNING file rejected: voyages/zz junk.csv: binary content (NUL bytes), not text\n"
    assert rejected in first.stderr, "a rejected file does not stop the run, but the run says so"
    store = VersionStore(paths)
    (v1,) = store.versions()
    assert (v1.version_id, v1.status) == (1, "published")
    assert v1.row_counts["fct_shipments"] > 5000
    before = shipment_rows(paths)

    rows_left = drop_last_rows(paths.raw_dir / CHANGED_FILE, ROWS_REMOVED)

    kill_run_when(env, tmp_path / "ingest.log", in_ingest(paths))
    assert_served_is(paths, v1)
    children = kill_run_when(env, tmp_path / "dbt.log", dbt_writing(paths))
    assert_served_is(paths, v1)
    # dbt ran inside the killed process: nothing it started is left writing the staging database
    assert holding(children, paths.staging_db) == []

    again = ledger(env, "run")
    assert again.returncode == 0, again.stderr[-3000:]
    # only a manifest changed, but the voyages still hold the rejected file: read, and said again
    assert rejected in again.stderr
    assert list(paths.warehouse_dir.glob("ingest-*")) == []  # the killed run's scratch is swept
    # the two killed runs no longer show as STARTED: the next run marked them failed, and said so
    instance = dg.DagsterInstance.from_config(str(paths.warehouse_dir / "dagster"))
    runs = instance.get_runs()[::-1]  # oldest first
    # each `ledger run` is an ingest run then a build run; the first kill hit the ingest run,
    # the second the build run (its ingest run had finished)
    S, F = dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE
    assert [r.status for r in runs] == [S, S, F, S, F, S, S]
    dead = [r for r in runs if r.status == F]
    # each run marks the runs killed before it: the second killed run the first, then `again`
    killed = [f"WARNING run {r.run_id} was killed: marked failed in the run history" for r in dead]
    for log, run in (((tmp_path / "dbt.log").read_text(), 0), (again.stderr, 1)):
        assert [line for line in log.splitlines() if line.startswith("WARNING run ")] == [
            killed[run]
        ]
    failure = instance.get_records_for_run(dead[0].run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert [r.event_log_entry.dagster_event.message for r in failure.records] == [
        f"process {dead[0].tags['ledger/pid']} of this run is gone (killed or crashed); "
        "marked failed by the next ledger run"
    ]
    v2 = store.latest()
    assert [(v.version_id, v.status) for v in store.versions()] == [
        (1, "published"),
        (2, "published"),
    ]
    assert_served_is(paths, v2)
    removed = {(f, r) for f, r in before if f == CHANGED_FILE and r > rows_left}
    assert len(removed) == v1.row_counts["fct_shipments"] - v2.row_counts["fct_shipments"] > 40
    assert shipment_rows(paths) == before - removed


def test_ingest_waits_for_a_leftover_process_holding_the_staging_lock(
    ledger_home: LedgerPaths, caplog: pytest.LogCaptureFixture
) -> None:
    manifests = ledger_home.raw_dir / "manifests"
    manifests.mkdir(parents=True)
    (manifests / "a.csv").write_text(
        "waybill_no,dispatch_date,origin_station_code,destination_station_code,cargo_code,"
        "gross_weight\nW1,2023-08-01,986808,515202,481203,18500\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(ledger_home.staging_db), "3"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline() == "locked\n"
    start = time.monotonic()
    with caplog.at_level(logging.WARNING):
        (outcome,) = ingest_source(
            LedgerResource(home=str(ledger_home.home)), MANIFESTS, log=print, warn=print
        )
    warnings = [r.getMessage() for r in caplog.records if "staging database busy" in r.getMessage()]
    assert holder.wait() == 0
    assert time.monotonic() - start >= 2
    assert (outcome.status, outcome.rows_read, outcome.rows_accepted) == ("loaded", 1, 1)
    assert warnings
    assert all(
        w.startswith("staging database busy, waiting: IO Error: Could not set lock")
        for w in warnings
    )
    assert f"(PID {holder.pid})" in warnings[0]
