"""Where the shared version catalog is (settings) and how to open it (DuckDB connections).

``LEDGER_LAKE_CATALOG_URL`` (a ``postgresql://`` URL: DuckLake's catalog) and
``LEDGER_LAKE_DATA_PATH`` (a folder, or ``s3://bucket/prefix/`` through httpfs: its Parquet
files, a path nothing else writes to, as gc deletes the files the catalog does not know). The
lake is attached as ``lake``; DuckLake's tables go to the Postgres schema ``ledger_lake``, so
the database can be the one Dagster's storage uses (``LEDGER_PG_URL``).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import duckdb

from orchestration.duckdb_extensions import load_bundled
from orchestration.publish.registry import VersionError
from orchestration.sql import connect, quote_ident, sql_literal

CATALOG_ENV = "LEDGER_LAKE_CATALOG_URL"  # postgresql://user:password@host:5432/database
DATA_PATH_ENV = "LEDGER_LAKE_DATA_PATH"  # a folder, or s3://bucket/prefix/ (httpfs)
METADATA_SCHEMA = "ledger_lake"
LAKE = "lake"  # the alias the lake is attached under (lake.py's SQL says lake.)
EXTENSIONS_DIR = Path(tempfile.gettempdir()) / "ledger-duckdb-extensions"


@dataclass(frozen=True)
class LakeSettings:
    """Where the shared catalog and its data files are (environment, see README)."""

    catalog_url: str
    data_path: str

    @classmethod
    def from_env(cls) -> LakeSettings | None:
        """None when the catalog is not configured: the one-machine store is used."""
        url = os.environ.get(CATALOG_ENV, "").strip()
        if not url:
            return None
        if urlsplit(url).scheme not in ("postgresql", "postgres"):
            raise VersionError(f"{CATALOG_ENV} must be a postgresql:// URL")
        data = os.environ.get(DATA_PATH_ENV, "").strip()
        if not data:
            raise VersionError(f"{CATALOG_ENV} is set but {DATA_PATH_ENV} is not: set both")
        if "://" not in data:
            data = str(Path(data).resolve())
        return cls(url, data.rstrip("/") + "/")

    @property
    def remote(self) -> bool:
        return "://" in self.data_path

    def display(self) -> str:
        """The catalog as users see it: the URL without its password."""
        parts = urlsplit(self.catalog_url)
        host = parts.netloc.rpartition("@")[2]
        user = parts.username or ""
        netloc = f"{user}@{host}" if user else host
        return f"ducklake:postgres:{urlunsplit(parts._replace(netloc=netloc))}"


def open_lake(
    settings: LakeSettings, snapshot: int | None = None, write: bool = False
) -> duckdb.DuckDBPyConnection:
    """A connection with the lake attached as ``lake`` (and in use): read-only unless ``write``,
    at ``snapshot`` when given, else the latest. Raises ``NoLake`` before the first publish."""
    con = connect(None)
    try:
        names = ["ducklake", "postgres_scanner", *(["httpfs"] if settings.remote else [])]
        try:
            load_bundled(con, EXTENSIONS_DIR, *names)
        except ModuleNotFoundError as exc:
            raise missing(exc) from None
        if write and settings.remote:
            _s3_secret(con)
        attach_snapshot(con, settings, LAKE, snapshot, write)
        con.execute(f"use {LAKE}")
    except BaseException:
        con.close()
        raise
    return con


def missing(exc: ModuleNotFoundError) -> VersionError:
    """One line instead of a traceback when the scale dependency group is not installed."""
    return VersionError(f"{exc.name} is not installed: the shared catalog needs make setup-scale")


def pg_connect(url: str) -> Any:
    """A psycopg2 connection (the scale group; only a configured lake needs it)."""
    try:
        import psycopg2
    except ModuleNotFoundError as exc:
        raise missing(exc) from None
    return psycopg2.connect(url)


class NoLake(VersionError):
    """The catalog has no DuckLake yet: nothing was published to it."""


def attach_snapshot(
    con: duckdb.DuckDBPyConnection,
    settings: LakeSettings,
    alias: str,
    snapshot: int | None = None,
    write: bool = False,
) -> None:
    options = [f"metadata_schema {sql_literal(METADATA_SCHEMA)}"]
    options += [f"data_path {sql_literal(settings.data_path)}"] if write else ["read_only"]
    options += [f"snapshot_version {int(snapshot)}"] if snapshot is not None else []
    target = sql_literal(f"ducklake:postgres:{settings.catalog_url}")
    try:
        con.execute(f"attach {target} as {quote_ident(alias)} ({', '.join(options)})")
    except duckdb.InvalidInputException as exc:
        if "does not exist" in str(exc) and not write:
            raise NoLake(f"nothing published yet to {settings.display()}") from None
        raise


def _s3_secret(con: duckdb.DuckDBPyConnection) -> None:
    """S3 credentials from the usual AWS variables, when set (else DuckDB's defaults)."""
    env = {
        "key_id": "AWS_ACCESS_KEY_ID",
        "secret": "AWS_SECRET_ACCESS_KEY",
        "region": "AWS_REGION",
        "endpoint": "AWS_ENDPOINT_URL",
    }
    given = {k: os.environ[v] for k, v in env.items() if os.environ.get(v)}
    if given:
        options = "".join(f", {k} {sql_literal(v)}" for k, v in given.items())
        con.execute(f"create or replace secret ledger_lake_s3 (type s3{options})")
