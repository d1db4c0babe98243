"""Read-write clients on published DuckDB files: refuse their writes, detect them, free readers.

What DuckDB 1.5 does (measured, see tests/test_read_write_clients.py):

* A read-write connection takes an exclusive ``fcntl`` lock on the file: while it is open every
  other process fails with ``Could not set lock on file ... Conflicting lock is held``.
* Mode bits 0444 refuse it for ordinary users, but not for root.
* Its WAL goes to ``<path>.wal`` *by name*. After a swap that name sits beside the new file, so
  the session's next commit lands there and every fresh reader of the new file replays it
  (an extra table, counts that match no version). DuckDB does not check that a WAL belongs to
  the file it opens. A WAL that is renamed keeps receiving the session's writes (open fd).

So each published file (``ledger.duckdb`` and every ``vNNNN.duckdb``) gets a **WAL guard**:
``<name>.wal`` is a symbolic link into a folder that does not exist. Readers see no WAL (stat
fails with ENOENT), and every commit of a read-write session fails, root or not
(``Failed to commit: Cannot open file "...ledger.duckdb.wal": No such file or directory``): the
served data changes only by a publish. (A link into the file itself would fail with ENOTDIR,
which DuckDB treats as an error for readers too.) A regular file found there instead is a
stray WAL: it is moved aside as ``<name>.wal.stray-<UTC timestamp>`` so no reader replays it.

The lock cannot be refused, so it is made short: every run, publish and rollback, the sensor
every 30 s, and ``ledger query`` the moment it meets the lock, ask the kernel who holds a
write lock on the served file (``F_GETLK``) and when someone does, serve a fresh copy of
the same version under the same name (atomic rename, ``Publisher.free_published_files``): new
readers open the new file, the session keeps its old, unlinked one. Until one of those comes, a
BI tool opening the served file gets DuckDB's lock error. A version file is never copied afresh
(immutable, named in the registry): its readers wait until the session closes. Import-light.
"""

from __future__ import annotations

import fcntl
import os
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# Relative, so the guard survives moving the warehouse; the folder is never created.
GUARD_TARGET = ".no-wal-for-published-files/wal"
LOCK_STRUCT = "hhqqi"  # struct flock on Linux: type, whence, start, len, pid


@dataclass(frozen=True)
class Finding:
    """Something a read-write client did to a published file; ``message`` is one line."""

    kind: str  # read_write_client | stray_wal | modified
    path: str
    message: str


def wal_path(db: Path) -> Path:
    return db.with_name(db.name + ".wal")


def is_guarded(db: Path) -> bool:
    wal = wal_path(db)
    return wal.is_symlink() and os.readlink(wal) == GUARD_TARGET


def guard_wal(db: Path) -> Finding | None:
    """Install the WAL guard for ``db``; a stray WAL found there is moved aside first."""
    wal = wal_path(db)
    if is_guarded(db):
        return None
    finding = None
    if wal.is_symlink() or wal.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        stray = wal.with_name(f"{wal.name}.stray-{stamp}")
        os.replace(wal, stray)
        finding = Finding(
            "stray_wal",
            str(wal),
            f"stray WAL {wal} (writes of a read-write client) moved aside to {stray.name}; "
            "it is not part of any version",
        )
    tmp = wal.with_name(f".{wal.name}.guard-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(GUARD_TARGET)
    os.replace(tmp, wal)
    return finding


def write_lock_holder(db: Path) -> int | None:
    """The pid of a process holding a write lock on ``db`` (a read-write DuckDB session)."""
    try:
        fd = os.open(db, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        probe = struct.pack(LOCK_STRUCT, fcntl.F_RDLCK, os.SEEK_SET, 0, 0, 0)
        kind, _, _, _, pid = struct.unpack(LOCK_STRUCT, fcntl.fcntl(fd, fcntl.F_GETLK, probe))
    finally:
        os.close(fd)
    return pid if kind == fcntl.F_WRLCK else None


def read_write_client(db: Path, served: bool) -> Finding | None:
    """A read-write session on ``db``; the served file is then copied afresh, a version file
    (immutable, named in the registry) is not: its readers wait until the session closes."""
    pid = write_lock_holder(db)
    if pid is None:
        return None
    remedy = "readers get a fresh copy" if served else "readers of it wait until it closes"
    return Finding(
        "read_write_client",
        str(db),
        f"read-write client: {holder_name(pid)} holds {db} open read-write; its "
        f"writes are refused and {remedy} (open it read-only)",
    )


def holder_name(pid: int) -> str:
    """``pid 5123 (dbeaver)``: the program from ``/proc/<pid>/comm`` (at most 15 characters),
    so the user can tell which window to close."""
    try:
        program = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        program = "program unknown"
    return f"pid {pid} ({program})"
