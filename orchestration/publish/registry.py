"""The registry (``versions/registry.sqlite``): every version, which file is served, an event log.

Writes come from a publish, rollback or gc under the publish lock (see publisher.py), in WAL
mode so the CLI reads while a run writes. Reads write nothing, also on read-only storage
(see sqlite_read.py).

A publish killed after its swap but before its registry commit leaves the version served but
``pending``: reads then ask the served file, whose ``ledger_versions`` says which it holds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from orchestration.paths import LedgerPaths
from orchestration.publish.sqlite_read import Rows, identity, read_registry
from orchestration.sql import connect

VERSIONS_TABLE = "ledger_versions"  # the registry's copy in the served file

REGISTRY_DDL = (
    """create table if not exists versions (
        version_id integer primary key autoincrement,
        status text not null,               -- pending | published | deleted
        run_id text not null,
        created_at text not null,           -- ISO 8601 UTC
        code_version text not null,
        fingerprint text not null,          -- sha256 of input hashes + code version
        input_hashes text not null,         -- JSON {source_file: sha256}
        row_counts text,                    -- JSON {table: rows}
        unique_keys text,                   -- JSON {table: its PRIMARY_KEYS key is unique}
        validation text,                    -- JSON summary of the audit
        file_name text not null,
        file_bytes integer,                 -- disk it added: its file and the parts it wrote
        message text
    )""",
    """create table if not exists served_files (
        identity text primary key,          -- see identity(); inode numbers get reused
        version_id integer not null,
        at text not null
    )""",
    """create table if not exists events (
        event_id integer primary key autoincrement,
        at text not null,
        kind text not null,                 -- publish|unchanged|rollback|restore|gc|recovered
        version_id integer,
        run_id text,
        detail text
    )""",
)

VERSION_COLUMNS = (
    "version_id, status, run_id, created_at, code_version, fingerprint, input_hashes, "
    "row_counts, validation, file_name, file_bytes, message, unique_keys"
)


class VersionError(RuntimeError):
    """A version request the store cannot satisfy (unknown id, deleted file, ...)."""


@dataclass(frozen=True)
class Version:
    version_id: int
    status: str
    run_id: str
    created_at: str
    code_version: str
    fingerprint: str
    input_hashes: dict[str, str]
    row_counts: dict[str, int]
    validation: dict[str, Any]
    file_name: str
    file_bytes: int | None
    message: str | None
    unique_keys: dict[str, bool]
    is_served: bool = False

    @property
    def label(self) -> str:
        return label(self.version_id)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def label(version_id: int) -> str:
    """How versions are shown and named on disk: v0007."""
    return f"v{version_id:04d}"


def parse_version_id(text: str | int) -> int:
    """Accept ``7``, ``"7"``, ``"v7"`` and ``"v0007"`` alike."""
    raw = str(text).strip().lower().removeprefix("v")
    if not raw.isdigit():
        raise VersionError(f"not a version id: {text!r} (expected e.g. 7 or v7)")
    return int(raw)


class Registry:
    """Reads and writes of the registry; the served file settles a publish killed mid-way."""

    def __init__(self, paths: LedgerPaths) -> None:
        self.dir = paths.versions_dir
        self.path = self.dir / "registry.sqlite"
        self.serving = paths.serving_db

    # -- reads ----------------------------------------------------------------------------
    def versions(self) -> list[Version]:
        """Every published or garbage-collected version, oldest first."""
        served = self.served_version_id()
        rows = self._rows("where status <> 'pending' or version_id = ?", [served], served)
        return [v for v in map(self._as_served, rows) if v is not None]

    def get(self, version_id: int | str) -> Version:
        vid = parse_version_id(version_id)
        served = self.served_version_id()
        rows = self._rows(
            "where version_id = ? and (status <> 'pending' or version_id = ?)",
            [vid, served],
            served,
        )
        rows = [v for v in map(self._as_served, rows) if v is not None]
        if not rows:
            raise VersionError(f"version {label(vid)} does not exist (see `ledger versions`)")
        return rows[0]

    def latest(self) -> Version | None:
        rows = self.versions()
        return rows[-1] if rows else None

    def row(self, vid: int) -> Version | None:
        """The registry's row as it is, pending or not."""
        rows = self._rows("where version_id = ?", [vid])
        return rows[0] if rows else None

    def pending(self) -> list[Version]:
        return self._rows("where status = 'pending'")

    def served_with(self, vid: int) -> list[Version]:
        """The rows a served file of ``vid`` lists: all but pending ones, ``vid`` included."""
        return self._rows("where status <> 'pending' or version_id = ?", [vid])

    def version_path(self, version: Version) -> Path:
        return self.dir / version.file_name

    def served_version_id(self) -> int | None:
        """Which version the served file is, by its file identity (no DuckDB open: a process
        that still holds the file would be handed its cached, older database)."""
        if not self.serving.exists():
            return None
        known = self.registered_as_served(self.serving)
        if known is not None:
            return known
        try:  # a served file the registry never saw (copied in by hand): ask the file
            return self._served_file_version()
        except duckdb.Error:
            return None

    def registered_as_served(self, path: Path) -> int | None:
        """The version a publish or rollback built ``path`` from, if one did."""
        _, rows = self._select(
            "select version_id from served_files where identity = ?", [identity(path)]
        )
        return rows[0][0] if rows else None

    def events(self) -> list[dict[str, Any]]:
        names, rows = self._select(
            "select event_id, at, kind, version_id, run_id, detail from events order by event_id"
        )
        return [dict(zip(names, r, strict=True)) for r in rows]

    def _rows(
        self, where: str = "", params: Sequence[Any] = (), served: int | None = None
    ) -> list[Version]:
        sql = f"select {VERSION_COLUMNS} from versions {where} order by version_id"  # noqa: S608
        _, rows = self._select(sql, params)
        return [
            Version(
                version_id=r[0],
                status=r[1],
                run_id=r[2],
                created_at=r[3],
                code_version=r[4],
                fingerprint=r[5],
                input_hashes=json.loads(r[6]),
                row_counts=json.loads(r[7] or "{}"),
                validation=json.loads(r[8] or "{}"),
                file_name=r[9],
                file_bytes=r[10],
                message=r[11],
                unique_keys=json.loads(r[12] or "{}"),
                is_served=r[0] == served,
            )
            for r in rows
        ]

    def _as_served(self, version: Version) -> Version | None:
        """A pending version counts as published only if the served file says it holds it."""
        if version.status != "pending":
            return version
        try:
            confirmed = self._served_file_version() == version.version_id
        except duckdb.Error:
            confirmed = False
        return dataclasses.replace(version, status="published") if confirmed else None

    def _served_file_version(self) -> int | None:
        con = connect(self.serving, read_only=True)
        try:
            row = con.execute(
                f"select version_id from main.{VERSIONS_TABLE} where is_served"  # noqa: S608
            ).fetchone()
        finally:
            con.close()
        return row[0] if row else None

    def _select(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        """A read that creates nothing: no registry yet reads as no rows, and so does one the
        first publish has created but not yet given its tables (a moment, but a real one)."""
        if not self.path.exists():
            return [], []
        try:
            return read_registry(self.path, sql, params)
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            count = "select count(*) from sqlite_master where type = 'table'"
            if read_registry(self.path, count)[1] != [(0,)]:
                raise
            return [], []

    # -- writes (under the publish lock) --------------------------------------------------
    def register(
        self,
        run_id: str,
        code: str,
        fingerprint: str,
        input_hashes: Mapping[str, str],
        validation: Mapping[str, Any],
        message: str | None,
    ) -> tuple[int, str]:
        """A new ``pending`` version and its file name; the id is burnt even if the publish
        never finishes."""
        with self._write() as con:
            con.execute("begin immediate")
            vid = con.execute(
                "insert into versions (status, run_id, created_at, code_version, fingerprint, "
                "input_hashes, validation, file_name, message) "
                "values ('pending', ?, ?, ?, ?, ?, ?, '', ?) returning version_id",
                [
                    run_id,
                    _now(),
                    code,
                    fingerprint,
                    json.dumps(dict(sorted(input_hashes.items()))),
                    json.dumps(validation, default=str),
                    message,
                ],
            ).fetchone()[0]
            file_name = f"{label(vid)}.duckdb"
            con.execute("update versions set file_name = ? where version_id = ?", [file_name, vid])
            con.execute("commit")
        return vid, file_name

    def record_file(
        self, vid: int, row_counts: Mapping[str, int], unique: Mapping[str, bool], size: int
    ) -> None:
        with self._write() as con:
            con.execute(
                "update versions set row_counts = ?, unique_keys = ?, file_bytes = ? "
                "where version_id = ?",
                [json.dumps(row_counts), json.dumps(unique), size, vid],
            )

    def mark_published(self, vid: int, run_id: str, detail: Any) -> None:
        """Status and its ``publish`` event in one transaction."""
        with self._write() as con:
            con.execute("begin immediate")
            con.execute("update versions set status = 'published' where version_id = ?", [vid])
            _insert_event(con, "publish", vid, run_id, detail)
            con.execute("commit")

    def mark_deleted(self, vid: int) -> None:
        with self._write() as con:
            con.execute("update versions set status = 'deleted' where version_id = ?", [vid])

    def discard(self, vid: int) -> None:
        with self._write() as con:
            con.execute("delete from versions where version_id = ?", [vid])

    def record_served(self, path: Path, vid: int) -> None:
        """Before the swap, so a crash right after it is known."""
        with self._write() as con:
            con.execute(
                "insert or replace into served_files values (?, ?, ?)",
                [identity(path), vid, _now()],
            )

    def event(self, kind: str, vid: int | None, run_id: str | None, detail: Any) -> None:
        with self._write() as con:
            _insert_event(con, kind, vid, run_id, detail)

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """For writes only (it creates the registry); reads go through :meth:`_select`."""
        self.dir.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            con.execute("pragma journal_mode=wal")
            con.execute("pragma synchronous=full")
            for ddl in REGISTRY_DDL:
                con.execute(ddl)
            yield con
        finally:
            con.close()


def _insert_event(
    con: sqlite3.Connection, kind: str, vid: int | None, run_id: str | None, detail: Any
) -> None:
    con.execute(
        "insert into events (at, kind, version_id, run_id, detail) values (?, ?, ?, ?, ?)",
        [_now(), kind, vid, run_id, json.dumps(detail, default=str)],
    )


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
