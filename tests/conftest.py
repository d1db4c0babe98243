"""Shared fixtures: every test gets its own LEDGER_HOME; the full pipeline runs once per session."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.paths import PROJECT_ROOT, LedgerPaths


@pytest.fixture
def ledger_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LedgerPaths:
    """An empty home with the data/ layout; LEDGER_HOME points at it for the test's duration."""
    monkeypatch.setenv("LEDGER_HOME", str(tmp_path))
    monkeypatch.delenv("LEDGER_SERVING_DB", raising=False)
    return LedgerPaths.from_env().ensure()


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A /tmp folder anyone may enter (0755), for homes made read-only; made writable again
    and removed afterwards (pytest's tmp_path would be removed with its own permissions)."""
    folder = Path(tempfile.mkdtemp(prefix="ledger-ro-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    shutil.rmtree(folder)


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Generate the sample data and materialize every asset once; e2e tests read the outcome."""
    import dagster as dg

    from orchestration.code_version import code_version
    from orchestration.definitions import defs
    from orchestration.generate import generate
    from orchestration.launch import run_in_process

    home = tmp_path_factory.mktemp("e2e_home")
    mp = pytest.MonkeyPatch()
    mp.setenv("LEDGER_HOME", str(home))
    mp.delenv("LEDGER_SERVING_DB", raising=False)
    paths = LedgerPaths.from_env().ensure()
    summary = generate(paths.raw_dir, seed=7)
    instance = dg.DagsterInstance.ephemeral()
    ingest, result = run_in_process(defs, instance, code_version(), print)
    yield {
        "paths": paths,
        "summary": summary,
        "ingest": ingest,
        "result": result,
        "defs": defs,
        "instance": instance,
    }
    mp.undo()


@pytest.fixture(scope="session")
def dbt_fixture_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """tests/test_dbt_build.py's hand-made raw schema built once by the dbt CLI (`dbt build`,
    unit tests included): the database and the target folder (manifest.json and all).

    Shared by the modules that start from that state: read it, or copy the file and change
    the copy; never write to it.
    """
    from tests.test_dbt_build import fill_raw, run_dbt

    tmp = tmp_path_factory.mktemp("dbt_build")
    db = tmp / "staging.duckdb"
    fill_raw(db)
    result = run_dbt(["build"], db, tmp)
    assert result.returncode == 0, result.stdout[-5000:]
    return {"db": db, "target": tmp / "target"}


@pytest.fixture(scope="session")
def sample_cli_runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`ledger run` twice on the sample, as a user would (subprocess, output to a pipe): the
    first publishes v0001; the second, after the last 3 rows of one manifest are dropped, v0002.

    Returns the home, the environment for `ledger` subprocesses and both runs' output.
    """
    import os

    home = tmp_path_factory.mktemp("cli_home")
    env = {**os.environ, "LEDGER_HOME": str(home)}
    for name in ("LEDGER_SERVING_DB", "DAGSTER_HOME", "DBT_USE_COLORS"):
        env.pop(name, None)

    def ledger(*args: str) -> subprocess.CompletedProcess[str]:
        return run_ledger(env, *args, timeout=1800)

    assert ledger("generate").returncode == 0
    first = ledger("run")
    assert first.returncode == 0, first.stderr[-3000:]
    paths = LedgerPaths.from_env(str(home))
    loaded_first = file_counts(paths)
    manifest = home / "data" / "raw" / SHORTENED_MANIFEST
    lines = manifest.read_bytes().splitlines(keepends=True)
    manifest.write_bytes(b"".join(lines[:-3]))
    second = ledger("run")
    assert second.returncode == 0, second.stderr[-3000:]
    return {
        "paths": paths,
        "env": env,
        "runs": [first, second],
        "loaded_first": loaded_first,
        "second_parse_notes": parse_notes(second.stderr),
    }


def parse_notes(run_output: str) -> dict[str, list[str]]:
    """Per dbt step of the build run that ``ledger run`` named on stderr: dbt's log lines about
    (partial) parsing, read before later tests prune the step's target folder."""
    [build_run] = re.findall(r"^runs \S+, (\S+): success$", run_output, re.MULTILINE)
    target = PROJECT_ROOT / "dbt_project" / "target"
    return {
        log.parent.name: [line for line in log.read_text().splitlines() if "partial pars" in line]
        for log in target.glob(f"*-{build_run[:7]}-*/dbt.log")
    }


SHORTENED_MANIFEST = "manifests/03_synthetic_manifests_2023-11.tsv"


def file_counts(paths: LedgerPaths) -> dict[str, tuple[int, int, set[str]]]:
    """(rows accepted, rows quarantined, quarantine reason codes) per loaded file, as the
    staging database's file registry and quarantine hold them."""
    import duckdb

    with duckdb.connect(str(paths.staging_db), read_only=True) as con:
        rows = con.execute(
            "select r.source_file, r.rows_accepted, r.rows_quarantined,"
            " list(distinct q.reason_code) filter (where q.reason_code is not null)"
            " from raw.file_registry as r left join raw.quarantine as q using (source_file)"
            " where r.status = 'loaded' group by all"
        ).fetchall()
    return {
        name: (accepted, quarantined, set(reasons or ()))
        for name, accepted, quarantined, reasons in rows
    }


def run_ledger(
    env: dict[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`ledger ARGS` in a subprocess with this environment, as a user runs it."""
    import subprocess

    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
