"""Ingest assets: data/raw files -> the DuckDB raw schema, with a row-conservation check each.

They never fail on bad input: bad files and rows are recorded (registry, quarantine) and
surfaced as warnings and metadata, so one broken delivery does not stop the ledger.
"""

# No ``from __future__ import annotations`` here: Dagster inspects the ``context``
# annotation at definition time and rejects string annotations.
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from orchestration.defs.ingest.schema import raw_table_metadata
from orchestration.defs.resources import LedgerResource
from orchestration.ingest.contract import ensure_raw_schema
from orchestration.ingest.loader import ingest_source
from orchestration.ingest.registry import conservation_problems, loaded_totals, rejected_files
from orchestration.ingest.report_source import REPORTS
from orchestration.ingest.source import FileOutcome, Source
from orchestration.ingest.table_source import MANIFESTS, VOYAGES, TableSource
from orchestration.markdown import markdown_table
from orchestration.quality import gx_worker

GROUP = "ingest"


def run_metadata(outcomes: Sequence[FileOutcome]) -> dict[str, dg.MetadataValue]:
    """What this run did, file by file and in total."""
    status = Counter(o.status for o in outcomes)
    loaded = [o for o in outcomes if o.status == "loaded"]
    reasons: Counter[str] = Counter()
    for o in loaded:
        reasons.update(o.quarantine_reasons)
    mapped = {o.source_file: o.columns_mapped for o in loaded}
    unmapped = {o.source_file: o.columns_unmapped for o in loaded if o.columns_unmapped}
    files = markdown_table(
        ["file", "status", "read", "accepted", "quarantined", "duplicates", "note"],
        [
            (
                o.source_file,
                o.status,
                o.rows_read,
                o.rows_accepted,
                o.rows_quarantined,
                o.rows_duplicate,
                o.message or ", ".join(f"{k}={v}" for k, v in o.details.items()),
            )
            for o in outcomes
        ],
    )
    return {
        "files_loaded": dg.MetadataValue.int(status["loaded"]),
        "files_unchanged": dg.MetadataValue.int(status["unchanged"]),
        "files_duplicate": dg.MetadataValue.int(status["duplicate"]),
        "files_rejected": dg.MetadataValue.int(status["rejected"]),
        "rejected": dg.MetadataValue.json(
            {
                o.source_file: {"reason": o.reason_code, "message": o.message}
                for o in outcomes
                if o.status == "rejected"
            }
        ),
        "rows_read": dg.MetadataValue.int(sum(o.rows_read for o in loaded)),
        "rows_accepted": dg.MetadataValue.int(sum(o.rows_accepted for o in loaded)),
        "rows_quarantined": dg.MetadataValue.int(sum(o.rows_quarantined for o in loaded)),
        "rows_duplicate": dg.MetadataValue.int(sum(o.rows_duplicate for o in loaded)),
        "columns_mapped": dg.MetadataValue.json(mapped),
        "columns_unmapped": dg.MetadataValue.json(unmapped),
        "files": dg.MetadataValue.md(files),
        # for `ledger run`: one line per file, with the top quarantine reasons
        "file_outcomes": dg.MetadataValue.json(
            [
                {
                    "file": o.source_file,
                    "status": o.status,
                    "accepted": o.rows_accepted,
                    "quarantined": o.rows_quarantined,
                    "duplicates": o.rows_duplicate,
                    "reasons": dict(Counter(o.quarantine_reasons).most_common()),
                    "message": o.message,
                }
                for o in outcomes
            ]
        ),
        "quarantine_reasons": dg.MetadataValue.md(
            markdown_table(["reason_code", "rows"], sorted(reasons.items()))
        ),
    }


def _ingest(
    context: AssetExecutionContext, ledger: LedgerResource, source: Source
) -> list[FileOutcome]:
    outcomes = ingest_source(ledger, source, log=context.log.info, warn=context.log.warning)
    # The raw checks that follow validate there; `ledger run` started it already unless this
    # run reads big files, which are better read without it (cli.EARLY_GX_MAX_BYTES).
    gx_worker.start()
    return outcomes


def _table_rows(ledger: LedgerResource, table: str) -> int:
    with ledger.staging() as con:
        ensure_raw_schema(con)
        return int(con.execute(f"select count(*) from {table}").fetchone()[0])  # noqa: S608


def table_asset(source: TableSource, description: str) -> dg.AssetsDefinition:
    """The asset raw/<source> of a tabular source, with what its run did as metadata."""

    @dg.asset(
        key=dg.AssetKey(["raw", source.name]),
        group_name=GROUP,
        kinds={"polars", "duckdb"},
        description=description,
        metadata=raw_table_metadata(source.name),
    )
    def raw_table(context: AssetExecutionContext, ledger: LedgerResource) -> dg.MaterializeResult:
        outcomes = _ingest(context, ledger, source)
        rows = _table_rows(ledger, f"raw.{source.name}")
        return dg.MaterializeResult(metadata={**run_metadata(outcomes), "dagster/row_count": rows})

    return raw_table


raw_manifests = table_asset(
    MANIFESTS,
    "Rail manifests from data/raw/manifests (csv/tsv/jsonl/parquet, any dialect),"
    " typed and validated; rejected rows go to raw.quarantine with a reason code.",
)
raw_voyages = table_asset(
    VOYAGES, "Port calls from data/raw/voyages with ports resolved through seeds/ports.csv."
)


