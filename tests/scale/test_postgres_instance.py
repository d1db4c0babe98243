"""Dagster on Postgres (LEDGER_PG_URL) on a real server: `ledger run` keeps its history there and
publishes what the default path publishes; two month runs launched at once both land."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import create_engine, text

from orchestration.instance import dagster_instance, with_driver
from orchestration.launch import RANGE_END_TAG, RANGE_START_TAG
from orchestration.local_postgres import LocalPostgres
from orchestration.paths import LedgerPaths
from tests.conftest import run_ledger
from tests.test_partitions import data_months, same_rows

# Every published table but ledger_versions (run ids and times differ by nature); rows are
# compared without ingested_at, the time each run loaded them.
PUBLISHED = (
    "fct_shipments",
    "fct_waybill_versions",
    "fct_munitions_equivalent",
    "agg_munitions_by_profile",
    "agg_monthly_flows",
    "fct_claims",
    "fct_claim_reconciliation",
    "fct_voyages",
    "dim_stations",
    "dim_ports",
    "dim_vessels",
    "dim_reports",
    "quarantine",
)


@pytest.fixture(scope="module")
def pg_home(postgres: LocalPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The sample, run by `ledger run` as a user would, with Dagster's storage in a fresh
    Postgres database; LEDGER_HOME and LEDGER_PG_URL stay set for the module's tests."""
    url = with_driver(postgres.create_database("ledger_run"))
    home = tmp_path_factory.mktemp("pg_home")
    env = {**os.environ, "LEDGER_HOME": str(home), "LEDGER_PG_URL": url}
    for name in ("LEDGER_SERVING_DB", "DAGSTER_HOME", "DBT_USE_COLORS", "LEDGER_WORKERS"):
        env.pop(name, None)
    assert run_ledger(env, "generate").returncode == 0
    run = run_ledger(env, "run", timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]
    mp = pytest.MonkeyPatch()
    for name, value in env.items():
        mp.setenv(name, value)
    mp.delenv("DAGSTER_HOME", raising=False)
    yield {"paths": LedgerPaths.from_env(str(home)), "url": url, "run": run}
    mp.undo()


def materializations(instance: dg.DagsterInstance, run_id: str) -> dict[str, list[str | None]]:
    """Asset key -> partitions materialized by this run, as its event log in storage holds."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    found: dict[str, list[str | None]] = {}
    for record in records:
        mat = record.event_log_entry.asset_materialization
        assert mat is not None
        found.setdefault(mat.asset_key.to_user_string(), []).append(mat.partition)
    return found


def test_a_run_keeps_its_history_in_postgres_and_publishes_the_default_figures(
    pg_home: dict, pipeline_run: dict
) -> None:
    paths: LedgerPaths = pg_home["paths"]
    ids = re.search(r"runs ([0-9a-f-]{36}), ([0-9a-f-]{36}): success", pg_home["run"].stderr)
    assert ids, pg_home["run"].stderr[-2000:]
    ingest_id, build_id = ids.groups()

    instance = dagster_instance(paths)
    storages = (instance.run_storage, instance.event_log_storage, instance.schedule_storage)
    assert [type(s).__name__ for s in storages] == [
        "PostgresRunStorage",
        "PostgresEventLogStorage",
        "PostgresScheduleStorage",
    ]
    for run_id in (ingest_id, build_id):
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
    built = materializations(instance, build_id)
    assert built["published_version"] == [None]
    assert sorted(built["fct_shipments"]) == data_months(paths.serving_db)  # the first build
    assert "raw/manifests" in materializations(instance, ingest_id)
    # The same rows, asked of the database itself rather than through Dagster.
    with create_engine(pg_home["url"]).connect() as con:
        rows = dict(con.execute(text("select run_id, status from runs")).fetchall())
    assert {ingest_id: "SUCCESS", build_id: "SUCCESS"}.items() <= rows.items()
    # ... and none in SQLite: no run, event-log or schedule database in the instance folder.
    dagster_dir = paths.warehouse_dir / "dagster"
    assert sorted(p.name for p in dagster_dir.rglob("*.db")) == []
    assert not (dagster_dir / "history").exists() and not (dagster_dir / "schedules").exists()

    default: Path = pipeline_run["paths"].serving_db
    for table in PUBLISHED:
        assert same_rows(paths.serving_db, default, table, ignore=("ingested_at",)), table


def test_two_month_runs_launched_at_once_both_land(pg_home: dict) -> None:
    """Two workers, one run per month: the staging file takes them in turn (the run lock
    waits instead of refusing), and each run's history and partition is in Postgres."""
    from orchestration.parallel import backfill

    paths: LedgerPaths = pg_home["paths"]
    months = ["2023-09", "2023-12"]
    results = backfill(months, workers=2)
    assert [(r.month, r.success) for r in results] == [(m, True) for m in months]
    instance = dagster_instance(paths)
    for result in results:
        run = instance.get_run_by_id(result.run_id)
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags[RANGE_START_TAG] == run.tags[RANGE_END_TAG] == result.month
        built = materializations(instance, result.run_id)
        assert built["fct_shipments"] == [result.month]
        assert built["fct_munitions_equivalent"] == [result.month]
        assert built["published_version"] == [None]
    latest = instance.get_latest_materialization_event(dg.AssetKey(["published_version"]))
    assert latest is not None and latest.run_id in {r.run_id for r in results}
    assert (paths.warehouse_dir / "run.lock").read_text() == ""  # released by both
