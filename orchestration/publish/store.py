"""The version store: immutable per-version DuckDB files, a SQLite registry, one served file.

Layout under ``versions_dir``: ``v0007.duckdb`` per version (read-only mode bits, never
hard-linked to the served file, so a read-write BI session cannot alter history), and
``registry.sqlite`` in WAL mode so the CLI reads it while a run writes (every read goes
through ``registry.read_registry``, which writes nothing: storage may be read-only). The
served file (``serving_db``) is a copy of one version plus a ``ledger_versions`` table, built
under a temp name and swapped in with ``os.replace``: readers keep the inode they opened.
Read-write BI sessions on published files are refused and cut short by ``guard.py``.

Crash safety: a version is registered as ``pending`` first, its files are written under temp
names, fsynced and renamed, and only then marked ``published``. The next publish (under the
same lock) deletes temp files and either rolls a pending version forward (it was already
swapped in) or discards it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import importlib.metadata
import json
import os
import shutil
import signal
import sqlite3
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from orchestration.inputs import fingerprint_of
from orchestration.paths import PROJECT_ROOT, LedgerPaths
from orchestration.publish.comments import (
    VERSIONS_COLUMN_COMMENTS,
    VERSIONS_TABLE_COMMENT,
    comment_table,
    copy_comments,
)
from orchestration.publish.diff_values import changed_values
from orchestration.publish.guard import Finding, guard_wal, read_write_client, wal_path
from orchestration.publish.registry import read_registry
from orchestration.sql import MEMORY_LIMIT, quote_ident, sql_literal
from orchestration.storage import cannot_write

VERSIONS_TABLE = "ledger_versions"

# Row identity per mart table for `diff`, natural keys so samples are readable (waybill_no, not
# its hash shipment_id); a table without one (or whose key is not unique in both versions) is
# compared as a multiset of whole rows.
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "fct_shipments": ("waybill_no",),
    "fct_munitions_equivalent": ("waybill_no",),
    "fct_waybill_versions": ("waybill_no", "source_file", "source_row"),
    "fct_voyages": ("voyage_id",),
    "agg_munitions_by_profile": ("month", "route_id", "profile_id"),
    "agg_monthly_flows": ("month", "route_id"),
    "fct_claims": ("claim_id",),
    "fct_claim_reconciliation": ("claim_id",),
    "dim_stations": ("station_code",),
    "dim_ports": ("port_code",),
    "dim_vessels": ("vessel_name",),
    "dim_reports": ("report_id",),
}

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
        file_bytes integer,
        message text
    )""",
    """create table if not exists served_files (
        identity text primary key,          -- see _identity(); inode numbers get reused
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
CODE_PATHS = ("orchestration", "dbt_project", "expectations", "pyproject.toml", "uv.lock")
# Test hook: SIGKILL this process at a named point of a publish, to prove crash safety.
FAULT_ENV = "LEDGER_PUBLISH_KILL_AT"


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


@dataclass(frozen=True)
class PublishResult:
    status: str  # published | unchanged
    version: Version
    previous: Version | None
    recovered: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # read-write clients, stray WALs


def code_version() -> str:
    """Git HEAD, plus a hash of uncommitted code changes so edits count; else the package version.

    Only code paths count: files a run writes (logs, GX "uncommitted") must not change it.
    """
    try:
        head = _git("rev-parse", "HEAD").strip()
        changes = _git("status", "--porcelain", "--untracked-files=all", "--", *CODE_PATHS)
    except (OSError, subprocess.CalledProcessError):
        return importlib.metadata.version("shipment-ledger")
    changed = sorted(line for line in changes.splitlines() if "/uncommitted/" not in line)
    if not changed:
        return head
    digest = hashlib.sha256(_git("diff", "HEAD", "--binary", "--", *CODE_PATHS).encode())
    for line in changed:
        digest.update(line.encode())
        path = PROJECT_ROOT / line[3:]
        if line.startswith("??") and path.is_file():
            digest.update(path.read_bytes())
    return f"{head}-dirty.{digest.hexdigest()[:12]}"


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, check=True
    ).stdout


def label(version_id: int) -> str:
    """How versions are shown and named on disk: v0007."""
    return f"v{version_id:04d}"


def parse_version_id(text: str | int) -> int:
    """Accept ``7``, ``"7"``, ``"v7"`` and ``"v0007"`` alike."""
    raw = str(text).strip().lower().removeprefix("v")
    if not raw.isdigit():
        raise VersionError(f"not a version id: {text!r} (expected e.g. 7 or v7)")
    return int(raw)


def connect(path: Path | None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """No progress bars: they would land in CLI output and Dagster logs on large tables."""
    con = duckdb.connect(
        ":memory:" if path is None else str(path),
        read_only=read_only,
        config={"memory_limit": MEMORY_LIMIT},
    )
    con.execute("set enable_progress_bar = false")
    return con


def attach(con: duckdb.DuckDBPyConnection, path: Path, alias: str, read_only: bool) -> None:
    """ATTACH takes no bind parameters: quote the path as a literal, the alias as an identifier."""
    mode = " (read_only)" if read_only else ""
    con.execute(f"attach {sql_literal(str(path))} as {quote_ident(alias)}{mode}")


def main_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    """Base tables of schema main (the marts), excluding the registry copy."""
    rows = con.execute(
        "select table_name from information_schema.tables where table_catalog = ? "
        "and table_schema = 'main' and table_type = 'BASE TABLE' and table_name <> ? "
        "order by table_name",
        [catalog, VERSIONS_TABLE],
    ).fetchall()
    return [r[0] for r in rows]


def main_views(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, str]:
    """Views of schema main and their CREATE statements. Their queries name tables without a
    catalog (dbt: ``ref(...).include(database=False)``), so a copy reads its own file's tables."""
    rows = con.execute(
        "select view_name, sql from duckdb_views() where database_name = ? "
        "and schema_name = 'main' and not internal order by view_name",
        [catalog],
    ).fetchall()
    return dict(rows)


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> dict[str, str]:
    """Column name -> data type, in table order."""
    rows = con.execute(
        "select column_name, data_type from information_schema.columns where table_catalog = ? "
        "and table_schema = 'main' and table_name = ? order by ordinal_position",
        [catalog, table],
    ).fetchall()
    return dict(rows)