def raw_spec(table: str, description: str, **kwargs: Any) -> dg.AssetSpec:
    """The spec of a DuckDB-only raw table: ingest group, columns from the contract."""
    return dg.AssetSpec(
        ["raw", table],
        group_name=GROUP,
        kinds={"duckdb"},
        description=description,
        metadata=raw_table_metadata(table),
        **kwargs,
    )


@dg.multi_asset(
    specs=[
        raw_spec("reports", "Open-source reports (markdown with YAML front matter), one row each."),
        raw_spec(
            "report_claims", "Quantitative claims extracted from the reports (rules + curated)."
        ),
    ],
    name="raw_reports",
)
def raw_reports(context: AssetExecutionContext, ledger: LedgerResource):
    outcomes = _ingest(context, ledger, REPORTS)
    yield dg.MaterializeResult(
        asset_key=["raw", "reports"],
        metadata={
            **run_metadata(outcomes),
            "dagster/row_count": _table_rows(ledger, "raw.reports"),
        },
    )
    yield dg.MaterializeResult(
        asset_key=["raw", "report_claims"],
        metadata={"dagster/row_count": _table_rows(ledger, "raw.report_claims")},
    )


ROW_CONSERVATION = (
    "Protects against rows silently lost or invented by ingest: per file of data/raw/{source}, rows"
    " read = accepted + quarantined + exact duplicates dropped, and the rows stored in raw.{table}"
    " and raw.quarantine match the file registry. Blocks the downstream build when it fails."
)
FILES_READABLE = (
    "Warns (does not block) when a file in data/raw/{source} cannot be read at all: binary junk,"
    " truncated, empty, header only or required columns missing. Each rejected file is listed"
    " with its reason; the other files go on."
)


def source_checks(source: str) -> list[dg.AssetChecksDefinition]:
    """The two checks of every source's asset raw/<source>: row conservation blocks the build;
    a rejected file only warns, since the other files went on (someone has to fix or remove it)."""
    asset = dg.AssetKey(["raw", source])

    @dg.asset_check(
        asset=asset,
        name="row_conservation",
        blocking=True,
        description=ROW_CONSERVATION.format(source=source, table=source),
    )
    def row_conservation(ledger: LedgerResource) -> dg.AssetCheckResult:
        with ledger.staging() as con:
            ensure_raw_schema(con)
            problems = conservation_problems(con, source, f"raw.{source}")
            files, read, accepted, quarantined, duplicates = loaded_totals(con, source)
        return dg.AssetCheckResult(
            passed=not problems,
            description="per file: rows read = accepted + quarantined + exact duplicates dropped,"
            " and the stored rows match the registry",
            metadata={
                "files": files,
                "rows_read": read,
                "rows_accepted": accepted,
                "rows_quarantined": quarantined,
                "rows_duplicate": duplicates,
                "problems": dg.MetadataValue.json(json.loads(json.dumps(problems, default=str))),
            },
        )

    @dg.asset_check(
        asset=asset, name="files_readable", description=FILES_READABLE.format(source=source)
    )
    def files_readable(
        context: dg.AssetCheckExecutionContext, ledger: LedgerResource
    ) -> dg.AssetCheckResult:
        # It stays red while a rejected file sits in data/raw (an unchanged file is not read
        # again), and tags the run so the runs list shows it too.
        with ledger.staging() as con:
            ensure_raw_schema(con)
            rejected = rejected_files(con, source)
        if rejected:
            context.instance.add_run_tags(
                context.run.run_id, {f"ledger/rejected_{source}": str(len(rejected))}
            )
        return dg.AssetCheckResult(
            passed=not rejected,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"every file in data/raw/{source} can be read; a rejected file is listed"
            " with the reason: fix it and drop it again, or remove it",
            metadata={
                "files_rejected": len(rejected),
                "rejected": dg.MetadataValue.json(
                    [{"file": f, "reason": r, "message": m} for f, r, m in rejected]
                ),
            },
        )

    return [row_conservation, files_readable]


BOOKKEEPING = {
    "quarantine": "Rejected rows and files with reason codes, written by every ingest asset.",
    "file_registry": "One row per input file: sha256, status, row counts (ingest assets).",
}


# Tables every ingest asset appends to. Materialized once all three have run, so the dbt
# sources over them hang off the ingest assets and the asset graph shows them up to date
# (as external assets they stayed "Never materialized").
@dg.multi_asset(
    specs=[
        raw_spec(table, description, deps=[raw_manifests, raw_voyages, raw_reports])
        for table, description in BOOKKEEPING.items()
    ],
    name="raw_bookkeeping",
)
def raw_bookkeeping(ledger: LedgerResource):
    for table in BOOKKEEPING:
        rows = _table_rows(ledger, f"raw.{table}")
        yield dg.MaterializeResult(asset_key=["raw", table], metadata={"dagster/row_count": rows})


ingest_assets = [raw_manifests, raw_voyages, raw_reports, raw_bookkeeping]
ingest_checks = [
    check for source in ("manifests", "voyages", "reports") for check in source_checks(source)
]
