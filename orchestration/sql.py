"""Small DuckDB helpers shared by ingest, quality and the version store."""

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb


def quote_ident(name: str) -> str:
    """A safe identifier for names that cannot be bind parameters (tables, columns, aliases)."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(text: str) -> str:
    """For the few statements that take no bind parameters (ATTACH, INSTALL, SET)."""
    return "'" + text.replace("'", "''") + "'"


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All or nothing: a failure rolls back, so a reader never sees half a change."""
    con.execute("begin transaction")
    try:
        yield
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")
