"""Monthly Parquet parts shared between versions: a version writes the months that changed,
reads the rest from the previous version's files, and gc keeps every file a kept version reads."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from orchestration.paths import LedgerPaths
from orchestration.publish.parts import files_read_by
from orchestration.publish.store import VersionStore, change_summary

MONTHS = {"2023-08": date(2023, 8, 1), "2023-09": date(2023, 9, 1), "2023-10": date(2023, 10, 1)}
# waybill -> (dispatch date, tonnes): 50 a month
BASE = {
    f"{month}-{i:02d}": (start + timedelta(days=i % 28), float(i))
    for month, start in MONTHS.items()
    for i in range(50)
}


def stage(paths: LedgerPaths, shipments: dict, logged: tuple[str, ...] = ()) -> None:
    """Staging as dbt and ingest leave it: the waybill tables, a small table, the change log."""
    paths.staging_db.unlink(missing_ok=True)
    with duckdb.connect(str(paths.staging_db)) as con:
        con.execute(
            "create table fct_shipments (waybill_no varchar, dispatch_date date, tonnes double)"
        )
        con.executemany(
            "insert into fct_shipments values (?, ?, ?)", [[k, *v] for k, v in shipments.items()]
        )
        con.execute("create table fct_munitions_equivalent as select * from fct_shipments")
        con.execute("create table quarantine as select 'unknown_unit' as reason_code")
        con.execute("create schema raw")
        con.execute("create table raw.changed_keys (source varchar, key varchar)")
        for key in logged:
            con.execute("insert into raw.changed_keys values ('manifests', ?)", [key])


def publish(store: VersionStore, run: str):
    return store.publish(store.paths.staging_db, run, {"a": run}, "abc", {"failed": 0})


def parts(store: VersionStore, vid: int) -> dict[str, str]:
    """month -> the versions that wrote its files ("v0001+v0003"), for fct_shipments of
    version ``vid``."""
    files = sorted(files_read_by(store.version_path(store.get(vid))))
    months: dict[str, list[str]] = {}
    for f in files:
        if "/fct_shipments/" in f:
            months.setdefault(Path(f).parent.name, []).append(Path(f).name.split("-")[0])
    return {month: "+".join(labels) for month, labels in months.items()}


@pytest.fixture
def store(ledger_home: LedgerPaths) -> VersionStore:
    return VersionStore(ledger_home)


def test_a_version_writes_the_changed_month_and_reads_the_others_from_the_previous_one(
    store: VersionStore, ledger_home: LedgerPaths
) -> None:
    stage(ledger_home, BASE)
    first = publish(store, "run-1")
    assert first.months == {t: list(MONTHS) for t in ("fct_shipments", "fct_munitions_equivalent")}
    assert parts(store, 1) == dict.fromkeys(MONTHS, "v0001")

    # one September waybill corrected, one added: September alone is written again
    change = {"2023-09-03": (date(2023, 9, 4), 99.0), "2023-09-x": (date(2023, 9, 30), 1.0)}
    stage(ledger_home, BASE | change, logged=tuple(change))
    second = publish(store, "run-2")
    assert second.built == "delta"
    assert second.months["fct_shipments"] == ["2023-09"]
    assert parts(store, 2) == {"2023-08": "v0001", "2023-09": "v0002", "2023-10": "v0001"}
    diff = store.diff(1, 2)["tables"]["fct_shipments"]
    assert (diff["added"], diff["removed"], diff["changed"]) == (1, 0, 1)
    # the disk it added (`ledger show`): its file and the two September parts it wrote
    new = sorted(ledger_home.versions_dir.glob("parts/*/*/v0002-*.parquet"))
    assert [p.parent.name for p in new] == ["2023-09", "2023-09"]
    version_file = store.version_path(second.version)
    assert second.version.file_bytes == sum(p.stat().st_size for p in [version_file, *new])

    # a corrected re-send moving a waybill from August to October: August is written whole,
    # October (where the waybill is new) gets it in one more file
    moved = {"2023-08-07": (date(2023, 10, 20), 7.0)}
    stage(ledger_home, BASE | change | moved, logged=tuple(moved))
    third = publish(store, "run-3")
    assert third.months["fct_shipments"] == ["2023-08", "2023-10"]
    assert parts(store, 3) == {"2023-08": "v0003", "2023-09": "v0002", "2023-10": "v0001+v0003"}
    assert store.query("select count(*), sum(tonnes) from fct_shipments", 3)[1] == [
        (151, sum(v for _, v in (BASE | change | moved).values()))
    ]


def test_a_month_that_only_gains_logged_waybills_gets_one_more_file_beside_its_own(
    store: VersionStore, ledger_home: LedgerPaths
) -> None:
    """A day added to a month: its rows alone are written, the month's files are reused. Where
    the previous rows and the new ones do not make staging's count, the month is written whole."""
    stage(ledger_home, BASE)
    publish(store, "run-1")
    added = {f"2023-09-new-{i}": (date(2023, 9, 15), 1.0) for i in range(3)}
    added_oct = {"2023-10-new": (date(2023, 10, 2), 1.0)}
    unlogged = {"2023-10-unlogged": (date(2023, 10, 3), 1.0)}
    stage(ledger_home, BASE | added | added_oct | unlogged, logged=(*added, *added_oct))
    second = publish(store, "run-2")
    assert second.months["fct_shipments"] == ["2023-09", "2023-10"]
    files = files_read_by(store.version_path(store.get(2)))
    shipments = sorted(f.split("/fct_shipments/")[1] for f in files if "/fct_shipments/" in f)
    assert shipments == [
        "2023-08/v0001-0.parquet",
        "2023-09/v0001-0.parquet",
        "2023-09/v0002-0.parquet",
        "2023-10/v0002-0.parquet",
    ]
    new_file = next(f for f in files if f.endswith("fct_shipments/2023-09/v0002-0.parquet"))
    with duckdb.connect() as con:
        rows = con.execute(
            "select waybill_no from read_parquet(?) order by 1", [new_file]
        ).fetchall()
    assert rows == [(k,) for k in sorted(added)]
    diff = store.diff(1, 2)["tables"]["fct_shipments"]
    assert (diff["added"], diff["removed"], diff["changed"]) == (5, 0, 0)
    assert store.query("select count(*) from fct_shipments", 2)[1] == [(155,)]
    assert store.get(2).unique_keys["fct_shipments"] is True


