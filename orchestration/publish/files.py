"""The published DuckDB files: what they hold, and how each is built before it is swapped in.

A version file ``v0007.duckdb`` holds the staging marts (schema ``main``): the small ones as
tables, the waybill tables as views over monthly Parquet parts shared with other versions
(parts.py); the served file is a copy of one version plus ``ledger_versions``, the registry as it
was when served.
Both are built under a temp name, checkpointed, fsynced and made read-only (mode bits 0444) so
that a rename is all that is left: the publisher does that, with the registry and the guards.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from orchestration.publish.comments import (
    VERSIONS_COLUMN_COMMENTS,
    VERSIONS_TABLE_COMMENT,
    comment_table,
    copy_comments,
)
from orchestration.publish.guard import guard_wal
from orchestration.publish.parts import (
    WAYBILL_TABLES,
    create_part_view,
    part_files,
    parts_root,
    read_parts,
    write_parts,
)
from orchestration.publish.registry import VERSIONS_TABLE, VersionError
from orchestration.sql import attach, connect, fsync, quote_ident

# A version file holds only the small marts (~200 rows), yet DuckDB's default 256 KiB blocks
# gave it 11 blocks, 2.8 MiB: more than a day's Parquet parts (2.6 MiB), so a one-day version
# cost twice the data it changed. 64 KiB blocks: 1.0 MiB. (16 KiB gives 0.6 MiB, but DuckDB
# then stops bit-packing integer columns, which a large quarantine table would pay for.)
# Readers need DuckDB 1.1 or later: 1.0 opens 256 KiB blocks only.
VERSION_BLOCK_SIZE = 64 * 1024

# Row identity per mart table for `diff`, natural keys so samples are readable (waybill_no, not
# its hash shipment_id); a table without one (or whose key is not unique in both versions) is
# compared as a multiset of whole rows.
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "fct_shipments": ("waybill_no",),
    "fct_munitions_equivalent": ("waybill_no",),
    "fct_waybill_versions": ("waybill_no", "source_file", "source_row"),
    "fct_voyages": ("voyage_id",),
    "agg_munitions_by_profile": ("month", "route_id", "profile_id"),
    "agg_monthly_flows": ("month", "route_id"),
    "fct_claims": ("claim_id",),
    "fct_claim_reconciliation": ("claim_id",),
    "dim_stations": ("station_code",),
    "dim_ports": ("port_code",),
    "dim_vessels": ("vessel_name",),
    "dim_reports": ("report_id",),
}


def main_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    """The published tables of schema main: base tables, and the waybill tables' views over their
    monthly parts in a version file (parts.py); not the registry copy."""
    rows = con.execute(
        "select table_name from information_schema.tables where table_catalog = ? "
        "and table_schema = 'main' and table_name <> ? "
        "and (table_type = 'BASE TABLE' or list_contains(?, table_name)) order by table_name",
        [catalog, VERSIONS_TABLE, list(WAYBILL_TABLES)],
    ).fetchall()
    return [r[0] for r in rows]


def column_types(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> dict[str, str]:
    """Column name -> data type, in table order."""
    rows = con.execute(
        "select column_name, data_type from information_schema.columns where table_catalog = ? "
        "and table_schema = 'main' and table_name = ? order by ordinal_position",
        [catalog, table],
    ).fetchall()
    return dict(rows)


def main_views(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, str]:
    """Views of schema main (not the parts' views) and their CREATE statements. Their queries
    name tables without a catalog (dbt: ``ref(...).include(database=False)``), so a copy reads
    its own file's tables."""
    rows = con.execute(
        "select view_name, sql from duckdb_views() where database_name = ? "
        "and schema_name = 'main' and not internal and not list_contains(?, view_name) "
        "order by view_name",
        [catalog, list(WAYBILL_TABLES)],
    ).fetchall()
    return dict(rows)


@dataclass(frozen=True)
class Written:
    """What a version file holds and how it was written."""

    row_counts: dict[str, int]
    unique: dict[str, bool]  # natural key -> whether it is unique (a diff need not scan for it)
    # delta: the previous version's parts of unchanged months reused, the version differs from
    # it in the logged waybills only (or not: why); or full copy (and why)
    built: str
    months: dict[str, list[str]]  # waybill table -> the months whose parts were written


def write_version_file(
    staging_db: Path,
    final: Path,
    base: Path | None = None,
    base_unique: Mapping[str, bool] | None = None,
) -> Written:
    """The small marts as tables, the waybill tables as views over monthly parts (parts.py),
    taken from ``base`` (the latest version, same code) where their month did not change, and
    the views over them. ``base_unique``: the keys found unique in ``base`` when it was
    published, so a waybill table's key is checked on the rows this version wrote alone."""
    tmp = final.with_name(f".tmp-{final.name}")
    tmp.unlink(missing_ok=True)
    label, root = final.stem, parts_root(final.parent)
    con = connect(tmp, block_size=VERSION_BLOCK_SIZE)
    try:
        attach(con, staging_db, "stg", read_only=True)
        tables = main_tables(con, "stg")
        if not tables:
            raise VersionError(f"{staging_db}: schema main has no tables to publish")
        reused, why = _base_parts(con, base)
        months: dict[str, list[str]] = {}
        unique: dict[str, bool] = {}
        notes: list[str] = []  # why the version differs in more than the logged waybills
        for table in tables:
            ident = quote_ident(table)
            columns = column_types(con, "stg", table)
            if table not in WAYBILL_TABLES:
                con.execute(f"create table main.{ident} as select * from stg.main.{ident}")  # noqa: S608
                continue
            base_files = reused.get(table)
            if base_files and column_types(con, "base", table) != columns:
                notes.append(f"columns of {table} changed: written whole")
                base_files = None
            files, months[table], missed = write_parts(con, table, columns, label, root, base_files)
            if missed:
                notes.append(f"the change log missed rows of {table} in {', '.join(missed)}")
            create_part_view(con, table, files)
            if base_files and (base_unique or {}).get(table) and _keyed(table, columns):
                new = [f for f in files if Path(f).name.startswith(f"{label}-")]
                kept = [f for f in files if f not in new]
                unique[table] = new_keys_are_unique(con, PRIMARY_KEYS[table], new, kept)
        here = con.execute("select current_database()").fetchone()[0]
        views = main_views(con, "stg")
        for create in views.values():
            con.execute(create)
        copy_comments(con, "stg", [*tables, *views])
        counts = {
            t: con.execute(f"select count(*) from main.{quote_ident(t)}").fetchone()[0]  # noqa: S608
            for t in tables
        }
        for t in tables:
            if t not in unique and _keyed(t, column_types(con, here, t)):
                unique[t] = key_is_unique(con, here, t, PRIMARY_KEYS[t])
        con.execute("detach database if exists base")
        con.execute("detach stg")
        con.execute("checkpoint")
    finally:
        con.close()
    fsync(tmp)
    tmp.chmod(0o444)
    guard_wal(final)  # before the file exists: no moment without the guard
    os.replace(tmp, final)
    fsync(final.parent)
    if why is not None:
        built = f"full copy ({why})"
    else:
        built = f"delta; diffed whole: {'; '.join(notes)}" if notes else "delta"
    return Written(counts, unique, built, months)


def _base_parts(
    con: duckdb.DuckDBPyConnection, base: Path | None
) -> tuple[dict[str, list[str]], str | None]:
    """The previous version's part files per waybill table (attached as ``base``), or why none
    can be reused: every file must still be there (gc, a moved warehouse)."""
    if base is None:
        return {}, "no previous version built by this code"
    try:
        attach(con, base, "base", read_only=True)
    except duckdb.Error as exc:  # e.g. a read-write client holds it
        return {}, f"{base.name} cannot be read: {exc}"
    files = part_files(con, "base")
    missing = [f for fs in files.values() for f in fs if not Path(f).exists()]
    if missing:
        return {}, f"{len(missing)} part files of {base.name} are gone, e.g. {missing[0]}"
    return files, None


def _keyed(table: str, columns: Mapping[str, str]) -> bool:
    return table in PRIMARY_KEYS and set(PRIMARY_KEYS[table]) <= set(columns)


def key_is_unique(
    con: duckdb.DuckDBPyConnection, catalog: str, table: str, key: Sequence[str]
) -> bool:
    """Whether ``key`` identifies the rows of ``<catalog>.main.<table>`` (a keyed diff needs it)."""
    cols = ", ".join(quote_ident(c) for c in key)
    return bool(
        con.execute(
            f"select count(*) = count(distinct ({cols})) "  # noqa: S608 - quoted identifiers
            f"from {quote_ident(catalog)}.main.{quote_ident(table)}"
        ).fetchone()[0]
    )


def new_keys_are_unique(
    con: duckdb.DuckDBPyConnection, key: Sequence[str], new: Sequence[str], kept: Sequence[str]
) -> bool:
    """Whether ``key`` stays unique in a table whose ``kept`` part files (unique in the version
    they come from) gain the ``new`` ones: unique among the new rows, and none of them in the
    kept files. A probe of the kept files' key columns, not a distinct count of every row
    (~1 s per waybill table at 10 M rows)."""
    if not new:
        return True
    cols = ", ".join(quote_ident(c) for c in key)
    (distinct,) = con.execute(
        f"select count(*) = count(distinct ({cols})) from {read_parts(new)}"  # noqa: S608
    ).fetchone()
    if not distinct or not kept:
        return bool(distinct)
    (clashes,) = con.execute(
        f"select count(*) from {read_parts(kept)} "  # noqa: S608
        f"where ({cols}) in (select ({cols}) from {read_parts(new)})"
    ).fetchone()
    return clashes == 0


def build_served_file(
    source: Path, tmp: Path, registry: Sequence[Mapping[str, Any]], served: int
) -> None:
    """``tmp``: a copy of the version file ``source`` with the registry in ``ledger_versions``."""
    tmp.unlink(missing_ok=True)
    shutil.copyfile(source, tmp)
    tmp.chmod(0o644)
    con = connect(tmp)
    try:
        _write_versions_table(con, registry, served)
        con.execute("checkpoint")
    finally:
        con.close()
    fsync(tmp)
    tmp.chmod(0o444)


def _write_versions_table(
    con: duckdb.DuckDBPyConnection, registry: Sequence[Mapping[str, Any]], served: int
) -> None:
    con.execute(
        f"""create or replace table main.{VERSIONS_TABLE} (
            version_id integer, status varchar, run_id varchar, created_at timestamp,
            code_version varchar, fingerprint varchar, input_hashes json, row_counts json,
            validation json, message varchar, is_served boolean)"""
    )
    con.executemany(
        f"insert into main.{VERSIONS_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
        [
            [
                v["version_id"],
                v["status"],
                v["run_id"],
                v["created_at"],
                v["code_version"],
                v["fingerprint"],
                json.dumps(v["input_hashes"]),
                json.dumps(v["row_counts"]),
                json.dumps(v["validation"], default=str),
                v["message"],
                v["version_id"] == served,
            ]
            for v in registry
        ],
    )
    comment_table(con, VERSIONS_TABLE, VERSIONS_TABLE_COMMENT, VERSIONS_COLUMN_COMMENTS)
