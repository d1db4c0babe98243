"""The published DuckDB files: what they hold, and how each is built before it is swapped in.

A version file ``v0007.duckdb`` is a copy of the staging marts (schema ``main``), written whole
or as the latest version plus the change (delta.py); the served
file is a copy of one version plus ``ledger_versions``, the registry as it was when served.
Both are built under a temp name, checkpointed, fsynced and made read-only (mode bits 0444) so
that a rename is all that is left: the publisher does that, with the registry and the guards.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from orchestration.publish.comments import (
    VERSIONS_COLUMN_COMMENTS,
    VERSIONS_TABLE_COMMENT,
    comment_table,
    copy_comments,
)
from orchestration.publish.delta import DeltaMismatch, apply_delta
from orchestration.publish.guard import guard_wal
from orchestration.publish.registry import VERSIONS_TABLE, VersionError
from orchestration.sql import attach, connect, quote_ident

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
    """Base tables of schema main (the marts), excluding the registry copy."""
    rows = con.execute(
        "select table_name from information_schema.tables where table_catalog = ? "
        "and table_schema = 'main' and table_type = 'BASE TABLE' and table_name <> ? "
        "order by table_name",
        [catalog, VERSIONS_TABLE],
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


def fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def main_views(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, str]:
    """Views of schema main and their CREATE statements. Their queries name tables without a
    catalog (dbt: ``ref(...).include(database=False)``), so a copy reads its own file's tables."""
    rows = con.execute(
        "select view_name, sql from duckdb_views() where database_name = ? "
        "and schema_name = 'main' and not internal order by view_name",
        [catalog],
    ).fetchall()
    return dict(rows)


def write_version_file(
    staging_db: Path, final: Path, base: Path | None = None
) -> tuple[dict[str, int], dict[str, bool], str]:
    """Copy the marts (tables, and views over them), from scratch or as ``base`` (the latest
    version, same code) plus the change (delta.py); also record which keys are unique, so a
    diff need not scan for it. Returns the row counts, the unique keys and how it was built."""
    tmp = final.with_name(f".tmp-{final.name}")
    mode = "full copy"
    if base is not None:
        try:
            return (*_write(staging_db, final, tmp, base), "delta")
        except DeltaMismatch as exc:
            mode = f"full copy (delta refused: {exc})"
    return (*_write(staging_db, final, tmp, None), mode)


def _write(
    staging_db: Path, final: Path, tmp: Path, base: Path | None
) -> tuple[dict[str, int], dict[str, bool]]:
    tmp.unlink(missing_ok=True)
    if base is not None:
        shutil.copyfile(base, tmp)
        tmp.chmod(0o644)
    con = connect(tmp)
    try:
        attach(con, staging_db, "stg", read_only=True)
        tables = main_tables(con, "stg")
        if not tables:
            raise VersionError(f"{staging_db}: schema main has no tables to publish")
        here = con.execute("select current_database()").fetchone()[0]
        if base is not None:
            apply_delta(con, tables, main_tables(con, here))
        else:
            for table in tables:
                con.execute(
                    f"create table main.{quote_ident(table)} as "  # noqa: S608 - quoted identifier
                    f"select * from stg.main.{quote_ident(table)}"
                )
        views = main_views(con, "stg")
        for name in main_views(con, here):
            con.execute(f"drop view main.{quote_ident(name)}")
        for create in views.values():
            con.execute(create)
        copy_comments(con, "stg", [*tables, *views])
        counts = {
            t: con.execute(f"select count(*) from main.{quote_ident(t)}").fetchone()[0]  # noqa: S608
            for t in tables
        }
        unique = {
            t: key_is_unique(con, here, t, PRIMARY_KEYS[t])
            for t in tables
            if set(PRIMARY_KEYS.get(t, ("",))) <= set(column_types(con, here, t))
        }
        con.execute("detach stg")
        con.execute("checkpoint")
    finally:
        con.close()
    fsync(tmp)
    tmp.chmod(0o444)
    guard_wal(final)  # before the file exists: no moment without the guard
    os.replace(tmp, final)
    fsync(final.parent)
    return counts, unique


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
