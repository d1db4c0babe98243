"""Loading: each input file enters the raw schema in one transaction.

The raw tables mirror the current contents of ``data/raw``: unchanged files are skipped by
sha256, changed files replace their rows, vanished files take their rows with them. Parsing
happens before the transaction (into a scratch parquet file), so the database is locked only
for the delete + insert + registry row of one file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import psutil

from orchestration.ingest.contract import reset_if_outdated
from orchestration.ingest.readers.common import FileRejected
from orchestration.ingest.registry import (
    first_loaded,
    forget_file,
    forget_vanished,
    record_changes,
    registered,
    write_registry,
)
from orchestration.ingest.source import FileOutcome, Log, Source
from orchestration.inputs import (
    LINK_OUTSIDE_RAW,
    current_files,
    file_digest,
    input_hashes,
    leaves_raw,
)
from orchestration.sql import transaction
from orchestration.staging import StagingAccess

SCRATCH_PREFIX = "ingest-"  # + pid + "-": scratch folders under data/warehouse


def _stage(
    source: Source, path: Path, outcome: FileOutcome, scratch: Path, warn: Log
) -> Path | None:
    """Parse a file into scratch; a whole-file failure is recorded on the outcome, not raised."""
    scratch.mkdir(parents=True)
    try:
        staged = source.stage(path, outcome, scratch)
    except FileRejected as rejected:
        outcome.status = "rejected"
        outcome.reason_code = rejected.reason_code
        outcome.message = rejected.message
        warn(f"rejected {rejected.reason_code}: {rejected.message}")
        return None
    outcome.status = "loaded"
    return staged


def sweep_scratch(warehouse: Path, log: Log) -> None:
    """Remove scratch folders left by killed runs; the folder name carries the owner's pid."""
    for folder in warehouse.glob(f"{SCRATCH_PREFIX}*-*"):
        pid = folder.name.removeprefix(SCRATCH_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            log(f"removed {folder.name}, left by a run that was killed (pid {pid})")


def ingest_source(ledger: StagingAccess, source: Source, log: Log, warn: Log) -> list[FileOutcome]:
    """Bring the raw tables of ``source`` in line with the files now in data/raw/<source>.

    The database is opened only for the registry and for each file's transaction, never
    while a file is being parsed.
    """
    paths = ledger.paths
    files = current_files(paths.raw_dir, source.name)
    with ledger.staging() as con:
        if reset_if_outdated(con, source.name):
            log(
                f"raw tables of {source.name} had the columns of an older contract:"
                " rebuilt, every file is read again"
            )
        forget_vanished(con, source, {name for name, _ in files}, log)
        registry = registered(con, source.name)
    hashes = input_hashes(paths, (source.name,))
    outcomes: list[FileOutcome] = []
    sweep_scratch(paths.warehouse_dir, log)
    scratch_prefix = f"{SCRATCH_PREFIX}{os.getpid()}-"
    with tempfile.TemporaryDirectory(
        dir=paths.warehouse_dir, prefix=scratch_prefix
    ) as scratch_root:
        raw_root = paths.raw_dir.resolve()
        for index, (name, path) in enumerate(files):
            outside = leaves_raw(path, raw_root)
            size = 0 if outside else path.stat().st_size
            sha = hashes.get(name) or file_digest(paths.raw_dir, path)  # new since listed
            outcome = FileOutcome(name, sha, size)
            outcomes.append(outcome)
            previous = registry.get(name)
            if previous is not None and previous[0] == outcome.file_sha256:
                log(f"{name}: unchanged (sha256 {outcome.file_sha256[:12]}), not read again")
                continue
            first = first_loaded(registry, outcome.file_sha256, name)
            staged = None
            scratch = Path(scratch_root) / str(index)
            if outside:  # rejected by name: the target is never opened
                outcome.status, outcome.reason_code = "rejected", LINK_OUTSIDE_RAW
                outcome.message = f"{name}: symbolic link points outside data/raw; not read"
                warn(f"rejected {LINK_OUTSIDE_RAW}: {outcome.message}")
            elif first is not None:
                outcome.status = "duplicate"
                outcome.message = f"{name}: same content (sha256) as {first}, ingested once"
                log(outcome.message)
            else:
                staged = _stage(source, path, outcome, scratch, warn)
            with ledger.staging() as con, transaction(con):
                if previous is not None:
                    forget_file(con, source, name, previous[0])
                if staged is not None:
                    source.insert(con, staged, outcome)
                    record_changes(con, source, name, outcome.file_sha256)
                write_registry(con, source.name, outcome)
            if staged is not None:
                shutil.rmtree(scratch)
                log(
                    f"{name}: loaded {outcome.rows_accepted} of {outcome.rows_read} rows,"
                    f" quarantined {outcome.rows_quarantined},"
                    f" exact duplicates dropped {outcome.rows_duplicate}"
                )
            registry[name] = (outcome.file_sha256, outcome.status)
    return outcomes
