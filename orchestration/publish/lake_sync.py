"""Make the lake's schema ``main`` equal to a source's, writing only the rows that changed.

The source is the staging file (a publish) or the lake itself at an older snapshot (a rollback).
A table whose natural key (``files.PRIMARY_KEYS``) is unique on both sides, with the same columns,
loses the rows that have no identical row (same key, every column equal) in the source and gains
the source rows whose key it no longer has: the DuckLake snapshot stores the change, not a
copy (bench/bench_versions.py: 0.06 MB of files for a 1,200-row change of 1 M rows). Any other
table is replaced whole. The row counts must then equal the source's, or the caller's
transaction is rolled back and nothing becomes visible. Views are recreated from the source's
SQL; the tables' comments are copied, the views' are not (DuckLake takes no comment on a view's
column).
"""

from __future__ import annotations

import duckdb

from orchestration.publish.comments import copy_comments
from orchestration.publish.files import (
    PRIMARY_KEYS,
    column_types,
    key_is_unique,
    main_tables,
    main_views,
)
from orchestration.publish.registry import VersionError
from orchestration.sql import quote_ident


def sync_main(
    con: duckdb.DuckDBPyConnection, source: str, target: str
) -> tuple[dict[str, int], dict[str, bool], str]:
    """Inside an open transaction on ``target``: its ``main`` becomes ``source``'s ``main``.

    Returns the row counts, which keys are unique (as ``write_version_file``) and how it was built.
    """
    tables = main_tables(con, source)
    if not tables:
        raise VersionError(f"{source}: schema main has no tables to publish")
    con.execute(f"use {quote_ident(target)}")
    for name in main_views(con, target):
        con.execute(f"drop view main.{quote_ident(name)}")
    for name in main_tables(con, target):
        if name not in tables:
            con.execute(f"drop table main.{quote_ident(name)}")
    existing = set(main_tables(con, target))
    replaced = [t for t in tables if not (t in existing and _apply_change(con, source, t))]
    for table in replaced:
        con.execute(
            f"create or replace table main.{quote_ident(table)} as "  # noqa: S608
            f"select * from {quote_ident(source)}.main.{quote_ident(table)}"
        )
    views = main_views(con, source)
    for create in views.values():
        con.execute(create)
    copy_comments(con, source, tables)  # DuckLake refuses comments on a view's columns
    counts = {}
    for table in tables:
        count = f"select count(*) from {{}}.main.{quote_ident(table)}"  # noqa: S608
        ours, theirs = (
            con.execute(count.format(quote_ident(c))).fetchone()[0] for c in (target, source)
        )
        if ours != theirs:
            raise VersionError(f"{table}: {ours} rows written, {source} has {theirs}")
        counts[table] = ours
    unique = {
        t: key_is_unique(con, target, t, PRIMARY_KEYS[t])
        for t in tables
        if set(PRIMARY_KEYS.get(t, ("",))) <= set(column_types(con, target, t))
    }
    if not replaced:
        built = "changed rows"
    elif len(replaced) == len(tables):
        built = "whole tables"
    else:
        built = f"changed rows; whole: {', '.join(replaced)}"
    return counts, unique, built


def _apply_change(con: duckdb.DuckDBPyConnection, source: str, table: str) -> bool:
    """Delete and insert the rows that differ, when the key allows; False: replace it whole."""
    key = PRIMARY_KEYS.get(table)
    columns = column_types(con, source, table)
    if not key or not set(key) <= columns.keys():
        return False
    target = con.execute("select current_database()").fetchone()[0]
    if list(column_types(con, target, table).items()) != list(columns.items()):
        return False
    if not all(key_is_unique(con, c, table, key) for c in (source, target)):
        return False
    ident = quote_ident(table)
    src = f"{quote_ident(source)}.main.{ident}"
    same_key = " and ".join(
        f"s.{quote_ident(k)} is not distinct from t.{quote_ident(k)}" for k in key
    )
    names = ", ".join(quote_ident(c) for c in columns)
    row_t, row_s = (", ".join(f"{a}.{quote_ident(c)}" for c in columns) for a in ("t", "s"))
    con.execute(  # rows compared whole and exactly: a hash could hide a change
        f"delete from main.{ident} as t where not exists (select 1 from {src} as s "  # noqa: S608
        f"where {same_key} and row({row_s}) is not distinct from row({row_t}))"
    )
    con.execute(
        f"insert into main.{ident} ({names}) select {row_s} from {src} as s "  # noqa: S608
        f"where not exists (select 1 from main.{ident} as t where {same_key})"
    )
    return True
