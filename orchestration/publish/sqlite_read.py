"""Reading the SQLite registry without writing anything, also on read-only storage.

A BI host often mounts the warehouse read-only, and the CLI's read commands must not leave
files behind. A WAL database opened ``mode=ro`` still needs its ``-shm`` file, and creates it
(with ``-wal``, left behind on close) when the folder is writable; in a read-only folder
without one it cannot open at all. So:

* ``-shm`` or ``-wal`` present: a connection is open (a run is publishing) or was killed.
  Read ``mode=ro`` through them: that is how WAL readers see the writer's commits. (A reader
  that closes last cannot checkpoint, so the writer's two files stay until its next open.)
* neither present: no connection is open and every commit is in the main file (the last
  connection to close checkpoints and removes both). Read it ``immutable=1``: no locks, no
  side files. A writer may open meanwhile and checkpoint into the file under the read, so
  the file's identity is compared before and after, and a changed file is read again.

Import-light (sqlite3 only): the read-only CLI commands use it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

ATTEMPTS = 20
# mode=ro could not get at the WAL index (read-only folder, -shm missing or unusable):
# only then is the main file read on its own.
NO_WAL_INDEX = ("SQLITE_CANTOPEN", "SQLITE_READONLY")

Rows = tuple[list[str], list[tuple[Any, ...]]]


def _uri(path: Path, immutable: bool) -> str:
    return f"file:{quote(str(path))}?mode=ro" + ("&immutable=1" if immutable else "")


def _select(path: Path, sql: str, params: Sequence[Any], immutable: bool) -> Rows:
    con = sqlite3.connect(_uri(path, immutable), uri=True, timeout=60, isolation_level=None)
    try:
        cur = con.execute(sql, params)
        columns = [d[0] for d in cur.description] if cur.description else []
        return columns, cur.fetchall()
    finally:
        con.close()


def identity(path: Path) -> str:
    """Device, inode, size and mtime: unchanged by rename, distinct for every file we build."""
    st = path.stat()
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def _has_wal(path: Path) -> bool:
    return any(path.with_name(path.name + suffix).exists() for suffix in ("-shm", "-wal"))


def read_registry(path: Path, sql: str, params: Sequence[Any] = ()) -> Rows:
    """(column names, rows) of one SELECT on the registry at ``path``; never writes a byte.

    The caller makes sure ``path`` exists (a missing registry means "nothing published").
    """
    for _ in range(ATTEMPTS):
        if _has_wal(path):
            try:
                return _select(path, sql, params, immutable=False)
            except sqlite3.OperationalError as exc:
                if not str(exc.sqlite_errorname).startswith(NO_WAL_INDEX):
                    raise
        before = identity(path)
        try:
            rows = _select(path, sql, params, immutable=True)
        except sqlite3.DatabaseError:
            if identity(path) == before:
                raise
            continue  # torn by a checkpoint: read again
        if identity(path) == before:
            return rows
    raise sqlite3.OperationalError(
        f"{path} changed during each of {ATTEMPTS} reads; try again when the run has published"
    )