def _comparable(column: str, data_type: str) -> str:
    """Doubles compare to 12 significant digits: sums computed in parallel differ run to run
    in the last bits, which is not a change anyone should see in a diff."""
    ident = quote_ident(column)
    return f"printf('%.12g', {ident})" if data_type in ("DOUBLE", "FLOAT") else ident


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def _identity(path: Path) -> str:
    """Device, inode, size and mtime: unchanged by rename, distinct for every file we build."""
    st = path.stat()
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fault(stage: str) -> None:
    if os.environ.get(FAULT_ENV) == stage:
        os.kill(os.getpid(), signal.SIGKILL)


class VersionStore:
    """Publish, list, diff, roll back, query and garbage-collect dataset versions."""

    def __init__(self, paths: LedgerPaths) -> None:
        self.paths = paths
        self.dir = paths.versions_dir
        self.serving = paths.serving_db
        self.registry_path = self.dir / "registry.sqlite"

    # -- registry -------------------------------------------------------------------------
    @contextlib.contextmanager
    def _registry(self) -> Iterator[sqlite3.Connection]:
        """For writes only (it creates the registry); reads go through :meth:`_select`."""
        self.dir.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.registry_path, timeout=60, isolation_level=None)
        try:
            con.execute("pragma journal_mode=wal")
            con.execute("pragma synchronous=full")
            for ddl in REGISTRY_DDL:
                con.execute(ddl)
            yield con
        finally:
            con.close()

    def _select(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple]]:
        """A read that creates nothing: no registry yet reads as no rows, and so does one the
        first publish has created but not yet given its tables (a moment, but a real one)."""
        if not self.registry_path.exists():
            return [], []
        try:
            return read_registry(self.registry_path, sql, params)
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            count = "select count(*) from sqlite_master where type = 'table'"
            if read_registry(self.registry_path, count)[1] != [(0,)]:
                raise
            return [], []

    @contextlib.contextmanager
    def _lock(self, wait: bool = True) -> Iterator[bool]:
        """One publisher at a time; the kernel drops the lock if the holder is killed.

        Yields False, holding nothing, when ``wait`` is off and another process has it."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            handle = open(self.dir / ".publish.lock", "w")  # noqa: SIM115 - closed below
        except OSError as exc:  # read-only storage: one line naming the folder, no traceback
            raise cannot_write(self.dir, exc) from exc
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

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

    def already_published(self, fingerprint: str) -> Version | None:
        """The latest version if it already is what a run with this fingerprint would publish.

        None when there is work: a new fingerprint, no served file, or a publish that was
        killed half-way (the run recovers it). Asked by the sensor, the schedule and
        ``ledger run`` before any work.
        """
        if not self.registry_path.exists() or not self.serving.exists():
            return None
        latest = self.latest()
        if latest is None or latest.fingerprint != fingerprint or latest.status != "published":
            return None
        if self._rows("where status = 'pending'"):
            return None
        return latest

    def record_if_unchanged(self, fingerprint: str) -> Version | None:
        """:meth:`already_published`, with an ``unchanged`` event when it is: a run was asked."""
        latest = self.already_published(fingerprint)
        if latest is not None:
            self._event("unchanged", latest.version_id, None, {"fingerprint": fingerprint})
        return latest

    def _as_served(self, version: Version) -> Version | None:
        """A publish killed after its swap, before its registry commit, leaves the version
        served but ``pending`` (the next run marks it published). The read side, which writes
        nothing, asks the served file itself: its ``ledger_versions`` says which it is."""
        if version.status != "pending":
            return version
        try:
            confirmed = self._served_file_version() == version.version_id
        except duckdb.Error:
            confirmed = False
        return dataclasses.replace(version, status="published") if confirmed else None

    def served_version_id(self) -> int | None:
        """Which version the served file is, by its file identity (no DuckDB open: a process
        that still holds the file would be handed its cached, older database)."""
        if not self.serving.exists():
            return None
        _, rows = self._select(
            "select version_id from served_files where identity = ?", [_identity(self.serving)]
        )
        if rows:
            return rows[0][0]
        try:  # a served file the registry never saw (copied in by hand): ask the file
            return self._served_file_version()
        except duckdb.Error:
            return None

    def events(self) -> list[dict[str, Any]]:
        names, rows = self._select(
            "select event_id, at, kind, version_id, run_id, detail from events order by event_id"
        )
        return [dict(zip(names, r, strict=True)) for r in rows]

    def version_path(self, version: Version) -> Path:
        return self.dir / version.file_name

    # -- publish --------------------------------------------------------------------------
    def publish(
        self,
        staging_db: Path,
        run_id: str,
        input_hashes: Mapping[str, str],
        code: str,
        validation: Mapping[str, Any],
        message: str | None = None,
    ) -> PublishResult:
        """Copy every table of the staging schema ``main`` into a new version and serve it.

        Returns ``unchanged`` (and records that) when inputs and code match the latest version.
        """
        fingerprint = fingerprint_of(input_hashes, code)
        with self._lock():
            recovered = self.recover()
            previous = self.latest()
            if previous is not None and previous.fingerprint == fingerprint:
                self._event("unchanged", previous.version_id, run_id, {"fingerprint": fingerprint})
                findings = self._free_published_files()
                if not self.serving.exists():  # someone deleted it: serve the latest again
                    self._serve(previous.version_id)
                    self._event("restore", previous.version_id, run_id, {})
                return PublishResult("unchanged", previous, previous, recovered, findings)
            findings = self._check_published_files()
            with self._registry() as con:
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
                con.execute(
                    "update versions set file_name = ? where version_id = ?", [file_name, vid]
                )
                con.execute("commit")
            _fault("registered")
            try:
                final = self.dir / file_name
                row_counts, unique = self._write_version_file(staging_db, final)
                with self._registry() as con:
                    con.execute(
                        "update versions set row_counts = ?, unique_keys = ?, file_bytes = ? "
                        "where version_id = ?",
                        [json.dumps(row_counts), json.dumps(unique), final.stat().st_size, vid],
                    )
                _fault("version_written")
                findings += self._serve(vid, pending_ok=True)
            except Exception:
                self.recover()  # discards the attempt (or keeps it, if it was swapped in)
                raise
            _fault("served")
            with self._registry() as con:
                con.execute("begin immediate")
                con.execute("update versions set status = 'published' where version_id = ?", [vid])
                self._insert_event(con, "publish", vid, run_id, {"row_counts": row_counts})
                con.execute("commit")
            return PublishResult("published", self.get(vid), previous, recovered, findings)

    def _write_version_file(
        self, staging_db: Path, final: Path
    ) -> tuple[dict[str, int], dict[str, bool]]:
        """Copy the marts (tables, and views over them); also record which keys are unique, so
        a diff need not scan for it."""
        tmp = self.dir / f".tmp-{final.name}"
        tmp.unlink(missing_ok=True)
        con = connect(tmp)
        try:
            attach(con, staging_db, "stg", read_only=True)
            tables = main_tables(con, "stg")
            if not tables:
                raise VersionError(f"{staging_db}: schema main has no tables to publish")
            for table in tables:
                con.execute(
                    f"create table main.{quote_ident(table)} as "  # noqa: S608 - quoted identifier
                    f"select * from stg.main.{quote_ident(table)}"
                )
            views = main_views(con, "stg")
            for create in views.values():
                con.execute(create)
            copy_comments(con, "stg", [*tables, *views])
            counts = {
                t: con.execute(f"select count(*) from main.{quote_ident(t)}").fetchone()[0]  # noqa: S608
                for t in tables
            }
            here = con.execute("select current_database()").fetchone()[0]
            unique = {
                t: _unique(con, here, t, PRIMARY_KEYS[t])
                for t in tables
                if set(PRIMARY_KEYS.get(t, ("",))) <= set(_columns(con, here, t))
            }
            con.execute("detach stg")
            con.execute("checkpoint")
        finally:
            con.close()
        _fsync(tmp)
        tmp.chmod(0o444)
        guard_wal(final)  # before the file exists: no moment without the guard
        os.replace(tmp, final)
        _fsync(self.dir)
        return counts, unique

    def _serve(self, vid: int, pending_ok: bool = False) -> list[Finding]:
        """Build the served file from a version + registry snapshot and swap it in atomically.

        Returns the stray WAL found beside the served file, if any (moved aside first)."""
        allowed = ("published", "pending") if pending_ok else ("published",)
        rows = self._rows("where version_id = ?", [vid])
        if not rows or rows[0].status not in allowed:
            raise VersionError(f"version {label(vid)} is not published")
        source = self.version_path(rows[0])
        if not source.exists():
            raise VersionError(f"version {label(vid)}: file {source} is gone (garbage-collected?)")
        self.serving.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.serving.parent / f".{self.serving.name}.tmp-{label(vid)}"
        tmp.unlink(missing_ok=True)
        shutil.copyfile(source, tmp)
        tmp.chmod(0o644)
        registry = [
            {**v.as_dict(), "status": "published" if v.version_id == vid else v.status}
            for v in self._rows("where status <> 'pending' or version_id = ?", [vid])
        ]
        con = connect(tmp)
        try:
            _write_registry_table(con, registry, vid)
            con.execute("checkpoint")
        finally:
            con.close()
        _fsync(tmp)
        tmp.chmod(0o444)
        with self._registry() as reg:  # before the swap, so a crash right after it is known
            reg.execute(
                "insert or replace into served_files values (?, ?, ?)",
                [_identity(tmp), vid, _now()],
            )
        _fault("serving_built")
        # A WAL beside the served file can only come from a read-write session on the old file;
        # left there, the next opener would replay it onto the new one. See guard.py.
        stray = guard_wal(self.serving)
        os.replace(tmp, self.serving)
        _fsync(self.serving.parent)
        return [stray] if stray else []

    def free_published_files(self, wait: bool = True) -> list[Finding]:
        """Under the publish lock: :meth:`_free_published_files` (runs, the sensor). Without
        ``wait``, nothing while another process publishes (that publish does the same)."""
        with self._lock(wait) as locked:
            return self._free_published_files() if locked else []

    def _check_published_files(self) -> list[Finding]:
        """Read-write clients on any published file; stray WALs beside version files moved
        aside (the served file's is handled by the next swap). Call with the lock held."""
        files = sorted(self.dir.glob("v*.duckdb"))
        findings = [read_write_client(self.serving, served=True)]
        findings += [read_write_client(path, served=False) for path in files]
        findings += [guard_wal(path) for path in files]
        return [f for f in findings if f is not None]

    def _free_published_files(self) -> list[Finding]:
        """:meth:`_check_published_files`, then a fresh copy of the served version when a
        client holds it read-write (its lock shuts out readers), left a WAL beside it, or
        changed its bytes (a file the registry does not know). Call with the lock held."""
        if not self.serving.exists():
            return self._check_published_files()
        stray = guard_wal(self.serving)
        findings = [*self._check_published_files(), *([stray] if stray else [])]
        known = self._select(
            "select version_id from served_files where identity = ?", [_identity(self.serving)]
        )[1]
        served = self.served_version_id()
        if not known and served is not None:
            findings.append(
                Finding(
                    "modified",
                    str(self.serving),
                    f"{self.serving} was changed outside a publish; serving {label(served)} again",
                )
            )
        if served is not None and any(f.path in _served_names(self.serving) for f in findings):
            findings += self._serve(served)
            self._event("restore", served, None, {"findings": [f.message for f in findings]})
        return findings

    # -- rollback, gc, recovery -----------------------------------------------------------
    def rollback(self, version_id: int | str) -> tuple[Version, int | None]:
        """Serve an older (or newer) kept version again; history is never rewritten.

        Returns the version and the one served before. When that is the same version,
        nothing is rebuilt and no event recorded: there was nothing to roll back.
        """
        vid = parse_version_id(version_id)
        with self._lock():
            self.recover()
            version = self.get(vid)
            if version.status != "published":
                raise VersionError(f"version {label(vid)} is {version.status}; it cannot be served")
            served = self.served_version_id()
            if served == vid:
                self._free_published_files()
                return version, served
            self._check_published_files()
            self._serve(vid)
            self._event("rollback", vid, None, {"from_version": served})
        return self.get(vid), served

    def gc(self, keep: int) -> list[int]:
        """Delete version files beyond the newest ``keep``, with their evidence reports and the
        GX Data Docs pages of their runs; the served one always stays."""
        if keep < 1:
            raise VersionError("--keep must be at least 1")
        with self._lock():
            self.recover()
            published = [v for v in self.versions() if v.status == "published"]
            doomed = [v for v in published[:-keep] if not v.is_served]
            for version in doomed:
                with self._registry() as con:
                    con.execute(
                        "update versions set status = 'deleted' where version_id = ?",
                        [version.version_id],
                    )
                self.version_path(version).unlink(missing_ok=True)
                wal_path(self.version_path(version)).unlink(missing_ok=True)  # its guard
                shutil.rmtree(self.paths.reports_dir / version.label, ignore_errors=True)
                for pages in (self.paths.docs_dir / "gx").rglob(version.run_id):
                    shutil.rmtree(pages, ignore_errors=True)  # validations/<suite>/<run id>/
            if doomed:
                self._event("gc", None, None, {"deleted": [v.version_id for v in doomed]})
        return [v.version_id for v in doomed]

    def recover(self) -> list[str]:
        """Undo what a killed publish left behind. Call with the lock held."""
        notes: list[str] = []
        temp_files = [
            *self.dir.glob(".tmp-*"),
            *self.serving.parent.glob(f".{self.serving.name}.tmp-*"),
        ]
        for path in temp_files:
            path.unlink(missing_ok=True)
            notes.append(f"removed temp file {path.name}")
        if not self.registry_path.exists():
            return notes
        pending = self._rows("where status = 'pending'")
        if not pending:
            return notes
        on_disk = self.served_version_id()
        for version in pending:
            if version.version_id == on_disk:
                with self._registry() as con:
                    con.execute("begin immediate")
                    con.execute(
                        "update versions set status = 'published' where version_id = ?",
                        [version.version_id],
                    )
                    self._insert_event(
                        con, "publish", version.version_id, version.run_id, {"recovered": True}
                    )
                    con.execute("commit")
                notes.append(f"{label(version.version_id)} was already served: marked published")
                continue
            (self.dir / version.file_name).unlink(missing_ok=True)
            with self._registry() as con:
                con.execute("delete from versions where version_id = ?", [version.version_id])
            notes.append(
                f"discarded unfinished {label(version.version_id)} of run {version.run_id}"
            )
        self._event("recovered", None, None, {"notes": notes})
        return notes

    def _served_file_version(self) -> int | None:
        con = connect(self.serving, read_only=True)
        try:
            row = con.execute(
                f"select version_id from main.{VERSIONS_TABLE} where is_served"  # noqa: S608
            ).fetchone()
        finally:
            con.close()
        return row[0] if row else None

    def _event(self, kind: str, vid: int | None, run_id: str | None, detail: Any) -> None:
        with self._registry() as con:
            self._insert_event(con, kind, vid, run_id, detail)

    @staticmethod
    def _insert_event(
        con: sqlite3.Connection, kind: str, vid: int | None, run_id: str | None, detail: Any
    ) -> None:
        con.execute(
            "insert into events (at, kind, version_id, run_id, detail) values (?, ?, ?, ?, ?)",
            [_now(), kind, vid, run_id, json.dumps(detail, default=str)],
        )

    # -- reading versions -----------------------------------------------------------------
    def readable_path(self, version_id: int | str | None) -> Path:
        """The file holding a version (the served file when none is given)."""
        if version_id is None:
            if not self.serving.exists():
                raise VersionError(f"{self.serving} does not exist: nothing published yet")
            return self.serving
        version = self.get(version_id)
        path = self.version_path(version)
        if version.status != "published" or not path.exists():
            raise VersionError(f"version {label(version.version_id)} was garbage-collected")
        return path

    def query(self, sql: str, version_id: int | str | None = None) -> tuple[list[str], list[tuple]]:
        """Run SQL read-only against one version (time travel) or the served file.

        Empty SQL (blank, only comments or ``;``) is refused up front: DuckDB would return no
        cursor at all, which callers would otherwise meet as an AttributeError.
        """
        if not duckdb.extract_statements(sql):
            raise VersionError("no SQL statement given")
        con = connect(self.readable_path(version_id), read_only=True)
        try:
            cur = con.execute(sql)
            columns = [d[0] for d in cur.description] if cur.description else []
            return columns, cur.fetchall()
        finally:
            con.close()

    def diff(
        self, old: int | str, new: int | str, table: str | None = None, sample: int = 5
    ) -> dict[str, Any]:
        """Row-level added/removed/changed counts per table, with sample keys."""
        a_id, b_id = parse_version_id(old), parse_version_id(new)
        con = connect(None)
        try:
            attach(con, self.readable_path(a_id), "a", read_only=True)
            attach(con, self.readable_path(b_id), "b", read_only=True)
            tables_a, tables_b = set(main_tables(con, "a")), set(main_tables(con, "b"))
            names = sorted(tables_a | tables_b)
            if table is not None:
                if table not in names:
                    raise VersionError(
                        f"table {table!r} is in neither {label(a_id)} nor {label(b_id)}"
                    )
                names = [table]
            known = [self.get(a_id).unique_keys, self.get(b_id).unique_keys]
            result = {
                name: _diff_table(
                    con, name, name in tables_a, name in tables_b, sample, _both(known, name)
                )
                for name in names
            }
        finally:
            con.close()
        return {"from_version": a_id, "to_version": b_id, "tables": result}


def _served_names(serving: Path) -> tuple[str, str]:
    return str(serving), str(serving.with_name(serving.name + ".wal"))


def _write_registry_table(
    con: duckdb.DuckDBPyConnection, registry: list[dict[str, Any]], served: int
) -> None:
    con.execute(
        f"""create or replace table main.{VERSIONS_TABLE} (
            version_id integer, status varchar, run_id varchar, created_at timestamp,
            code_version varchar, fingerprint varchar, input_hashes json, row_counts json,
            validation json, message varchar, is_served boolean)"""
    )
    con.executemany(
        f"insert into main.{VERSIONS_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
        [
            [
                v["version_id"],
                v["status"],
                v["run_id"],
                v["created_at"],
                v["code_version"],
                v["fingerprint"],
                json.dumps(v["input_hashes"]),
                json.dumps(v["row_counts"]),
                json.dumps(v["validation"], default=str),
                v["message"],
                v["version_id"] == served,
            ]
            for v in registry
        ],
    )
    comment_table(con, VERSIONS_TABLE, VERSIONS_TABLE_COMMENT, VERSIONS_COLUMN_COMMENTS)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return con.execute(sql).fetchone()[0]


def _both(known: Sequence[Mapping[str, bool]], table: str) -> bool:
    """Key uniqueness on both sides, as recorded at publish time (a diff then needs no scan)."""
    return all(k.get(table, False) for k in known)


def _diff_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    in_a: bool,
    in_b: bool,
    sample: int,
    key_unique: bool,
) -> dict[str, Any]:
    ident = quote_ident(table)
    if not (in_a and in_b):
        side = "b" if in_b else "a"
        rows = _count(con, f"select count(*) from {side}.main.{ident}")  # noqa: S608
        return {
            "status": "table_added" if in_b else "table_removed",
            "added": rows if in_b else 0,
            "removed": 0 if in_b else rows,
            "changed": 0,
            "key": None,
        }
    cols_a, cols_b = _columns(con, "a", table), _columns(con, "b", table)
    same = [c for c, t in cols_b.items() if cols_a.get(c) == t]
    compared = [_comparable(c, cols_b[c]) for c in same]
    schema = {
        "columns_added": [c for c in cols_b if c not in cols_a],
        "columns_removed": [c for c in cols_a if c not in cols_b],
        "columns_retyped": [c for c in cols_b if cols_a.get(c, cols_b[c]) != cols_b[c]],
    }
    key = PRIMARY_KEYS.get(table)
    if key and key_unique and set(key) <= cols_a.keys() & cols_b.keys():
        return {**_keyed_diff(con, table, key, same, compared, sample), **schema}
    select = ", ".join(compared)
    added, removed = (
        _count(
            con,
            f"select count(*) from (select {select} from {x}.main.{ident} "  # noqa: S608
            f"except all select {select} from {y}.main.{ident})",
        )
        for x, y in (("b", "a"), ("a", "b"))
    )
    return {
        "status": "compared",
        "key": None,
        "added": added,
        "removed": removed,
        "changed": None,
        **schema,
    }


