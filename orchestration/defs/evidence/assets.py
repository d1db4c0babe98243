"""The evidence report asset: renders the served version after every publish."""

import base64
import io
import os
from typing import TYPE_CHECKING

import dagster as dg

from orchestration.defs.resources import LedgerResource

if TYPE_CHECKING:
    from orchestration.evidence.data import Changes

# A half-size thumbnail is embedded in the run's metadata; anything bigger would bloat the event
# log, and the full-size file is linked either way.
PREVIEW_MAX_BYTES = 100_000
PUBLISHED = dg.AssetKey(["published_version"])


def _published_changes(context: dg.AssetExecutionContext, version: str) -> "Changes | None":
    """The diff the publish step of this run computed for ``version``, if it did (a second
    diff would read both version files again: ~18 s at 10 M shipments); else None."""
    from orchestration.evidence.data import changes_from_summary
    from orchestration.publish.registry import label

    event = context.instance.get_latest_materialization_event(PUBLISHED)
    if event is None or event.run_id != context.run_id or event.asset_materialization is None:
        return None
    metadata = event.asset_materialization.metadata
    if "diff_vs_previous" not in metadata or metadata["version_id"].value != version:
        return None
    diff = metadata["diff_vs_previous"].value
    return changes_from_summary(label(diff["from_version"]), diff["tables"])


@dg.asset(
    key=dg.AssetKey(["evidence_report"]),
    group_name="publish",
    deps=[PUBLISHED],
    kinds={"python", "html"},
    description="Charts (monthly flows, claims against the data, routes) and a one-page HTML "
    "summary of the served version (claims with their sentence and source, changes since the "
    "previous version, quarantined rows by reason), under data/warehouse/reports/<version>/. "
    "Labelled SYNTHETIC DATA.",
)
def evidence_report(
    context: dg.AssetExecutionContext, ledger: LedgerResource
) -> dg.MaterializeResult:
    # matplotlib costs ~2 s to import: loading the definitions (UI, sensor ticks) skips it
    from matplotlib import image

    from orchestration.evidence.data import changes_since_previous, read_evidence
    from orchestration.evidence.page import summary_facts, write_evidence
    from orchestration.publish.registry import VersionError
    from orchestration.publish.store import open_store

    paths = ledger.paths
    store = open_store(paths)  # the served file, or the lake's latest snapshot
    try:
        con = store.open_served()
    except VersionError as exc:
        raise dg.Failure(str(exc)) from None
    try:
        data = read_evidence(con)
    finally:
        con.close()
    if data.served_version is None:
        raise dg.Failure(f"{store.serving} has no ledger_versions table: not a published file")
    out_dir = paths.reports_dir / data.served_version
    files = write_evidence(
        data,
        out_dir,
        data.served_version,
        source_name=store.served_name,
        dbt_docs_href=os.path.relpath(paths.docs_dir / "dbt" / "index.html", out_dir),
        gx_docs_href=os.path.relpath(paths.docs_dir / "gx" / "index.html", out_dir),
        changes=_published_changes(context, data.served_version)
        or changes_since_previous(store, data.served_version),
    )
    context.log.info(f"evidence for {data.served_version} in {out_dir}")
    facts = summary_facts(data)
    thumbnail = io.BytesIO()
    image.thumbnail(str(files["monthly_chart"]), thumbnail, scale=0.5)
    png = thumbnail.getvalue()
    preview = (
        f"![monthly flows](data:image/png;base64,{base64.b64encode(png).decode()})"
        if len(png) <= PREVIEW_MAX_BYTES
        else f"monthly chart: `{files['monthly_chart']}`"
    )
    return dg.MaterializeResult(
        metadata={
            "version_id": dg.MetadataValue.text(data.served_version),
            "index": dg.MetadataValue.path(str(files["index"])),
            "files": dg.MetadataValue.json({k: str(p) for k, p in files.items()}),
            "claims_by_status": dg.MetadataValue.json(
                data.reconciliation["status"].value_counts().sort_index().to_dict()
            ),
            "summary": dg.MetadataValue.md(
                "| figure | value |\n|---|---|\n"
                + "\n".join(f"| {k} | {v} |" for k, v in facts.items())
            ),
            "preview": dg.MetadataValue.md(preview),
        }
    )


evidence_assets = [evidence_report]
