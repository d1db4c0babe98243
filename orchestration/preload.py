"""Import heavy modules in a background thread while a step's work leaves the GIL free.

A fresh process takes 9-11 s to import Great Expectations (scipy, altair and sqlalchemy come
with it) and ~0.5 s more for the evidence report's matplotlib; the first step that needed one
used to wait for all of it. polars and DuckDB release the GIL while they parse, insert and run
dbt's SQL, so a thread importing meanwhile costs the run little; the step's own import then
finds the module loaded, or waits for the thread under Python's import lock.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading

GX = "orchestration.quality.gx"  # great_expectations, pandas and the suites' helpers
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
