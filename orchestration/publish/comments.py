"""Table and column comments in published files, so a SQL client shows what each column holds.

dbt writes every mart's description into the staging database (``persist_docs``), but
``create table ... as select`` does not carry comments over: the publish copies them from the
staging catalog. The ledger's own table (``ledger_versions``) is described here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb

from orchestration.sql import quote_ident, sql_literal

VERSIONS_TABLE_COMMENT = (
    "Every version of this dataset in the registry (versions/registry.sqlite) when this file was "
    "served; is_served marks the version this file holds. Not part of the immutable version files."
)
VERSIONS_COLUMN_COMMENTS: dict[str, str] = {
    "version_id": "Version number (v0007 is 7); never reused.",
    "status": "published, or deleted (its file removed by `ledger gc`).",
    "run_id": "Dagster run that built the version.",
    "created_at": "When the version was registered (UTC).",
    "code_version": "Git commit of the code, with -dirty.<hash> for uncommitted changes.",
    "fingerprint": "SHA-256 of the input file hashes and the code version; equal means unchanged.",
    "input_hashes": "JSON {input file relative to data/raw: sha256} of every input file read.",
    "row_counts": "JSON {table: rows} of the published tables.",
    "validation": "JSON summary of the audit (GX suites and dbt tests: passed, warned, failed).",
    "message": "Optional note recorded with the version.",
    "is_served": "True for the version this file holds.",
}


def copy_comments(con: duckdb.DuckDBPyConnection, source: str, tables: Sequence[str]) -> None:
    """Give ``main.<table>`` (or view) of the current database the comments of
    ``<source>.main.<table>``."""
    if not tables:
        return
    table_comments = con.execute(
        "select 'table', table_name, comment from duckdb_tables() where database_name = ? "
        "and schema_name = 'main' and list_contains(?, table_name) and comment is not null "
        "union all select 'view', view_name, comment from duckdb_views() where database_name = ? "
        "and schema_name = 'main' and list_contains(?, view_name) and comment is not null",
        [source, list(tables), source, list(tables)],
    ).fetchall()
    column_comments = con.execute(
        "select table_name, column_name, comment from duckdb_columns() where database_name = ? "
        "and schema_name = 'main' and list_contains(?, table_name) and comment is not null",
        [source, list(tables)],
    ).fetchall()
    for kind, table, comment in table_comments:
        _comment(con, kind, f"main.{quote_ident(table)}", comment)
    for table, column, comment in column_comments:
        _comment(con, "column", f"main.{quote_ident(table)}.{quote_ident(column)}", comment)


def comment_table(
    con: duckdb.DuckDBPyConnection, table: str, comment: str, columns: Mapping[str, str]
) -> None:
    """Comment one table of schema main and the given columns of it."""
    _comment(con, "table", f"main.{quote_ident(table)}", comment)
    for column, text in columns.items():
        _comment(con, "column", f"main.{quote_ident(table)}.{quote_ident(column)}", text)


def _comment(con: duckdb.DuckDBPyConnection, kind: str, target: str, text: str) -> None:
    """COMMENT ON takes no bind parameters; dbt's folded YAML descriptions end in a newline."""
    con.execute(f"comment on {kind} {target} is {sql_literal(' '.join(text.split()))}")
