"""Ingest assets end to end: real files in LEDGER_HOME, real DuckDB, dagster.materialize.

Long because it is one test per reason code and file dialect, each on small files it writes;
test_hostile_input.py holds the adversarial cases.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from orchestration import inputs
from orchestration.defs.ingest.assets import ingest_assets, ingest_checks
from orchestration.defs.resources import LedgerResource
from orchestration.ingest.loader import ingest_source
from orchestration.ingest.registry import conservation_problems
from orchestration.ingest.source import FileOutcome
from orchestration.ingest.table_source import MANIFESTS, TableSource
from orchestration.iso6346 import check_digit
from orchestration.paths import LedgerPaths
from orchestration.staging import STORAGE_VERSION

HEADER = (
    "waybill_no,dispatch_date,origin_station_code,origin_station,destination_station_code,"
    "destination_station,shipper,consignee,cargo_code,cargo_description,hazard_class,wagon_no,"
    "container_no,gross_weight,weight_unit,packages"
)
CONTAINER = f"CSQU305438{check_digit('CSQU305438')}"
BAD_CONTAINER = f"CSQU305438{(check_digit('CSQU305438') + 1) % 10}"


def row(waybill: str = "W1", **values: str) -> str:
    base = {
        "waybill_no": waybill,
        "dispatch_date": "2023-08-01",
        "origin_station_code": "986808",
        "origin_station": "",
        "destination_station_code": "515202",
        "destination_station": "",
        "shipper": "Shipper",
        "consignee": "Consignee",
        "cargo_code": "481203",
        "cargo_description": "Ammunition",
        "hazard_class": "1.1",
        "wagon_no": "12345678",
        "container_no": CONTAINER,
        "gross_weight": "18500",
        "weight_unit": "kg",
        "packages": "200",
    }
    return ",".join({**base, **values}.values())


def materialize(
    paths: LedgerPaths, raise_on_error: bool = True, instance: dg.DagsterInstance | None = None
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*ingest_assets, *ingest_checks],
        resources={"ledger": LedgerResource(home=str(paths.home))},
        raise_on_error=raise_on_error,
        instance=instance,
    )


def metadata(result: dg.ExecuteInProcessResult, key: Sequence[str]) -> dict:
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        if mat.asset_key == dg.AssetKey(list(key)):
            return {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
    raise AssertionError(f"no materialization of {key}")


def query(paths: LedgerPaths, sql: str, params: Sequence[object] = ()) -> list[tuple]:
    with duckdb.connect(str(paths.staging_db), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def write(paths: LedgerPaths, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = paths.raw_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content if isinstance(content, bytes) else content.encode(encoding)
    path.write_bytes(data)
    return path


def test_ingest_creates_staging_in_the_current_storage_format(ledger_home: LedgerPaths) -> None:
    """Not DuckDB's default (1.0's format, for older readers): big writes are slower in it."""
    write(ledger_home, "manifests/one.csv", f"{HEADER}\n{row('W1')}\n")
    assert materialize(ledger_home).success
    [(tags,)] = query(
        ledger_home,
        "select tags from duckdb_databases() where database_name = current_database()",
    )
    assert tags["storage_version"] == f"{STORAGE_VERSION}+"


def test_each_reason_code_with_exact_counts(ledger_home: LedgerPaths) -> None:
    lines = [
        HEADER,
        row("W1"),
        row("W1"),  # exact duplicate of the row above
        row("W3", dispatch_date="2023-13-45"),
        row("W4", dispatch_date="1999-12-31"),
        row("W5", weight_unit="lb"),
        row("W6", gross_weight="0"),
        row("W7", gross_weight="150", weight_unit="t"),
        row("W8", container_no=BAD_CONTAINER),
        row("W9", origin_station_code="999999"),
        row("", dispatch_date="2023-08-02"),
        row("W11") + ",extra,fields",
        row("W12", shipper="Sh\udcffpper"),
        row("W13", origin_station_code="", origin_station="Дунай", container_no=""),
        row("W14", dispatch_date="01.01.2099"),
        row(
            "W15",
            dispatch_date="02.08.2023",
            destination_station_code="",
            destination_station="Тихорецк",
        ),
    ]
    body = "\n".join(lines).encode("utf-8", errors="surrogateescape")
    write(ledger_home, "manifests/reasons.csv", body)

    result = materialize(ledger_home)

    reasons = dict(
        query(ledger_home, "select reason_code, count(*) from raw.quarantine group by 1")
    )
    assert reasons == {
        "unparseable_date": 1,
        "date_out_of_range": 2,
        "unknown_unit": 1,
        "invalid_weight": 2,
        "bad_container_check_digit": 1,
        "unknown_station": 1,
        "missing_required_field": 1,
        "malformed_row": 1,
        "encoding_error": 1,
    }
    accepted = query(
        ledger_home,
        "select waybill_no, dispatch_date, origin_station_code, destination_station_code,"
        " container_no, gross_weight_kg from raw.manifests order by waybill_no",
    )
    assert accepted == [
        ("W1", date(2023, 8, 1), "986808", "515202", CONTAINER, 18500.0),
        ("W13", date(2023, 8, 1), "986808", "515202", None, 18500.0),
        ("W15", date(2023, 8, 2), "986808", "515202", CONTAINER, 18500.0),
    ]
    messages = dict(
        query(
            ledger_home,
            "select source_row, message from raw.quarantine where field = 'gross_weight'",
        )
    )
    assert messages == {
        6: "manifests/reasons.csv row 6, field 'gross_weight':"
        " '0' = 0.0 kg is not a weight in (0, 100000] kg",
        7: "manifests/reasons.csv row 7, field 'gross_weight':"
        " '150' = 150000.0 kg is not a weight in (0, 100000] kg",
    }
    raw_record = query(ledger_home, "select raw_record from raw.quarantine where source_row = 9")
    assert json.loads(raw_record[0][0])["origin_station_code"] == "999999"
    meta = metadata(result, ["raw", "manifests"])
    assert (meta["rows_read"], meta["rows_accepted"], meta["rows_quarantined"]) == (15, 3, 11)
    assert meta["rows_duplicate"] == 1
    assert "| unknown_unit | 1 |" in meta["quarantine_reasons"]
    checks = {
        (c.asset_key.to_user_string(), c.check_name): c.passed
        for c in result.get_asset_check_evaluations()
    }
    assert checks == {
        (asset, check): True
        for asset in ("raw/manifests", "raw/voyages", "raw/reports")
        for check in ("row_conservation", "files_readable")
    }


def _dialect_files(paths: LedgerPaths) -> None:
    """The same two consignments in every supported shape (waybills differ per file)."""
    write(
        paths,
        "manifests/a_comma_bom_crlf.csv",
        "\ufeffWaybill,Date,Origin,Destination,Cargo Code,Cargo,Gross Weight,Unit\r\n"
        'A1,2023-08-01,Dunai,Tikhoretsk,481203,"Shells, 152mm\r\nHE",18 500,kg\r\n'
        'A2,2023-08-02,DUNAY,tikhoretsk,481203,"He said ""ok""","1,234.5",KG\r\n',
    )
    write(
        paths,
        "manifests/b_semicolon_cp1251.csv",
        "Номер накладной;Дата отправления;Станция отправления;Станция назначения;Код груза;"
        "Вес брутто;Единица измерения\r\n"
        "B1;01.08.2023;Дунай;Тихорецк;481203;18,5;т\r\n"
        "B2;02.08.2023;Дунай;Тихорецк;481203;1,2345;т\r\n",
        encoding="cp1251",
    )
    write(
        paths,
        "manifests/c_tab.tsv",
        "waybill_no\tdispatch_date\torigin_station_code\tdestination_station_code\tcargo_code\t"
        "gross_weight\tremarks\n"
        "C1\t01/08/2023\t986808\t515202\t481203\t18.5 t\tfirst\n"
        "C2\t02/08/2023\t986808\t515202\t481203\t1234.5 kg\t\n",
    )
    write(
        paths,
        "manifests/d_pipe.txt",
        "waybill_no|dispatch_date|origin_station|destination_station|cargo_code|gross_weight||\n"
        "D1|2023-08-01|Dunai|Tikhoretskaya|481203|18500||\n"
        "\n"
        "D2|2023-08-02|Dunai|Tikhoretskaya|481203|1234.5||\n",
    )
    write(
        paths,
        "manifests/e_lines.jsonl",
        '{"waybill_no": "E1", "dispatch_date": "2023-08-01", "origin_station_code": 986808,'
        ' "destination_station_code": "515202", "cargo_code": 481203, "gross_weight": 18500}\n'
        "{not json\n"
        '{"waybill_no": "E2", "dispatch_date": "2023-08-02", "origin_station_code": "986808",'
        ' "destination_station_code": "515202", "cargo_code": "481203", "gross_weight": 1234.5}\n',
    )
    pl.DataFrame(
        {
            "waybill_no": ["F1", "F2"],
            "dispatch_date": [date(2023, 8, 1), date(2023, 8, 2)],
            "origin_station_code": [986808, 986808],
            "destination_station_code": ["515202", "515202"],
            "cargo_code": [481203, 481203],
            "gross_weight": [18.5, 1.2345],
            "weight_unit": ["t", "t"],
        }
    ).write_parquet(paths.raw_dir / "manifests" / "f_table.parquet")


