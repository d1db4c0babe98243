"""Dagster resources: configured by env vars, with defaults that work with no configuration."""

import time
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from orchestration.paths import LedgerPaths
from orchestration.sql import MEMORY_LIMIT

# A `dbt build` orphaned by a kill -9 of its run keeps the staging write lock until it ends
# (about as long as a build): the next run waits for it instead of failing.
LOCK_WAIT_SECONDS = 120.0


def connect_when_free(
    path: str, read_only: bool = False, wait: float = LOCK_WAIT_SECONDS
) -> duckdb.DuckDBPyConnection:
    """Open ``path`` once no other process holds DuckDB's lock on it (up to ``wait`` s)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return duckdb.connect(path, read_only=read_only, config={"memory_limit": MEMORY_LIMIT})
        except duckdb.IOException as exc:
            if "Could not set lock" not in str(exc) or time.monotonic() > deadline:
                raise
            dg.get_dagster_logger().warning(
                f"staging database busy, waiting: {str(exc).splitlines()[0]}"
            )
            time.sleep(1.0)


class LedgerResource(dg.ConfigurableResource):
    """The ledger home; every asset reaches files and the staging database through it."""

    home: str | None = None

    @property
    def paths(self) -> LedgerPaths:
        return LedgerPaths.from_env(self.home).ensure()

    @contextmanager
    def staging(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection: DuckDB allows one writer per file, so never hold it."""
        con = connect_when_free(str(self.paths.staging_db), read_only=read_only)
        try:
            yield con
        finally:
            con.close()
