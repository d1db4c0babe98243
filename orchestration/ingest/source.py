"""What every kind of input shares: the outcome of one file, and the Source protocol the loader
drives (parse a file without the database, then insert it inside the file's transaction)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import duckdb

Log = Callable[[str], None]


@dataclass
class FileOutcome:
    """What happened to one input file in this run; also its registry row when written."""

    source_file: str
    file_sha256: str
    size_bytes: int
    status: str = "unchanged"  # loaded | rejected | duplicate | unchanged
    reason_code: str | None = None
    message: str | None = None
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    columns_mapped: dict[str, str] = field(default_factory=dict)
    columns_unmapped: list[str] = field(default_factory=list)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)


class Source(Protocol):
    """One kind of input: how to parse a file (no database) and how to insert it."""

    name: str
    tables: Sequence[str]
    change_key: str | None  # column whose values the incremental models rebuild when they change

    def stage(self, path: Path, outcome: FileOutcome, scratch: Path) -> Path: ...

    def insert(
        self, con: duckdb.DuckDBPyConnection, staged: Path, outcome: FileOutcome
    ) -> None: ...


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
