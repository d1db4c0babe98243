"""GX suites as blocking Dagster asset checks, with every result kept in audit.validation_results.

The publish step reads audit.validation_results for its run id, so a check that fails at error
level both stops downstream assets (blocking) and keeps the version from being published.
"""

import json
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import duckdb

from orchestration.code_version import code_version
from orchestration.defs.resources import LedgerResource
from orchestration.incremental import changed_waybills, record_validated_files, unvalidated_files
from orchestration.paths import EXPECTATIONS_DIR
from orchestration.quality import gx_worker
from orchestration.quality.audit import SEVERITIES, record_results
from orchestration.quality.summary import ValidationSummary

# asset key -> (table in the staging db, suite file in expectations/). GX guards the raw boundary
# and the published contract; dbt tests hold the rules inside the models (consistency between
# columns, relationships). A rule lives in one of the two, never both. fct_munitions_equivalent
# has no suite: its rules are arithmetic between its own columns, one dbt column_rules scan.
SUITES: dict[dg.AssetKey, tuple[str, str]] = {
    dg.AssetKey(["raw", "manifests"]): ("raw.manifests", "raw_manifests"),
    dg.AssetKey(["raw", "voyages"]): ("raw.voyages", "raw_voyages"),
    dg.AssetKey(["raw", "report_claims"]): ("raw.report_claims", "raw_report_claims"),
    dg.AssetKey(["fct_shipments"]): ("main.fct_shipments", "fct_shipments"),
    dg.AssetKey(["agg_monthly_flows"]): ("main.agg_monthly_flows", "agg_monthly_flows"),
    dg.AssetKey(["fct_claim_reconciliation"]): (
        "main.fct_claim_reconciliation",
        "fct_claim_reconciliation",
    ),
    dg.AssetKey(["dim_stations"]): ("main.dim_stations", "dim_stations"),
}
# What each suite protects: the description of its check in the UI.
PURPOSES: dict[str, str] = {
    "raw_manifests": "Guards the raw boundary for manifests (required fields are the table's NOT"
    " NULL): dates in the study window, plausible weights, valid cargo/station/container codes,"
    " no duplicate rows.",
    "raw_voyages": "Guards the raw boundary for port calls (vessel, port and arrival are the"
    " table's NOT NULL): known ports, departure not before arrival, valid IMO numbers, no"
    " duplicate calls.",
    "raw_report_claims": "Guards the claims extracted from reports: one row per claim id, known"
    " metrics and qualifiers, ranges ordered (low <= value <= high), periods and directions valid.",
    "fct_shipments": "Guards the published shipments contract: unique shipment and waybill ids,"
    " no missing keys, dates in the window, plausible weights and tonnes, valid codes.",
    "agg_monthly_flows": "Guards the published monthly flows: one row per month and route,"
    " tonnes and shipments in range, rounds low <= central <= high.",
    "fct_claim_reconciliation": "Guards the published reconciliation: one row per claim, known"
    " statuses, computed ranges ordered, coverage and ratios in range, every row explained.",
    "dim_stations": "Guards the published station dimension: unique well-formed station codes,"
    " names present, known roles, coordinates on Earth, non-negative shipment counts.",
}
# The two tables that grow with the input validate only what changed (row count and other
# table-level expectations still see the whole table); the rest are small and seen whole.
NEW_FILES, CHANGED_ROWS = "new files", "rebuilt waybills"
SCOPES: dict[str, str] = {"raw_manifests": NEW_FILES, "fct_shipments": CHANGED_ROWS}


def scope_filter(con: duckdb.DuckDBPyConnection, suite: str, run_id: str, code: str) -> str | None:
    """The SQL condition for the rows a suite must see in this run (None: all of them)."""
    scope = SCOPES.get(suite)
    if scope == NEW_FILES:
        return unvalidated_files(con, suite, code)
    if scope == CHANGED_ROWS:
        return changed_waybills(con, run_id)
    return None


