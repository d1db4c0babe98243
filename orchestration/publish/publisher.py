"""Changing what is published and served: publish, rollback, gc, and recovery after a kill.

One process at a time (the publish lock). Crash safety: a version is registered as ``pending``
first, its files are written under temp names, fsynced and renamed, and only then marked
``published``. The next publish (under the same lock) deletes temp files and either rolls a
pending version forward (it was already swapped in) or discards it. The served file is swapped
in with ``os.replace``: readers keep the inode they opened. Read-write BI sessions on published
files are refused and cut short by ``guard.py``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from orchestration.inputs import fingerprint_of
from orchestration.paths import LedgerPaths
from orchestration.publish.files import build_served_file, write_version_file
from orchestration.publish.guard import Finding, guard_wal, read_write_client, wal_path
from orchestration.publish.parts import (
    discard_parts,
    files_read_by,
    parts_root,
    remove_temp_parts,
    sweep_parts,
    written_by,
)
from orchestration.publish.registry import Registry, Version, VersionError, label, parse_version_id
from orchestration.sql import fsync
from orchestration.storage import cannot_write

# Test hook: SIGKILL this process at a named point of a publish, to prove crash safety.
FAULT_ENV = "LEDGER_PUBLISH_KILL_AT"


@dataclass(frozen=True)
class PublishResult:
    status: str  # published | unchanged
    version: Version
    previous: Version | None
    recovered: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # read-write clients, stray WALs
    built: str = ""  # how the version file was written: delta, or full copy (and why)
    months: dict[str, list[str]] = field(default_factory=dict)  # waybill table -> months written


def fault(stage: str) -> None:
    """SIGKILL this process when the test hook names ``stage``."""
    if os.environ.get(FAULT_ENV) == stage:
        os.kill(os.getpid(), signal.SIGKILL)


def delete_reports(paths: LedgerPaths, version: Version) -> None:
    """A collected version's evidence report and the GX Data Docs pages of its run."""
    shutil.rmtree(paths.reports_dir / version.label, ignore_errors=True)
    for pages in (paths.docs_dir / "gx").rglob(version.run_id):
        shutil.rmtree(pages, ignore_errors=True)  # validations/<suite>/<run id>/


