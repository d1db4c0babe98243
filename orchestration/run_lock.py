"""One run of the pipeline at a time per home, however it was launched.

Two runs at once used to meet on the staging database: the second waited for its lock, then
failed half-way. Now every run of the job takes ``data/warehouse/run.lock`` (``flock``, dropped
by the kernel when the holder dies) before any work and writes who it is into it; a second run
is refused at once with that identity. ``ledger run`` takes it before loading Dagster; a run
launched from the UI, the sensor or the schedule takes it when the ``ledger`` resource starts
(in the same process as a ``ledger run`` it is the same lock, held once). Dagster's run queue
(``max_concurrent_runs: 1`` in the generated dagster.yaml) makes UI and sensor runs wait for
each other instead. On a Postgres instance (``LEDGER_PG_URL``) up to ``LEDGER_WORKERS`` runs are
in flight by design: a run launched by Dagster or a backfill worker then waits for the lock
instead of being refused, so the staging file still sees one run at a time (``ledger run``
keeps refusing). Import-light: the CLI uses it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from orchestration.paths import LedgerPaths

# Locks this process holds, by path: flock conflicts between two open() of one file even in
# one process, so the Dagster resource of a `ledger run` must not take it a second time.
_HELD: dict[Path, IO[str]] = {}
IDENTITY_WAIT_S = 2.0


class RunInProgress(RuntimeError):
    """Another run of this home holds the run lock."""


def lock_path(paths: LedgerPaths) -> Path:
    return paths.warehouse_dir / "run.lock"


def describe(holder: dict[str, str]) -> str:
    """``pid 412, run 5f3e…, started 2026-11-29T16:50:01Z by ledger run``."""
    return (
        f"pid {holder.get('pid', '?')}, run {holder.get('run_id', '?')}, "
        f"started {holder.get('started_at', '?')} by {holder.get('launched_by', '?')}"
    )


def _read(handle: IO[str]) -> dict[str, str]:
    handle.seek(0)
    try:
        return json.loads(handle.read() or "{}")
    except json.JSONDecodeError:
        return {}


def acquire(
    paths: LedgerPaths,
    run_id: str,
    launched_by: str,
    on_wait: Callable[[str], None] | None = None,
) -> bool:
    """Take the run lock, or raise :class:`RunInProgress` naming the holder. False when this
    process holds it already (then the first taker releases it).

    With ``on_wait`` (runs on a shared instance, where several are in flight by design) a run
    is not refused: it reports the holder to ``on_wait`` and waits for the lock."""
    path = lock_path(paths)
    if path in _HELD:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(handle)
        if on_wait is None:
            handle.close()
            raise RunInProgress(f"another run is in progress ({describe(holder)})") from None
        on_wait(f"waiting for the run in progress ({describe(holder)})")
        fcntl.flock(handle, fcntl.LOCK_EX)
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    identity = {
        "pid": str(os.getpid()),
        "run_id": run_id,
        "started_at": started,
        "launched_by": launched_by,
    }
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(identity))
    handle.flush()
    _HELD[path] = handle
    return True


def release(paths: LedgerPaths) -> None:
    handle = _HELD.pop(lock_path(paths), None)
    if handle is not None:
        handle.truncate(0)
        handle.close()  # closing drops the flock


def _holder(handle: IO[str]) -> dict[str, str]:
    """The holder writes who it is right after taking the lock: wait for that, briefly."""
    deadline = time.monotonic() + IDENTITY_WAIT_S
    while not (holder := _read(handle)) and time.monotonic() < deadline:
        time.sleep(0.01)
    return holder


@contextlib.contextmanager
def run_lock(
    paths: LedgerPaths,
    run_id: str,
    launched_by: str,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the run lock for the block (see :func:`acquire`)."""
    taken = acquire(paths, run_id, launched_by, on_wait)
    try:
        yield
    finally:
        if taken:
            release(paths)


def running(paths: LedgerPaths) -> str | None:
    """Who holds the run lock (one line), or None; takes nothing. For the sensor."""
    path = lock_path(paths)
    if path in _HELD or not path.exists():
        return None if path not in _HELD else describe(_read(_HELD[path]))
    with path.open("r") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return describe(_holder(handle))
    return None
