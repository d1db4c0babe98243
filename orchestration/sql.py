"""Small DuckDB and file helpers shared by ingest, quality, the version store and the CLI.

Import-light on purpose (no Dagster, dbt or GX): the read-only CLI commands use it.
"""

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

# DuckDB takes 80% of RAM by default; cap it so ingest, dbt and publish spill to disk instead.
# dbt's profile (dbt_project/profiles.yml) must repeat the default; test_contract keeps them equal.
DEFAULT_MEMORY_LIMIT = "1.5GB"
MEMORY_LIMIT = os.environ.get("LEDGER_DUCKDB_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)


def connect(
    path: Path | None,
    read_only: bool = False,
    block_size: int | None = None,
    storage_version: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """No progress bars: they would land in CLI output and Dagster logs on large tables. An
    in-memory database (a diff of two versions) spills to the system temp folder, not to
    ``.tmp`` in whatever folder the process runs in (DuckDB's default). ``block_size`` and
    ``storage_version`` apply to a file this creates (an existing file keeps its own)."""
    config = {"memory_limit": MEMORY_LIMIT}
    if block_size is not None:
        config["default_block_size"] = str(block_size)
    if storage_version is not None:
        config["storage_compatibility_version"] = storage_version
    if path is None:
        config["temp_directory"] = str(Path(tempfile.gettempdir()) / f"ledger-duckdb-{os.getpid()}")
    con = duckdb.connect(
        ":memory:" if path is None else str(path), read_only=read_only, config=config
    )
    con.execute("set enable_progress_bar = false")
    return con


def attach(con: duckdb.DuckDBPyConnection, path: Path, alias: str, read_only: bool) -> None:
    """ATTACH takes no bind parameters: quote the path as a literal, the alias as an identifier."""
    mode = " (read_only)" if read_only else ""
    con.execute(f"attach {sql_literal(str(path))} as {quote_ident(alias)}{mode}")


def sha256_file(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def fsync(path: Path) -> None:
    """A file's or folder's bytes (a folder: its entries, after a rename) on disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def quote_ident(name: str) -> str:
    """A safe identifier for names that cannot be bind parameters (tables, columns, aliases)."""
    return '"' + name.replace('"', '""') + '"'


def table_exists(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, catalog: str | None = None
) -> bool:
    """Whether ``schema.table`` exists in the connection's databases, or in ``catalog`` only
    (an attached file) when given (staging built or not)."""
    return bool(
        con.execute(
            "select count(*) from information_schema.tables"
            " where table_schema = ? and table_name = ?"
            " and table_catalog = coalesce(?, table_catalog)",
            [schema, table, catalog],
        ).fetchone()[0]
    )


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
