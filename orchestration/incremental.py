"""What a run must rebuild and re-validate: only what changed, unless the code did.

The big models (fct_shipments, fct_munitions_equivalent) rebuild only the waybills in
``raw.changed_keys`` (written by ingest, in the transaction that loads or forgets a file). That
is only sound while the code that built the rest of the table is the code running now, so a
build is full whenever the code version differs from the last successful build's. The log is
cleared by the publish of the run that consumed it, up to that run's dbt start: a run that
fails its audit leaves it for the next run, which rebuilds the same waybills again.

GX follows the same rule: the raw manifests suite validates the rows of files it has not passed
under the current code, the fct_shipments suite the waybills an incremental build rebuilt.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from orchestration.sql import sql_literal, table_exists

# The manifests' part of the change log, which ingest writes and the publish clears: the waybills
# the incremental models rebuild, GX re-validates and a delta publish rewrites (publish/parts.py).
CHANGE_LOG = "raw.changed_keys where source = 'manifests'"
# Its entries for file events (load, replace, rejection, duplicate, removal) of any source, whose
# ``key`` names the source: a build run leaves out the models no pending event feeds (launch.py).
FILE_EVENT = "files"
# Its entries for the dispatch months ('YYYY-MM') whose aggregates the next build recomputes
# (dbt macro only_changed_months): logged by the monthly dbt step before it moves any waybill.
MONTH_EVENT = "months"

BUILDS_DDL = """
create table if not exists audit.dbt_builds (
    run_id varchar not null,
    code_version varchar not null,
    full_refresh boolean not null,
    started_at timestamp not null,      -- changes recorded before this were consumed
    finished_at timestamp not null
)"""
# Which dbt step built: MONTHLY (the incremental, month-partitioned models) or the rest.
# Added after the table first shipped, hence the alter for staging databases built before.
PART_DDL = "alter table audit.dbt_builds add column if not exists part varchar default 'all'"
MONTHLY = "monthly"
REST = "rest"  # the dbt step after the monthly one: dimensions, claims, aggregates
# The dbt step of what no raw table feeds (seeds and the models over them alone): built only
# when the code changed, since nothing else can change it.
REFERENCE = "reference"
RAW_SOURCE = "raw"  # the dbt source of the ingested tables

# Waybills with rows in the given months, in the raw rows (their current state) and in the
# built table (what is there to delete): a corrected re-send may have moved a waybill's month.
_WAYBILLS_MONTHS = """
select waybill_no, strftime(dispatch_date, '%Y-%m') as month from raw.manifests
{built}
"""


def _ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists audit")
    con.execute(BUILDS_DDL)
    con.execute(PART_DDL)


def full_refresh_needed(con: duckdb.DuckDBPyConnection, code: str, part: str) -> bool:
    """True unless the last successful build of this part ran this very code."""
    _ensure(con)
    row = con.execute(
        "select code_version from audit.dbt_builds where part in (?, 'all')"
        " order by finished_at desc limit 1",
        [part],
    ).fetchone()
    return row is None or row[0] != code


def _waybill_months(con: duckdb.DuckDBPyConnection) -> str:
    built = table_exists(con, "main", "fct_shipments")
    union = (
        "union all select waybill_no, strftime(dispatch_date, '%Y-%m') from main.fct_shipments"
        if built
        else ""
    )
    return _WAYBILLS_MONTHS.format(built=union)


def changed_months(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Months ('YYYY-MM') of the waybills waiting in the change log: the partitions to build."""
    rows = con.execute(
        f"select distinct month from ({_waybill_months(con)}) where waybill_no in"  # noqa: S608
        f" (select key from {CHANGE_LOG}) order by month"
    ).fetchall()
    return [r[0] for r in rows]


