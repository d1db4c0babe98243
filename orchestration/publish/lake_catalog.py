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
        elif not data.startswith("s3://"):  # only S3 has its secret made here (s3_secret)
            raise VersionError(f"{DATA_PATH_ENV} must be a folder or s3://bucket/prefix/")
        return cls(url, data.rstrip("/") + "/")

    @property
    def on_s3(self) -> bool:
        return self.data_path.startswith("s3://")

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
        names = ["ducklake", "postgres_scanner", *(["httpfs"] if settings.on_s3 else [])]
        try:
            load_bundled(con, EXTENSIONS_DIR, *names)
        except ModuleNotFoundError as exc:
            raise missing(exc) from None
        if settings.on_s3:
            s3_secret(con)
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


def s3_secret(con: duckdb.DuckDBPyConnection) -> None:
    """The S3 secret httpfs signs requests with, from the standard AWS variables: every
    connection reads (time travel, gc) or writes Parquet under s3://, and one place keeps the
    variables' names, defaults and one-line errors. An ``AWS_ENDPOINT_URL`` is an S3-compatible
    server (MinIO, moto): its host:port, path-style URLs, TLS as its scheme says."""
    options = {
        "key_id": _required("AWS_ACCESS_KEY_ID"),
        "secret": _required("AWS_SECRET_ACCESS_KEY"),
        "region": _env("AWS_REGION") or _env("AWS_DEFAULT_REGION") or "us-east-1",
    }
    if token := _env("AWS_SESSION_TOKEN"):
        options["session_token"] = token
    if endpoint := _env("AWS_ENDPOINT_URL"):
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise VersionError(f"AWS_ENDPOINT_URL must be http(s)://host[:port], not {endpoint}")
        options |= {"endpoint": parts.netloc, "url_style": "path"}
        options["use_ssl"] = str(parts.scheme == "https").lower()
    sql = ", ".join(f"{k} {sql_literal(v)}" for k, v in options.items())
    con.execute(f"create or replace secret ledger_lake_s3 (type s3, {sql})")


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def _required(name: str) -> str:
    """One line, naming the variable, instead of httpfs's 403 at the first file."""
    if value := _env(name):
        return value
    raise VersionError(f"{DATA_PATH_ENV} is on s3:// but {name} is not set")
