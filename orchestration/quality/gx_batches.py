"""Reading a table for GX: which expectations share a read, and the batches each read yields
(streamed chunks, hash partitions of a key, or the whole table: see ``quality/gx.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from orchestration.sql import quote_ident

# Verdict on the whole table == verdicts on its row chunks combined: safe to stream.
ROW_WISE = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_match_regex_list",
        "expect_column_value_lengths_to_be_between",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "expect_column_pair_values_to_be_equal",
        "expect_column_pair_values_to_be_in_set",
    }
)
# Strings stay in Arrow buffers: a third less memory and faster hashing/regex than str objects.
_ARROW_DTYPES = {t: pd.ArrowDtype(t) for t in (pa.string(), pa.large_string(), pa.string_view())}
# Decided per value: partitions by a hash of the key keep all copies of a value together.
KEYED = frozenset({"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"})


def columns_of(config: Any) -> list[str]:
    """The columns an expectation reads, from its configuration's kwargs."""
    kwargs = config.kwargs
    found = [kwargs.get(k) for k in ("column", "column_A", "column_B")]
    return [c for c in found if c] + list(kwargs.get("column_list") or [])


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> dict[str, str]:
    """Column name -> DuckDB type; a missing table is an error that names the database file."""
    cols = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = current_database() and table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [schema, name],
    ).fetchall()
    if not cols:
        db = con.execute(
            "select path from duckdb_databases() where database_name = current_database()"
        ).fetchone()
        raise LookupError(f"table {schema}.{name} not found in {db[0] if db else 'memory'}")
    return dict(cols)


def _select_expr(column: str, duckdb_type: str) -> str:
    """Cast in DuckDB so pandas gets int64/float64/datetime64[ns]: the only dtypes GX checks
    vectorised (anything else falls back to a Python call per row). Dates are clamped into the
    datetime64[ns] span; a clamped value is still far outside any range a suite accepts."""
    quoted = quote_ident(column)
    kind = duckdb_type.split("(")[0].upper()
    if kind in {"DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP WITH TIME ZONE"}:
        return (
            f"cast(least(greatest(cast({quoted} as timestamp), timestamp '1678-01-01'), "
            f"timestamp '2261-12-31') as timestamp_ns) as {quoted}"
        )
    if kind in {"TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT", "UINTEGER"}:
        return f"cast({quoted} as bigint) as {quoted}"
    if kind in {"DECIMAL", "FLOAT", "REAL", "HUGEINT", "UBIGINT", "UHUGEINT"}:
        return f"cast({quoted} as double) as {quoted}"
    return quoted


@dataclass(frozen=True)
class Group:
    """Expectations validated together over the same columns and the same way of reading them."""

    mode: str  # stream | partition | whole
    indices: tuple[int, ...]
    columns: dict[str, str]


def plan_groups(expectations: list[Any], existing: dict[str, str]) -> list[Group]:
    """Expectations grouped by how they read the table, each group with the columns it needs."""
    groups: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    for i, exp in enumerate(expectations):
        cols = tuple(sorted(c for c in columns_of(exp.configuration) if c in existing))
        if exp.expectation_type in ROW_WISE:
            key: tuple[str, tuple[str, ...]] = ("stream", ())
        elif exp.expectation_type in KEYED and cols:
            key = ("partition", cols)
        else:
            key = ("whole", ())
        groups.setdefault(key, []).append(i)
    return [
        Group(
            mode,
            tuple(indices),
            {
                c: t
                for c, t in existing.items()
                if any(c in columns_of(expectations[i].configuration) for i in indices)
            },
        )
        for (mode, _), indices in groups.items()
    ]


def frames(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    group: Group,
    rows: int,
    chunk_rows: int,
) -> Iterator[pd.DataFrame]:
    """Yield the group's columns as dataframes of at most ~chunk_rows rows (at least one frame,
    maybe empty, so every expectation runs)."""
    quoted = [quote_ident(c) for c in group.columns]
    select = ", ".join(_select_expr(c, t) for c, t in group.columns.items())
    # a row count needs rows, not columns
    query = f"select {select or 'true as _row'} from {relation}"  # noqa: S608 - quoted identifiers
    parts = -(-rows // chunk_rows)
    if group.mode == "partition" and parts > 1:
        # Copies of a key always share a partition, so per-partition duplicate counts add up.
        for part in range(parts):
            # ubigint parameters: an integer literal makes DuckDB compute in hugeint, 25x slower
            sql = f"{query} where hash({', '.join(quoted)}) % ?::ubigint = ?::ubigint"
            yield _arrow_to_pandas(con.execute(sql, [parts, part]).to_arrow_table())
        return
    if group.mode != "stream":
        yield _arrow_to_pandas(con.execute(query).to_arrow_table())
        return
    reader = con.execute(query).fetch_record_batch(chunk_rows)
    empty = True
    for batch in reader:
        empty = False
        yield _arrow_to_pandas(batch)
    if empty:
        yield _arrow_to_pandas(reader.schema.empty_table())


def _arrow_to_pandas(data: pa.Table | pa.RecordBatch) -> pd.DataFrame:
    return data.to_pandas(types_mapper=_ARROW_DTYPES.get)