def data_months(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every month with manifest rows, raw or built: what a full refresh rebuilds."""
    rows = con.execute(
        f"select distinct month from ({_waybill_months(con)}) order by month"  # noqa: S608
    ).fetchall()
    return [r[0] for r in rows]


def queue_months(
    con: duckdb.DuckDBPyConnection, months: list[str], run_id: str, at: datetime
) -> int:
    """Log every waybill of these months as changed, so the incremental models rebuild whole
    months (a backfill, or a re-run of one month). Logged, not just filtered: a run killed
    half-way leaves them queued, and the next run of any kind completes the rebuild."""
    _ensure(con)
    before = con.execute("select count(*) from raw.changed_keys").fetchone()[0]
    con.execute(
        "insert into raw.changed_keys (source, key, source_file, recorded_at)"  # noqa: S608
        f" select distinct 'manifests', waybill_no, 'partition run ' || ?, ?"
        f" from ({_waybill_months(con)}) where month in (select unnest(?::varchar[]))",
        [run_id, at, months],
    )
    return int(con.execute("select count(*) from raw.changed_keys").fetchone()[0] - before)


def record_changed_months(
    con: duckdb.DuckDBPyConnection, months: list[str], run_id: str, at: datetime
) -> None:
    """Log the months whose aggregates the build must recompute. Logged before the monthly
    models rebuild the waybills, since a corrected re-send can take one out of its old month,
    and kept until a publish: a run killed after that step leaves the old month to the next."""
    con.execute(
        "insert into raw.changed_keys (source, key, source_file, recorded_at)"
        " select ?, month, ?, ? from unnest(?::varchar[]) as t(month)",
        [MONTH_EVENT, f"build {run_id}", at, months],
    )


def record_build(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    code: str,
    full_refresh: bool,
    started_at: datetime,
    finished_at: datetime,
    part: str,
) -> None:
    """Only successful builds are recorded: a failed one must not unlock incremental builds."""
    _ensure(con)
    con.execute(
        "insert into audit.dbt_builds"
        " (run_id, code_version, full_refresh, started_at, finished_at, part)"
        " values (?, ?, ?, ?, ?, ?)",
        [run_id, code, full_refresh, started_at, finished_at, part],
    )


def pending_sources(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The sources (manifests, voyages, reports) with changes no publish has consumed yet: file
    events, and waybills a file changed or a backfill queued."""
    if not table_exists(con, "raw", "changed_keys"):
        return set()
    rows = con.execute(
        f"select distinct case when source = {sql_literal(FILE_EVENT)} then key else source end"  # noqa: S608 - constants
        f" from raw.changed_keys where source <> {sql_literal(MONTH_EVENT)}"
    ).fetchall()
    return {r[0] for r in rows}


def clear_consumed_changes(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """Forget the changes this run's dbt build consumed; returns how many were cleared."""
    _ensure(con)
    # The monthly step's start comes after it queued a backfill's months; without that step,
    # the run's first dbt start (file events only, e.g. a new voyages file).
    row = con.execute(
        "select coalesce(max(started_at) filter (where part = ?), min(started_at))"
        " from audit.dbt_builds where run_id = ?",
        [MONTHLY, run_id],
    ).fetchone()
    if row is None or row[0] is None:
        return 0
    if not table_exists(con, "raw", "changed_keys"):
        return 0
    cleared = con.execute("delete from raw.changed_keys where recorded_at < ?", [row[0]]).fetchone()
    return int(cleared[0]) if cleared else 0


VALIDATED_DDL = """
create table if not exists audit.validated_files (
    suite varchar not null,
    file_sha256 varchar not null,
    code_version varchar not null       -- a new suite or new code validates everything again
)"""


def unvalidated_files(con: duckdb.DuckDBPyConnection, suite: str, code: str) -> str:
    """SQL condition for raw rows of files this suite has not passed under this code."""
    _ensure(con)
    con.execute(VALIDATED_DDL)
    return (
        "file_sha256 not in (select file_sha256 from audit.validated_files"  # noqa: S608 - literals
        f" where suite = {sql_literal(suite)} and code_version = {sql_literal(code)})"
    )


def record_validated_files(
    con: duckdb.DuckDBPyConnection, table: str, suite: str, code: str, where: str
) -> None:
    """After a pass: these files need no second look until the code changes."""
    con.execute(
        "insert into audit.validated_files"  # noqa: S608 - table is a constant, where is ours
        f" select distinct ?, file_sha256, ? from {table} where {where}",
        [suite, code],
    )


def changed_waybills(con: duckdb.DuckDBPyConnection, run_id: str) -> str | None:
    """SQL condition for the rows this run's incremental build rebuilt; None (everything) when
    the build was full or did not run in this run."""
    _ensure(con)
    row = con.execute(
        "select bool_or(full_refresh) from audit.dbt_builds where run_id = ? and part = ?",
        [run_id, MONTHLY],
    ).fetchone()
    if row is None or row[0] is None or row[0]:
        return None
    return f"waybill_no in (select key from {CHANGE_LOG})"  # noqa: S608 - constant
