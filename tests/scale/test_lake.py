"""Versions on DuckLake with its catalog in a real Postgres: the default store's promises.

Publish, time travel, diff, rollback and gc through the store and the `ledger` commands, and
what DuckLake does on its own with two writers (why the store serializes them). Concurrency,
readers and kill -9: test_lake_processes.py; the sample's figures: test_lake_sample.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import psycopg2
import pytest

from orchestration.duckdb_extensions import load_bundled
from orchestration.local_postgres import LocalPostgres
from orchestration.paths import LedgerPaths
from orchestration.publish.lake import LakeStore
from orchestration.publish.lake_catalog import (
    CATALOG_ENV,
    DATA_PATH_ENV,
    LakeSettings,
    open_lake,
)
from orchestration.publish.registry import VersionError
from orchestration.publish.store import VersionStore, open_store
from tests.test_versions import run_cli, stage
from tests.test_versions_asset import PASSING, fake_marts, materialize, metadata

ROWS = {f"s{i:03d}": float(i) for i in range(200)}  # past DuckLake's inlining: Parquet files


def publish(store: LakeStore, run: str, inputs: dict[str, str]):
    return store.publish(store.paths.staging_db, run, inputs, "abc", {"passed": 4, "failed": 0})


def parquet_files(home: LedgerPaths) -> set[str]:
    return {p.name for p in (home.home / "lake").rglob("*.parquet")}


def test_without_settings_the_store_is_the_version_files(
    ledger_home: LedgerPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CATALOG_ENV, raising=False)
    assert type(open_store(ledger_home)) is VersionStore
    monkeypatch.setenv(CATALOG_ENV, "postgresql://u:secret@db.example:5432/ledger")
    with pytest.raises(VersionError, match=f"{DATA_PATH_ENV} is not"):
        open_store(ledger_home)
    monkeypatch.setenv(DATA_PATH_ENV, "s3://bucket/ledger")
    settings = LakeSettings.from_env()
    assert settings.data_path == "s3://bucket/ledger/"
    assert settings.display() == "ducklake:postgres:postgresql://u@db.example:5432/ledger"
    monkeypatch.setenv(DATA_PATH_ENV, "gs://bucket/ledger")
    with pytest.raises(VersionError, match="must be a folder or s3://"):
        open_store(ledger_home)


def test_publish_time_travel_diff_rollback_gc(lake: LakeStore, ledger_home: LedgerPaths) -> None:
    assert lake.versions() == []
    stage(ledger_home, ROWS, quarantine=200)  # replaced whole by each version: files to collect
    first = publish(lake, "run-1", {"m/a.csv": "aa"})
    changed = {k: v for k, v in ROWS.items() if k != "s003"} | {"s001": 99.0, "s007": -1.0}
    stage(ledger_home, changed | {"new1": 1.0, "new2": 2.0, "new3": 3.0}, quarantine=300)
    second = publish(lake, "run-2", {"m/a.csv": "aa", "m/b.csv": "bb"})
    assert (first.status, second.status) == ("published", "published")
    assert second.version.row_counts == {"fct_shipments": 202, "quarantine": 300}
    assert second.version.unique_keys == {"fct_shipments": True}
    assert second.built == "changed rows; whole: quarantine"
    assert [(v.version_id, v.is_served) for v in lake.versions()] == [(1, False), (2, True)]
    again = publish(lake, "run-3", {"m/a.csv": "aa", "m/b.csv": "bb"})
    assert (again.status, again.version.version_id) == ("unchanged", 2)

    count = "select count(*), sum(gross_cargo_tonnes) from fct_shipments"
    assert lake.query(count, "v1")[1] == [(200, sum(ROWS.values()))]
    assert lake.query(count)[1] == [(202, sum(changed.values()) + 6)]
    assert lake.query("select count(*) from not_a_table")[1] == [(1,)], "views are published"
    ships = lake.diff(1, 2)["tables"]["fct_shipments"]
    assert (ships["added"], ships["removed"], ships["changed"]) == (3, 1, 2)
    assert ships["sample_keys"]["changed"] == ["s001", "s007"]

    assert lake.rollback("v1") == (lake.get(1), 2)
    assert lake.served_version_id() == 1
    assert lake.query(count)[1] == [(200, sum(ROWS.values()))]
    assert lake.query(count, 2)[1] == [(202, sum(changed.values()) + 6)], "history is kept"
    served = "select version_id from ledger_versions where is_served"
    assert lake.query(served)[1] == [(1,)]

    stage(ledger_home, ROWS | {"new4": 4.0}, quarantine=250)
    publish(lake, "run-4", {"m/a.csv": "cc"})
    before = parquet_files(ledger_home)
    assert lake.gc(keep=1) == [1, 2]
    assert [(v.version_id, v.status) for v in lake.versions()] == [
        (1, "deleted"),
        (2, "deleted"),
        (3, "published"),
    ]
    with pytest.raises(VersionError, match="v0001 was garbage-collected"):
        lake.query(count, 1)
    assert lake.query(count, 3)[1] == [(201, sum(ROWS.values()) + 4)]
    after = parquet_files(ledger_home)
    assert after < before, "the files only deleted versions read are gone"
    con = open_lake(lake.settings)
    listed = {
        Path(r[0]).name
        for r in con.execute(
            "select data_file from ducklake_list_files('lake', 'fct_shipments')"
        ).fetchall()
    }
    con.close()
    assert listed <= after
    assert [e["kind"] for e in lake.events()] == ["publish", "gc"]


def test_ledger_commands_read_and_manage_the_lake(
    lake: LakeStore, ledger_home: LedgerPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["versions"], capsys)[1] == "no versions published yet (run `ledger run`)\n"
    stage(ledger_home, ROWS)
    publish(lake, "run-1", {"a": "1"})
    stage(ledger_home, ROWS | {"s999": 1.0})
    publish(lake, "run-2", {"a": "2"})

    out = json.loads(run_cli(["versions", "--json"], capsys)[1])
    assert [(v["version_id"], v["is_served"]) for v in out] == [(1, False), (2, True)]
    assert json.loads(run_cli(["show", "v1", "--json"], capsys)[1])["run_id"] == "run-1"
    assert "fct_shipments added: s999" in run_cli(["diff", "v1", "v2"], capsys)[1]
    code, out, _ = run_cli(["rollback", "v1"], capsys)
    assert out == f"serving v0001 (was v0002) at {lake.serving}\n"
    code, out, _ = run_cli(["query", "select count(*) as n from fct_shipments", "--json"], capsys)
    assert json.loads(out) == [{"n": 200}]
    code, out, _ = run_cli(
        ["query", "--version", "2", "select count(*) from fct_shipments"], capsys
    )
    assert out.splitlines()[2:] == ["201", "(1 rows)"]
    events = json.loads(run_cli(["versions", "--events", "--json"], capsys)[1])
    assert [(e["kind"], e["version_id"]) for e in events] == [
        ("publish", 1),
        ("publish", 2),
        ("rollback", 1),
    ]
    code, _, err = run_cli(["query", "create table x (a int)"], capsys)
    assert code == 2
    assert "read-only" in err


def test_a_bi_reader_attaches_the_catalog_read_only(
    lake: LakeStore, ledger_home: LedgerPaths, tmp_path: Path
) -> None:
    """What the README tells a BI user: DuckDB, two extensions, one ATTACH, no data path."""
    stage(ledger_home, ROWS)
    publish(lake, "run-1", {"a": "1"})
    stage(ledger_home, ROWS | {"s999": 1.0})
    publish(lake, "run-2", {"a": "2"})
    snapshot = int(lake.get("v1").file_name.removeprefix("snapshot "))
    con = duckdb.connect()
    load_bundled(con, tmp_path / "ext", "ducklake", "postgres_scanner")
    url = lake.settings.catalog_url
    con.execute(
        f"ATTACH 'ducklake:postgres:{url}' AS ledger (METADATA_SCHEMA 'ledger_lake', READ_ONLY)"
    )
    assert con.execute("select count(*) from ledger.fct_shipments").fetchone() == (201,)
    assert con.execute(
        "select version_id from ledger.ledger_versions where is_served"
    ).fetchone() == (2,)
    at = "select count(*) from ledger.fct_shipments at (version => ?)"
    assert con.execute(at, [snapshot]).fetchone() == (200,)
    with pytest.raises(duckdb.Error, match="read-only"):
        con.execute("delete from ledger.fct_shipments")
    con.close()


def test_ducklake_alone_lets_concurrent_inserts_both_commit_and_fails_conflicting_deletes(
    lake: LakeStore, ledger_home: LedgerPaths
) -> None:
    """Why the store serializes its writers: unserialized, two publishes would both insert
    version 2 into ledger_versions, and the marts' deletes of one would fail the other."""
    stage(ledger_home, ROWS)
    publish(lake, "run-1", {"a": "1"})
    one, two = (open_lake(lake.settings, write=True) for _ in range(2))
    for con in (one, two):
        con.execute("begin")
        con.execute("insert into ledger_versions (version_id, status) values (2, 'published')")
    one.execute("commit")
    two.execute("commit")
    assert one.execute("select count(*) from ledger_versions where version_id = 2").fetchone() == (
        2,
    )
    for con, key in ((one, "s001"), (two, "s002")):
        con.execute("begin")
        con.execute("delete from fct_shipments where waybill_no = ?", [key])
    one.execute("commit")
    with pytest.raises(duckdb.TransactionException, match="Transaction conflict"):
        two.execute("commit")
    one.close()
    two.close()


