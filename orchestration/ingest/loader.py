"""File registry and loading: each input file enters the raw schema in one transaction.

The raw tables mirror the current contents of ``data/raw``: unchanged files are skipped by
sha256, changed files replace their rows, vanished files take their rows with them. Parsing
happens before the transaction (into a scratch parquet file), so the database is locked only
for the delete + insert + registry row of one file.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

import duckdb
import polars as pl
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from orchestration.claims import ReportError, read_report
from orchestration.defs.resources import LedgerResource
from orchestration.ingest.contract import reset_if_outdated
from orchestration.ingest.exprs import excerpt
from orchestration.ingest.parsing import (
    MANIFEST_COLUMNS,
    MANIFEST_REQUIRED,
    VOYAGE_COLUMNS,
    VOYAGE_REQUIRED,
    Lookups,
    ParsePlan,
    apply_plan,
    manifest_plan,
    parse_date_expr,
    voyage_plan,
)
from orchestration.ingest.readers import FileRejected, error_text, read_table
from orchestration.ingest.stations import match_details
from orchestration.inputs import LINK_OUTSIDE_RAW, current_files, file_digest, leaves_raw
from orchestration.sql import quote_ident, transaction

Log = Callable[[str], None]
BATCH_ROWS = 500_000
# Caps DuckDB while it deduplicates a big file: it spills to disk instead of growing.
INSERT_MEMORY_LIMIT = "1500MB"
SCRATCH_PREFIX = "ingest-"  # + pid + "-": scratch folders under data/warehouse


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


def stage_batches(frame: pl.LazyFrame, plan: ParsePlan, display: str, scratch: Path) -> int:
    """Parse a file into accepted/ and quarantined/ parquet parts; returns the rows read.

    The text columns stream to parquet first (constant memory); the rules then run on
    batches pulled from it. Some rules (dict lookups) would make one streaming query fall
    back to holding the whole file in memory.
    """
    text = scratch / "text.parquet"
    accepted_dir, quarantined_dir = scratch / "accepted", scratch / "quarantined"
    accepted_dir.mkdir()
    quarantined_dir.mkdir()
    try:
        frame.sink_parquet(text, row_group_size=BATCH_ROWS)
        parquet = pq.ParquetFile(text)
        # At least one part, if empty, so the insert's globs match even when the reader
        # quarantined every line before parsing (too long, broken quoting).
        batches = (
            parquet.iter_batches(batch_size=BATCH_ROWS)
            if parquet.metadata.num_rows
            else [parquet.schema_arrow.empty_table()]
        )
        rows = 0
        for index, batch in enumerate(batches):
            frame_batch = pl.from_arrow(batch)
            rows += frame_batch.height
            accepted, quarantined = apply_plan(frame_batch, plan, display)
            accepted.write_parquet(accepted_dir / f"{index:06d}.parquet")
            quarantined.write_parquet(quarantined_dir / f"{index:06d}.parquet")
    except (pl.exceptions.PolarsError, pa.ArrowException, OSError) as exc:
        message = f"{display}: cannot be read ({error_text(exc)})"
        raise FileRejected("unreadable_file", message) from exc
    text.unlink()
    return rows


@dataclass(frozen=True)
class TableSource:
    """A tabular input (manifests, voyages): canonical columns, required ones, parsing rules."""

    name: str
    canonical: Sequence[str]
    required: Sequence[tuple[str, ...]]
    plan: Callable[[Lookups, date], ParsePlan]
    columns: Sequence[str]  # the raw.<name> columns before provenance
    dedupe_columns: Sequence[str]  # canonical values that make two rows "the same row"
    # Per-file facts about the loaded rows for the metadata table: (con, file, sha256) -> details
    describe: Callable[[duckdb.DuckDBPyConnection, str, str], dict[str, str]] | None = None
    change_key: str | None = None

    @property
    def tables(self) -> Sequence[str]:
        return (f"raw.{quote_ident(self.name)}",)

    def stage(self, path: Path, outcome: FileOutcome, scratch: Path) -> Path:
        display = outcome.source_file
        text = read_table(path, display, self.canonical, self.required, scratch)
        outcome.columns_mapped = text.columns_mapped
        outcome.columns_unmapped = text.columns_unmapped
        outcome.details = {"encoding": text.encoding, **text.details}
        plan = self.plan(Lookups.from_seeds(), date.today())
        rows = stage_batches(text.frame, plan, display, scratch)
        if text.rejected is not None:
            text.rejected.write_parquet(scratch / "quarantined" / "rejected.parquet")
            rows += text.rejected.height
        if rows == 0:
            found = [*text.columns_mapped, *text.columns_unmapped]
            header = excerpt(str(found))
            raise FileRejected("header_only", f"{display}: a header but no data rows ({header})")
        return scratch

    def insert(self, con: duckdb.DuckDBPyConnection, staged: Path, outcome: FileOutcome) -> None:
        """Accepted rows minus exact duplicates (in file or loaded before); the rest quarantined."""
        accepted = str(staged / "accepted" / "*.parquet")
        quarantined = str(staged / "quarantined" / "*.parquet")
        reasons = con.execute(
            "select reason_code, count(*) from read_parquet(?) group by all order by all",
            [quarantined],
        ).fetchall()
        outcome.quarantine_reasons = dict(reasons)
        outcome.rows_quarantined = sum(outcome.quarantine_reasons.values())
        (candidates,) = con.execute("select count(*) from read_parquet(?)", [accepted]).fetchone()
        outcome.rows_read = outcome.rows_quarantined + candidates
        columns = ", ".join(quote_ident(c) for c in self.columns)
        keys = ", ".join(quote_ident(c) for c in self.dedupe_columns)
        # Of rows with equal canonical values the first keeps its raw spellings (hash
        # aggregate, spills to disk on big files); rows equal to already loaded ones go too.
        firsts = ", ".join(
            f"arg_min_null({quote_ident(c)}, source_row) as {quote_ident(c)}"
            for c in self.columns
            if c not in self.dedupe_columns
        )
        same = " and ".join(
            f"m.{quote_ident(c)} is not distinct from c.{quote_ident(c)}"
            for c in self.dedupe_columns
        )
        table = self.tables[0]
        inserted = con.execute(
            f"insert into {table} ({columns}, source_file, source_row, file_sha256, ingested_at)"  # noqa: S608 - identifiers are constants, quoted
            f" select {columns}, ?, source_row, ?, ? from ("
            f"   select {keys}, min(source_row) as source_row, {firsts}"
            "    from read_parquet(?) group by all"
            f" ) as c where not exists (select 1 from {table} as m where {same})",
            [outcome.source_file, outcome.file_sha256, now(), accepted],
        ).fetchone()
        outcome.rows_accepted = int(inserted[0]) if inserted else 0
        outcome.rows_duplicate = (
            outcome.rows_read - outcome.rows_quarantined - outcome.rows_accepted
        )
        if self.describe is not None:
            outcome.details.update(self.describe(con, outcome.source_file, outcome.file_sha256))
        con.execute(
            "insert into raw.quarantine (source, source_file, source_row, file_sha256, field,"
            " reason_code, message, raw_record, ingested_at)"
            " select ?, ?, source_row, ?, reason_field, reason_code, reason_message, raw_record, ?"
            " from read_parquet(?) order by source_row",
            [self.name, outcome.source_file, outcome.file_sha256, now(), quarantined],
        )


MANIFESTS = TableSource(
    name="manifests",
    canonical=MANIFEST_COLUMNS,
    required=MANIFEST_REQUIRED,
    plan=manifest_plan,
    columns=(
        "waybill_no",
        "dispatch_date",
        "origin_station_code",
        "origin_station_raw",
        "origin_station_matched_by",
        "origin_station_code_given",
        "destination_station_code",
        "destination_station_raw",
        "destination_station_matched_by",
        "destination_station_code_given",
        "shipper",
        "consignee",
        "cargo_code",
        "cargo_description",
        "hazard_class",
        "wagon_no",
        "container_no",
        "gross_weight_kg",
        "weight_unit_raw",
        "packages",
        "extra_fields",
    ),
    dedupe_columns=(
        "waybill_no",
        "dispatch_date",
        "origin_station_code",
        "destination_station_code",
        "shipper",
        "consignee",
        "cargo_code",
        "cargo_description",
        "hazard_class",
        "wagon_no",
        "container_no",
        "gross_weight_kg",
        "packages",
    ),
    describe=match_details,
    change_key="waybill_no",
)
VOYAGES = TableSource(
    name="voyages",
    canonical=VOYAGE_COLUMNS,
    required=VOYAGE_REQUIRED,
    plan=voyage_plan,
    columns=(
        "vessel_name",
        "imo",
        "port",
        "port_raw",
        "arrival",
        "departure",
        "laden",
        "extra_fields",
    ),
    dedupe_columns=("vessel_name", "imo", "port", "arrival", "departure", "laden"),
)


REPORT_CLAIM_SCHEMA: dict[str, pl.DataType] = {
    "claim_id": pl.String(),
    "report_id": pl.String(),
    "metric": pl.String(),
    "value": pl.Float64(),
    "value_low": pl.Float64(),
    "value_high": pl.Float64(),
    "qualifier": pl.String(),
    "period_start": pl.String(),
    "period_end": pl.String(),
    "direction_from": pl.String(),
    "direction_to": pl.String(),
    "char_start": pl.Int32(),
    "char_end": pl.Int32(),
    "sentence": pl.String(),
    "is_curated": pl.Boolean(),
}
REPORT_FIELDS = ("title", "publisher", "published", "url", "language")


@dataclass(frozen=True)
class ReportSource:
    """Markdown reports: one raw.reports row per file plus its claims in raw.report_claims."""

    name: str = "reports"
    tables: Sequence[str] = ("raw.reports", "raw.report_claims")
    change_key: str | None = None  # a few rows: the models over reports are rebuilt whole

    def stage(self, path: Path, outcome: FileOutcome, scratch: Path) -> Path:
        display = outcome.source_file
        if path.suffix.lower() != ".md":
            raise FileRejected("unreadable_file", f"{display}: unsupported file type; expected .md")
        if not path.read_bytes().strip():
            raise FileRejected("empty_file", f"{display}: the file is empty")
        try:
            report = read_report(path)
        except (ReportError, UnicodeDecodeError) as exc:
            raise FileRejected("unreadable_file", f"{display}: {error_text(exc)}") from exc
        meta = report.front_matter
        row = {k: None if meta.get(k) is None else str(meta[k]) for k in REPORT_FIELDS}
        pl.DataFrame(
            [{"report_id": report.report_id, **row, "body": report.body}],
            schema={
                "report_id": pl.String,
                **dict.fromkeys(REPORT_FIELDS, pl.String),
                "body": pl.String,
            },
        ).with_columns(
            parse_date_expr(pl.col("published")).alias("published"),
            pl.lit(bool(meta.get("synthetic", False))).alias("is_synthetic"),
        ).write_parquet(scratch / "reports.parquet")
        claims = pl.DataFrame(
            report.claims, schema=REPORT_CLAIM_SCHEMA, orient="row" if not report.claims else None
        )
        claims.with_row_index("source_row", offset=1).write_parquet(scratch / "claims.parquet")
        outcome.details = {"claims": str(claims.height)}
        outcome.status = "loaded"
        return scratch

    def insert(self, con: duckdb.DuckDBPyConnection, staged: Path, outcome: FileOutcome) -> None:
        provenance = [outcome.source_file, outcome.file_sha256, now()]
        con.execute(
            "insert into raw.reports (report_id, title, publisher, published, url, language,"
            " is_synthetic, body, source_file, source_row, file_sha256, ingested_at)"
            " select report_id, title, publisher, published, url, language, is_synthetic, body,"
            " ?, 1, ?, ? from read_parquet(?)",
            [*provenance, str(staged / "reports.parquet")],
        )
        columns = ", ".join(quote_ident(c) for c in REPORT_CLAIM_SCHEMA)
        con.execute(
            f"insert into raw.report_claims ({columns}, source_file, source_row, file_sha256,"  # noqa: S608 - constant column names
            f" ingested_at) select {columns}, ?, source_row, ?, ? from read_parquet(?)",
            [*provenance, str(staged / "claims.parquet")],
        )
        outcome.rows_read = outcome.rows_accepted = 1


def registered(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, tuple[str, str]]:
    """source_file -> (sha256, status) for one source."""
    rows = con.execute(
        "select source_file, file_sha256, status from raw.file_registry where source = ?",
        [source],
    ).fetchall()
    return {name: (sha, status) for name, sha, status in rows}


def record_changes(con: duckdb.DuckDBPyConnection, source: Source, name: str, sha: str) -> None:
    """Log the keys (waybills) whose rows this file brings or takes away, in the same
    transaction: the incremental dbt models rebuild exactly these until a publish clears them."""
    if source.change_key is None:
        return
    key = quote_ident(source.change_key)
    con.execute(
        f"insert into raw.changed_keys (source, key, source_file, recorded_at)"  # noqa: S608 - quoted constants
        f" select distinct ?, {key}, ?, ? from {source.tables[0]}"
        " where source_file = ? and file_sha256 = ?",
        [source.name, name, now(), name, sha],
    )


def forget_file(con: duckdb.DuckDBPyConnection, source: Source, name: str, sha: str) -> None:
    """Remove one file's rows everywhere (the caller holds the transaction)."""
    record_changes(con, source, name, sha)
    for table in source.tables:
        con.execute(f"delete from {table} where source_file = ? and file_sha256 = ?", [name, sha])  # noqa: S608
    con.execute(
        "delete from raw.quarantine where source = ? and source_file = ?", [source.name, name]
    )
    con.execute(
        "delete from raw.file_registry where source = ? and source_file = ?", [source.name, name]
    )


