"""Read-only storage and missing homes: read commands work and create nothing; a run that
cannot write stops with one line naming the folder. Real CLI processes, real files.

Root ignores permission bits, so as root the read-only cases run the CLI without the
capabilities that bypass them (what a BI host's ordinary user meets), on a home made
world-readable and then not writable by anyone. That home lives in its own /tmp folder (the
``shared_dir`` fixture of conftest.py), not under pytest's tmp_path, which pytest removes with
its own permissions.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from orchestration.paths import PROJECT_ROOT, LedgerPaths
from orchestration.publish.store import VersionStore
from tests.test_versions import BASE, publish, stage

# What lets root read and write whatever the permission bits say.
BYPASS_CAPS = ("dac_override", "dac_read_search", "fowner")
# -S, then the venv's site-packages by hand, in a clean environment (env -i).
BOOTSTRAP = (
    "import site, sys\n"
    f"site.addsitedir({sysconfig.get_paths()['purelib']!r})\n"
    f"sys.path.insert(0, {str(PROJECT_ROOT)!r})\n"
    "from orchestration.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)

Tree = dict[str, tuple[int, int, int]]


def tree(root: Path) -> Tree:
    """Every path under ``root`` (hidden ones too) with its mode, size and mtime."""
    out = {}
    for path in [root, *root.rglob("*")]:
        st = path.lstat()
        out[str(path.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


def ledger(python: list[str], home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`ledger ARGS` in a fresh process with a clean environment, cwd /."""
    env = ["env", "-i", "PATH=/usr/bin:/bin", "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1"]
    command = [*python[:-1], *env, f"LEDGER_HOME={home}", python[-1], "-S", "-c", BOOTSTRAP]
    return subprocess.run([*command, *args], capture_output=True, text=True, cwd="/", check=False)


def unprivileged_python() -> list[str]:
    """This Python, bound by permission bits: as root, run without the capabilities that
    bypass them (``setpriv`` drops them from the bounding set, so exec cannot grant them)."""
    if os.geteuid() != 0:
        return [sys.executable]
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is not installed: root would ignore permission bits")
    caps = ",".join(f"-{cap}" for cap in BYPASS_CAPS)
    return [setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}", "--", sys.executable]


def published_home(root: Path) -> LedgerPaths:
    """v0001 and v0002 published the quick way (no pipeline); v0002 is served."""
    paths = LedgerPaths.from_env(root / "home").ensure()
    store = VersionStore(paths)
    stage(paths, BASE)
    publish(store, "run-1", {"manifests/a.csv": "aa"})
    stage(paths, BASE | {"s10": 1.0})
    publish(store, "run-2", {"manifests/a.csv": "bb"})
    return paths


def read_only(root: Path, writable: tuple[Path, ...] = ()) -> None:
    """Everyone may read ``root``; nobody may write it, except in the ``writable`` folders."""
    subprocess.run(["chmod", "-R", "a+rX,a-w", str(root)], check=True)
    for folder in writable:
        subprocess.run(["chmod", "a+w", str(folder)], check=True)


READS = [
    ("versions",),
    ("versions", "--events"),
    ("versions", "--json"),
    ("show", "v1"),
    ("diff", "v1", "v2", "--table", "fct_shipments"),
    ("query", "select count(*) as n from fct_shipments"),
    ("query", "--version", "v1", "select count(*) as n from fct_shipments"),
]


def check_reads(python: list[str], paths: LedgerPaths) -> None:
    before = tree(paths.home)
    results = {args: ledger(python, paths.home, *args) for args in READS}
    for args, result in results.items():
        assert (result.returncode, result.stderr) == (0, ""), args
    assert "* v0002  published" in results["versions",].stdout
    assert "v0001  published" in results["versions",].stdout
    assert results["show", "v1"].stdout.startswith("version      v0001\nstatus       published\n")
    assert "  fct_shipments added: s10\n" in results[READS[4]].stdout
    assert results[READS[5]].stdout == "n\n--\n11\n(1 rows)\n"
    assert results[READS[6]].stdout == "n\n--\n10\n(1 rows)\n"
    assert tree(paths.home) == before, "a read command created or changed a file"


def test_read_commands_work_on_read_only_storage_and_a_run_says_why_it_cannot(
    shared_dir: Path,
) -> None:
    python = unprivileged_python()
    paths = published_home(shared_dir)
    assert not (paths.versions_dir / "registry.sqlite-shm").exists()  # the immutable read path
    read_only(shared_dir)

    check_reads(python, paths)

    run = ledger(python, paths.home, "run")
    assert (run.returncode, run.stdout, run.stderr) == (
        2,
        "",
        f"ledger run: cannot write to {paths.warehouse_dir}: permission denied\n",
    )
    rollback = ledger(python, paths.home, "rollback", "v1")
    assert (rollback.returncode, rollback.stderr) == (
        2,
        f"ledger rollback: cannot write to {paths.versions_dir}: permission denied\n",
    )


