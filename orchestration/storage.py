"""Is the home there, and may this process write where a run writes? Asked before any work.

A run on read-only storage used to die deep inside publish with a traceback about
``.publish.lock``; a read-only command on a mistyped LEDGER_HOME used to create it. Both now
stop first with one line that names the folder. Import-light: the CLI uses it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from orchestration.paths import LedgerPaths


class StorageError(RuntimeError):
    """The home is missing, or a folder or file a command must write to is not writable."""


def _reason(exc: OSError) -> str:
    """``permission denied``, ``read-only file system``: the errno's text, as a reason."""
    return (exc.strerror or type(exc).__name__).lower()


def cannot_write(path: Path, exc: OSError) -> StorageError:
    return StorageError(f"cannot write to {path}: {_reason(exc)}")


def require_home(paths: LedgerPaths) -> None:
    """Read commands never create the home: a missing one is almost always a typo."""
    if not paths.home.is_dir():
        raise StorageError(f"LEDGER_HOME {paths.home} does not exist")


def run_folders(paths: LedgerPaths) -> list[Path]:
    """Folders a run writes to, outermost first, so the message names where the problem is."""
    dagster = Path(os.environ.get("DAGSTER_HOME") or paths.warehouse_dir / "dagster")
    folders = [
        paths.warehouse_dir,
        paths.versions_dir,
        paths.serving_db.parent,
        paths.docs_dir,
        paths.reports_dir,
        paths.dbt_target_dir,
        dagster,
    ]
    return list(dict.fromkeys(folders))


def run_files(paths: LedgerPaths) -> list[Path]:
    """Files a run rewrites in place (the rest it replaces by rename, which needs the folder)."""
    registry = paths.versions_dir / "registry.sqlite"
    staging = paths.staging_db
    return [
        registry,
        registry.with_name(registry.name + "-wal"),
        registry.with_name(registry.name + "-shm"),
        paths.versions_dir / ".publish.lock",
        staging,
        staging.with_name(staging.name + ".wal"),
    ]


def require_writable(folders: Iterable[Path], files: Iterable[Path] = ()) -> None:
    """Create each folder if missing and write a nameless temp file in it; open each existing
    file for writing without changing it. Real attempts, not ``os.access``: that answers for
    the real user id by mode bits and misses ACLs, root squash on network mounts and such."""
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create {folder}: {_reason(exc)}") from exc
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            raise cannot_write(folder, exc) from exc
    for file in files:
        if not file.is_file():
            continue
        try:
            with file.open("r+b"):
                pass
        except OSError as exc:
            raise cannot_write(file, exc) from exc


def prepare_run(paths: LedgerPaths) -> None:
    """What `ledger run` needs before any work: data/raw there, every place it writes writable."""
    require_writable(run_folders(paths), run_files(paths))
    try:
        paths.raw_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create {paths.raw_dir}: {_reason(exc)}") from exc
