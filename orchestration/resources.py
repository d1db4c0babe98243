"""Dagster resources: configured by env vars, with defaults that work with no configuration."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from orchestration.paths import LedgerPaths


class LedgerResource(dg.ConfigurableResource):
    """The ledger home; every asset reaches files and the staging database through it."""

    home: str | None = None

    @property
    def paths(self) -> LedgerPaths:
        return LedgerPaths.from_env(self.home).ensure()

    @contextmanager
    def staging(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection: DuckDB allows one writer per file, so never hold it."""
        con = duckdb.connect(str(self.paths.staging_db), read_only=read_only)
        try:
            yield con
        finally:
            con.close()