def audit_rows(
    summary: ValidationSummary, *, run_id: str, check_name: str, asset: str
) -> list[dict[str, Any]]:
    """One row per severity level, so publish can ask 'did any error-level row fail?' directly."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return [
        {
            "run_id": run_id,
            "check_name": check_name,
            "asset": asset,
            "suite": summary.suite,
            "severity": level,
            "success": summary.failed[level] == 0,
            "evaluated": summary.evaluated[level],
            "failed": summary.failed[level],
            "details": json.dumps([f.as_dict() for f in summary.failures if f.severity == level]),
            "data_docs_url": summary.data_docs_url,
            "validated_at": now,
        }
        for level in SEVERITIES
        if summary.evaluated[level]
    ]


def crash_row(
    exc: Exception, *, run_id: str, check_name: str, asset: str, suite: str
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "check_name": check_name,
        "asset": asset,
        "suite": suite,
        "severity": "error",
        "success": False,
        "evaluated": 0,
        "failed": 1,
        "details": json.dumps({"exception": f"{type(exc).__name__}: {exc}"}),
        "data_docs_url": None,
        "validated_at": datetime.now(UTC).replace(tzinfo=None),
    }


def expectation_count(suite: str) -> int:
    """Read from the suite file: the definitions never import GX (~5 s)."""
    doc = json.loads((EXPECTATIONS_DIR / f"{suite}.json").read_text(encoding="utf-8"))
    return len(doc["expectations"])


def build_gx_check(asset_key: dg.AssetKey, table: str, suite: str) -> dg.AssetChecksDefinition:
    """A blocking check: an error-level failure keeps downstream assets from running."""
    check_name = f"gx_{suite}"

    @dg.asset_check(
        asset=asset_key,
        name=check_name,
        blocking=True,
        description=f"{PURPOSES[suite]} Great Expectations suite expectations/{suite}.json"
        f" ({expectation_count(suite)} expectations) on {table}; an error-level failure blocks"
        " publish, warnings are recorded.",
    )
    def _check(
        context: dg.AssetCheckExecutionContext, ledger: LedgerResource
    ) -> dg.AssetCheckResult:
        run_id = context.run.run_id
        asset = asset_key.to_user_string()
        try:
            code = code_version()
            where = None
            if suite in SCOPES:
                with ledger.staging() as con:
                    where = scope_filter(con, suite, run_id, code)
            summary = gx_worker.validate(
                ledger.paths,
                table,
                suite,
                docs_dir=ledger.paths.docs_dir / "gx",
                run_name=run_id,
                where=where,
            )
        except Exception as exc:
            # A check that could not run must still leave a failed error row for publish to see.
            with ledger.staging() as con:
                record_results(
                    con,
                    [
                        crash_row(
                            exc, run_id=run_id, check_name=check_name, asset=asset, suite=suite
                        )
                    ],
                )
            raise
        rows = audit_rows(summary, run_id=run_id, check_name=check_name, asset=asset)
        with ledger.staging() as con:
            record_results(con, rows)
            if SCOPES.get(suite) == NEW_FILES and summary.success:
                record_validated_files(con, table, suite, code, where or "true")
        metadata: dict[str, dg.RawMetadataValue] = {
            "rows": summary.rows,
            "rows_validated": summary.rows_validated,
            "scope": f"{SCOPES[suite]} ({summary.rows_validated:,} of {summary.rows:,} rows)"
            if where
            else "whole table",
            "batches": summary.batches,
            "seconds": summary.seconds,
            **{f"evaluated_{s}": summary.evaluated[s] for s in SEVERITIES},
            **{f"failed_{s}": summary.failed[s] for s in SEVERITIES},
            "failed_expectations": dg.MetadataValue.md(summary.failures_markdown()),
        }
        if summary.data_docs_url:
            metadata["data_docs"] = dg.MetadataValue.url(summary.data_docs_url)
        return dg.AssetCheckResult(
            passed=not summary.failures,
            severity=dg.AssetCheckSeverity.ERROR
            if summary.severity == "error"
            else dg.AssetCheckSeverity.WARN,
            metadata=metadata,
        )

    return _check


quality_checks: list[dg.AssetChecksDefinition] = [
    build_gx_check(key, table, suite) for key, (table, suite) in SUITES.items()
]