def test_a_delta_version_checks_its_keys_on_the_rows_it_wrote(
    store: VersionStore, ledger_home: LedgerPaths
) -> None:
    """A key of a rewritten month that a reused month holds too makes the key not unique."""
    stage(ledger_home, BASE)
    assert publish(store, "run-1").version.unique_keys["fct_shipments"] is True
    change = {"2023-10-00": (date(2023, 10, 1), 5.0)}
    stage(ledger_home, BASE | change, logged=tuple(change))
    with duckdb.connect(str(ledger_home.staging_db)) as con:  # an unlogged copy, in October
        con.execute("insert into fct_shipments values ('2023-08-03', '2023-10-09', 3.0)")
    second = publish(store, "run-2")
    assert second.built.startswith("delta")
    assert parts(store, 2) == {"2023-08": "v0001", "2023-09": "v0001", "2023-10": "v0002"}
    assert second.version.unique_keys == store.get(2).unique_keys
    assert store.get(2).unique_keys["fct_shipments"] is False
    assert store.get(2).unique_keys["fct_munitions_equivalent"] is True


def test_a_month_whose_rows_differ_in_number_is_written_even_when_the_log_misses_it(
    store: VersionStore, ledger_home: LedgerPaths
) -> None:
    stage(ledger_home, BASE)
    publish(store, "run-1")
    stage(ledger_home, BASE | {"2023-10-late": (date(2023, 10, 31), 1.0)})  # nothing logged
    second = publish(store, "run-2")
    assert second.months["fct_shipments"] == ["2023-10"]
    assert second.built == (
        "delta; diffed whole: the change log missed rows of fct_munitions_equivalent in "
        "2023-10; the change log missed rows of fct_shipments in 2023-10"
    )
    assert store.query("select count(*) from fct_shipments", 2)[1] == [(151,)]


def test_gc_deletes_only_the_parts_no_kept_version_reads(
    store: VersionStore, ledger_home: LedgerPaths
) -> None:
    stage(ledger_home, BASE)
    publish(store, "run-1")
    changes = dict(BASE)
    for n, month in enumerate(("2023-09", "2023-10"), start=2):
        change = {f"{month}-00": (MONTHS[month], float(n))}
        changes |= change
        stage(ledger_home, changes, logged=tuple(change))
        publish(store, f"run-{n}")
    assert parts(store, 3) == {"2023-08": "v0001", "2023-09": "v0002", "2023-10": "v0003"}
    root = ledger_home.versions_dir / "parts"
    before = {p.relative_to(root).as_posix() for p in root.rglob("*.parquet")}

    assert store.gc(keep=1) == [1, 2]
    after = {p.relative_to(root).as_posix() for p in root.rglob("*.parquet")}
    assert before - after == {
        f"{table}/{month}/v0001-0.parquet"
        for table in ("fct_shipments", "fct_munitions_equivalent")
        for month in ("2023-09", "2023-10")
    }
    assert after == {
        Path(f).relative_to(root).as_posix()
        for f in files_read_by(store.version_path(store.get(3)))
    }
    assert store.query("select count(*) from fct_shipments")[1] == [(150,)]


def test_a_moved_warehouse_publishes_the_same_inputs_again_in_full(
    ledger_home: LedgerPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The views name their files by absolute path: after a move the latest version's files are
    not where it says, so the same inputs are not "unchanged": they are published again, every
    month written where the warehouse is now."""
    stage(ledger_home, BASE)
    publish(VersionStore(ledger_home), "run-1")
    moved = tmp_path.with_name(f"{tmp_path.name}-moved")
    shutil.move(ledger_home.home, moved)
    monkeypatch.setenv("LEDGER_HOME", str(moved))
    paths = LedgerPaths.from_env()
    store = VersionStore(paths)

    again = publish(store, "run-1")
    assert (again.status, again.version.version_id) == ("published", 2)
    assert again.built.startswith("full copy (6 part files of v0001.duckdb are gone")
    assert all(f.startswith(str(moved)) for f in files_read_by(paths.serving_db))
    assert store.query("select count(*) from fct_shipments")[1] == [(150,)]
    assert publish(store, "run-1").status == "unchanged"
    # what the publish step and the report show: no diff against the unreadable v0001, not a crash
    (error,) = change_summary(store, 1, 2).values()
    assert error.startswith("v0001 cannot be read: IO Error: No files found that match the pattern")
