"""Import a heavy module in a background thread while a step's work leaves the GIL free.

The evidence report's matplotlib takes ~0.5 s to import; the report step used to wait for it.
DuckDB releases the GIL while it runs dbt's SQL, so a thread importing meanwhile costs the run
little; the step's own import then finds the module loaded, or waits for the thread under
Python's import lock. (Great Expectations, ~5 s, imports in its own process: quality/gx_worker.py.)
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading

EVIDENCE = "orchestration.evidence.page"  # matplotlib, the report's charts and page
_lock = threading.Lock()
_started: set[str] = set()


def preload(module: str) -> threading.Thread | None:
    """Start importing ``module`` once per process; None when it is loaded or on its way."""
    with _lock:
        if module in sys.modules or module in _started:
            return None
        _started.add(module)
    thread = threading.Thread(target=_import, args=(module,), name=f"preload {module}", daemon=True)
    thread.start()
    return thread


def _import(module: str) -> None:
    # on failure the step imports it again and reports the error where it matters
    with contextlib.suppress(ImportError):
        importlib.import_module(module)
