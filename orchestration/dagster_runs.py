"""Housekeeping of the Dagster run history: dead runs marked failed, old runs deleted.

A run killed with ``kill -9`` (or whose machine rebooted) never reports an end, so it stayed
STARTED in the UI for ever. Dagster's run monitoring cannot see it: ``ledger run`` executes in
process (no run launcher), and the default launcher of ``dagster dev`` does not support worker
health checks. So each run records its process (tags ``ledger/pid``, ``ledger/pid_started``,
``ledger/host``, set by the ``ledger`` resource), and the next ``ledger run`` or ``ledger ui``
marks every STARTED run of this host whose process is gone as failed.

The run history grows by one run per launch; ``ledger run`` and ``ledger gc`` keep the newest
``LEDGER_KEEP_RUNS`` (default 100) finished runs and delete older ones with their event logs.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import psutil

PID_TAG, STARTED_TAG, HOST_TAG = "ledger/pid", "ledger/pid_started", "ledger/host"
KEEP_RUNS_ENV = "LEDGER_KEEP_RUNS"
DEFAULT_KEEP_RUNS = 100


def process_tags() -> dict[str, str]:
    """Tags that identify this process, even once its pid is reused."""
    return {
        PID_TAG: str(os.getpid()),
        STARTED_TAG: str(psutil.Process().create_time()),
        HOST_TAG: socket.gethostname(),
    }


def _alive(tags: dict[str, str]) -> bool:
    try:
        return str(psutil.Process(int(tags[PID_TAG])).create_time()) == tags.get(STARTED_TAG)
    except (psutil.NoSuchProcess, ValueError):
        return False


def fail_dead_runs(instance: Any) -> list[str]:
    """Mark STARTED/STARTING runs of this host whose process is gone as failed; their ids."""
    from dagster import DagsterRunStatus, RunsFilter

    stuck = instance.get_runs(
        filters=RunsFilter(statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING])
    )
    failed = []
    for run in stuck:
        tags = dict(run.tags)
        if PID_TAG not in tags or tags.get(HOST_TAG) != socket.gethostname() or _alive(tags):
            continue
        instance.report_run_failed(
            run,
            message=f"process {tags[PID_TAG]} of this run is gone (killed or crashed); "
            "marked failed by the next ledger run",
        )
        failed.append(run.run_id)
    return failed


def keep_runs() -> int:
    value = os.environ.get(KEEP_RUNS_ENV, str(DEFAULT_KEEP_RUNS))
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{KEEP_RUNS_ENV}={value!r}: expected a whole number of runs, at least 1")
    return int(value)


def prune_runs(instance: Any, keep: int) -> list[str]:
    """Delete finished runs (and their event logs) beyond the newest ``keep``; their ids."""
    from dagster import DagsterRunStatus, RunsFilter

    finished = [DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED]
    old = instance.get_run_ids(filters=RunsFilter(statuses=finished))[keep:]
    for run_id in old:
        instance.delete_run(run_id)
    return old