def _unique(con: duckdb.DuckDBPyConnection, catalog: str, table: str, key: Sequence[str]) -> bool:
    cols = ", ".join(quote_ident(c) for c in key)
    return bool(
        _count(
            con,
            f"select count(*) = count(distinct ({cols})) "  # noqa: S608 - quoted identifiers
            f"from {quote_ident(catalog)}.main.{quote_ident(table)}",
        )
    )


def _keyed_diff(
    con: duckdb.DuckDBPyConnection,
    table: str,
    key: Sequence[str],
    columns: Sequence[str],
    compared: Sequence[str],
    sample: int,
) -> dict[str, Any]:
    """Full outer join on the (unique) key; a 64-bit hash of the ``compared`` expressions
    (never null) detects changed rows and tells which side a row is missing from. Sampled
    changed rows come with the old and new value of each of ``columns`` that differs."""
    ident = quote_ident(table)
    keys = ", ".join(quote_ident(c) for c in key)
    row_hash = f"hash({', '.join(compared)})"
    merged = ", ".join(
        f"coalesce(a.{quote_ident(c)}, b.{quote_ident(c)}) as {quote_ident(c)}" for c in key
    )
    con.execute(
        f"""create or replace temp table diff_rows as
        select {merged},
            case when a.h is null then 'added'
                 when b.h is null then 'removed' else 'changed' end as change
        from (select {keys}, {row_hash} as h from a.main.{ident}) as a
        full outer join (select {keys}, {row_hash} as h from b.main.{ident}) as b using ({keys})
        where a.h is distinct from b.h"""  # noqa: S608 - quoted identifiers only
    )
    counts = dict(con.execute("select change, count(*) from diff_rows group by change").fetchall())
    rows = {
        change: con.execute(
            f"select {keys} from diff_rows where change = ? order by {keys} limit ?",  # noqa: S608
            [change, sample],
        ).fetchall()
        for change in ("added", "removed", "changed")
    }
    samples = {
        change: [r[0] if len(key) == 1 else dict(zip(key, r, strict=True)) for r in found]
        for change, found in rows.items()
    }
    values = [c for c in columns if c not in key]
    return {
        "status": "compared",
        "key": list(key),
        "added": counts.get("added", 0),
        "removed": counts.get("removed", 0),
        "changed": counts.get("changed", 0),
        "sample_keys": samples,
        "sample_changes": changed_values(con, table, key, rows["changed"], values),
    }