def test_dialects_encodings_and_aliases_give_the_same_values(ledger_home: LedgerPaths) -> None:
    _dialect_files(ledger_home)
    result = materialize(ledger_home)

    rows = query(
        ledger_home,
        "select substr(waybill_no, 2), dispatch_date, origin_station_code,"
        " destination_station_code, cargo_code, gross_weight_kg"
        " from raw.manifests order by substr(waybill_no, 2), waybill_no",
    )
    first = ("1", date(2023, 8, 1), "986808", "515202", "481203", 18500.0)
    second = ("2", date(2023, 8, 2), "986808", "515202", "481203", 1234.5)
    assert rows == [first] * 6 + [second] * 6
    description = query(
        ledger_home, "select cargo_description from raw.manifests where waybill_no = 'A1'"
    )
    assert description == [("Shells, 152mm\r\nHE",)]
    registry = {
        r[0]: r[1:]
        for r in query(
            ledger_home,
            "select source_file, rows_read, rows_accepted, rows_quarantined, columns_unmapped"
            " from raw.file_registry",
        )
    }
    assert registry["manifests/e_lines.jsonl"] == (3, 2, 1, "[]")
    assert registry["manifests/c_tab.tsv"] == (2, 2, 0, '["remarks"]')
    assert registry["manifests/d_pipe.txt"] == (2, 2, 0, "[]")
    assert query(ledger_home, "select reason_code, source_row from raw.quarantine") == [
        ("malformed_row", 2)
    ]
    extras = query(
        ledger_home,
        "select extra_fields from raw.manifests where waybill_no like 'C%' order by waybill_no",
    )
    assert [json.loads(e[0]) for e in extras] == [{"remarks": "first"}, {"remarks": None}]
    meta = metadata(result, ["raw", "manifests"])
    assert (
        meta["columns_mapped"]["manifests/b_semicolon_cp1251.csv"]["Вес брутто"] == "gross_weight"
    )
    assert meta["columns_unmapped"] == {"manifests/c_tab.tsv": ["remarks"]}
    assert "encoding=cp1251, separator=;" in meta["files"]


