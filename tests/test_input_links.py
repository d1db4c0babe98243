"""Links in data/raw and what rejection messages may quote: nothing outside data/raw is read,
and no message carries more of a file than a short, marked excerpt."""

from __future__ import annotations

import hashlib
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.defs.resources import LedgerResource
from orchestration.ingest.loader import ingest_source
from orchestration.ingest.table_source import MANIFESTS
from orchestration.inputs import input_hashes
from orchestration.paths import LedgerPaths
from tests.test_ingest import HEADER, materialize, query, row, write

SECRET = "TOPSECRET-4f1c9a"
LINK_MESSAGE = "{}: symbolic link points outside data/raw; not read"


def tables_containing(db: Path, text: str) -> list[str]:
    """Every table of every schema whose rows, as text, contain ``text``."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_type = 'BASE TABLE' order by all"
        ).fetchall()
        return [
            f"{schema}.{table}"
            for schema, table in tables
            if con.execute(
                f'select count(*) from "{schema}"."{table}" as t where t::varchar like ?',  # noqa: S608
                [f"%{text}%"],
            ).fetchone()[0]
        ]


def files_containing(folder: Path, text: str) -> list[str]:
    needle = text.encode()
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and not p.is_symlink() and needle in p.read_bytes()
    )


def test_links_leaving_data_raw_are_rejected_by_name_and_never_read(
    ledger_home: LedgerPaths, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Followed, this would load as a valid manifest row with the secret in it ...
    secret_csv = elsewhere / "secret.csv"
    secret_csv.write_text(f"{HEADER}\n{row('S1', shipper=SECRET)}\n")
    # ... and this would be rejected with its first line quoted (the /etc/passwd case).
    passwd = elsewhere / "passwd"
    passwd.write_text(f"root:x:0:0:{SECRET}:/root:/bin/bash\ndaemon:x:1:1::/:/bin/sh\n")
    manifests = ledger_home.raw_dir / "manifests"
    write(ledger_home, "manifests/good.csv", f"{HEADER}\n{row('G1')}\n")
    (manifests / "passwd.csv").symlink_to(passwd)  # absolute
    (manifests / "rel.csv").symlink_to(Path("..", "..", "..", "elsewhere", "secret.csv"))
    (manifests / "folder").symlink_to(elsewhere, target_is_directory=True)
    (manifests / "gone.csv").symlink_to("/nonexistent/secret.csv")
    (manifests / "z_alias.csv").symlink_to("good.csv")  # inside data/raw: an ordinary file
    links = ["manifests/folder", "manifests/gone.csv", "manifests/passwd.csv", "manifests/rel.csv"]

    hashes = input_hashes(ledger_home)
    dagster_home = ledger_home.warehouse_dir / "dagster"  # on disk: its event log is searched
    dagster_home.mkdir()
    instance = dg.DagsterInstance.local_temp(str(dagster_home))
    result = materialize(ledger_home, instance=instance)

    size = (manifests / "good.csv").stat().st_size
    same = "manifests/z_alias.csv: same content (sha256) as manifests/good.csv, ingested once"
    assert query(
        ledger_home,
        "select source_file, status, reason_code, size_bytes, rows_read, message"
        " from raw.file_registry order by 1",
    ) == sorted(
        [
            ("manifests/good.csv", "loaded", None, size, 1, None),
            ("manifests/z_alias.csv", "duplicate", None, size, 0, same),
        ]
        + [(n, "rejected", "link_outside_raw", 0, 0, LINK_MESSAGE.format(n)) for n in links]
    )
    assert query(
        ledger_home,
        "select source_file, source_row, field, reason_code, message, raw_record"
        " from raw.quarantine order by 1",
    ) == [(n, None, None, "link_outside_raw", LINK_MESSAGE.format(n), None) for n in links]
    assert query(ledger_home, "select waybill_no from raw.manifests") == [("G1",)]

    # The secret reached no table, no file of the warehouse (Dagster's event log included).
    assert tables_containing(ledger_home.staging_db, SECRET) == []
    assert tables_containing(ledger_home.staging_db, "root:x:0:0") == []
    assert files_containing(ledger_home.warehouse_dir, SECRET) == []

    # Not even hashed: a link's input hash is where it points, so the target's content may
    # change without the run fingerprint noticing; the registry holds the same value.
    content_sha = hashlib.sha256(secret_csv.read_bytes()).hexdigest()
    registered = dict(query(ledger_home, "select source_file, file_sha256 from raw.file_registry"))
    assert registered["manifests/rel.csv"] == hashes["manifests/rel.csv"] != content_sha
    secret_csv.write_text(f"{HEADER}\n{row('S2', shipper=SECRET)}\n")
    passwd.write_text("changed\n")
    assert input_hashes(ledger_home) == hashes

    # The run is marked: the non-blocking files_readable check lists every link.
    (check,) = [c for c in result.get_asset_check_evaluations() if not c.passed]
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert [(f["file"], f["reason"]) for f in check.metadata["rejected"].value] == [
        (n, "link_outside_raw") for n in links
    ]


def test_a_linked_data_raw_folder_is_inside_data_raw(tmp_path: Path) -> None:
    """data/raw itself may be a link (a mounted volume): what is under it is read as usual."""
    volume = tmp_path / "volume"
    (volume / "manifests").mkdir(parents=True)
    (volume / "manifests" / "a.csv").write_text(f"{HEADER}\n{row('V1')}\n")
    paths = LedgerPaths.from_env(tmp_path / "home")
    paths.raw_dir.parent.mkdir(parents=True)
    paths.raw_dir.symlink_to(volume, target_is_directory=True)
    paths.ensure()

    (outcome,) = ingest_source(LedgerResource(home=str(paths.home)), MANIFESTS, print, print)

    assert (outcome.source_file, outcome.status, outcome.rows_accepted) == (
        "manifests/a.csv",
        "loaded",
        1,
    )


def test_messages_quote_at_most_a_marked_excerpt_of_the_file(ledger_home: LedgerPaths) -> None:
    """A header, a value or a station name is cut to 80 characters; raw_record keeps the row."""
    line = "x" * 70 + SECRET * 10  # one column, no separator
    write(ledger_home, "manifests/one_line.csv", f"{line}\nsecond\n")
    long_date = "2023-08-01" + "9" * 200
    long_station = "Z" * 100
    write(
        ledger_home,
        "manifests/long_values.csv",
        f"{HEADER}\n{row('W1', dispatch_date=long_date)}\n"
        f"{row('W2', origin_station_code='', origin_station=long_station)}\n",
    )

    outcomes = {
        o.source_file: o
        for o in ingest_source(LedgerResource(home=str(ledger_home.home)), MANIFESTS, print, print)
    }

    one_line = outcomes["manifests/one_line.csv"]
    assert (one_line.status, one_line.reason_code) == ("rejected", "missing_required_columns")
    found = str([line])[:79] + "…"
    assert one_line.message == (
        "manifests/one_line.csv: missing required columns ['waybill_no', 'dispatch_date',"
        " 'origin_station_code or origin_station', 'destination_station_code or"
        f" destination_station', 'cargo_code', 'gross_weight']; found columns {found};"
        " expected ['waybill_no', 'dispatch_date', 'origin_station_code', 'origin_station',"
        " 'destination_station_code', 'destination_station', 'shipper', 'consignee',"
        " 'cargo_code', 'cargo_description', 'hazard_class', 'wagon_no', 'container_no',"
        " 'gross_weight', 'weight_unit', 'packages'] (or a known alias)"
    )
    assert SECRET not in one_line.message
    assert query(
        ledger_home,
        "select source_row, field, reason_code, message from raw.quarantine"
        " where source_file = 'manifests/long_values.csv' order by 1",
    ) == [
        (
            1,
            "dispatch_date",
            "unparseable_date",
            f"manifests/long_values.csv row 1, field 'dispatch_date': '{long_date[:79]}…'"
            " is not a date (YYYY-MM-DD, DD.MM.YYYY, DD/MM/YYYY)",
        ),
        (
            2,
            "origin_station",
            "unknown_station",
            f"manifests/long_values.csv row 2, field 'origin_station': station"
            f" '{long_station[:79]}…' is not a code, name or alias in seeds/stations.csv",
        ),
    ]
    raw_records = query(
        ledger_home,
        "select json_extract_string(raw_record, '$.dispatch_date') from raw.quarantine"
        " where source_file = 'manifests/long_values.csv' and source_row = 1",
    )
    assert raw_records == [(long_date,)]
