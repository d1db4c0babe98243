"""The DuckLake store with several processes: concurrent publishers, a polling reader, kill -9.

Every wait is on an event: a line a child prints, its exit, a lock Postgres reports as awaited.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

from orchestration.paths import PROJECT_ROOT, LedgerPaths
from orchestration.publish.lake import LakeStore
from orchestration.publish.lake_catalog import (
    METADATA_SCHEMA,
)
from orchestration.publish.publisher import FAULT_ENV
from orchestration.sql import connect

PUBLISHER = """
import sys
from pathlib import Path
from orchestration.paths import LedgerPaths
from orchestration.publish.store import open_store
staging, run, sha = sys.argv[1:4]
store = open_store(LedgerPaths.from_env())
print("ready", flush=True)
sys.stdin.readline()
result = store.publish(Path(staging), run, {"m/a.csv": sha}, "abc", {"passed": 1, "failed": 0})
print(result.status, result.version.version_id, flush=True)
"""

READER = """
import json, sys
from orchestration.publish.lake_catalog import LakeSettings, open_lake
con = open_lake(LakeSettings.from_env())
while True:
    con.execute("begin")
    row = con.execute(
        "select (select count(*) from fct_shipments), (select sum(tonnes) from fct_shipments), "
        "(select count(*) from quarantine), "
        "(select version_id from ledger_versions where is_served)"
    ).fetchone()
    con.execute("commit")
    print(json.dumps(row), flush=True)
    if row[3] == int(sys.argv[1]):
        break