def test_stations_resolve_by_name_when_the_code_is_not_in_the_seed(
    ledger_home: LedgerPaths,
) -> None:
    """A real export with codes of another numbering: the names decide, and the rows say so."""
    write(
        ledger_home,
        "manifests/other_numbering.csv",
        "Номер накладной;Дата отправления;Код станции отправления;Станция отправления;"
        "Код станции назначения;Станция назначения;Код груза;Вес брутто\r\n"
        "N1;01.08.2023;980008;Дунай;515202;Тихорецкая;481203;18500\r\n"  # origin by name
        "N2;02.08.2023;980008; ДУНАЙ ;000000;tikhoretsk;481203;18500\r\n"  # both by name
        "N3;03.08.2023;;Nakhodka Vostochnaya;515202;;481203;18500\r\n"  # no code: by name
        "N4;04.08.2023;986808;Dunai;515202;Nowhere;481203;18500\r\n"  # codes decide
        "N5;05.08.2023;986808;Москва;515202;;481203;18500\r\n"  # code and name disagree
        "N6;06.08.2023;999999;Atlantis;515202;;481203;18500\r\n"  # neither matches
        "N7;07.08.2023;986808;;970002;Хабаровск II;481203;18500\r\n",  # both by code
        encoding="cp1251",
    )
    result = materialize(ledger_home)

    rows = query(
        ledger_home,
        "select waybill_no, origin_station_code, origin_station_matched_by,"
        " origin_station_code_given, destination_station_code, destination_station_matched_by,"
        " destination_station_code_given from raw.manifests order by waybill_no",
    )
    assert rows == [
        ("N1", "986808", "name", "980008", "515202", "code", "515202"),
        ("N2", "986808", "name", "980008", "515202", "name", "000000"),
        ("N3", "984700", "name", None, "515202", "code", "515202"),
        ("N4", "986808", "code", "986808", "515202", "code", "515202"),
        ("N7", "986808", "code", "986808", "970002", "code", "970002"),
    ]
    quarantined = query(
        ledger_home, "select source_row, field, reason_code, message from raw.quarantine order by 1"
    )
    prefix = "manifests/other_numbering.csv row"
    assert quarantined == [
        (
            5,
            "origin_station_code",
            "station_code_name_conflict",
            f"{prefix} 5, field 'origin_station_code': code '986808' is Dunai (986808)"
            " but name 'Москва' is Moskva-Tovarnaya (194006)",
        ),
        (
            6,
            "origin_station",
            "unknown_station",
            f"{prefix} 6, field 'origin_station': station code '999999' and name 'Atlantis'"
            " match no code, name or alias in seeds/stations.csv",
        ),
    ]
    meta = metadata(result, ["raw", "manifests"])
    assert (meta["rows_read"], meta["rows_accepted"], meta["rows_quarantined"]) == (7, 5, 2)
    assert (
        "| manifests/other_numbering.csv | loaded | 7 | 5 | 2 | 0 | encoding=cp1251, separator=;,"
        " origin_matched_by=code 2 / name 3, destination_matched_by=code 4 / name 1 |"
    ) in meta["files"]
    assert "| station_code_name_conflict | 1 |" in meta["quarantine_reasons"]
    checks = [c.passed for c in result.get_asset_check_evaluations()]
    assert checks and all(checks), "row conservation holds with the new columns"


