"""Row-level diff of two version files: rows added, removed and changed per table.

Rows are matched on the table's natural key (``PRIMARY_KEYS``) when it is unique in both
versions, as recorded at publish time; other tables are compared as multisets of whole rows.
For sampled changed rows ``ledger diff`` shows the old and new value of each column that
differs, so a reader sees ``explosive_tonnes 19484.3 -> 19520.1`` rather than only that some
row of a month changed.

A publish that wrote the new version as the previous one plus the change (parts.py) knows that
the waybill-keyed tables differ only in the waybills it replaced: its diff looks at those
(``scope``). For a day added to 10 M shipments: 3 s instead of 23 s, the same counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from orchestration.publish.files import PRIMARY_KEYS, column_types, main_tables
from orchestration.publish.parts import WAYBILL_TABLES
from orchestration.publish.registry import Version, VersionError
from orchestration.sql import attach, connect, quote_ident

if TYPE_CHECKING:
    import pyarrow as pa

CHANGE_KINDS = ("added", "removed", "changed")


def diff_versions(
    old: Version,
    new: Version,
    files: tuple[Path, Path],
    table: str | None,
    sample: int,
    scope: pa.Table | None = None,
) -> dict[str, dict[str, Any]]:
    """Per table (or only ``table``): counts, sample keys and schema changes from old to new."""
    con = connect(None)
    try:
        attach(con, files[0], "a", read_only=True)
        attach(con, files[1], "b", read_only=True)
        return diff_attached(con, old, new, table, sample, scope)
    finally:
        con.close()


def diff_attached(
    con: duckdb.DuckDBPyConnection,
    old: Version,
    new: Version,
    table: str | None,
    sample: int,
    scope: pa.Table | None = None,
) -> dict[str, dict[str, Any]]:
    """:func:`diff_versions` of the versions attached as catalogs ``a`` and ``b`` (files, or
    DuckLake snapshots: lake.py). ``scope`` (a ``waybill_no`` column): the only waybills in
    which the waybill-keyed tables can differ, as a delta publish guarantees."""
    if scope is not None:
        con.register("diff_scope", scope)
    tables_a, tables_b = set(main_tables(con, "a")), set(main_tables(con, "b"))
    names = sorted(tables_a | tables_b)
    if table is not None:
        if table not in names:
            raise VersionError(f"table {table!r} is in neither {old.label} nor {new.label}")
        names = [table]
    known = [old.unique_keys, new.unique_keys]
    return {
        name: _diff_table(
            con,
            _Sides(name, scope is not None and name in WAYBILL_TABLES),
            (name in tables_a, name in tables_b),
            sample,
            _both(known, name),
        )
        for name in names
    }


class _Sides:
    """How a diff reads one table on side ``a`` or ``b``: whole, or only the scoped waybills."""

    def __init__(self, table: str, scoped: bool) -> None:
        self.table, self.ident, self.scoped = table, quote_ident(table), scoped

    def __call__(self, side: str) -> str:
        rows = f"{side}.main.{self.ident}"
        if not self.scoped:
            return rows
        scoped = "where waybill_no in (select waybill_no from diff_scope)"
        return f"(select * from {rows} {scoped})"  # noqa: S608 - quoted identifier


def _both(known: Sequence[Mapping[str, bool]], table: str) -> bool:
    """Key uniqueness on both sides, as recorded at publish time (a diff then needs no scan)."""
    return all(k.get(table, False) for k in known)


def _comparable(column: str, data_type: str) -> str:
    """Doubles compare to 12 significant digits: sums computed in parallel differ run to run
    in the last bits, which is not a change anyone should see in a diff."""
    ident = quote_ident(column)
    return f"printf('%.12g', {ident})" if data_type in ("DOUBLE", "FLOAT") else ident


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return con.execute(sql).fetchone()[0]


def _diff_table(
    con: duckdb.DuckDBPyConnection,
    rows_of: _Sides,
    present: tuple[bool, bool],
    sample: int,
    key_unique: bool,
) -> dict[str, Any]:
    table = rows_of.table
    in_a, in_b = present
    if not (in_a and in_b):
        side = "b" if in_b else "a"
        rows = _count(con, f"select count(*) from {side}.main.{rows_of.ident}")  # noqa: S608
        return {
            "status": "table_added" if in_b else "table_removed",
            "added": rows if in_b else 0,
            "removed": 0 if in_b else rows,
            "changed": 0,
            "key": None,
        }
    cols_a, cols_b = column_types(con, "a", table), column_types(con, "b", table)
    same = [c for c, t in cols_b.items() if cols_a.get(c) == t]
    compared = [_comparable(c, cols_b[c]) for c in same]
    schema = {
        "columns_added": [c for c in cols_b if c not in cols_a],
        "columns_removed": [c for c in cols_a if c not in cols_b],
        "columns_retyped": [c for c in cols_b if cols_a.get(c, cols_b[c]) != cols_b[c]],
    }
    key = PRIMARY_KEYS.get(table)
    if key and key_unique and set(key) <= cols_a.keys() & cols_b.keys():
        return {**_keyed_diff(con, rows_of, key, same, compared, sample), **schema}
    select = ", ".join(compared)
    added, removed = (
        _count(
            con,
            f"select count(*) from (select {select} from {rows_of(x)} "  # noqa: S608
            f"except all select {select} from {rows_of(y)})",
        )
        for x, y in (("b", "a"), ("a", "b"))
    )
    return {
        "status": "compared",
        "key": None,
        "added": added,
        "removed": removed,
        "changed": None,
        **schema,
    }


def _keyed_diff(
    con: duckdb.DuckDBPyConnection,
    rows_of: _Sides,
    key: Sequence[str],
    columns: Sequence[str],
    compared: Sequence[str],
    sample: int,
) -> dict[str, Any]:
    """Full outer join on the (unique) key; a 64-bit hash of the ``compared`` expressions
    (never null) detects changed rows and tells which side a row is missing from. Sampled
    changed rows come with the old and new value of each of ``columns`` that differs."""
    keys = ", ".join(quote_ident(c) for c in key)
    row_hash = f"hash({', '.join(compared)})"
    merged = ", ".join(
        f"coalesce(a.{quote_ident(c)}, b.{quote_ident(c)}) as {quote_ident(c)}" for c in key
    )
    con.execute(
        f"""create or replace temp table diff_rows as
        select {merged},
            case when a.h is null then 'added'
                 when b.h is null then 'removed' else 'changed' end as change
        from (select {keys}, {row_hash} as h from {rows_of("a")}) as a
        full outer join (select {keys}, {row_hash} as h from {rows_of("b")}) as b using ({keys})
        where a.h is distinct from b.h"""  # noqa: S608 - quoted identifiers only
    )
    counts = dict(con.execute("select change, count(*) from diff_rows group by change").fetchall())
    rows = {
        change: con.execute(
            f"select {keys} from diff_rows where change = ? order by {keys} limit ?",  # noqa: S608
            [change, sample],
        ).fetchall()
        for change in ("added", "removed", "changed")
    }
    samples = {
        change: [r[0] if len(key) == 1 else dict(zip(key, r, strict=True)) for r in found]
        for change, found in rows.items()
    }
    values = [c for c in columns if c not in key]
    return {
        "status": "compared",
        "key": list(key),
        "added": counts.get("added", 0),
        "removed": counts.get("removed", 0),
        "changed": counts.get("changed", 0),
        "sample_keys": samples,
        "sample_changes": _changed_values(con, rows_of, key, rows["changed"], values),
    }


def _changed_values(
    con: duckdb.DuckDBPyConnection,
    rows_of: _Sides,
    key: Sequence[str],
    keys: Sequence[Sequence[Any]],
    columns: Sequence[str],
) -> list[dict[str, list[Any]]]:
    """Per key (rows of ``a`` and ``b`` attached versions): {column: [old, new]} of the
    ``columns`` whose values differ; doubles compared to 12 significant digits, as the diff."""
    if not keys or not columns:
        return [{} for _ in keys]
    match = " and ".join(f"a.{quote_ident(k)} is not distinct from ?" for k in key)
    on = " and ".join(f"a.{quote_ident(k)} = b.{quote_ident(k)}" for k in key)
    select = ", ".join(f"a.{quote_ident(c)}, b.{quote_ident(c)}" for c in columns)
    sql = (
        f"select {select} from {rows_of('a')} as a join {rows_of('b')} as b "  # noqa: S608
        f"on {on} where {match}"
    )
    result = []
    for values in keys:
        row = con.execute(sql, list(values)).fetchone() or ()
        pairs = zip(row[0::2], row[1::2], strict=True)
        result.append(
            {
                c: [old, new]
                for c, (old, new) in zip(columns, pairs, strict=False)
                if _differs(old, new)
            }
        )
    return result


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, float) and isinstance(new, float):
        return f"{old:.12g}" != f"{new:.12g}"
    return old != new
