"""Shared fixtures: every test gets its own LEDGER_HOME; the full pipeline runs once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.paths import LedgerPaths


@pytest.fixture
def ledger_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LedgerPaths:
    """An empty home with the data/ layout; LEDGER_HOME points at it for the test's duration."""
    monkeypatch.setenv("LEDGER_HOME", str(tmp_path))
    monkeypatch.delenv("LEDGER_SERVING_DB", raising=False)
    return LedgerPaths.from_env().ensure()


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Generate the sample data and materialize every asset once; e2e tests read the outcome."""
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.defs.publish.store import code_version
    from orchestration.generate import generate
    from orchestration.launch import run_in_process

    home = tmp_path_factory.mktemp("e2e_home")
    mp = pytest.MonkeyPatch()
    mp.setenv("LEDGER_HOME", str(home))
    mp.delenv("LEDGER_SERVING_DB", raising=False)
    paths = LedgerPaths.from_env().ensure()
    summary = generate(paths.raw_dir, seed=7)
    ingest, result = run_in_process(defs, dg.DagsterInstance.ephemeral(), code_version(), print)
    yield {"paths": paths, "summary": summary, "ingest": ingest, "result": result, "defs": defs}
    mp.undo()
