"""The version store: immutable per-version DuckDB files, a SQLite registry, one served file.

Layout under ``versions_dir``: ``v0007.duckdb`` per version (read-only mode bits, never
hard-linked to the served file, so a read-write BI session cannot alter history), and
``registry.sqlite`` (registry.py). The served file (``serving_db``) is a copy of one version
plus a ``ledger_versions`` table (files.py). Publishing, rollback and gc are in publisher.py,
the row-level diff in diff.py; this class adds the read side, and is what the CLI, the assets
and the tests use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from orchestration.paths import LedgerPaths
from orchestration.publish.diff import CHANGE_KINDS, diff_versions
from orchestration.publish.guard import Finding, holder_name, write_lock_holder
from orchestration.publish.lake import LakeStore
from orchestration.publish.lake_catalog import LakeSettings
from orchestration.publish.publisher import Publisher
from orchestration.publish.registry import (
    Registry,
    Version,
    VersionError,
    label,
    parse_version_id,
)
from orchestration.sql import connect
from orchestration.storage import StorageError

if TYPE_CHECKING:
    import pyarrow as pa


class VersionStore(Publisher):
    """Publish, roll back and garbage-collect (the :class:`Publisher`); list, query, diff."""

    def __init__(self, paths: LedgerPaths) -> None:
        super().__init__(paths, Registry(paths))
        self.registry_path = self.registry.path

    def versions(self) -> list[Version]:
        return self.registry.versions()

    def get(self, version_id: int | str) -> Version:
        return self.registry.get(version_id)

    def latest(self) -> Version | None:
        return self.registry.latest()

    def served_version_id(self) -> int | None:
        return self.registry.served_version_id()

    def events(self) -> list[dict[str, Any]]:
        return self.registry.events()

    def version_path(self, version: Version) -> Path:
        return self.registry.version_path(version)

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
        if self.registry.pending():
            return None
        return latest

    def record_if_unchanged(self, fingerprint: str) -> Version | None:
        """:meth:`already_published`, with an ``unchanged`` event when it is: a run was asked."""
        latest = self.already_published(fingerprint)
        if latest is not None:
            self.registry.event("unchanged", latest.version_id, None, {"fingerprint": fingerprint})
        return latest

    def readable_path(self, version_id: int | str | None) -> Path:
        """The file holding a version (the served file when none is given)."""
        if version_id is None:
            if not self.serving.exists():
                raise VersionError(f"{self.serving} does not exist: nothing published yet")
            return self.serving
        version = self.get(version_id)
        path = self.version_path(version)
        if version.status != "published" or not path.exists():
            raise VersionError(f"version {version.label} was garbage-collected")
        return path

    def open_served(self) -> duckdb.DuckDBPyConnection:
        """A read-only session on the served version (the evidence report reads it)."""
        return duckdb.connect(str(self.readable_path(None)), read_only=True)

    @property
    def served_name(self) -> str:
        return self.serving.name

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

    def free_readers(self) -> list[Finding]:
        """After a read met a read-write session's lock (see guard.py): serve a fresh copy of
        the served file at once, as a run or the sensor would later, and return what was found.

        Empty when nobody holds a published file read-write (any more). A VersionError names
        the holder when readers cannot be freed: the warehouse is not writable (read-only
        storage), or the file held is a version file, which is immutable and never copied.
        """
        pid = write_lock_holder(self.serving)
        if pid is not None:
            held = (
                f"{holder_name(pid)} holds {self.serving} open read-write, which locks out "
                "every reader"
            )
            try:
                findings = self.free_published_files()
            except (StorageError, OSError) as exc:
                raise VersionError(
                    f"{held}, and a fresh copy cannot be served here ({exc}): close it or "
                    "open it read-only; the next run, publish or rollback, or the sensor of "
                    "Dagster's daemon, frees readers"
                ) from exc
            if write_lock_holder(self.serving) is not None:  # no version recorded as served
                raise VersionError(
                    f"{held}, and no published version is recorded as served, so there is no "
                    "fresh copy to serve: close it or open it read-only"
                )
            return findings
        for path in sorted(self.dir.glob("v*.duckdb")):
            pid = write_lock_holder(path)
            if pid is not None:
                raise VersionError(
                    f"{holder_name(pid)} holds {path} open read-write, which locks out every "
                    "reader; version files are immutable and never copied afresh: close it or "
                    "open it read-only"
                )
        return []

    def diff(
        self,
        old: int | str,
        new: int | str,
        table: str | None = None,
        sample: int = 5,
        scope: pa.Table | None = None,
    ) -> dict[str, Any]:
        """Row-level added/removed/changed counts per table, with sample keys (see diff.py for
        ``scope``)."""
        a_id, b_id = parse_version_id(old), parse_version_id(new)
        files = self.readable_path(a_id), self.readable_path(b_id)
        tables = diff_versions(self.get(a_id), self.get(b_id), files, table, sample, scope)
        return {"from_version": a_id, "to_version": b_id, "tables": tables}


Store = VersionStore | LakeStore


def open_store(paths: LedgerPaths) -> Store:
    """The store the settings choose, the one place that does: DuckLake on a shared catalog
    when ``LEDGER_LAKE_CATALOG_URL`` is set (lake.py), else the version files of this machine."""
    settings = LakeSettings.from_env()
    return VersionStore(paths) if settings is None else LakeStore(paths, settings)


def change_summary(
    store: Store, old: int, new: int, scope: pa.Table | None = None
) -> dict[str, Any]:
    """Counts of the changed tables only, as the publish step and the report show them.

    ``{"error": ...}`` instead of raising: a concurrent ``ledger gc`` may have removed the old
    version meanwhile, or its Parquet parts are not where its views say (the warehouse moved),
    and neither caller should fail for that.
    """
    try:
        tables = store.diff(old, new, sample=3, scope=scope)["tables"]
    except VersionError as exc:
        return {"error": str(exc)}
    except duckdb.IOException as exc:
        return {"error": f"{label(old)} cannot be read: {str(exc).splitlines()[0]}"}
    return {
        name: {k: d[k] for k in CHANGE_KINDS}
        for name, d in tables.items()
        if any(d.get(k) for k in (*CHANGE_KINDS, "columns_added", "columns_removed"))
    }
