"""Great Expectations validates in a worker process, which imports it while the run does other work.

Importing GX is ~5 s of pure Python (scipy, altair and sqlalchemy come with it; 9-11 s on a
loaded machine). Imported by the run's own process, even on a background thread, it held the
GIL while the run imported Dagster and parsed files, and the first check still waited for the
rest. A worker process imports it on the other core instead (``ledger run`` starts it first
thing unless the run reads big new files, an ingest step otherwise, once it read its files),
and every check of the run validates there: the run's process never imports GX or pandas.
The worker opens the staging database read-only for each validation and closes it after, as
the checks did in-process; the summary it returns is plain Python (quality/summary.py).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import multiprocessing.util
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from orchestration.paths import LedgerPaths
from orchestration.quality.summary import ValidationSummary

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def start() -> ProcessPoolExecutor:
    """The worker, started and set importing GX unless it already is."""
    global _pool
    with _lock:
        if _pool is None:
            # spawn, not fork: a fork would copy the run's threads (Dagster's, DuckDB's) mid-flight
            _pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            _pool.submit(_import_gx)  # the pool starts its process on the first task
            # A run inside a multiprocessing worker (a backfill's, parallel.py) exits through
            # multiprocessing, which joins the process's children before the executors' own
            # exit hook would stop this one: it would wait for ever. Its finalizers come first,
            # highest priority first; the pool's queues close theirs at 10.
            multiprocessing.util.Finalize(None, _stop, exitpriority=20)
        return _pool


def _stop() -> None:
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def validate(paths: LedgerPaths, table: str, suite: str, **options: Any) -> ValidationSummary:
    """``quality.gx.validate_table`` of ``table`` in the staging database of ``paths``, run by
    the worker; its exceptions are raised here."""
    global _pool
    pool = start()
    try:
        return pool.submit(_validate, paths, table, suite, options).result()
    except BrokenProcessPool:
        with _lock:  # the worker died (killed, out of memory): the next check starts another
            if _pool is pool:
                _pool = None
        raise


def _import_gx() -> None:
    import orchestration.quality.gx  # noqa: F401 - the import is the point


def _validate(
    paths: LedgerPaths, table: str, suite: str, options: dict[str, Any]
) -> ValidationSummary:
    from orchestration.quality.gx import validate_table
    from orchestration.staging import open_staging

    with open_staging(paths, read_only=True) as con:
        summary = validate_table(con, table, suite, **options)
    _return_memory()
    return summary


def _return_memory() -> None:
    """Give what the chunks took back to the system: the worker idles between checks while the
    run's process works, and both count (10 M raw manifest rows: 1.0 GB kept, 0.4 GB after)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()  # Arrow's allocator keeps freed pages
    with contextlib.suppress(OSError, AttributeError):  # glibc's heap; no such call elsewhere
        ctypes.CDLL("libc.so.6").malloc_trim(0)
