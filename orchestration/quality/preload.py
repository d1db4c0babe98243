"""Import Great Expectations in a background thread while the ingest parses files.

A fresh process takes 9-11 s to import it (scipy, altair and sqlalchemy come with it), and the
first GX check used to wait for all of it. polars and DuckDB release the GIL while they parse
and insert, so a thread importing GX meanwhile costs the run little; the check's own import
then finds the module loaded, or waits for the thread under Python's import lock.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading

MODULE = "orchestration.quality.gx"  # great_expectations, pandas and the suites' helpers
_lock = threading.Lock()
_thread: threading.Thread | None = None


def preload_gx() -> threading.Thread | None:
    """Start the import once per process; None when the module is loaded already."""
    global _thread
    with _lock:
        if MODULE in sys.modules or _thread is not None:
            return None
        _thread = threading.Thread(target=_import, name="preload-gx", daemon=True)
        _thread.start()
        return _thread


def _import() -> None:
    # on failure the check imports it again and reports the error where it matters
    with contextlib.suppress(ImportError):
        importlib.import_module(MODULE)
