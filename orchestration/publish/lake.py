"""Versions on a shared catalog: DuckLake, its catalog in Postgres, its data files under a path.

Chosen by ``store.open_store`` when ``LEDGER_LAKE_CATALOG_URL`` is set (settings and connections:
lake_catalog.py); the same promises as the per-version files, mapped onto DuckLake:

* **A version is one snapshot.** The marts (lake_sync.py: only the changed rows are written)
  and the version's row in ``main.ledger_versions`` go in one transaction, after the audit
  (the publish asset) and a row-count check against staging: readers see all of it or nothing.
* **Served = the latest snapshot**, so a BI user reads ``lake.main.*`` with no version to pick.
  A rollback commits a snapshot whose tables equal the old version's (again only the differing
  rows) and moves ``is_served``; history is kept.
* **Time travel and diff** attach the lake at a version's snapshot (its commit's extra info
  names the version); the diff is diff.py's, on two snapshots instead of two files.
* **gc** marks versions deleted, expires every snapshot but the kept versions' and the latest,
  deletes the files no snapshot reads and the orphans of killed publishes.
* **One writer at a time**: a Postgres advisory lock, held by a connection of the writer (a
  killed writer's connection closes and frees it). DuckLake alone is optimistic: two publishes
  would both commit their inserts (inserts never conflict), under the same version id, and
  conflicting deletes fail the second commit (``Transaction conflict - attempting to delete
  from table ... but another transaction has deleted from it``; tests/scale/test_lake.py).
* **kill -9**: nothing is in the catalog before the commit, which Postgres applies whole or
  not at all; Parquet files written before it are orphans until the next gc.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from orchestration.inputs import fingerprint_of
from orchestration.paths import LedgerPaths
from orchestration.publish.comments import VERSIONS_COLUMN_COMMENTS, comment_table
from orchestration.publish.diff import diff_attached
from orchestration.publish.guard import Finding
from orchestration.publish.lake_catalog import (
    LAKE,
    LakeSettings,
    NoLake,
    attach_snapshot,
    open_lake,
    pg_connect,
)
from orchestration.publish.lake_sync import sync_main
from orchestration.publish.publisher import PublishResult, delete_reports, fault
from orchestration.publish.registry import (
    VERSIONS_TABLE,
    Version,
    VersionError,
    label,
    parse_version_id,
)
from orchestration.sql import attach, table_exists, transaction

if TYPE_CHECKING:
    import pyarrow as pa

AUTHOR = "ledger"
LOCK_KEY = 0x6C65646765725F76  # pg_advisory_lock key of the ledger's writers ("ledger_v")
VERSIONS_COMMENT = (
    "Every version of this dataset (the DuckLake registry); is_served marks the one the latest "
    "snapshot holds. Earlier versions: ATTACH ... (SNAPSHOT_VERSION n) or AT (VERSION => n)."
)
VERSIONS_DDL = f"""create table if not exists main.{VERSIONS_TABLE} (
    version_id integer, status varchar, run_id varchar, created_at timestamp,
    code_version varchar, fingerprint varchar, input_hashes json, row_counts json,
    validation json, message varchar, is_served boolean, unique_keys json)"""


def read_versions(con: duckdb.DuckDBPyConnection) -> tuple[list[Version], dict[int, int]]:
    """The registry as the attached lake holds it, and the snapshot of each kept version.

    The registry first: a version it lists was committed before the snapshot list is read,
    so the list has its snapshot even when a publish commits in between."""
    rows = []
    if table_exists(con, "main", VERSIONS_TABLE, catalog=LAKE):
        rows = con.execute(
            "select version_id, status, run_id, created_at, code_version, fingerprint, "  # noqa: S608
            "input_hashes, row_counts, validation, message, is_served, unique_keys "
            f"from lake.main.{VERSIONS_TABLE} order by version_id"
        ).fetchall()
    snapshots = {}
    for snapshot_id, info in con.execute(
        "select snapshot_id, commit_extra_info from lake.snapshots() where author = ?",
        [AUTHOR],
    ).fetchall():
        detail = json.loads(info or "{}")
        if detail.get("kind") == "publish":
            snapshots[detail["version_id"]] = snapshot_id
    versions = [
        Version(
            version_id=r[0],
            status=r[1],
            run_id=r[2],
            created_at=r[3].isoformat(timespec="microseconds"),
            code_version=r[4],
            fingerprint=r[5],
            input_hashes=json.loads(r[6]),
            row_counts=json.loads(r[7] or "{}"),
            validation=json.loads(r[8] or "{}"),
            file_name=f"snapshot {snapshots[r[0]]}" if r[0] in snapshots else "snapshot expired",
            file_bytes=None,
            message=r[9],
            unique_keys=json.loads(r[11] or "{}"),
            is_served=r[10],
        )
        for r in rows
    ]
    return versions, snapshots


class LakeStore:
    """The ``VersionStore`` interface on DuckLake: publish, rollback, gc; list, query, diff."""

    def __init__(self, paths: LedgerPaths, settings: LakeSettings) -> None:
        self.paths = paths  # reports and Data Docs pages stay local; gc deletes them
        self.settings = settings
        self.serving = f"{settings.display()} (latest snapshot)"

    # -- reads ----------------------------------------------------------------------------
    def _registry(self) -> tuple[list[Version], dict[int, int]]:
        try:
            con = open_lake(self.settings)
        except NoLake:
            return [], {}
        try:
            return read_versions(con)
        finally:
            con.close()

    def versions(self) -> list[Version]:
        return self._registry()[0]

    def get(self, version_id: int | str) -> Version:
        return _find(self.versions(), version_id)

    def latest(self) -> Version | None:
        versions = self.versions()
        return versions[-1] if versions else None

    def served_version_id(self) -> int | None:
        return next((v.version_id for v in self.versions() if v.is_served), None)

    def events(self) -> list[dict[str, Any]]:
        """The ledger's snapshots (publish, rollback, gc) still kept: DuckLake's own history."""
        try:
            con = open_lake(self.settings)
        except NoLake:
            return []
        try:
            rows = con.execute(
                "select snapshot_id, snapshot_time, commit_extra_info from lake.snapshots() "
                "where author = ? order by snapshot_id",
                [AUTHOR],
            ).fetchall()
        finally:
            con.close()
        events = []
        for snapshot_id, at, info in rows:
            detail = json.loads(info or "{}")
            events.append(
                {
                    "event_id": snapshot_id,
                    "at": at.astimezone(UTC).replace(tzinfo=None).isoformat(),
                    "kind": detail.pop("kind", None),
                    "version_id": detail.pop("version_id", None),
                    "run_id": detail.pop("run_id", None),
                    "detail": json.dumps(detail),
                }
            )
        return events

    def already_published(self, fingerprint: str) -> Version | None:
        latest = self.latest()
        ok = latest is not None and latest.fingerprint == fingerprint
        return latest if ok and latest.status == "published" else None

    def record_if_unchanged(self, fingerprint: str) -> Version | None:
        """As :meth:`already_published`: an empty commit makes no snapshot, so no event."""
        return self.already_published(fingerprint)

    def free_published_files(self, wait: bool = True) -> list[Finding]:
        """No published file to free: BI reads the catalog (give it a read-only role)."""
        return []

    @contextlib.contextmanager
    def _at(self, version_id: int | str | None) -> Iterator[duckdb.DuckDBPyConnection]:
        """The lake attached (as ``lake``, in use) at a version's snapshot, or the latest."""
        snapshot = None
        if version_id is not None:
            snapshot = self._snapshot(*self._registry(), version_id)
        con = open_lake(self.settings, snapshot)
        try:
            yield con
        finally:
            con.close()

    def _snapshot(
        self, versions: list[Version], snapshots: Mapping[int, int], version_id: int | str
    ) -> int:
        version = _find(versions, version_id)
        if version.status != "published" or version.version_id not in snapshots:
            raise VersionError(f"version {version.label} was garbage-collected")
        return snapshots[version.version_id]

    def open_served(self) -> duckdb.DuckDBPyConnection:
        """A read-only session on the latest snapshot, the lake in use (the evidence report)."""
        return open_lake(self.settings)

    @property
    def served_name(self) -> str:
        return self.settings.display()

    def query(self, sql: str, version_id: int | str | None = None) -> tuple[list[str], list[tuple]]:
        """Read-only SQL on the latest snapshot (served) or a version's (time travel)."""
        if not duckdb.extract_statements(sql):
            raise VersionError("no SQL statement given")
        with self._at(version_id) as con:
            cur = con.execute(sql)
            columns = [d[0] for d in cur.description] if cur.description else []
            return columns, cur.fetchall()

    def diff(
        self,
        old: int | str,
        new: int | str,
        table: str | None = None,
        sample: int = 5,
        scope: pa.Table | None = None,
    ) -> dict[str, Any]:
        """diff.py's row-level diff, on the two versions' snapshots."""
        versions, snapshots = self._registry()
        a, b = _find(versions, old), _find(versions, new)
        ids = [self._snapshot(versions, snapshots, v.version_id) for v in (a, b)]
        with self._at(None) as con:
            for alias, snapshot in zip(("a", "b"), ids, strict=True):
                attach_snapshot(con, self.settings, alias, snapshot)
            tables = diff_attached(con, a, b, table, sample, scope)
        return {"from_version": a.version_id, "to_version": b.version_id, "tables": tables}

    # -- writes (one writer at a time) ----------------------------------------------------
    @contextlib.contextmanager
    def _writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The lake read-write, under the writers' advisory lock (waits for it)."""
        lock = pg_connect(self.settings.catalog_url)
        try:
            lock.autocommit = True
            with lock.cursor() as cur:
                cur.execute("select pg_advisory_lock(%s)", [LOCK_KEY])
            con = open_lake(self.settings, write=True)
            try:
                yield con
            finally:
                con.close()
        finally:
            lock.close()

    def publish(
        self,
        staging_db: Path,
        run_id: str,
        input_hashes: Mapping[str, str],
        code: str,
        validation: Mapping[str, Any],
        message: str | None = None,
    ) -> PublishResult:
        """Staging's marts as a new version: one snapshot, or ``unchanged`` (no snapshot)."""
        fingerprint = fingerprint_of(input_hashes, code)
        with self._writer() as con:
            versions, _ = read_versions(con)
            previous = versions[-1] if versions else None
            if previous is not None and previous.fingerprint == fingerprint:
                return PublishResult("unchanged", previous, previous)
            vid = previous.version_id + 1 if previous is not None else 1
            attach(con, staging_db, "stg", read_only=True)
            with _commit(con, "publish", vid, run_id=run_id):
                counts, unique, built = sync_main(con, "stg", LAKE)
                fault("lake_written")  # tables written, not committed (test hook)
                con.execute(VERSIONS_DDL)
                if not versions:
                    comment_table(con, VERSIONS_TABLE, VERSIONS_COMMENT, VERSIONS_COLUMN_COMMENTS)
                con.execute(f"update main.{VERSIONS_TABLE} set is_served = false where is_served")  # noqa: S608
                con.execute(
                    f"insert into main.{VERSIONS_TABLE} values "  # noqa: S608
                    "(?, 'published', ?, ?, ?, ?, ?, ?, ?, ?, true, ?)",
                    [
                        vid,
                        run_id,
                        datetime.now(UTC).replace(tzinfo=None),
                        code,
                        fingerprint,
                        json.dumps(dict(sorted(input_hashes.items()))),
                        json.dumps(counts),
                        json.dumps(validation, default=str),
                        message,
                        json.dumps(unique),
                    ],
                )
        return PublishResult("published", self.get(vid), previous, built=built)

    def rollback(self, version_id: int | str) -> tuple[Version, int | None]:
        """Serve a kept version again: a snapshot whose tables equal that version's."""
        with self._writer() as con:
            versions, snapshots = read_versions(con)
            version = _find(versions, version_id)
            if version.status != "published":
                raise VersionError(
                    f"version {version.label} is {version.status}; it cannot be served"
                )
            served = next((v.version_id for v in versions if v.is_served), None)
            if served == version.version_id:
                return version, served
            snapshot = self._snapshot(versions, snapshots, version.version_id)
            attach_snapshot(con, self.settings, "src", snapshot)
            with _commit(con, "rollback", version.version_id, from_version=served):
                sync_main(con, "src", LAKE)
                con.execute(
                    f"update main.{VERSIONS_TABLE} set is_served = version_id = ?",  # noqa: S608
                    [version.version_id],
                )
        return self.get(version.version_id), served

    def gc(self, keep: int) -> list[int]:
        """Versions beyond the newest ``keep`` (never the served one) deleted: their snapshots
        expired, files no kept snapshot reads removed, with orphans of killed publishes."""
        if keep < 1:
            raise VersionError("--keep must be at least 1")
        with self._writer() as con:
            versions, snapshots = read_versions(con)
            published = [v for v in versions if v.status == "published"]
            doomed = [v.version_id for v in published[:-keep] if not v.is_served]
            if doomed:
                with _commit(con, "gc", None, deleted=doomed):
                    con.execute(
                        f"update main.{VERSIONS_TABLE} set status = 'deleted' "  # noqa: S608
                        "where list_contains(?, version_id)",
                        [doomed],
                    )
            kept = {snapshots[v.version_id] for v in published if v.version_id not in doomed}
            every = [
                r[0]
                for r in con.execute(
                    "select snapshot_id from lake.snapshots() order by 1"
                ).fetchall()
            ]
            expire = [s for s in every[:-1] if s not in kept]  # the latest always stays
            if expire:
                con.execute("call ducklake_expire_snapshots('lake', versions => ?)", [expire])
            con.execute("call ducklake_cleanup_old_files('lake', cleanup_all => true)")
            con.execute("call ducklake_delete_orphaned_files('lake', cleanup_all => true)")
        for version in versions:
            if version.version_id in doomed:
                delete_reports(self.paths, version)
        return doomed


def _find(versions: list[Version], version_id: int | str) -> Version:
    vid = parse_version_id(version_id)
    for version in versions:
        if version.version_id == vid:
            return version
    raise VersionError(f"version {label(vid)} does not exist (see `ledger versions`)")


@contextlib.contextmanager
def _commit(
    con: duckdb.DuckDBPyConnection, kind: str, vid: int | None, **detail: Any
) -> Iterator[None]:
    """One transaction = one snapshot, its commit message saying what it is."""
    info = {"kind": kind, "version_id": vid, **detail}
    text = f"{kind} {label(vid)}" if vid is not None else kind
    with transaction(con):
        con.execute(
            "call lake.set_commit_message(?, ?, extra_info => ?)",
            [AUTHOR, text, json.dumps(info, default=str)],
        )
        yield