def test_the_publish_asset_publishes_to_the_lake_the_settings_name(
    lake: LakeStore, ledger_home: LedgerPaths
) -> None:
    first = materialize(ledger_home, fake_marts(10, {"m/a.csv": "aa"}, PASSING))
    assert first.success
    meta = metadata(first)
    assert (meta["version_id"], meta["status"]) == ("v0001", "published")
    assert meta["served_path"] == lake.serving
    second = materialize(ledger_home, fake_marts(12, {"m/a.csv": "bb"}, PASSING))
    assert metadata(second)["diff_vs_previous"] == {
        "from_version": 1,
        "tables": {"fct_shipments": {"added": 2, "removed": 0, "changed": 0}},
    }
    assert [v.run_id for v in lake.versions()] == [first.run_id, second.run_id]
    assert not ledger_home.serving_db.exists(), "nothing published to the files"


def test_the_lake_shares_a_database_with_dagsters_storage(
    postgres: LocalPostgres,
    ledger_home: LedgerPaths,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """LEDGER_PG_URL and LEDGER_LAKE_CATALOG_URL may name the same database: DuckLake's tables
    go to their own schema, Dagster's stay in public, and each keeps working."""
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    url = postgres.create_database("shared_with_dagster")
    dagster_url = url.replace("postgresql://", "postgresql+psycopg2://", 1)  # SQLAlchemy 2.1
    runs, events = PostgresRunStorage(dagster_url), PostgresEventLogStorage(dagster_url)
    monkeypatch.setenv(CATALOG_ENV, url)
    monkeypatch.setenv(DATA_PATH_ENV, str(ledger_home.home / "lake"))
    lake = open_store(ledger_home)
    stage(ledger_home, ROWS)
    assert publish(lake, "run-1", {"a": "1"}).status == "published"
    assert runs.get_runs() == []
    assert lake.query("select count(*) from fct_shipments")[1] == [(200,)]
    with psycopg2.connect(url) as pg, pg.cursor() as cur:
        cur.execute(
            "select table_schema, count(*) from information_schema.tables "
            "where table_schema in ('public', 'ledger_lake') group by 1 order by 1"
        )
        schemas = dict(cur.fetchall())
    assert schemas["ledger_lake"] > 10 and schemas["public"] > 3
    runs.dispose()
    events.dispose()


def test_the_evidence_report_renders_the_lakes_served_version(
    lake: LakeStore, ledger_home: LedgerPaths
) -> None:
    """The step after publish reads the lake's latest snapshot and diffs its versions."""
    import dagster as dg

    from orchestration.defs.evidence.assets import evidence_report
    from orchestration.defs.resources import LedgerResource
    from tests.test_evidence import build_version_db

    build_version_db(ledger_home.staging_db, registry=False)
    publish(lake, "run-1", {"a": "1"})
    with duckdb.connect(str(ledger_home.staging_db)) as con:
        con.execute("delete from fct_claim_reconciliation where claim_id = 'r2:40'")
    publish(lake, "run-2", {"a": "2"})
    result = dg.materialize(
        [evidence_report], resources={"ledger": LedgerResource(home=str(ledger_home.home))}
    )
    assert result.success
    [mat] = result.asset_materializations_for_node("evidence_report")
    assert mat.metadata["version_id"].value == "v0002"
    index = (ledger_home.reports_dir / "v0002" / "index.html").read_text()
    assert lake.settings.display() in index
    assert "Compared with v0001 (<code>ledger diff v0001 v0002</code>" in index
