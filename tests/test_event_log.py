"""The SQLite instance's event log keeps its connections open between events (event_log.py)."""

from __future__ import annotations

import shutil

import dagster as dg
import pytest

from orchestration.event_log import OPEN_ENGINES, PooledSqliteEventLogStorage
from orchestration.instance import dagster_home, dagster_instance
from orchestration.paths import LedgerPaths


@dg.asset
def counted() -> int:
    return 1


def test_what_one_instance_writes_through_kept_connections_the_other_reads_at_once(
    ledger_home: LedgerPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ledger run` and `ledger ui` are two instances on one folder: each sees the other's
    runs as soon as they are stored, so a kept connection holds no lock and reads no stale
    data; the engines of runs long done are closed, not collected forever."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    run_side, ui_side = dagster_instance(ledger_home), dagster_instance(ledger_home)
    assert isinstance(run_side.event_log_storage, PooledSqliteEventLogStorage)

    run_ids = []
    for writer, reader in [(run_side, ui_side), (ui_side, run_side)] * 3:
        result = dg.materialize([counted], instance=writer)
        assert result.success
        run_ids.append(result.run_id)
        latest = reader.get_latest_materialization_event(counted.key)
        assert latest is not None and latest.run_id == result.run_id
        assert [e.dagster_event_type for e in reader.all_logs(result.run_id)][-1] == (
            dg.DagsterEventType.RUN_SUCCESS
        )
    assert {run.run_id for run in ui_side.get_runs()} == set(run_ids)
    assert len(run_side.event_log_storage._engines) <= OPEN_ENGINES  # noqa: SLF001
    run_side.dispose()
    ui_side.dispose()


def test_a_moved_home_gets_its_event_log_folder_written_anew(
    ledger_home: LedgerPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The config names the folder of its home's runs: a copy of the home (a backup restored
    elsewhere, the tests' copied homes) must not write its events into the original."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    original = dagster_instance(ledger_home)
    dg.materialize([counted], instance=original)
    original.dispose()

    moved = ledger_home.home.parent / f"{ledger_home.home.name}-moved"
    shutil.copytree(ledger_home.home, moved)
    monkeypatch.setenv("LEDGER_HOME", str(moved))
    paths = LedgerPaths.from_env()
    copy = dagster_instance(paths)
    assert str(moved) in (paths.warehouse_dir / "dagster" / "dagster.yaml").read_text()
    run = dg.materialize([counted], instance=copy).run_id
    assert (paths.warehouse_dir / "dagster" / "history" / "runs" / f"{run}.db").exists()
    assert not any(ledger_home.warehouse_dir.rglob(f"{run}.db"))
    assert dagster_home(paths) == str(paths.warehouse_dir / "dagster")
    copy.dispose()
