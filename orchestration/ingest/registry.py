"""The file registry: which files are in the raw tables, and how a file's rows come and go.

Every change to a file's rows (load, replace, removal) happens in one transaction with its
registry row and its entries in raw.changed_keys, so the registry, the raw tables and the
change log the incremental models read never disagree.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from orchestration.incremental import FILE_EVENT
from orchestration.ingest.source import FileOutcome, Log, Source, now
from orchestration.sql import quote_ident, transaction


def registered(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, tuple[str, str]]:
    """source_file -> (sha256, status) for one source."""
    rows = con.execute(
        "select source_file, file_sha256, status from raw.file_registry where source = ?",
        [source],
    ).fetchall()
    return {name: (sha, status) for name, sha, status in rows}


def record_file_event(con: duckdb.DuckDBPyConnection, source: str, name: str) -> None:
    """Log that a file of ``source`` was loaded, replaced, rejected, registered as a duplicate
    or removed: the build run rebuilds the models that source feeds until a publish clears it."""
    con.execute(
        "insert into raw.changed_keys (source, key, source_file, recorded_at) values (?, ?, ?, ?)",
        [FILE_EVENT, source, name, now()],
    )


def record_changes(con: duckdb.DuckDBPyConnection, source: Source, name: str, sha: str) -> None:
    """Log the keys (waybills) whose rows this file brings or takes away, in the same
    transaction: the incremental dbt models rebuild exactly these until a publish clears them.
    A key on several rows is logged once per row: every reader takes distinct keys, and not
    deduplicating here saves ~2 s for a 10 M-row file."""
    if source.change_key is None:
        return
    key = quote_ident(source.change_key)
    con.execute(
        f"insert into raw.changed_keys (source, key, source_file, recorded_at)"  # noqa: S608 - quoted constants
        f" select ?, {key}, ?, ? from {source.tables[0]}"
        " where source_file = ? and file_sha256 = ?",
        [source.name, name, now(), name, sha],
    )


def forget_file(con: duckdb.DuckDBPyConnection, source: Source, name: str, sha: str) -> None:
    """Remove one file's rows everywhere (the caller holds the transaction)."""
    record_changes(con, source, name, sha)
    record_file_event(con, source.name, name)
    for table in source.tables:
        con.execute(f"delete from {table} where source_file = ? and file_sha256 = ?", [name, sha])  # noqa: S608
    con.execute(
        "delete from raw.quarantine where source = ? and source_file = ?", [source.name, name]
    )
    con.execute(
        "delete from raw.file_registry where source = ? and source_file = ?", [source.name, name]
    )


def write_registry(con: duckdb.DuckDBPyConnection, source: str, outcome: FileOutcome) -> None:
    """The file's registry row; a rejected file also gets one quarantine row."""
    record_file_event(con, source, outcome.source_file)
    con.execute(
        "insert into raw.file_registry (file_sha256, source, source_file, size_bytes, status,"
        " reason_code, message, rows_read, rows_accepted, rows_quarantined, rows_duplicate,"
        " columns_mapped, columns_unmapped, loaded_at)"
        " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            outcome.file_sha256,
            source,
            outcome.source_file,
            outcome.size_bytes,
            outcome.status,
            outcome.reason_code,
            outcome.message,
            outcome.rows_read,
            outcome.rows_accepted,
            outcome.rows_quarantined,
            outcome.rows_duplicate,
            json.dumps(outcome.columns_mapped, ensure_ascii=False),
            json.dumps(outcome.columns_unmapped, ensure_ascii=False),
            now(),
        ],
    )
    if outcome.status == "rejected":
        # Rejected files show in the quarantine too, as one row without a row number.
        con.execute(
            "insert into raw.quarantine (source, source_file, source_row, file_sha256, field,"
            " reason_code, message, raw_record, ingested_at)"
            " values (?, ?, null, ?, null, ?, ?, null, ?)",
            [
                source,
                outcome.source_file,
                outcome.file_sha256,
                outcome.reason_code,
                outcome.message,
                now(),
            ],
        )


def first_loaded(registry: dict[str, tuple[str, str]], sha: str, name: str) -> str | None:
    """Another file already loaded with this content: a copy is registered, not read."""
    loaded = (n for n, (s, st) in sorted(registry.items()) if s == sha and st == "loaded")
    return next((n for n in loaded if n != name), None)


def forget_vanished(
    con: duckdb.DuckDBPyConnection, source: Source, present: set[str], log: Log
) -> None:
    """Remove the rows of files no longer in data/raw, one transaction per file."""
    for name, (sha, status) in sorted(registered(con, source.name).items()):
        if name in present:
            continue
        with transaction(con):
            forget_file(con, source, name, sha)
            if status == "loaded":
                # Copies registered as duplicates of this content must now load themselves.
                con.execute(
                    "delete from raw.file_registry where source = ? and file_sha256 = ?"
                    " and status = 'duplicate'",
                    [source.name, sha],
                )
        log(f"{name}: no longer in data/raw, its rows were removed")


def conservation_problems(
    con: duckdb.DuckDBPyConnection, source: str, table: str
) -> list[dict[str, Any]]:
    """Files whose registry counts do not add up, or disagree with the rows actually stored."""
    cur = con.execute(
        f"""
        with stored as (
            select source_file, file_sha256, count(*) as n from {table} group by all
        ), quarantined as (
            select source_file, file_sha256, count(*) as n from raw.quarantine
            where source = ? and source_row is not null group by all
        ), registry as (
            select * from raw.file_registry where source = ? and status = 'loaded'
        )
        select
            coalesce(r.source_file, s.source_file) as source_file,
            r.rows_read, r.rows_accepted, r.rows_quarantined, r.rows_duplicate,
            coalesce(s.n, 0) as stored, coalesce(q.n, 0) as in_quarantine
        from registry as r
        full join stored as s using (source_file, file_sha256)
        left join quarantined as q using (source_file, file_sha256)
        where r.source_file is null
            or r.rows_read != r.rows_accepted + r.rows_quarantined + r.rows_duplicate
            or coalesce(s.n, 0) != r.rows_accepted
            or coalesce(q.n, 0) != r.rows_quarantined
        order by 1
        """,  # noqa: S608 - table is one of our constants
        [source, source],
    )
    columns = [d[0] for d in cur.description]
    return [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]


def loaded_totals(con: duckdb.DuckDBPyConnection, source: str) -> tuple[int, int, int, int, int]:
    """(files, rows read, accepted, quarantined, duplicates) over the loaded files of a source."""
    return con.execute(
        "select count(*), coalesce(sum(rows_read), 0), coalesce(sum(rows_accepted), 0),"
        " coalesce(sum(rows_quarantined), 0), coalesce(sum(rows_duplicate), 0)"
        " from raw.file_registry where source = ? and status = 'loaded'",
        [source],
    ).fetchone()


def rejected_files(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple[str, str, str]]:
    """(file, reason code, message) of each rejected file of a source, by file name."""
    return con.execute(
        "select source_file, reason_code, message from raw.file_registry"
        " where source = ? and status = 'rejected' order by source_file",
        [source],
    ).fetchall()
