"""A backfill as one run per dispatch month, ``workers`` at a time, on a shared Dagster instance.

Each month is its own Dagster run (rebuilt whole, audited, published, as ``ledger run --months
M`` builds it), executed in a worker process of its own and recorded in the Postgres instance
(``LEDGER_PG_URL``): runs of several processes at once are what Dagster's SQLite storage does
not handle, and what its Postgres storage is for.

Runs, not Dagster's multiprocess executor: the steps of one run form a chain (ingest, dbt
inputs, monthly models, the rest, audit, publish, evidence) that all read and write the one
staging DuckDB file, so a process per step would only add a start-up per step (loading the
definitions takes ~15 s on this machine) and find nothing to overlap. What does overlap on one
DuckDB file is little: DuckDB lets one process at a time open it read-write, so the runs take
turns at the run lock (``run_lock.py``) and only their start-up runs beside another run's work.
``make bench-scale`` measures it; the README says what a shared warehouse would change.
"""

from __future__ import annotations

import multiprocessing
import sys
import uuid
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from orchestration.instance import PG_URL_ENV, dagster_instance, pg_url
from orchestration.paths import LedgerPaths
from orchestration.run_lock import run_lock

LAUNCHED_BY = "ledger backfill"


@dataclass(frozen=True)
class MonthRun:
    month: str
    run_id: str
    success: bool


def month_run(month: str) -> MonthRun:
    """One month rebuilt whole, audited and published: the worker's unit of work."""
    from orchestration.code_version import code_version
    from orchestration.definitions import defs  # heavy: once per worker process
    from orchestration.launch import build_in_process

    def log(message: str) -> None:
        print(f"[{month}] {message}", file=sys.stderr, flush=True)

    paths = LedgerPaths.from_env()
    run_id = str(uuid.uuid4())
    with run_lock(paths, run_id, LAUNCHED_BY, on_wait=log):
        result = build_in_process(
            defs, dagster_instance(paths), code_version(), log, months=(month,), run_id=run_id
        )
    return MonthRun(month, result.run_id, result.success)


def backfill(months: Sequence[str], workers: int) -> list[MonthRun]:
    """Every month as its own run, ``workers`` runs in flight at once; results in month order."""
    if pg_url() is None:
        raise ValueError(
            f"runs in parallel need {PG_URL_ENV}: Dagster's SQLite storage is for one process"
        )
    spawn = multiprocessing.get_context("spawn")  # fresh workers, not forks of a loaded Dagster
    with ProcessPoolExecutor(max_workers=workers, mp_context=spawn) as pool:
        return list(pool.map(month_run, months))