def write_registry(con: duckdb.DuckDBPyConnection, source: str, outcome: FileOutcome) -> None:
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


def _first_loaded(registry: dict[str, tuple[str, str]], sha: str, name: str) -> str | None:
    loaded = (n for n, (s, st) in sorted(registry.items()) if s == sha and st == "loaded")
    return next((n for n in loaded if n != name), None)


def _forget_vanished(
    con: duckdb.DuckDBPyConnection, source: Source, present: set[str], log: Log
) -> None:
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


def sweep_scratch(warehouse: Path, log: Log) -> None:
    """Remove scratch folders left by killed runs; the folder name carries the owner's pid."""
    for folder in warehouse.glob(f"{SCRATCH_PREFIX}*-*"):
        pid = folder.name.removeprefix(SCRATCH_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            log(f"removed {folder.name}, left by a run that was killed (pid {pid})")


def ingest_source(ledger: LedgerResource, source: Source, log: Log, warn: Log) -> list[FileOutcome]:
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
        _forget_vanished(con, source, {name for name, _ in files}, log)
        registry = registered(con, source.name)
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
            outcome = FileOutcome(name, file_digest(paths.raw_dir, path), size)
            outcomes.append(outcome)
            previous = registry.get(name)
            if previous is not None and previous[0] == outcome.file_sha256:
                log(f"{name}: unchanged (sha256 {outcome.file_sha256[:12]}), not read again")
                continue
            first = _first_loaded(registry, outcome.file_sha256, name)
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
                con.execute(f"set memory_limit = '{INSERT_MEMORY_LIMIT}'")
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