def test_read_only_storage_while_a_writer_holds_the_registry_reads_its_commits(
    shared_dir: Path,
) -> None:
    """-shm and -wal present (a run is publishing): read through them, see the WAL's commits."""
    python = unprivileged_python()
    paths = published_home(shared_dir)
    writer = sqlite3.connect(paths.versions_dir / "registry.sqlite", isolation_level=None)
    try:
        writer.execute("pragma wal_autocheckpoint = 0")  # the commit stays in the WAL
        writer.execute("update versions set message = 'only in the wal' where version_id = 1")
        assert (paths.versions_dir / "registry.sqlite-shm").exists()
        read_only(shared_dir)

        check_reads(python, paths)
        show = ledger(python, paths.home, "show", "v1")
        assert "message      only in the wal\n" in show.stdout
    finally:
        writer.close()


def test_a_run_names_the_one_folder_it_cannot_write(shared_dir: Path) -> None:
    python = unprivileged_python()
    paths = published_home(shared_dir)
    folders = [p for p in [shared_dir, *shared_dir.rglob("*")] if p.is_dir()]
    read_only(shared_dir, writable=tuple(f for f in folders if f != paths.versions_dir))

    run = ledger(python, paths.home, "run")

    assert (run.returncode, run.stdout, run.stderr) == (
        2,
        "",
        f"ledger run: cannot write to {paths.versions_dir}: permission denied\n",
    )


def test_read_commands_create_nothing_on_writable_storage(tmp_path: Path) -> None:
    """Not even SQLite's -shm/-wal beside the registry, nor a folder."""
    paths = published_home(tmp_path)
    check_reads([sys.executable], paths)
    empty = LedgerPaths.from_env(tmp_path / "empty_home")
    empty.home.mkdir()
    result = ledger([sys.executable], empty.home, "versions")
    assert (result.returncode, result.stdout) == (
        0,
        "no versions published yet (run `ledger run`)\n",
    )
    assert list(empty.home.iterdir()) == []


def test_a_registry_not_yet_given_its_tables_reads_as_empty(ledger_home: LedgerPaths) -> None:
    """The first publish creates the file, then its tables: a reader in between sees none."""
    registry = ledger_home.versions_dir / "registry.sqlite"
    registry.touch()
    store = VersionStore(ledger_home)
    assert (store.versions(), store.events()) == ([], [])
    assert sorted(p.name for p in ledger_home.versions_dir.iterdir()) == ["registry.sqlite"]
    assert registry.stat().st_size == 0


@pytest.mark.parametrize(
    "args",
    [
        ("versions",),
        ("show", "v1"),
        ("diff", "v1", "v2"),
        ("query", "select 1"),
        ("rollback", "v1"),
        ("gc", "--keep", "1"),
    ],
)
def test_a_missing_home_is_an_error_and_is_not_created(tmp_path: Path, args: tuple[str]) -> None:
    home = tmp_path / "missing" / "home"
    result = ledger([sys.executable], home, *args)
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        f"ledger {args[0]}: LEDGER_HOME {home} does not exist\n",
    )
    assert list(tmp_path.iterdir()) == []


# Reads the registry in a loop, as `ledger versions` does, until told to stop; then once more.
REGISTRY_READER = """
import json, os, sys
from orchestration.publish.store import VersionStore
from orchestration.paths import LedgerPaths

store, stop = VersionStore(LedgerPaths.from_env()), sys.argv[1]
seen, errors = [], []
def read():
    try:
        versions = store.versions()
        events = store.events()
        seen.append([len(versions), len(events), store.served_version_id()])
    except Exception as exc:
        errors.append(repr(exc))
read()
print("ready", flush=True)
while not os.path.exists(stop):
    read()
read()
print(json.dumps({"seen": seen, "errors": errors}))
"""


def test_registry_reads_during_publishes_never_fail_or_go_back(
    ledger_home: LedgerPaths, tmp_path: Path
) -> None:
    """The no-lock read of a quiet registry must notice a checkpoint under it and read again."""
    store = VersionStore(ledger_home)
    stage(ledger_home, BASE)
    publish(store, "run-0", {"a": "0"})
    script, stop = tmp_path / "reader.py", tmp_path / "stop"
    script.write_text(REGISTRY_READER)
    reader = subprocess.Popen(
        [sys.executable, str(script), str(stop)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert reader.stdout.readline() == "ready\n"
    for n in range(1, 8):
        stage(ledger_home, BASE | {f"s{90 + n}": 1.0})
        publish(store, f"run-{n}", {"a": str(n)})
    stop.touch()
    result = json.loads(reader.communicate(timeout=120)[0])

    assert result["errors"] == []
    assert result["seen"] == sorted(result["seen"]), "a read went back in time"
    assert result["seen"][-1] == [8, 8, 8]
    assert len(result["seen"]) > 20
