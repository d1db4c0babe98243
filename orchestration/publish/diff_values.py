"""What changed in a changed row: the old and new value of each column that differs.

``ledger diff`` shows this for its sample keys, so a reader sees ``explosive_tonnes 19484.3 ->
19520.1`` rather than only that some row of a month changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from orchestration.sql import quote_ident


def changed_values(
    con: duckdb.DuckDBPyConnection,
    table: str,
    key: Sequence[str],
    keys: Sequence[Sequence[Any]],
    columns: Sequence[str],
) -> list[dict[str, list[Any]]]:
    """Per key (rows of ``a`` and ``b`` attached versions): {column: [old, new]} of the
    ``columns`` whose values differ; doubles compared to 12 significant digits, as the diff."""
    if not keys or not columns:
        return [{} for _ in keys]
    ident = quote_ident(table)
    match = " and ".join(f"a.{quote_ident(k)} is not distinct from ?" for k in key)
    on = " and ".join(f"a.{quote_ident(k)} = b.{quote_ident(k)}" for k in key)
    select = ", ".join(f"a.{quote_ident(c)}, b.{quote_ident(c)}" for c in columns)
    sql = (
        f"select {select} from a.main.{ident} as a join b.main.{ident} as b "  # noqa: S608
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
