"""Write-audit-publish: the marts in staging become a served version only after a passing audit."""

# No `from __future__ import annotations`: Dagster checks the context annotation at runtime.
import json
from collections.abc import Sequence
from typing import Any

import dagster as dg
import duckdb

from orchestration.code_version import code_version
from orchestration.defs.dbt.assets import mart_asset_keys
from orchestration.defs.resources import LedgerResource
from orchestration.incremental import clear_consumed_changes
from orchestration.markdown import markdown_table
from orchestration.publish.diff import CHANGE_KINDS
from orchestration.publish.parts import replaced_waybills
from orchestration.publish.registry import label
from orchestration.publish.store import change_summary, open_store
from orchestration.quality.audit import results_for_run
from orchestration.run_scope import INGEST_RUN_TAG
from orchestration.sql import table_exists


def summarize_audit(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts the registry keeps per version; warnings are recorded, only errors block."""
    failing = [r for r in rows if not r["success"] and r["severity"] == "error"]
    return {
        "checks": len(rows),
        "passed": sum(bool(r["success"]) for r in rows),
        "warned": sum(not r["success"] and r["severity"] == "warn" for r in rows),
        "failed": len(failing),
        "failing_checks": [f"{r['suite']}:{r['check_name']} on {r['asset']}" for r in failing],
        "suites": sorted({r["suite"] for r in rows}),
        "data_docs": sorted({r["data_docs_url"] for r in rows if r["data_docs_url"]}),
    }


def registered_input_hashes(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """sha256 of every input file this run's ingest saw, loaded or rejected.

    The same key and content as ``inputs.input_hashes`` of data/raw, so ``ledger run`` can
    tell "unchanged" before it starts; a rejected file is a change users must see published.
    """
    if not table_exists(con, "raw", "file_registry"):
        return {}
    rows = con.execute(
        "select source_file, file_sha256 from raw.file_registry order by source_file"
    ).fetchall()
    return dict(rows)


def checks_evaluated(context: dg.AssetExecutionContext) -> int:
    """Asset check evaluations of this run so far (all checks run before publish)."""
    return len(
        context.instance.get_records_for_run(
            context.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
    )


def data_docs_links(audit: Sequence[dict[str, Any]]) -> dict[str, dg.MetadataValue]:
    """One clickable link per GX suite (``data_docs/<suite>``) instead of paths inside JSON."""
    urls = {r["suite"]: r["data_docs_url"] for r in audit if r["data_docs_url"]}
    return {f"data_docs/{suite}": dg.MetadataValue.url(url) for suite, url in sorted(urls.items())}


def changes_markdown(previous: str, diff: dict[str, Any]) -> str:
    """Rows added / removed / changed per table since the previous version, as a table."""
    if "error" in diff:
        return f"no diff against {previous}: {diff['error']}"
    if not diff:
        return f"no table changed since {previous}"
    rows = [(name, *(d[k] for k in CHANGE_KINDS)) for name, d in sorted(diff.items())]
    return f"since {previous}\n\n" + markdown_table(["table", *CHANGE_KINDS], rows)


@dg.asset(
    key=dg.AssetKey(["published_version"]),
    group_name="publish",
    deps=mart_asset_keys,
    description=(
        "Publishes the audited marts as a new immutable version and serves it at "
        "data/warehouse/ledger.duckdb; refuses when any error-level check of this run failed, "
        "publishes nothing when inputs and code are unchanged."
    ),
)
def published_version(
    context: dg.AssetExecutionContext, ledger: LedgerResource
) -> dg.MaterializeResult:
    paths = ledger.paths
    with ledger.staging() as con:
        ingest_run = context.run.tags.get(INGEST_RUN_TAG)
        audit = results_for_run(con, context.run_id, *([ingest_run] if ingest_run else []))
        inputs = registered_input_hashes(con)
    if not audit:
        raise dg.Failure(
            description=f"run {context.run_id} has no audit results (GX/dbt tests did not run): "
            "nothing is published.",
        )
    summary = summarize_audit(audit)
    if summary["failed"]:
        raise dg.Failure(
            description="audit failed, nothing is published; failing checks: "
            + "; ".join(summary["failing_checks"]),
            metadata={"validation": dg.MetadataValue.json(summary)},
        )
    store = open_store(paths)
    result = store.publish(paths.staging_db, context.run_id, inputs, code_version(), summary)
    with ledger.staging() as con:  # the served version now holds them: the next build need not
        replaced = replaced_waybills(con) if result.built == "delta" else None
        cleared = clear_consumed_changes(con, context.run_id)
    context.log.info(
        f"change log: {cleared} entries (waybills, file events, months) of this run cleared"
    )
    version = result.version
    for note in result.recovered:
        context.log.warning(f"recovered from an interrupted publish: {note}")
    for finding in result.findings:
        context.log.warning(finding.message)
    metadata: dict[str, Any] = {
        "version_id": dg.MetadataValue.text(label(version.version_id)),
        "status": result.status,
        # delta: the latest version's monthly parts, the changed months written anew; else a
        # full copy (why)
        "built": result.built or "n/a (unchanged)",
        # per waybill table, the dispatch months whose Parquet parts this version wrote
        "months_written": "; ".join(
            f"{table}: {', '.join(months) or 'none'}" for table, months in result.months.items()
        )
        or "n/a (unchanged)",
        "served_path": dg.MetadataValue.path(str(store.serving)),
        "code_version": version.code_version,
        "fingerprint": version.fingerprint,
        # the files the sensor counts: every file of data/raw this run's ingest registered
        "input_files": len(version.input_hashes),
        # what the run page counts, vs the audit rows `ledger versions` counts (ok/warn/fail)
        "asset_checks": checks_evaluated(context),
        "audit_results": summary["checks"],
        "row_counts": dg.MetadataValue.json(version.row_counts),
        "validation": dg.MetadataValue.json(summary),
        # read-write clients and stray WALs found on published files (guard.py); [] = none
        "read_write_clients": dg.MetadataValue.json([f.message for f in result.findings]),
        **data_docs_links(audit),
    }
    if result.status == "unchanged":
        context.log.info(
            f"inputs and code unchanged: {label(version.version_id)} stays; nothing new"
        )
    elif result.previous is not None:
        diff = change_summary(store, result.previous.version_id, version.version_id, replaced)
        metadata["diff_vs_previous"] = dg.MetadataValue.json(
            {"from_version": result.previous.version_id, "tables": diff}
        )
        metadata["changes"] = dg.MetadataValue.md(
            changes_markdown(label(result.previous.version_id), diff)
        )
        context.log.info(
            f"published {label(version.version_id)} ({result.built}); changes: {json.dumps(diff)}"
        )
    return dg.MaterializeResult(metadata=metadata)


publish_assets: list[dg.AssetsDefinition] = [published_version]
