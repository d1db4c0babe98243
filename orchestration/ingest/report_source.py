"""Markdown reports: one raw.reports row per file plus the claims found in it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from orchestration.claims import ReportError, read_report
from orchestration.ingest.contract import contract_columns, payload_columns
from orchestration.ingest.readers.common import FileRejected, error_text
from orchestration.ingest.source import FileOutcome, now
from orchestration.ingest.values import parse_date_expr
from orchestration.sql import quote_ident

REPORT_FIELDS = ("title", "publisher", "published", "url", "language")  # front matter, as text
# Polars types of the claims the extractor returns; its dates are ISO text, cast on insert.
_CLAIM_TYPES: dict[str, pl.DataType] = {
    "VARCHAR": pl.String(),
    "DOUBLE": pl.Float64(),
    "INTEGER": pl.Int32(),
    "BOOLEAN": pl.Boolean(),
    "DATE": pl.String(),
}


def claim_schema() -> dict[str, pl.DataType]:
    """The raw.report_claims columns (less provenance) with the types the extractor gives."""
    types = {name: data_type for name, data_type, _ in contract_columns()["report_claims"]}
    return {c: _CLAIM_TYPES[types[c]] for c in payload_columns("report_claims")}


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
            report.claims, schema=claim_schema(), orient="row" if not report.claims else None
        )
        claims.with_row_index("source_row", offset=1).write_parquet(scratch / "claims.parquet")
        outcome.details = {"claims": str(claims.height)}
        outcome.status = "loaded"
        return scratch

    def insert(self, con: duckdb.DuckDBPyConnection, staged: Path, outcome: FileOutcome) -> None:
        provenance = [outcome.source_file, outcome.file_sha256, now()]
        for table, staged_file, row in (
            ("reports", "reports.parquet", "1"),
            ("report_claims", "claims.parquet", "source_row"),
        ):
            columns = ", ".join(quote_ident(c) for c in payload_columns(table))
            con.execute(
                f"insert into raw.{table} ({columns}, source_file, source_row, file_sha256,"  # noqa: S608 - contract column names
                f" ingested_at) select {columns}, ?, {row}, ?, ? from read_parquet(?)",
                [*provenance, str(staged / staged_file)],
            )
        outcome.rows_read = outcome.rows_accepted = 1


REPORTS = ReportSource()