def test_a_staging_db_of_an_older_contract_is_rebuilt_and_read_again(
    ledger_home: LedgerPaths,
) -> None:
    """raw.manifests without the station-match columns (made before they existed): the file is
    read again and the columns filled, instead of failing the insert or keeping stale rows."""
    write(ledger_home, "manifests/m.csv", "\n".join([HEADER, row("W1")]) + "\n")
    materialize(ledger_home)
    with duckdb.connect(str(ledger_home.staging_db)) as con:
        con.execute("alter table raw.manifests drop column origin_station_matched_by")
        con.execute("alter table raw.manifests drop column destination_station_matched_by")
    with duckdb.connect(str(ledger_home.staging_db)) as con:  # like a view dbt left on it
        con.execute("create view main.v as select waybill_no from raw.manifests")
    logs: list[str] = []
    (outcome,) = ingest_source(
        LedgerResource(home=str(ledger_home.home)), MANIFESTS, log=logs.append, warn=logs.append
    )
    assert logs[0] == (
        "raw tables of manifests had the columns of an older contract:"
        " rebuilt, every file is read again"
    )
    assert (outcome.status, outcome.rows_accepted) == ("loaded", 1)
    assert query(
        ledger_home,
        "select waybill_no, origin_station_matched_by, destination_station_matched_by,"
        " (select count(*) from raw.file_registry) from raw.manifests",
    ) == [("W1", "code", "code", 1)]
    assert query(ledger_home, "select * from main.v") == [("W1",)]


