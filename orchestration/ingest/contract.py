"""The raw contract, in one place: what input files give and what the raw tables hold.

Two sides. The file side: the canonical column names a reader maps a file's headers to and
which of them a file must have (``MANIFEST_COLUMNS`` ...). The table side: the DDL of the raw
schema, where readers write typed, provenance-stamped rows and dbt reads them as sources.
Everything a reader cannot accept goes to ``raw.quarantine`` with a reason code.

The Python modules derive from this one: the loader's insert and deduplication columns, the
parse plans' output columns, the claims frame and the Dagster column schemas all read it.
The two files in other tools' formats that name the same columns, the dbt sources
(``dbt_project/models/staging/raw/_sources.yml``) and the raw GX suites
(``expectations/raw_*.json``), are checked against it by ``tests/test_contract.py`` rather
than generated from it: each carries more than columns (descriptions written for the dbt docs;
ranges, patterns, severities and notes), so generating them would move all of that into Python
or need a merge step, and a generated file still needs a test that it is up to date. A test
that fails when they disagree keeps both files plain and hand-editable in their own format.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import duckdb

from orchestration.sql import sql_literal, transaction

RAW_SCHEMA = "raw"

# The file side. Canonical names, in the order the generator writes them; header variants
# (other spellings, Russian) are in ingest/headers.py.
MANIFEST_COLUMNS = (
    "waybill_no",
    "dispatch_date",
    "origin_station_code",
    "origin_station",
    "destination_station_code",
    "destination_station",
    "shipper",
    "consignee",
    "cargo_code",
    "cargo_description",
    "hazard_class",
    "wagon_no",
    "container_no",
    "gross_weight",
    "weight_unit",
    "packages",
)
VOYAGE_COLUMNS = ("vessel_name", "imo", "port", "arrival", "departure", "laden")

# Each inner tuple is "one of these columns must be present" (station code or name suffices).
MANIFEST_REQUIRED: tuple[tuple[str, ...], ...] = (
    ("waybill_no",),
    ("dispatch_date",),
    ("origin_station_code", "origin_station"),
    ("destination_station_code", "destination_station"),
    ("cargo_code",),
    ("gross_weight",),
)
VOYAGE_REQUIRED: tuple[tuple[str, ...], ...] = (("vessel_name",), ("port",), ("arrival",))


@dataclass(frozen=True)
class FileColumns:
    """What a tabular source's files give: canonical column names, and which must be there."""

    names: tuple[str, ...]
    required: tuple[tuple[str, ...], ...]


FILE_COLUMNS: dict[str, FileColumns] = {
    "manifests": FileColumns(MANIFEST_COLUMNS, MANIFEST_REQUIRED),
    "voyages": FileColumns(VOYAGE_COLUMNS, VOYAGE_REQUIRED),
}

# Raw columns that keep how a file wrote a value, not the value: two rows that differ only
# here are the same row (the loader keeps the first one's spellings).
AS_WRITTEN: dict[str, tuple[str, ...]] = {
    "manifests": (
        "origin_station_raw",
        "origin_station_matched_by",
        "origin_station_code_given",
        "destination_station_raw",
        "destination_station_matched_by",
        "destination_station_code_given",
        "weight_unit_raw",
        "extra_fields",
    ),
    "voyages": ("port_raw", "extra_fields"),
}

# The table side.
PROVENANCE = """
    source_file varchar not null,       -- path relative to data/raw
    source_row bigint not null,         -- 1-based data row number in the file (header excluded)
    file_sha256 varchar not null,
    ingested_at timestamp not null
"""
PROVENANCE_COLUMNS = tuple(re.findall(r"^[ \t]*(\w+) ", PROVENANCE, flags=re.MULTILINE))

