"""Version store: publish, idempotency, diff, rollback, time travel, gc, CLI; real files only.

Long because the promises are many and share one fixture (a store with hand-made staging
files); each test is short and names the promise it checks.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.compute as pc
import pytest

from orchestration.code_version import code_version
from orchestration.inputs import fingerprint_of
from orchestration.paths import PROJECT_ROOT, LedgerPaths
from orchestration.publish.commands import register
from orchestration.publish.parts import replaced_waybills
from orchestration.publish.registry import VersionError
from orchestration.publish.store import VersionStore


def stage(paths: LedgerPaths, shipments: dict[str, float], quarantine: int = 2) -> None:
    """A hand-built staging db: two mart tables, the way dbt leaves them in schema main."""
    paths.staging_db.unlink(missing_ok=True)
    con = duckdb.connect(str(paths.staging_db))
    con.execute(
        "create table main.fct_shipments (waybill_no varchar, gross_cargo_tonnes double, "
        "is_synthetic boolean)"
    )
    con.executemany(
        "insert into main.fct_shipments values (?, ?, true)", [[k, v] for k, v in shipments.items()]
    )
    con.execute(
        "create table main.quarantine as select 'unknown_unit' as reason_code, "
        "range as source_row, true as is_synthetic from range(?)",
        [quarantine],
    )
    con.execute("create view main.not_a_table as select 1 as x")
    con.close()


def publish(store: VersionStore, run: str, inputs: dict[str, str], code: str = "abc"):
    return store.publish(store.paths.staging_db, run, inputs, code, {"passed": 4, "failed": 0})


def served_counts(paths: LedgerPaths) -> tuple[int, int, int]:
    con = duckdb.connect(str(paths.serving_db), read_only=True)
    try:
        return con.execute(
            "select (select count(*) from fct_shipments), (select count(*) from quarantine), "
            "(select version_id from ledger_versions where is_served)"
        ).fetchone()
    finally:
        con.close()


BASE = {f"s{i:02d}": float(i) for i in range(10)}


@pytest.fixture
def store(ledger_home: LedgerPaths) -> VersionStore:
    return VersionStore(ledger_home)


def test_two_publishes_with_a_changed_input_give_two_versions_and_the_exact_diff(
    store: VersionStore, ledger_home: LedgerPaths
) -> None:
    stage(ledger_home, BASE)
    first = publish(store, "run-1", {"manifests/a.csv": "aa"})
    changed = {k: v for k, v in BASE.items() if k != "s03"} | {"s01": 99.0, "s07": -1.0}
    stage(ledger_home, changed | {"s10": 1.0, "s11": 2.0, "s12": 3.0}, quarantine=3)
    second = publish(store, "run-2", {"manifests/a.csv": "aa", "manifests/b.csv": "bb"})

    assert (first.status, first.version.version_id) == ("published", 1)
    assert (second.status, second.version.version_id, second.previous.version_id) == (
        "published",
        2,
        1,
    )
    assert first.version.row_counts == {"fct_shipments": 10, "quarantine": 2}
    assert second.version.row_counts == {"fct_shipments": 12, "quarantine": 3}
    assert second.version.input_hashes == {"manifests/a.csv": "aa", "manifests/b.csv": "bb"}
    assert second.version.unique_keys == {"fct_shipments": True}
    assert second.version.fingerprint == fingerprint_of(second.version.input_hashes, "abc")
    assert [v.version_id for v in store.versions()] == [1, 2]
    assert store.served_version_id() == 2

    diff = store.diff("v0001", "v2")
    ships = diff["tables"]["fct_shipments"]
    assert (ships["added"], ships["removed"], ships["changed"]) == (3, 1, 2)
    assert ships["key"] == ["waybill_no"]
    assert ships["sample_keys"] == {
        "added": ["s10", "s11", "s12"],
        "removed": ["s03"],
        "changed": ["s01", "s07"],
    }
    quarantine = diff["tables"]["quarantine"]
    assert (quarantine["key"], quarantine["added"], quarantine["removed"]) == (None, 1, 0)
    assert quarantine["changed"] is None
    assert set(diff["tables"]) == {"fct_shipments", "quarantine"}
    assert store.diff(2, 1, table="fct_shipments")["tables"]["fct_shipments"]["added"] == 1


def test_a_delta_publish_diffs_only_the_waybills_it_replaced(
    store: VersionStore, ledger_home: LedgerPaths
) -> None:
    """Built as the previous version plus the logged waybills, a version differs from it only in
    them: the diff scoped to them (what the publish step shows) equals the full diff."""
    base = {f"s{i:02d}": float(i) for i in range(20)}  # a delta takes <= 25 % of the waybills
    stage(ledger_home, base)
    publish(store, "run-1", {"a": "1"})
    stage(ledger_home, {k: v for k, v in base.items() if k != "s03"} | {"s01": 9.0, "s20": 1.0})
    with duckdb.connect(str(ledger_home.staging_db)) as con:
        con.execute("create schema raw")
        con.execute("create table raw.changed_keys (source varchar, key varchar)")
        con.execute(
            "insert into raw.changed_keys values ('manifests', 's01'),"
            " ('manifests', 's03'), ('manifests', 's20'), ('voyages', 's05')"
        )
        replaced = replaced_waybills(con)
    assert publish(store, "run-2", {"a": "2"}).built == "delta"

    full, scoped = store.diff(1, 2)["tables"], store.diff(1, 2, scope=replaced)["tables"]
    assert scoped == full
    assert full["fct_shipments"]["sample_keys"] == {
        "added": ["s20"],
        "removed": ["s03"],
        "changed": ["s01"],
    }
    # the scope is really applied: a waybill left out of it is not seen
    partial = store.diff(1, 2, scope=replaced.filter(pc.field("waybill_no") != "s20"))
    assert partial["tables"]["fct_shipments"]["added"] == 0


def test_diff_reports_schema_changes_new_tables_and_duplicate_keys(
    store: VersionStore, ledger_home: LedgerPaths
) -> None:
    stage(ledger_home, BASE)
    publish(store, "run-1", {"a": "1"})
    stage(ledger_home, BASE)
    con = duckdb.connect(str(ledger_home.staging_db))
    con.execute("alter table fct_shipments add column route_id varchar")
    con.execute("insert into fct_shipments values ('s01', 1.0, true, 'X-Y')")  # duplicate key
    con.execute("create table dim_ports as select 'KPRJN' as port_code")
    con.close()
    publish(store, "run-2", {"a": "2"})

    tables = store.diff(1, 2)["tables"]
    assert tables["dim_ports"] == {
        "status": "table_added",
        "added": 1,
        "removed": 0,
        "changed": 0,
        "key": None,
    }
    assert store.get(2).unique_keys == {"fct_shipments": False, "dim_ports": True}
    ships = tables["fct_shipments"]
    # waybill_no is no longer unique in v2: whole-row (multiset) comparison of shared columns
    assert (ships["key"], ships["added"], ships["removed"], ships["changed"]) == (None, 1, 0, None)
    assert (ships["columns_added"], ships["columns_retyped"]) == (["route_id"], [])
    with pytest.raises(VersionError, match="table 'nope' is in neither v0001 nor v0002"):
        store.diff(1, 2, table="nope")


def test_diff_ignores_float_noise_and_reports_retyped_columns(
    store: VersionStore, ledger_home: LedgerPaths
) -> None:
    stage(ledger_home, BASE)
    publish(store, "run-1", {"a": "1"})
    stage(ledger_home, BASE | {"s02": 2.0 + 1e-13, "s05": 5.5})
    con = duckdb.connect(str(ledger_home.staging_db))
    con.execute("alter table quarantine alter source_row type varchar")
    con.close()
    publish(store, "run-2", {"a": "2"})

    tables = store.diff(1, 2)["tables"]
    ships = tables["fct_shipments"]
    assert (ships["changed"], ships["sample_keys"]["changed"]) == (1, ["s05"])
    quarantine = tables["quarantine"]
    assert quarantine["columns_retyped"] == ["source_row"]
    assert (quarantine["added"], quarantine["removed"]) == (0, 0)


def test_unchanged_inputs_and_code_publish_nothing_new(
    store: VersionStore, ledger_home: LedgerPaths
) -> None:
    stage(ledger_home, BASE)
    publish(store, "run-1", {"a.csv": "aa"})
    served_inode = ledger_home.serving_db.stat().st_ino
    again = publish(store, "run-2", {"a.csv": "aa"})
    assert (again.status, again.version.version_id) == ("unchanged", 1)
    assert [v.version_id for v in store.versions()] == [1]
    assert ledger_home.serving_db.stat().st_ino == served_inode
    assert [e["kind"] for e in store.events()] == ["publish", "unchanged"]
    assert store.events()[-1]["run_id"] == "run-2"

    ledger_home.serving_db.unlink()
    assert publish(store, "run-2b", {"a.csv": "aa"}).status == "unchanged"
    assert served_counts(ledger_home) == (10, 2, 1)  # a deleted served file is restored
    new_code = publish(store, "run-3", {"a.csv": "aa"}, code="def")
    assert (new_code.status, new_code.version.version_id) == ("published", 2)
    renamed = publish(store, "run-4", {"b.csv": "aa"}, code="def")
    assert (renamed.status, renamed.version.version_id) == ("published", 3)


def test_rollback_serves_the_old_row_counts_and_records_an_event(
    store: VersionStore, ledger_home: LedgerPaths
) -> None:
    stage(ledger_home, BASE)
    publish(store, "run-1", {"a": "1"})
    stage(ledger_home, BASE | {"s99": 9.0}, quarantine=5)
    publish(store, "run-2", {"a": "2"})
    assert served_counts(ledger_home) == (11, 5, 2)

    store.rollback("v0001")
    assert served_counts(ledger_home) == (10, 2, 1)
    assert store.served_version_id() == 1
    assert [(v.version_id, v.is_served) for v in store.versions()] == [(1, True), (2, False)]
    rollback = store.events()[-1]
    assert (rollback["kind"], rollback["version_id"]) == ("rollback", 1)
    assert json.loads(rollback["detail"]) == {"from_version": 2}
    # unchanged inputs keep the rollback in place; v2's data is still reachable by time travel
    assert publish(store, "run-3", {"a": "2"}).status == "unchanged"
    assert served_counts(ledger_home) == (10, 2, 1)
    assert store.query("select count(*) from fct_shipments", "v2")[1] == [(11,)]
    with pytest.raises(VersionError, match="v0007 does not exist"):
        store.rollback(7)


def test_served_file_is_a_read_only_copy_with_the_registry(
    store: VersionStore, ledger_home: LedgerPaths
) -> None:
    stage(ledger_home, BASE)
    version = publish(store, "run-1", {"a": "1"}).version
    version_file = store.version_path(version)
    assert version_file.stat().st_ino != ledger_home.serving_db.stat().st_ino
    assert oct(version_file.stat().st_mode & 0o777) == "0o444"
    assert oct(ledger_home.serving_db.stat().st_mode & 0o777) == "0o444"
    columns, rows = store.query(
        "select version_id, status, run_id, row_counts, is_served from ledger_versions"
    )
    assert columns == ["version_id", "status", "run_id", "row_counts", "is_served"]
    assert rows == [(1, "published", "run-1", '{"fct_shipments": 10, "quarantine": 2}', True)]
    # version files hold the marts only; the staging view is not a table and is not copied; the
    # waybill table is a view over its read-only Parquet part
    assert store.query("select table_name from duckdb_tables() order by 1", 1)[1] == [
        ("quarantine",)
    ]
    (part,) = ledger_home.versions_dir.glob("parts/fct_shipments/all/v0001-*.parquet")
    assert oct(part.stat().st_mode & 0o777) == "0o444"
    assert store.query("select view_name from duckdb_views() where not internal order by 1", 1)[
        1
    ] == [("fct_shipments",), ("not_a_table",)]
    with pytest.raises(duckdb.Error, match="read-only"):
        store.query("create table x as select 1")
    # a stale WAL of some read-write session must not be replayed onto the next version
    # (test_read_write_clients.py has the real thing; here only that it is moved aside)
    wal = ledger_home.serving_db.with_name("ledger.duckdb.wal")
    wal.unlink()
    wal.write_bytes(b"not a wal")
    stage(ledger_home, BASE | {"s10": 1.0})
    publish(store, "run-2", {"a": "2"})
    assert not wal.exists()  # the guard: a link to nowhere
    assert [p.read_bytes() for p in wal.parent.glob("ledger.duckdb.wal.stray-*")] == [b"not a wal"]
    assert served_counts(ledger_home) == (11, 2, 2)


def test_gc_keeps_the_newest_and_the_served_version(
    store: VersionStore, ledger_home: LedgerPaths
) -> None:
    pages = ledger_home.docs_dir / "gx" / "validations" / "fct_shipments"
    for n in range(1, 5):
        stage(ledger_home, {f"s{i}": 1.0 for i in range(n)})
        publish(store, f"run-{n}", {"a": str(n)})
        report = ledger_home.reports_dir / f"v000{n}"
        report.mkdir(parents=True)
        (report / "index.html").write_text("report")
        (pages / f"run-{n}" / "20261129T000000Z").mkdir(parents=True)
        (pages / f"run-{n}" / "20261129T000000Z" / "main.fct_shipments.html").write_text("docs")
    store.rollback(1)
    assert store.gc(keep=1) == [2, 3]
    # their evidence reports and Data Docs pages go with them, and their WAL guards
    assert sorted(p.name for p in ledger_home.reports_dir.iterdir()) == ["v0001", "v0004"]
    assert sorted(p.name for p in pages.iterdir()) == ["run-1", "run-4"]
    assert sorted(p.name for p in ledger_home.versions_dir.glob("*.wal")) == [
        "v0001.duckdb.wal",
        "v0004.duckdb.wal",
    ]
    assert [(v.version_id, v.status) for v in store.versions()] == [
        (1, "published"),
        (2, "deleted"),
        (3, "deleted"),
        (4, "published"),
    ]
    assert sorted(p.name for p in ledger_home.versions_dir.glob("v*.duckdb")) == [
        "v0001.duckdb",
        "v0004.duckdb",
    ]
    with pytest.raises(VersionError, match="v0002 was garbage-collected"):
        store.query("select 1", 2)
    with pytest.raises(VersionError, match="v0003 is deleted"):
        store.rollback(3)
    assert store.gc(keep=1) == []


def test_registry_is_readable_while_a_publisher_holds_a_write_transaction(
    store: VersionStore, ledger_home: LedgerPaths
) -> None:
    stage(ledger_home, BASE)
    publish(store, "run-1", {"a": "1"})
    writer = sqlite3.connect(store.registry_path, isolation_level=None)
    writer.execute("begin immediate")
    writer.execute("update versions set message = 'in flight' where version_id = 1")
    try:
        assert [v.message for v in store.versions()] == [None]
    finally:
        writer.execute("rollback")
        writer.close()


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="ledger")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_versions_show_diff_rollback_query_gc(
    store: VersionStore, ledger_home: LedgerPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["versions"], capsys)[1] == "no versions published yet (run `ledger run`)\n"
    stage(ledger_home, BASE)
    publish(store, "run-1", {"a": "1"})
    stage(ledger_home, BASE | {"s10": 1.0})
    publish(store, "run-2", {"a": "2"})

    code, out, _ = run_cli(["versions", "--json"], capsys)
    assert code == 0
    assert [(v["version_id"], v["is_served"]) for v in json.loads(out)] == [(1, False), (2, True)]
    assert "* v0002" in run_cli(["versions"], capsys)[1]
    assert json.loads(run_cli(["show", "v1", "--json"], capsys)[1])["run_id"] == "run-1"
    code, out, _ = run_cli(["diff", "1", "2", "--json", "--table", "fct_shipments"], capsys)
    assert json.loads(out)["tables"]["fct_shipments"]["sample_keys"]["added"] == ["s10"]
    assert "fct_shipments added: s10" in run_cli(["diff", "v1", "v2"], capsys)[1]
    code, out, _ = run_cli(["rollback", "v1"], capsys)
    assert out.startswith("serving v0001 (was v0002)")
    code, out, _ = run_cli(["query", "select count(*) as n from fct_shipments", "--json"], capsys)
    assert json.loads(out) == [{"n": 10}]
    code, out, _ = run_cli(
        ["query", "--version", "2", "select count(*) as n from fct_shipments"], capsys
    )
    assert out.splitlines() == ["n", "--", "11", "(1 rows)"]
    assert run_cli(["gc", "--keep", "1"], capsys)[1] == (
        "nothing to delete\ndeleted 0 old runs from the Dagster run history (keeping 100)\n"
    )
    events = json.loads(run_cli(["versions", "--events", "--json"], capsys)[1])
    assert [(e["kind"], e["version_id"]) for e in events] == [
        ("publish", 1),
        ("publish", 2),
        ("rollback", 1),
    ]
    assert run_cli(["versions", "--events"], capsys)[1].splitlines()[4].split()[1:3] == [
        "rollback",
        "v0001",
    ]
    code, _, err = run_cli(["show", "v9"], capsys)
    assert (code, err) == (2, "ledger show: version v0009 does not exist (see `ledger versions`)\n")
    code, _, err = run_cli(["query", "select nope"], capsys)
    assert code == 2
    assert err.startswith('ledger query: Binder Error: Referenced column "nope" was not found')


def test_rollback_to_the_served_version_does_nothing_and_records_nothing(
    store: VersionStore, ledger_home: LedgerPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(ledger_home, BASE)
    publish(store, "run-1", {"a": "1"})
    stage(ledger_home, BASE | {"s10": 1.0})
    publish(store, "run-2", {"a": "2"})
    served = ledger_home.serving_db.stat()
    events = store.events()

    code, out, err = run_cli(["rollback", "v2"], capsys)

    nothing = f"v0002 is already served at {ledger_home.serving_db}; nothing to do\n"
    assert (code, out, err) == (0, nothing, "")
    assert store.events() == events
    after = ledger_home.serving_db.stat()
    assert (after.st_ino, after.st_mtime_ns) == (served.st_ino, served.st_mtime_ns)
    assert run_cli(["rollback", "v1"], capsys)[1].startswith("serving v0001 (was v0002)")
    assert run_cli(["rollback", "1"], capsys)[1] == nothing.replace("v0002", "v0001")
    assert [e["kind"] for e in store.events()] == ["publish", "publish", "rollback"]


def test_no_served_file_yet_is_a_clear_error(store: VersionStore) -> None:
    with pytest.raises(VersionError, match="ledger.duckdb does not exist: nothing published yet"):
        store.query("select 1")


def test_publish_refuses_a_staging_db_without_marts(
    store: VersionStore, ledger_home: LedgerPaths
) -> None:
    duckdb.connect(str(ledger_home.staging_db)).close()
    with pytest.raises(VersionError, match="schema main has no tables to publish"):
        publish(store, "run-1", {"a": "1"})
    assert store.versions() == []
    assert not ledger_home.serving_db.exists()
    assert sorted(p.name for p in ledger_home.versions_dir.iterdir()) == [
        ".publish.lock",
        "registry.sqlite",
    ]
    assert json.loads(store.events()[-1]["detail"]) == {
        "notes": ["removed temp file .tmp-v0001.duckdb", "discarded unfinished v0001 of run run-1"]
    }
    stage(ledger_home, BASE)
    result = publish(store, "run-2", {"a": "1"})
    assert (result.status, result.version.version_id, result.recovered) == ("published", 2, [])


def test_version_file_paths_are_quoted(tmp_path: Path) -> None:
    """A home with a quote in its name still attaches (paths are never spliced unquoted)."""
    paths = LedgerPaths.from_env(tmp_path / "it's here").ensure()
    store = VersionStore(paths)
    stage(paths, BASE)
    assert publish(store, "run-1", {"a": "1"}).version.row_counts["fct_shipments"] == 10
    assert store.diff(1, 1)["tables"]["fct_shipments"]["changed"] == 0


def test_code_version_is_the_git_head_and_stable() -> None:
    head = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    first = code_version()
    assert first.split("-dirty.")[0] == head
    assert code_version() == first


def test_served_version_is_right_while_this_process_holds_the_old_file(
    store: VersionStore, ledger_home: LedgerPaths
) -> None:
    """DuckDB hands a new in-process connection the cached old database: never ask it."""
    stage(ledger_home, BASE)
    publish(store, "run-1", {"a": "1"})
    held = duckdb.connect(str(ledger_home.serving_db), read_only=True)
    try:
        stage(ledger_home, BASE | {"s10": 1.0})
        publish(store, "run-2", {"a": "2"})
        assert store.served_version_id() == 2
        assert held.execute("select count(*) from fct_shipments").fetchone() == (10,)
        assert [(v.version_id, v.is_served) for v in store.versions()] == [(1, False), (2, True)]
    finally:
        held.close()
    assert served_counts(ledger_home) == (11, 2, 2)


@pytest.mark.parametrize("sql", ["", "   \n\t", "-- only a comment", "/* block */ ;", ";"])
def test_cli_query_without_a_statement_says_so(
    store: VersionStore, ledger_home: LedgerPaths, capsys: pytest.CaptureFixture[str], sql: str
) -> None:
    from orchestration.cli import main

    stage(ledger_home, BASE)
    publish(store, "run-1", {"a": "1"})
    assert main(["query", sql]) == 2
    assert capsys.readouterr() == ("", "ledger query: no SQL statement given\n")


def test_cli_query_errors_are_one_line(
    store: VersionStore, ledger_home: LedgerPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    """DuckDB's multi-line messages (hint, LINE n, caret) end up on one line, exit code 2."""
    from orchestration.cli import main

    assert main(["query", "select 1"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"ledger query: {ledger_home.serving_db} does not exist: nothing published yet\n"
    )
    stage(ledger_home, BASE)
    publish(store, "run-1", {"a": "1"})
    assert main(["query", "selec 1"]) == 2
    assert capsys.readouterr().err == (
        'ledger query: Parser Error: syntax error at or near "selec" (LINE 1: selec 1)\n'
    )
    assert main(["query", "select *\nfrom fct_shipment"]) == 2
    assert capsys.readouterr().err == (
        "ledger query: Catalog Error: Table with name fct_shipment does not exist! "
        'Did you mean "fct_shipments"? (LINE 2: from fct_shipment)\n'
    )
    assert main(["query", "create table x (a int)"]) == 2
    assert capsys.readouterr().err == (
        'ledger query: Invalid Input Error: Cannot execute statement of type "CREATE" on '
        'database "ledger" which is attached in read-only mode!\n'
    )


def stage_flows(paths: LedgerPaths, rows: list[tuple]) -> None:
    """A monthly aggregate keyed by (month, route_id) beside the staged fct_shipments."""
    con = duckdb.connect(str(paths.staging_db))
    con.execute(
        "create table main.agg_monthly_flows (month date, route_id varchar, "
        "explosive_tonnes double, shipments integer, is_synthetic boolean)"
    )
    con.executemany("insert into main.agg_monthly_flows values (?, ?, ?, ?, true)", rows)
    con.close()


def test_cli_diff_shows_waybills_iso_dates_and_rounded_values(
    store: VersionStore, ledger_home: LedgerPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a reader sees: natural keys and readable values, no Python reprs or hashes."""
    stage(ledger_home, {"W001": 18.5, "W002": 20.0, "W004": 9.0})
    stage_flows(ledger_home, [(date(2023, 9, 1), "986808-515202", 38.5, 2)])
    publish(store, "run-1", {"a": "1"})
    stage(ledger_home, {"W001": 18.5001, "W002": 21.123456, "W003": 17.0})
    stage_flows(
        ledger_home,
        [
            (date(2023, 9, 1), "986808-515202", 39.623456, 2),
            (date(2023, 10, 1), "986808-515202", 17.0, 1),
        ],
    )
    publish(store, "run-2", {"a": "2"})

    code, out, _ = run_cli(["diff", "v1", "v2"], capsys)
    assert code == 0
    assert out == (
        "diff v0001 -> v0002\n"
        "table              status    key             added  removed  changed  columns\n"
        "-----------------  --------  --------------  -----  -------  -------  -------\n"
        "agg_monthly_flows  compared  month,route_id  1      0        1\n"
        "fct_shipments      compared  waybill_no      1      1        2\n"
        "quarantine         compared  (whole row)     0      0        n/a\n"
        "  agg_monthly_flows added: month=2023-10-01 route_id=986808-515202\n"
        "  agg_monthly_flows changed: month=2023-09-01 route_id=986808-515202: "
        "explosive_tonnes 38.5 -> 39.62\n"
        "  fct_shipments added: W003\n"
        "  fct_shipments removed: W004\n"
        # equal at 2 decimals: shown to 12 significant digits, so the change stays visible
        "  fct_shipments changed: W001: gross_cargo_tonnes 18.5 -> 18.5001\n"
        "  fct_shipments changed: W002: gross_cargo_tonnes 20 -> 21.12\n"
    )
    code, out, _ = run_cli(["diff", "v1", "v2", "--json", "--table", "agg_monthly_flows"], capsys)
    flows = json.loads(out)["tables"]["agg_monthly_flows"]
    assert flows["sample_keys"]["changed"] == [{"month": "2023-09-01", "route_id": "986808-515202"}]
    assert flows["sample_changes"] == [{"explosive_tonnes": [38.5, 39.623456]}]


def test_comments_are_copied_into_the_version_and_the_served_file(
    store: VersionStore, ledger_home: LedgerPaths
) -> None:
    """CTAS drops comments: the publish copies dbt's (persist_docs), describes ledger_versions."""
    stage(ledger_home, BASE)
    con = duckdb.connect(str(ledger_home.staging_db))
    con.execute("comment on table fct_shipments is 'One row per waybill.\n'")
    con.execute("comment on column fct_shipments.waybill_no is 'Railway waybill number.'")
    con.close()
    publish(store, "run-1", {"a": "1"})

    for path in (store.version_path(store.get(1)), ledger_home.serving_db):
        with duckdb.connect(str(path), read_only=True) as con:
            tables = dict(
                con.execute(
                    "select table_name, comment from duckdb_tables() union all "
                    "select view_name, comment from duckdb_views() where not internal"
                ).fetchall()
            )
            columns = dict(
                con.execute(
                    "select table_name || '.' || column_name, comment from duckdb_columns() "
                    "where database_name = current_database() and comment is not null"
                ).fetchall()
            )
        assert tables["fct_shipments"] == "One row per waybill."
        assert columns["fct_shipments.waybill_no"] == "Railway waybill number."
    assert tables["ledger_versions"].startswith("Every version of this dataset in the registry")
    assert {c for c in columns if c.startswith("ledger_versions.")} == {
        f"ledger_versions.{c}"
        for c in (
            "version_id", "status", "run_id", "created_at", "code_version", "fingerprint",
            "input_hashes", "row_counts", "validation", "message", "is_served",
        )
    }  # fmt: skip


def test_gc_keeps_the_newest_runs_of_the_dagster_run_history(
    store: VersionStore,
    ledger_home: LedgerPaths,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dagster as dg

    from orchestration.instance import dagster_instance

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("LEDGER_KEEP_RUNS", "2")

    @dg.asset
    def one() -> int:
        return 1

    instance = dagster_instance(ledger_home)
    ids = [dg.materialize([one], instance=instance).run_id for _ in range(3)]
    code, out, _ = run_cli(["gc", "--keep", "1"], capsys)
    assert (code, out) == (
        0,
        "nothing to delete\ndeleted 1 old runs from the Dagster run history (keeping 2)\n",
    )
    assert sorted(r.run_id for r in dagster_instance(ledger_home).get_runs()) == sorted(ids[1:])

    monkeypatch.setenv("LEDGER_KEEP_RUNS", "none")
    code, _, err = run_cli(["gc", "--keep", "1"], capsys)
    assert (code, err) == (
        2,
        "ledger gc: LEDGER_KEEP_RUNS='none': expected a whole number of runs, at least 1\n",
    )
