"""The main job, its daily schedule, and the sensor: both request a run only on a change."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.publish.store import VersionStore, code_version
from orchestration.inputs import SOURCES, fingerprint_of, input_hashes
from orchestration.resources import LedgerResource
from orchestration.run_lock import running

# No executor here: the Definitions-level in-process executor applies to this job and to
# whatever the UI launches ("Materialize all", backfills): every step touches the same
# single-writer DuckDB file, and one process avoids re-importing dbt/GX per step.
ledger_job = dg.define_asset_job(
    "ledger_job",
    selection=dg.AssetSelection.all(),
    description="Ingest raw files, build dbt models, audit with GX + dbt tests, publish a version.",
)


def pending_change(ledger: LedgerResource) -> tuple[str, int, str | None]:
    """(fingerprint of inputs + code, number of input files, why there is nothing to do)."""
    paths = ledger.paths
    hashes = input_hashes(paths)
    fingerprint = fingerprint_of(hashes, code_version())
    if not hashes:
        return fingerprint, 0, f"no input files in {paths.raw_dir}/{{{','.join(SOURCES)}}}"
    if holder := running(paths):
        return fingerprint, len(hashes), f"a run is in progress ({holder})"
    latest = VersionStore(paths).already_published(fingerprint)
    if latest is not None:
        return fingerprint, len(hashes), f"{len(hashes)} input files, already {latest.label}"
    return fingerprint, len(hashes), None


@dg.schedule(
    job=ledger_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every morning at 06:00 UTC, a run if inputs or code changed since the latest "
    "version (else skipped with the reason).",
)
def daily_ledger(context: dg.ScheduleEvaluationContext, ledger: LedgerResource):
    fingerprint, _, nothing_to_do = pending_change(ledger)
    if nothing_to_do:
        return dg.SkipReason(nothing_to_do)
    return dg.RunRequest(run_key=fingerprint, tags={"trigger": "schedule"})


@dg.sensor(
    job=ledger_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches ledger_job when the files under data/raw/ (by sha256) differ from "
    "those of the latest published version; also serves a fresh copy of the served file when "
    "a read-write client holds it (see guard.py).",
)
def raw_files_sensor(
    context: dg.SensorEvaluationContext, ledger: LedgerResource
) -> dg.SensorResult:
    # A read-write client on the served file shuts every reader out: free them within 30 s.
    for finding in VersionStore(ledger.paths).free_published_files(wait=False):
        context.log.warning(finding.message)
    fingerprint, count, nothing_to_do = pending_change(ledger)
    if nothing_to_do:
        return dg.SensorResult(skip_reason=dg.SkipReason(nothing_to_do), cursor=fingerprint)
    if fingerprint == context.cursor:
        return dg.SensorResult(skip_reason=dg.SkipReason(f"{count} input files, run requested"))
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=fingerprint, tags={"trigger": "raw_files"})],
        cursor=fingerprint,
    )
