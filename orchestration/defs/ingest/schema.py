"""What the asset pages show about the raw tables: their columns (from the contract) and where
they are stored, so a raw asset documents itself like a dbt model does."""

from __future__ import annotations

import re

import dagster as dg

from orchestration.ingest.contract import DDL, RAW_SCHEMA, contract_columns

_COMMENT = re.compile(r"^\s*(\w+)\s.*?--\s*(.+?)\s*$")


def _comments(table: str) -> dict[str, str]:
    """The ``-- comment`` written after each column of the DDL: its description."""
    found: dict[str, str] = {}
    for line in DDL[table].splitlines():
        if match := _COMMENT.match(line):
            found.setdefault(match.group(1), match.group(2))
    return found


def raw_table_metadata(table: str) -> dict[str, object]:
    """``dagster/column_schema`` (names, DuckDB types, nullability, DDL comments) and
    ``dagster/table_name`` of one raw table in the staging database."""
    comments = _comments(table)
    columns = [
        dg.TableColumn(
            name=name,
            type=data_type,
            description=comments.get(name),
            constraints=dg.TableColumnConstraints(nullable=bool(nullable)),
        )
        for name, data_type, nullable in contract_columns()[table]
    ]
    return {
        "dagster/column_schema": dg.TableSchema(columns=columns),
        "dagster/table_name": f"staging.{RAW_SCHEMA}.{table}",
    }