class Publisher:
    """Every write to the versions folder and the served file; reads go through the registry."""

    def __init__(self, paths: LedgerPaths, registry: Registry) -> None:
        self.paths = paths
        self.dir = paths.versions_dir
        self.serving = paths.serving_db
        self.registry = registry

    @contextlib.contextmanager
    def lock(self, wait: bool = True) -> Iterator[bool]:
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
        registry = self.registry
        with self.lock():
            recovered = self.recover()
            previous = registry.latest()
            if (
                previous is not None
                and previous.fingerprint == fingerprint
                and self._parts_in_place(previous)
            ):
                registry.event(
                    "unchanged", previous.version_id, run_id, {"fingerprint": fingerprint}
                )
                findings = self._free_published_files()
                if not self.serving.exists():  # someone deleted it: serve the latest again
                    self._serve(previous.version_id)
                    registry.event("restore", previous.version_id, run_id, {})
                return PublishResult("unchanged", previous, previous, recovered, findings)
            findings = self._check_published_files()
            vid, file_name = registry.register(
                run_id, code, fingerprint, input_hashes, validation, message
            )
            fault("registered")
            try:
                final = self.dir / file_name
                base = self._delta_base(previous, code)
                written = write_version_file(
                    staging_db, final, base, previous.unique_keys if base and previous else None
                )
                parts = written_by(parts_root(self.dir), final.stem)
                size = final.stat().st_size + sum(p.stat().st_size for p in parts)
                registry.record_file(vid, written.row_counts, written.unique, size)
                fault("version_written")
                findings += self._serve(vid, pending_ok=True)
            except Exception:
                self.recover()  # discards the attempt (or keeps it, if it was swapped in)
                raise
            fault("served")
            registry.mark_published(
                vid,
                run_id,
                {
                    "row_counts": written.row_counts,
                    "built": written.built,
                    "months": written.months,
                },
            )
            return PublishResult(
                "published",
                registry.get(vid),
                previous,
                recovered,
                findings,
                written.built,
                written.months,
            )

    def _parts_in_place(self, version: Version) -> bool:
        """Whether the version's Parquet parts are where its views say: after the warehouse
        folder moved they are not, and the same inputs are published again where it is now."""
        path = self.registry.version_path(version)
        try:
            return all(Path(f).exists() for f in files_read_by(path))
        except duckdb.Error:  # unreadable (a read-write client holds it): nothing to redo
            return True

    def _delta_base(self, previous: Version | None, code: str) -> Path | None:
        """The latest version's file, when the new one can be built from it: the same code
        (same schemas, and staging was built from it incrementally) and the file still there."""
        if previous is None or previous.status != "published" or previous.code_version != code:
            return None
        path = self.registry.version_path(previous)
        return path if path.exists() else None

    def _serve(self, vid: int, pending_ok: bool = False) -> list[Finding]:
        """Build the served file from a version + registry snapshot and swap it in atomically.

        Returns the stray WAL found beside the served file, if any (moved aside first)."""
        allowed = ("published", "pending") if pending_ok else ("published",)
        version = self.registry.row(vid)
        if version is None or version.status not in allowed:
            raise VersionError(f"version {label(vid)} is not published")
        source = self.registry.version_path(version)
        if not source.exists():
            raise VersionError(f"version {label(vid)}: file {source} is gone (garbage-collected?)")
        self.serving.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.serving.parent / f".{self.serving.name}.tmp-{label(vid)}"
        registry = [
            {**v.as_dict(), "status": "published" if v.version_id == vid else v.status}
            for v in self.registry.served_with(vid)
        ]
        build_served_file(source, tmp, registry, vid)
        self.registry.record_served(tmp, vid)
        fault("serving_built")
        # A WAL beside the served file can only come from a read-write session on the old file;
        # left there, the next opener would replay it onto the new one. See guard.py.
        stray = guard_wal(self.serving)
        os.replace(tmp, self.serving)
        fsync(self.serving.parent)
        return [stray] if stray else []

    def free_published_files(self, wait: bool = True) -> list[Finding]:
        """Under the publish lock: :meth:`_free_published_files` (runs, the sensor). Without
        ``wait``, nothing while another process publishes (that publish does the same)."""
        with self.lock(wait) as locked:
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
        known = self.registry.registered_as_served(self.serving) is not None
        served = self.registry.served_version_id()
        if not known and served is not None:
            findings.append(
                Finding(
                    "modified",
                    str(self.serving),
                    f"{self.serving} was changed outside a publish; serving {label(served)} again",
                )
            )
        served_names = (str(self.serving), str(wal_path(self.serving)))
        if served is not None and any(f.path in served_names for f in findings):
            findings += self._serve(served)
            self.registry.event(
                "restore", served, None, {"findings": [f.message for f in findings]}
            )
        return findings

    def rollback(self, version_id: int | str) -> tuple[Version, int | None]:
        """Serve an older (or newer) kept version again; history is never rewritten.

        Returns the version and the one served before. When that is the same version,
        nothing is rebuilt and no event recorded: there was nothing to roll back.
        """
        vid = parse_version_id(version_id)
        registry = self.registry
        with self.lock():
            self.recover()
            version = registry.get(vid)
            if version.status != "published":
                raise VersionError(f"version {label(vid)} is {version.status}; it cannot be served")
            served = registry.served_version_id()
            if served == vid:
                self._free_published_files()
                return version, served
            self._check_published_files()
            self._serve(vid)
            registry.event("rollback", vid, None, {"from_version": served})
        return registry.get(vid), served

    def gc(self, keep: int) -> list[int]:
        """Delete version files beyond the newest ``keep``, with their evidence reports and the
        GX Data Docs pages of their runs; the served one always stays."""
        if keep < 1:
            raise VersionError("--keep must be at least 1")
        with self.lock():
            self.recover()
            published = [v for v in self.registry.versions() if v.status == "published"]
            doomed = [v for v in published[:-keep] if not v.is_served]
            for version in doomed:
                self.registry.mark_deleted(version.version_id)
                path = self.registry.version_path(version)
                path.unlink(missing_ok=True)
                wal_path(path).unlink(missing_ok=True)  # its guard
                delete_reports(self.paths, version)
            parts = self._sweep_parts()
            if doomed:
                self.registry.event(
                    "gc", None, None, {"deleted": [v.version_id for v in doomed], "parts": parts}
                )
        return [v.version_id for v in doomed]

    def _sweep_parts(self) -> int:
        """Delete the part files no version file left in the folder reads; none when a file
        cannot be read (a read-write client holds it): better a file too many than one gone."""
        files = [p for p in [*sorted(self.dir.glob("v*.duckdb")), self.serving] if p.exists()]
        try:
            referenced = set().union(*(files_read_by(path) for path in files))
        except duckdb.Error:
            return 0
        return len(sweep_parts(parts_root(self.dir), referenced))

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
        for path in remove_temp_parts(parts_root(self.dir)):
            notes.append(f"removed temp parts {path.parent.name}/{path.name}")
        if not self.registry.path.exists():
            return notes
        pending = self.registry.pending()
        if not pending:
            return notes
        on_disk = self.registry.served_version_id()
        for version in pending:
            if version.version_id == on_disk:
                self.registry.mark_published(
                    version.version_id, version.run_id, {"recovered": True}
                )
                notes.append(f"{label(version.version_id)} was already served: marked published")
                continue
            (self.dir / version.file_name).unlink(missing_ok=True)
            discard_parts(parts_root(self.dir), version.label)
            self.registry.discard(version.version_id)
            notes.append(
                f"discarded unfinished {label(version.version_id)} of run {version.run_id}"
            )
        self.registry.event("recovered", None, None, {"notes": notes})
        return notes