def test_whole_file_failures_are_recorded_and_the_rest_loads(ledger_home: LedgerPaths) -> None:
    write(ledger_home, "manifests/good.csv", f"{HEADER}\n{row('G1')}\n")
    write(ledger_home, "manifests/empty.csv", b"")
    write(ledger_home, "manifests/blank.csv", "\ufeff\r\n\r\n")
    write(ledger_home, "manifests/header_only.csv", f"{HEADER}\r\n")
    write(ledger_home, "manifests/junk.csv", bytes(range(256)) * 40)
    write(ledger_home, "manifests/missing.csv", "waybill_no,weight,colour\nX1,5,red\n")
    write(ledger_home, "manifests/notes.xlsx", b"PK\x03\x04 not really")
    pl.DataFrame({"waybill_no": ["P1"] * 500}).write_parquet(ledger_home.home / "whole.parquet")
    whole = (ledger_home.home / "whole.parquet").read_bytes()
    write(ledger_home, "manifests/truncated.parquet", whole[: len(whole) // 2])

    instance = dg.DagsterInstance.ephemeral()
    result = materialize(ledger_home, instance=instance)

    registry = dict(
        query(
            ledger_home, "select source_file, coalesce(reason_code, status) from raw.file_registry"
        )
    )
    assert registry == {
        "manifests/good.csv": "loaded",
        "manifests/empty.csv": "empty_file",
        "manifests/blank.csv": "empty_file",
        "manifests/header_only.csv": "header_only",
        "manifests/junk.csv": "unreadable_file",
        "manifests/missing.csv": "missing_required_columns",
        "manifests/notes.xlsx": "unreadable_file",
        "manifests/truncated.parquet": "unreadable_file",
    }
    (message,) = query(
        ledger_home,
        "select message from raw.file_registry where source_file = 'manifests/missing.csv'",
    )[0]
    assert message.startswith(
        "manifests/missing.csv: missing required columns ['dispatch_date',"
        " 'origin_station_code or origin_station', 'destination_station_code or"
        " destination_station', 'cargo_code']; found columns ['waybill_no', 'weight', 'colour']"
    )
    assert query(ledger_home, "select waybill_no from raw.manifests") == [("G1",)]
    file_rows = query(
        ledger_home,
        "select count(*) from raw.quarantine where source_row is null and source = 'manifests'",
    )
    assert file_rows == [(7,)]
    meta = metadata(result, ["raw", "manifests"])
    assert (meta["files_loaded"], meta["files_rejected"]) == (1, 7)
    assert meta["rejected"]["manifests/header_only.csv"]["reason"] == "header_only"
    # The run is marked: a warning check on the asset (not blocking) and a tag on the run.
    warnings = {
        (c.asset_key.to_user_string(), c.check_name): c
        for c in result.get_asset_check_evaluations()
        if not c.passed
    }
    assert list(warnings) == [("raw/manifests", "files_readable")]
    check = warnings["raw/manifests", "files_readable"]
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert [f["file"] for f in check.metadata["rejected"].value] == sorted(
        name for name, status in registry.items() if status != "loaded"
    )
    assert instance.get_run_by_id(result.run_id).tags["ledger/rejected_manifests"] == "7"


def test_reingest_of_unchanged_files_reads_nothing(
    ledger_home: LedgerPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    _dialect_files(ledger_home)
    materialize(ledger_home)
    snapshot_sql = "select * from raw.manifests order by source_file, source_row"
    before = query(ledger_home, snapshot_sql)
    registry_before = query(ledger_home, "select * from raw.file_registry order by source_file")
    hashed: list[Path] = []  # not even to hash them: their sha256 is cached by size and mtime
    monkeypatch.setattr(inputs, "sha256_file", lambda path: hashed.append(path) or "")

    again = materialize(ledger_home)

    meta = metadata(again, ["raw", "manifests"])
    assert (meta["files_unchanged"], meta["files_loaded"], meta["rows_read"]) == (6, 0, 0)
    assert meta["dagster/row_count"] == 12
    assert query(ledger_home, snapshot_sql) == before
    assert (
        query(ledger_home, "select * from raw.file_registry order by source_file")
        == registry_before
    )
    assert hashed == []


def test_same_content_under_another_name_is_ingested_once(ledger_home: LedgerPaths) -> None:
    original = write(ledger_home, "manifests/a.csv", f"{HEADER}\n{row('W1')}\n{row('W2')}\n")
    odd_name = "manifests/copy 'of'; \"a\" – ü.csv"
    shutil.copy(original, ledger_home.raw_dir / odd_name)

    result = materialize(ledger_home)

    status = dict(query(ledger_home, "select source_file, status from raw.file_registry"))
    assert status == {"manifests/a.csv": "loaded", odd_name: "duplicate"}
    assert query(ledger_home, "select count(*) from raw.manifests") == [(2,)]
    assert metadata(result, ["raw", "manifests"])["files_duplicate"] == 1

    original.unlink()
    materialize(ledger_home)
    assert dict(query(ledger_home, "select source_file, status from raw.file_registry")) == {
        odd_name: "loaded"
    }
    assert query(ledger_home, "select distinct source_file from raw.manifests") == [(odd_name,)]
    assert query(ledger_home, "select count(*) from raw.manifests") == [(2,)]


def test_changed_and_removed_files_are_mirrored(ledger_home: LedgerPaths) -> None:
    changed = write(ledger_home, "manifests/a.csv", f"{HEADER}\n{row('W1')}\n{row('W2')}\n")
    removed = write(ledger_home, "manifests/b.csv", f"{HEADER}\n{row('B1', dispatch_date='x')}\n")
    materialize(ledger_home)
    assert query(ledger_home, "select count(*) from raw.quarantine") == [(1,)]

    write(ledger_home, "manifests/a.csv", f"{HEADER}\n{row('W1', gross_weight='19000')}\n")
    removed.unlink()
    result = materialize(ledger_home)

    assert query(
        ledger_home, "select waybill_no, gross_weight_kg, source_file from raw.manifests"
    ) == [("W1", 19000.0, "manifests/a.csv")]
    assert query(ledger_home, "select count(*) from raw.quarantine") == [(0,)]
    assert query(ledger_home, "select source_file from raw.file_registry") == [("manifests/a.csv",)]
    assert metadata(result, ["raw", "manifests"])["files_loaded"] == 1
    assert changed.exists()
    # every file event is in the change log, for the build to know which sources changed
    events = "select key, source_file from raw.changed_keys where source = 'files'"
    assert sorted(set(query(ledger_home, events))) == [
        ("manifests", "manifests/a.csv"),
        ("manifests", "manifests/b.csv"),
    ]


@pytest.mark.parametrize("loaded", [2, 3], ids=["file as big as the table", "smaller file"])
def test_exact_duplicates_against_rows_loaded_from_other_files(
    ledger_home: LedgerPaths, loaded: int
) -> None:
    """Both ways the insert plans its anti-join: over every loaded row, or (a file smaller than
    the table) over the loaded rows sharing a waybill number with the file's."""
    first = [row("W1"), row("W2"), row("W3")][:loaded]
    write(ledger_home, "manifests/1.csv", "\n".join([HEADER, *first]) + "\n")
    write(
        ledger_home,
        "manifests/2.csv",
        f"{HEADER}\n{row('W1', gross_weight='18.5', weight_unit='t')}\n"
        f"{row('W2', gross_weight='18600')}\n",
    )
    materialize(ledger_home)
    registry = query(
        ledger_home,
        "select source_file, rows_read, rows_accepted, rows_duplicate"
        " from raw.file_registry order by 1",
    )
    # 18.5 t is 18500 kg: the same consignment; the corrected W2 weight is a new row (history).
    assert registry == [("manifests/1.csv", loaded, loaded, 0), ("manifests/2.csv", 2, 1, 1)]


def test_rows_equal_but_for_their_spelling_keep_the_first_one(ledger_home: LedgerPaths) -> None:
    """Within one file, the same consignment written twice (18.5 t, then 18500 kg) is one row,
    with the spelling of the first; rows written once are kept as they are."""
    spelled = [row("W1", gross_weight="18.5", weight_unit="t"), row("W2"), row("W1"), row("W3")]
    write(ledger_home, "manifests/spelled.csv", "\n".join([HEADER, *spelled]) + "\n")
    materialize(ledger_home)
    assert query(
        ledger_home,
        "select waybill_no, gross_weight_kg, weight_unit_raw, source_row"
        " from raw.manifests order by source_row",
    ) == [("W1", 18500.0, "t", 1), ("W2", 18500.0, "kg", 2), ("W3", 18500.0, "kg", 4)]


class _CrashAfterInsert(TableSource):
    def insert(self, con: duckdb.DuckDBPyConnection, staged: Path, outcome: FileOutcome) -> None:
        super().insert(con, staged, outcome)
        raise RuntimeError("simulated crash after the insert, before the registry row")


def test_a_crash_mid_file_leaves_no_partial_rows(ledger_home: LedgerPaths) -> None:
    write(
        ledger_home, "manifests/a.csv", f"{HEADER}\n{row('W1')}\n{row('W2', dispatch_date='?')}\n"
    )
    ledger = LedgerResource(home=str(ledger_home.home))
    crashing = _CrashAfterInsert(
        **{f: getattr(MANIFESTS, f) for f in MANIFESTS.__dataclass_fields__}
    )
    with pytest.raises(RuntimeError, match="simulated crash"):
        ingest_source(ledger, crashing, log=print, warn=print)
    for table in ("raw.manifests", "raw.quarantine", "raw.file_registry"):
        assert query(ledger_home, f"select count(*) from {table}") == [(0,)]  # noqa: S608
    outcomes = ingest_source(ledger, MANIFESTS, log=print, warn=print)
    assert [(o.status, o.rows_accepted, o.rows_quarantined) for o in outcomes] == [("loaded", 1, 1)]

    assert list(ledger_home.warehouse_dir.glob("ingest-*")) == []


def test_scratch_left_by_a_killed_run_is_swept_and_a_live_one_kept(
    ledger_home: LedgerPaths,
) -> None:
    no_such_pid = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    left = ledger_home.warehouse_dir / f"ingest-{no_such_pid}-x"
    live = ledger_home.warehouse_dir / f"ingest-{os.getpid()}-y"
    for folder in (left, live):
        (folder / "0").mkdir(parents=True)
    write(ledger_home, "manifests/a.csv", f"{HEADER}\n{row('W1')}\n")

    ingest_source(LedgerResource(home=str(ledger_home.home)), MANIFESTS, print, print)

    assert sorted(ledger_home.warehouse_dir.glob("ingest-*")) == [live]


def test_conservation_check_fails_when_rows_go_missing(ledger_home: LedgerPaths) -> None:
    write(ledger_home, "manifests/a.csv", f"{HEADER}\n{row('W1')}\n{row('W2')}\n")
    materialize(ledger_home)
    with duckdb.connect(str(ledger_home.staging_db)) as con:
        assert conservation_problems(con, "manifests", "raw.manifests") == []
        con.execute("delete from raw.manifests where waybill_no = 'W2'")
        problems = conservation_problems(con, "manifests", "raw.manifests")
    assert problems == [
        {
            "source_file": "manifests/a.csv",
            "rows_read": 2,
            "rows_accepted": 2,
            "rows_quarantined": 0,
            "rows_duplicate": 0,
            "stored": 1,
            "in_quarantine": 0,
        }
    ]


def test_voyages_resolve_ports_and_quarantine_unknown_ones(ledger_home: LedgerPaths) -> None:
    write(
        ledger_home,
        "voyages/v.csv",
        "Vessel,IMO,Port,Arrival,Departure,Laden\n"
        "Angara,9179842,Rajin (Rason),2023-08-01,2023-08-03,yes\n"
        "Angara,9179842,Дунай,05.08.2023,,laden\n"
        "Lady R,,Atlantis,2023-08-07,2023-08-09,no\n"
        "Maria,,Vostochny,,2023-08-09,no\n",
    )
    materialize(ledger_home)
    assert query(
        ledger_home,
        "select vessel_name, port, arrival, departure, laden from raw.voyages order by arrival",
    ) == [
        ("Angara", "KPRJN", date(2023, 8, 1), date(2023, 8, 3), True),
        ("Angara", "RUDUN", date(2023, 8, 5), None, True),
    ]
    assert query(
        ledger_home, "select source_row, field, reason_code from raw.quarantine order by 1"
    ) == [
        (3, "port", "unknown_station"),
        (4, "arrival", "missing_required_field"),
    ]


def test_reports_and_claims_load_and_a_bad_report_is_rejected(ledger_home: LedgerPaths) -> None:
    write(
        ledger_home,
        "reports/good.md",
        "---\ntitle: A synthetic note\npublisher: Example Desk\npublished: 2024-02-01\n"
        "url: https://example.org/a\nlanguage: en\nsynthetic: true\n---\n"
        "Analysts said more than 74,000 metric tons of explosives moved from August 2023"
        " to January 2024.\n",
    )
    write(ledger_home, "reports/bad.md", "no front matter at all\n")
    result = materialize(ledger_home)

    assert query(
        ledger_home, "select report_id, title, published, is_synthetic, source_row from raw.reports"
    ) == [("good", "A synthetic note", date(2024, 2, 1), True, 1)]
    claims = query(ledger_home, "select report_id, metric, value, qualifier from raw.report_claims")
    assert claims == [("good", "explosives_tonnes", 74000.0, "over")]
    status = dict(
        query(
            ledger_home, "select source_file, coalesce(reason_code, status) from raw.file_registry"
        )
    )
    assert status == {"reports/good.md": "loaded", "reports/bad.md": "unreadable_file"}
    assert metadata(result, ["raw", "report_claims"])["dagster/row_count"] == 1


def test_a_huge_single_field_is_just_data(
    ledger_home: LedgerPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Up to LEDGER_MAX_LINE_BYTES a long field loads; past it the line is a malformed row."""
    huge = "x" * 20_000_000
    write(ledger_home, "manifests/huge.csv", f"{HEADER}\n{row('W1', shipper=huge)}\n{row('W2')}\n")
    monkeypatch.setenv("LEDGER_MAX_LINE_BYTES", str(30_000_000))
    ledger = LedgerResource(home=str(ledger_home.home))
    (outcome,) = ingest_source(ledger, MANIFESTS, log=print, warn=print)
    assert (outcome.status, outcome.rows_read, outcome.rows_accepted) == ("loaded", 2, 2)
    assert query(
        ledger_home, "select waybill_no, length(shipper) from raw.manifests order by 1"
    ) == [
        ("W1", 20_000_000),
        ("W2", 7),
    ]
    monkeypatch.delenv("LEDGER_MAX_LINE_BYTES")
    write(ledger_home, "manifests/huge.csv", f"{HEADER}\n{row('W3', shipper=huge)}\n{row('W4')}\n")
    (outcome,) = ingest_source(ledger, MANIFESTS, log=print, warn=print)
    assert (outcome.status, outcome.rows_read, outcome.rows_accepted) == ("loaded", 2, 1)
    assert outcome.quarantine_reasons == {"malformed_row": 1}
    assert query(ledger_home, "select waybill_no from raw.manifests order by 1") == [("W4",)]
