"""Incremental builds: only the waybills a file changed are rebuilt, and the result is the
result of a full rebuild. Real dbt builds on real DuckDB files."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.incremental import (
    FILE_EVENT,
    MONTHLY,
    changed_months,
    clear_consumed_changes,
    data_months,
    full_refresh_needed,
    pending_sources,
    queue_months,
    record_build,
    record_changed_months,
)
from tests.test_dbt_build import PROV_A, rows, run_dbt

T2 = datetime(2024, 2, 3, 8, 0)
PROV_C = ("manifests/c.csv", "c" * 64, T2)
MARTS = (
    "fct_shipments",
    "fct_munitions_equivalent",
    "agg_monthly_flows",
    "agg_munitions_by_profile",
    "dim_stations",
    "fct_claim_reconciliation",
)


def deliver(db: Path) -> None:
    """What ingest does when c.csv arrives and the file holding W004 goes: rows in raw, and
    the waybills they touch in the change log (same transaction); then what the monthly dbt
    step logs before it builds: the months of those waybills, before and after."""
    with duckdb.connect(str(db)) as con:
        con.executemany(
            "insert into raw.manifests (waybill_no, dispatch_date, origin_station_code,"
            " origin_station_matched_by, origin_station_code_given, destination_station_code,"
            " destination_station_matched_by, destination_station_code_given, shipper, consignee,"
            " cargo_code, wagon_no, container_no, gross_weight_kg, packages, source_file,"
            " source_row, file_sha256, ingested_at) values (?, ?, '986808', 'code', '986808',"
            " '515202', 'code', '515202', 'Shipper LLC', 'Depot 1', '481218', '50000001', ?, ?,"
            " 40, ?, ?, ?, ?)",
            [
                # a corrected re-send of W002 that moves it from September to October
                ["W002", date(2023, 10, 2), "CONT0000002", 19000.0, *PROV_C[:1], 1, *PROV_C[1:]],
                ["W006", date(2023, 11, 14), "CONT0000006", 16000.0, *PROV_C[:1], 2, *PROV_C[1:]],
            ],
        )
        con.execute("delete from raw.manifests where waybill_no = 'W004'")
        con.executemany(
            "insert into raw.changed_keys values ('manifests', ?, ?, ?)",
            [["W002", PROV_C[0], T2], ["W006", PROV_C[0], T2], ["W004", PROV_A[0], T2]],
        )
        record_changed_months(con, changed_months(con), "run-c", T2)


@pytest.fixture(scope="module")
def built_then_delivered(
    tmp_path_factory: pytest.TempPathFactory, dbt_fixture_build: dict[str, Path]
) -> dict[str, Path]:
    """One full build (test_dbt_build.py's fixture rows, built once a session by the dbt CLI),
    then the delivery applied to two copies of that state."""
    tmp = tmp_path_factory.mktemp("incremental")
    base = tmp / "base.duckdb"
    shutil.copy(dbt_fixture_build["db"], base)
    dbs = {}
    for name in ("incremental", "full"):
        dbs[name] = tmp / f"{name}.duckdb"
        shutil.copy(base, dbs[name])
        deliver(dbs[name])
    dbs["tmp"] = tmp
    return dbs


def test_changed_months_are_those_of_the_changed_waybills_before_and_after(
    built_then_delivered: dict[str, Path],
) -> None:
    """W002 moved from September to October, W006 is new in November, W004 (August) is gone:
    the build covers the months the built table had them in and those the raw rows have now."""
    with duckdb.connect(str(built_then_delivered["full"]), read_only=True) as con:
        before = rows(
            con,
            "select distinct strftime(dispatch_date, '%Y-%m') from main.fct_shipments"
            " where waybill_no in ('W002', 'W004') order by 1",
        )
        assert changed_months(con) == sorted({m for (m,) in before} | {"2023-10", "2023-11"})
        assert set(changed_months(con)) <= set(data_months(con))


@pytest.mark.slow  # two dbt builds (~30 s)
def test_rebuilding_queued_months_equals_the_full_build(
    built_then_delivered: dict[str, Path],
) -> None:
    """A backfill queues every waybill of its months; rebuilding them all reproduces the full
    build exactly (nothing delivered here: the base state, all months queued)."""
    tmp = built_then_delivered["tmp"]
    db = tmp / "backfill.duckdb"
    shutil.copy(tmp / "base.duckdb", db)
    with duckdb.connect(str(db)) as con:
        months = data_months(con)
        queued = queue_months(con, months, "run-b", datetime(2024, 3, 1))
        record_changed_months(con, changed_months(con), "run-b", datetime(2024, 3, 1))
        assert (
            queued == rows(con, "select count(distinct waybill_no) from main.fct_shipments")[0][0]
        )
        con.execute("update main.fct_shipments set shipper = 'STALE'")
    result = run_dbt(["build", "--exclude", "test_type:unit"], db, tmp)
    assert result.returncode == 0, result.stdout[-3000:]
    con = duckdb.connect(":memory:")
    con.execute(f"attach '{db}' as bf (read_only)")
    con.execute(f"attach '{tmp / 'base.duckdb'}' as ful (read_only)")
    for table in MARTS:
        differ = rows(
            con,
            f"select count(*) from ((select * from bf.main.{table} except all"  # noqa: S608
            f" select * from ful.main.{table}) union all (select * from ful.main.{table}"
            f" except all select * from bf.main.{table}))",
        )[0][0]
        assert differ == 0, f"{table}: {differ} rows differ from the full build"


@pytest.mark.slow  # three dbt builds (~45 s)
def test_an_incremental_build_equals_a_full_rebuild(built_then_delivered: dict[str, Path]) -> None:
    tmp = built_then_delivered["tmp"]
    incremental, full = built_then_delivered["incremental"], built_then_delivered["full"]
    with duckdb.connect(str(incremental)) as con:  # an unchanged waybill's row, marked
        con.execute(
            "update main.fct_shipments set shipper = 'NOT REBUILT' where waybill_no = 'W001'"
        )
    result = run_dbt(["build", "--exclude", "test_type:unit"], incremental, tmp)
    assert result.returncode == 0, result.stdout[-3000:]
    assert run_dbt(["build", "--full-refresh"], full, tmp).returncode == 0

    with duckdb.connect(str(incremental), read_only=True) as con:
        # only the changed waybills were rebuilt: the marked row is still there
        assert rows(con, "select shipper from main.fct_shipments where waybill_no = 'W001'") == [
            ("NOT REBUILT",)
        ]
        assert rows(
            con,
            "select waybill_no, dispatch_date, gross_cargo_tonnes, source_file"
            " from main.fct_shipments where waybill_no in ('W002', 'W004', 'W006') order by 1",
        ) == [
            ("W002", date(2023, 10, 2), 19.0, "manifests/c.csv"),
            ("W006", date(2023, 11, 14), 16.0, "manifests/c.csv"),
        ]
    con = duckdb.connect(":memory:")
    con.execute(f"attach '{incremental}' as inc (read_only)")
    con.execute(f"attach '{full}' as ful (read_only)")
    for table in MARTS:
        exclude = "exclude (shipper)" if table == "fct_shipments" else ""
        differ = rows(
            con,
            f"select count(*) from ((select * {exclude} from inc.main.{table} except all"  # noqa: S608
            f" select * {exclude} from ful.main.{table}) union all (select * {exclude}"
            f" from ful.main.{table} except all select * {exclude} from inc.main.{table}))",
        )[0][0]
        assert differ == 0, f"{table}: {differ} rows differ from a full rebuild"


@pytest.mark.slow  # two dbt builds (~30 s)
def test_incremental_builds_test_only_the_rebuilt_waybills(
    built_then_delivered: dict[str, Path],
) -> None:
    """A bad row of a file loaded before is not looked at again by an incremental build's tests
    (it passed them when it was loaded); the same row in the delivered file is. dbt run by hand,
    without the var, tests every row."""
    tmp = built_then_delivered["tmp"]
    db = tmp / "scoped.duckdb"
    shutil.copy(built_then_delivered["full"], db)
    bad_row = "update raw.manifests set packages = -3 where waybill_no = ? and source_file = ?"
    with duckdb.connect(str(db)) as con:  # b.csv: not in the change log
        con.execute(bad_row, ["W002", "manifests/b.csv"])
    select = ["--select", "stg_raw__manifests", "--exclude", "test_type:unit"]
    scoped = ["build", *select, "--vars", "{changed_only: true}"]
    passed = run_dbt(scoped, db, tmp)
    assert passed.returncode == 0, passed.stdout[-3000:]
    everything = run_dbt(["build", *select], db, tmp)
    assert everything.returncode == 1
    assert "FAIL 1 column_rules_stg_raw__manifests" in everything.stdout
    with duckdb.connect(str(db)) as con:  # c.csv: the delivery the change log names
        con.execute("update raw.manifests set packages = 0 where source_file = 'manifests/b.csv'")
        con.execute(bad_row, ["W006", "manifests/c.csv"])
    caught = run_dbt(scoped, db, tmp)
    assert caught.returncode == 1
    assert "FAIL 1 column_rules_stg_raw__manifests" in caught.stdout


@pytest.mark.slow  # an incremental dbt build and three test runs (~40 s)
def test_the_evidence_view_test_looks_at_the_rebuilt_waybills_days(
    built_then_delivered: dict[str, Path],
) -> None:
    """fct_claim_evidence (claims x shipments) is tested, on an incremental build, on the rows
    dated within the dispatch days of the rebuilt waybills (W002 on 2 October, W006 on
    14 November): a bad shipment outside them (W001, August) is not looked at, one inside is."""
    tmp = built_then_delivered["tmp"]
    db = tmp / "evidence.duckdb"
    shutil.copy(built_then_delivered["full"], db)
    scoped = ["--vars", "{changed_only: true}"]
    built = run_dbt(["build", "--exclude", "test_type:unit", *scoped], db, tmp)
    assert built.returncode == 0, built.stdout[-3000:]
    test = ["test", "--select", "fct_claim_evidence"]
    blank = "update main.fct_shipments set container_no = ' ' where waybill_no = ?"
    with duckdb.connect(str(db)) as con:
        con.execute(blank, ["W001"])
    passed = run_dbt([*test, *scoped], db, tmp)
    assert passed.returncode == 0, passed.stdout[-3000:]
    everything = run_dbt(test, db, tmp)
    assert everything.returncode == 1
    assert "fct_claim_evidence_rows_are_complete" in everything.stdout
    with duckdb.connect(str(db)) as con:
        con.execute(blank, ["W006"])
    caught = run_dbt([*test, *scoped], db, tmp)
    assert caught.returncode == 1, caught.stdout[-3000:]


def test_build_state_decides_full_refresh_and_clears_what_was_consumed(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema raw")
        con.execute(
            "create table raw.changed_keys (source varchar, key varchar, source_file varchar,"
            " recorded_at timestamp)"
        )
        con.executemany(
            "insert into raw.changed_keys values ('manifests', ?, 'manifests/a.csv', ?)",
            [["W1", datetime(2024, 1, 1, 9)], ["W2", datetime(2024, 1, 1, 11)]],
        )
        con.execute(  # a file event: a voyages file loaded before the build
            "insert into raw.changed_keys values (?, 'voyages', 'voyages/v.csv', ?)",
            [FILE_EVENT, datetime(2024, 1, 1, 9, 30)],
        )
        record_changed_months(con, ["2023-12"], "run-1", datetime(2024, 1, 1, 9, 45))
        assert pending_sources(con) == {"manifests", "voyages"}, "a month is not a source"
        assert full_refresh_needed(con, "code-1", MONTHLY), "no build yet"
        record_build(
            con,
            "run-1",
            "code-1",
            True,
            datetime(2024, 1, 1, 10),
            datetime(2024, 1, 1, 10, 5),
            MONTHLY,
        )
        assert not full_refresh_needed(con, "code-1", MONTHLY)
        assert full_refresh_needed(con, "code-2", MONTHLY), "new code: everything is rebuilt"
        assert full_refresh_needed(con, "code-1", "rest"), "each dbt step keeps its own state"
        assert clear_consumed_changes(con, "run-other") == 0
        assert clear_consumed_changes(con, "run-1") == 3
        assert rows(con, "select key from raw.changed_keys") == [("W2",)], "arrived mid-build"
        assert pending_sources(con) == {"manifests"}