"""

SUMMARY = (
    "select (select count(*) from fct_shipments), (select sum(tonnes) from fct_shipments), "
    "(select count(*) from quarantine)"
)


def make_staging(path: Path, shipments: int, factor: float, quarantine: int) -> tuple:
    """Marts of ``shipments`` rows (tonnes scaled by ``factor``); returns their summary."""
    path.unlink(missing_ok=True)
    con = connect(path)
    con.execute(
        "create table fct_shipments as select 'WB' || range as waybill_no, "
        "range * ? as tonnes, range % 7 as route from range(?)",
        [factor, shipments],
    )
    con.execute("create table quarantine as select range as source_row from range(?)", [quarantine])
    summary = con.execute(SUMMARY).fetchone()
    con.close()
    return summary


def publish(lake: LakeStore, staging: Path, run: str, sha: str):
    return lake.publish(staging, run, {"m/a.csv": sha}, "abc", {"passed": 1, "failed": 0})


def child(script: str, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def at_version(lake: LakeStore, vid: int) -> tuple:
    return tuple(lake.query(SUMMARY, vid)[1][0])


def catalog_files(lake: LakeStore) -> set[str]:
    """Every data and delete file a kept snapshot may read, by name (DuckLake's own tables)."""
    con = psycopg2.connect(lake.settings.catalog_url)
    try:
        with con.cursor() as cur:
            cur.execute(
                f"select path from {METADATA_SCHEMA}.ducklake_data_file union all "  # noqa: S608
                f"select path from {METADATA_SCHEMA}.ducklake_delete_file"
            )
            return {Path(r[0]).name for r in cur.fetchall()}
    finally:
        con.close()


def files_on_disk(home: LedgerPaths) -> set[str]:
    return {p.name for p in (home.home / "lake").rglob("*.parquet")}


def test_two_concurrent_publishers_land_as_two_snapshots(
    lake: LakeStore, ledger_home: LedgerPaths, tmp_path: Path
) -> None:
    first = make_staging(tmp_path / "v1.duckdb", 20_000, 1.0, 100)
    publish(lake, tmp_path / "v1.duckdb", "run-1", "1")
    summaries = {
        "a": make_staging(tmp_path / "a.duckdb", 20_000, 2.0, 200),
        "b": make_staging(tmp_path / "b.duckdb", 21_000, 1.0, 300),
    }
    children = {
        name: child(PUBLISHER, str(tmp_path / f"{name}.duckdb"), f"run-{name}", name)
        for name in summaries
    }
    for proc in children.values():
        assert proc.stdout.readline() == "ready\n"
    for proc in children.values():  # both start their publish now
        proc.stdin.write("go\n")
        proc.stdin.flush()
    landed = {}
    for name, proc in children.items():
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
        status, vid = out.split()
        assert status == "published"
        landed[int(vid)] = summaries[name]

    assert sorted(landed) == [2, 3]
    versions = lake.versions()
    assert [v.version_id for v in versions] == [1, 2, 3]
    assert len({v.file_name for v in versions}) == 3, "one snapshot each"
    assert at_version(lake, 1) == first
    for vid, summary in landed.items():
        assert at_version(lake, vid) == summary
    assert tuple(lake.query(SUMMARY)[1][0]) == landed[3], "the last commit is served"
    assert {v.run_id for v in versions} == {"run-1", "run-a", "run-b"}


def test_a_polling_reader_sees_whole_versions_only(
    lake: LakeStore, ledger_home: LedgerPaths, tmp_path: Path
) -> None:
    shapes = [(60_000, 1.0, 500), (60_000, 3.0, 900), (61_000, 0.5, 100)]
    published = {}
    staging = tmp_path / "staging.duckdb"
    summary = make_staging(staging, *shapes[0])
    published[publish(lake, staging, "run-1", "1").version.version_id] = summary
    reader = child(READER, "3")
    assert json.loads(reader.stdout.readline())[3] == 1
    for n, shape in enumerate(shapes[1:], start=2):
        summary = make_staging(staging, *shape)
        published[publish(lake, staging, f"run-{n}", str(n)).version.version_id] = summary
    out, _ = reader.communicate(timeout=300)
    assert reader.returncode == 0
    seen = [json.loads(line) for line in out.splitlines()]
    for count, tonnes, quarantine, served in seen:
        assert published[served] == (count, tonnes, quarantine), "a whole version, never a mix"
    assert seen[-1][3] == 3


def test_kill_9_before_and_during_the_commit_leaves_the_catalog_consistent(
    lake: LakeStore, ledger_home: LedgerPaths, tmp_path: Path
) -> None:
    first = make_staging(tmp_path / "v1.duckdb", 20_000, 1.0, 100)
    publish(lake, tmp_path / "v1.duckdb", "run-1", "1")
    killed = make_staging(tmp_path / "killed.duckdb", 20_000, 5.0, 400)

    # Killed by its own hook once the tables are written, before the commit.
    proc = child(
        PUBLISHER, str(tmp_path / "killed.duckdb"), "run-k1", "k", **{FAULT_ENV: "lake_written"}
    )
    assert proc.stdout.readline() == "ready\n"
    proc.communicate("go\n", timeout=300)
    assert proc.returncode == -signal.SIGKILL
    assert [v.version_id for v in lake.versions()] == [1]
    assert tuple(lake.query(SUMMARY)[1][0]) == first
    orphans = files_on_disk(ledger_home) - catalog_files(lake)
    assert orphans, "the killed publish wrote Parquet files the catalog does not know"

    # Killed inside DuckLake's commit: Postgres holds it on a lock this test takes.
    pg = psycopg2.connect(lake.settings.catalog_url)
    cur = pg.cursor()
    cur.execute(f"lock table {METADATA_SCHEMA}.ducklake_snapshot in share mode")
    proc = child(PUBLISHER, str(tmp_path / "killed.duckdb"), "run-k2", "k")
    assert proc.stdout.readline() == "ready\n"
    proc.stdin.write("go\n")
    proc.stdin.flush()
    watcher = psycopg2.connect(lake.settings.catalog_url)
    watcher.autocommit = True
    deadline = time.monotonic() + 300
    while not _waits_on_snapshot_table(watcher):  # the commit has begun and is held
        assert proc.poll() is None, "the publisher ended before committing"
        assert time.monotonic() < deadline, "the publisher never reached its commit"
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    pg.rollback()  # the lock goes; Postgres finishes or drops what the dead client sent
    pg.close()
    watcher.close()

    versions = lake.versions()
    print(f"killed inside its commit: {'committed' if len(versions) == 2 else 'rolled back'}")
    assert [v.version_id for v in versions] in ([1], [1, 2]), "nothing or the whole version"
    served = versions[-1].version_id
    assert tuple(lake.query(SUMMARY)[1][0]) == (first if served == 1 else killed)
    after = make_staging(tmp_path / "after.duckdb", 19_000, 1.5, 50)
    result = publish(lake, tmp_path / "after.duckdb", "run-3", "3")
    assert (result.status, result.version.version_id) == ("published", served + 1)
    assert tuple(lake.query(SUMMARY)[1][0]) == after
    assert at_version(lake, 1) == first
    lake.gc(keep=5)
    assert not orphans & files_on_disk(ledger_home), "gc removed the orphans"
    assert files_on_disk(ledger_home) == catalog_files(lake)


def _waits_on_snapshot_table(con) -> bool:
    with con.cursor() as cur:
        cur.execute(
            "select count(*) from pg_locks where not granted and relation = %s::regclass",
            [f"{METADATA_SCHEMA}.ducklake_snapshot"],
        )
        return cur.fetchone()[0] > 0
