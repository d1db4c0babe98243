"""The working database: ingest and dbt write it, one process at a time, so everyone opens it
briefly and waits their turn rather than failing on DuckDB's file lock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

import duckdb

from orchestration.paths import LedgerPaths
from orchestration.sql import connect

# A `dbt build` orphaned by a kill -9 of its run keeps the staging write lock until it ends
# (about as long as a build): the next run waits for it instead of failing.
# Not dagster-duckdb's DuckDBResource (0.29, for this Dagster): its get_connection retries
# duckdb.connect 10 times with doubling sleeps (~100 s in all, not configurable), on any
# IOException or RuntimeError rather than the lock alone, logs nothing while it waits, always
# opens read-write (the audit reads staging read-only) and is one more dependency.
LOCK_WAIT_SECONDS = 120.0
# The storage format of a staging file this creates (an existing one keeps its own); only this
# DuckDB reads it, unlike the version files BI opens. DuckDB's default, 1.0's format for
# compatibility, makes every big write slower: 10 M manifest rows take 15.8 s to insert and
# checkpoint instead of 21 s. dbt's profile (dbt_project/profiles.yml) repeats it, for a
# staging file dbt creates; test_contract keeps them equal.
STORAGE_VERSION = "v1.5.0"


def connect_when_free(
    path: str, read_only: bool = False, wait: float = LOCK_WAIT_SECONDS
) -> duckdb.DuckDBPyConnection:
    """Open ``path`` once no other process holds DuckDB's lock on it (up to ``wait`` s)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return connect(Path(path), read_only=read_only, storage_version=STORAGE_VERSION)
        except duckdb.IOException as exc:
            if "Could not set lock" not in str(exc) or time.monotonic() > deadline:
                raise
            import dagster as dg  # here only: the GX worker opens staging without Dagster

            dg.get_dagster_logger().warning(
                f"staging database busy, waiting: {str(exc).splitlines()[0]}"
            )
            time.sleep(1.0)


@contextmanager
def open_staging(
    paths: LedgerPaths, read_only: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection: DuckDB allows one writer per file, so never hold it."""
    con = connect_when_free(str(paths.staging_db), read_only=read_only)
    try:
        yield con
    finally:
        con.close()


class StagingAccess(Protocol):
    """What library code needs of the ledger resource: its paths and the staging database."""

    @property
    def paths(self) -> LedgerPaths: ...

    def staging(
        self, read_only: bool = False
    ) -> AbstractContextManager[duckdb.DuckDBPyConnection]: ...
