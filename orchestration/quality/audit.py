"""The audit trail of one run: GX and dbt test outcomes that decide whether a version publishes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from orchestration.sql import transaction

# An error-level failure blocks publish; a warning is recorded and shown, nothing more.
SEVERITIES = ("error", "warn")

AUDIT_COLUMNS = (
    "run_id",
    "check_name",
    "asset",
    "suite",
    "severity",
    "success",
    "evaluated",
    "failed",
    "details",
    "data_docs_url",
    "validated_at",
)

AUDIT_DDL = """
create table if not exists audit.validation_results (
    run_id varchar not null,
    check_name varchar not null,
    asset varchar not null,
    suite varchar not null,
    severity varchar not null,      -- error | warn
    success boolean not null,
    evaluated bigint,
    failed bigint,
    details varchar,                -- JSON
    data_docs_url varchar,
    validated_at timestamp not null
)"""


def ensure_audit_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists audit")
    con.execute(AUDIT_DDL)


def record_results(con: duckdb.DuckDBPyConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Replace this run's rows for the same checks, so a re-executed check is not counted twice."""
    ensure_audit_schema(con)
    if not rows:
        return
    with transaction(con):
        for row in rows:
            con.execute(
                "delete from audit.validation_results where run_id = ? and check_name = ?",
                [row["run_id"], row["check_name"]],
            )
        con.executemany(
            "insert into audit.validation_results (run_id, check_name, asset, suite, severity,"
            " success, evaluated, failed, details, data_docs_url, validated_at)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[row[c] for c in AUDIT_COLUMNS] for row in rows],
        )


def results_for_run(con: duckdb.DuckDBPyConnection, *run_ids: str) -> list[dict[str, Any]]:
    """The audit of one change: a build run's checks plus those of the ingest run before it."""
    ensure_audit_schema(con)
    cur = con.execute(
        "select run_id, check_name, asset, suite, severity, success, evaluated, failed, details,"
        " data_docs_url, validated_at from audit.validation_results"
        " where run_id in (select unnest(?::varchar[])) order by check_name",
        [list(run_ids)],
    )
    return [dict(zip(AUDIT_COLUMNS, r, strict=True)) for r in cur.fetchall()]