DDL: dict[str, str] = {
    "file_registry": """
        create table if not exists raw.file_registry (
            file_sha256 varchar not null,
            source varchar not null,            -- manifests | voyages | reports
            source_file varchar not null,       -- path relative to data/raw
            size_bytes bigint not null,
            status varchar not null,            -- loaded | rejected | duplicate
            reason_code varchar,                -- for rejected files
            message varchar,
            rows_read bigint,
            rows_accepted bigint,
            rows_quarantined bigint,
            rows_duplicate bigint,
            columns_mapped varchar,             -- JSON {found header: canonical}
            columns_unmapped varchar,           -- JSON list of extra headers kept aside
            loaded_at timestamp not null,
            primary key (file_sha256, source_file)
        )""",
    "manifests": f"""
        create table if not exists raw.manifests (
            waybill_no varchar not null,
            dispatch_date date not null,
            origin_station_code varchar not null,   -- resolved through seeds/stations.csv aliases
            origin_station_raw varchar,
            origin_station_matched_by varchar not null  -- code | name (code not in the seed)
                check (origin_station_matched_by in ('code', 'name')),
            origin_station_code_given varchar,      -- the code column as written, if any
            destination_station_code varchar not null,
            destination_station_raw varchar,
            destination_station_matched_by varchar not null
                check (destination_station_matched_by in ('code', 'name')),
            destination_station_code_given varchar,
            shipper varchar,
            consignee varchar,
            cargo_code varchar not null,            -- ETSNG, 6 digits as text
            cargo_description varchar,
            hazard_class varchar,
            wagon_no varchar,
            container_no varchar,                   -- ISO 6346, check digit valid, or null
            gross_weight_kg double not null,        -- normalised from kg / t / suffixes
            weight_unit_raw varchar,
            packages integer,
            extra_fields varchar,                   -- JSON of the values of unmapped columns
            {PROVENANCE}
        )""",
    "voyages": f"""
        create table if not exists raw.voyages (
            vessel_name varchar not null,
            imo varchar,
            port varchar not null,                  -- port code resolved through seeds/ports.csv
            port_raw varchar,
            arrival date not null,
            departure date,
            laden boolean,
            extra_fields varchar,                   -- JSON of the values of unmapped columns
            {PROVENANCE}
        )""",
    "reports": f"""
        create table if not exists raw.reports (
            report_id varchar not null,             -- file stem, stable
            title varchar,
            publisher varchar,
            published date,
            url varchar,
            language varchar,
            is_synthetic boolean not null,
            body varchar not null,                  -- text after the front matter
            {PROVENANCE}
        )""",
    "report_claims": f"""
        create table if not exists raw.report_claims (
            claim_id varchar not null,              -- report_id:char_start ('c'||n if curated)
            report_id varchar not null,
            metric varchar not null,                -- explosives_tonnes|rounds|shipments|containers
            value double not null,
            value_low double,                       -- ranges ('4.8 to 5 million'); else = value
            value_high double,
            qualifier varchar not null,             -- over | about | nearly | up to | exact
            period_start date,
            period_end date,
            direction_from varchar,                 -- ISO 3166 alpha-2 or null
            direction_to varchar,
            char_start integer,                     -- offset into raw.reports.body; null: curated
            char_end integer,
            sentence varchar,
            is_curated boolean not null,
            {PROVENANCE}
        )""",
    "changed_keys": """
        create table if not exists raw.changed_keys (
            source varchar not null,                -- manifests, files (file events) or months
            key varchar not null,                   -- waybill_no; a file event's source; a month
            source_file varchar not null,           -- the file that brought or took the rows
            recorded_at timestamp not null          -- cleared up to a run's start by its publish
        )""",
    "quarantine": """
        create table if not exists raw.quarantine (
            source varchar not null,                -- manifests | voyages | reports
            source_file varchar not null,
            source_row bigint,                      -- null for whole-file problems
            file_sha256 varchar not null,
            field varchar,                          -- the column at fault, when one is
            reason_code varchar not null,
            message varchar not null,
            raw_record varchar,                     -- JSON object of the raw text values
            ingested_at timestamp not null
        )""",
}


# The raw tables each source fills (file_registry and quarantine are shared).
SOURCE_TABLES: dict[str, tuple[str, ...]] = {
    "manifests": ("manifests",),
    "voyages": ("voyages",),
    "reports": ("reports", "report_claims"),
}


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    for ddl in DDL.values():
        con.execute(ddl)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str, bool]]:
    # Literals, not parameters: DuckDB's first parameter binding imports pandas (1.3 s), and
    # the Definitions call this at import time (asset metadata) in every Dagster process.
    return con.execute(
        "select column_name, data_type, is_nullable from duckdb_columns()"  # noqa: S608 - literals
        f" where database_name = current_database() and schema_name = {sql_literal(RAW_SCHEMA)}"
        f" and table_name = {sql_literal(table)} order by column_index"
    ).fetchall()


@functools.cache
def contract_columns() -> dict[str, list[tuple[str, str, bool]]]:
    """Column names, types and nullability the DDL gives each raw table (in a scratch db)."""
    with duckdb.connect() as con:
        ensure_raw_schema(con)
        return {table: _columns(con, table) for table in DDL}


def payload_columns(table: str) -> tuple[str, ...]:
    """The columns a source fills from its files: the table's columns less provenance."""
    return tuple(n for n, _, _ in contract_columns()[table] if n not in PROVENANCE_COLUMNS)


def identity_columns(table: str) -> tuple[str, ...]:
    """The columns whose values make two rows of a file the same row (see ``AS_WRITTEN``)."""
    return tuple(c for c in payload_columns(table) if c not in AS_WRITTEN[table])


def reset_if_outdated(con: duckdb.DuckDBPyConnection, source: str) -> bool:
    """Rebuild a source's tables when an older contract made them; True when it did.

    ``create table if not exists`` leaves a table of an older staging database as it was, and
    unchanged files are not read again, so new columns would never be filled (or the insert
    would fail). Dropping the tables and forgetting the source's files, in one transaction,
    makes the next ingest read every file of the source again under the current contract.
    """
    ensure_raw_schema(con)
    tables = SOURCE_TABLES[source]
    expected = contract_columns()
    if all(_columns(con, t) == expected[t] for t in tables):
        return False
    with transaction(con):
        for table in tables:
            con.execute(f"drop table {RAW_SCHEMA}.{table}")
        con.execute("delete from raw.quarantine where source = ?", [source])
        con.execute("delete from raw.file_registry where source = ?", [source])
    ensure_raw_schema(con)
    return True
