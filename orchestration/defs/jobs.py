"""The jobs, the daily schedule and the sensors: a change is an ingest run, then a build run.

The schedule and the raw-files sensor launch ``ingest_job`` only when the inputs or the code
differ from the latest version's; when an ingest run succeeds, ``build_after_ingest`` launches
``ledger_job`` for the dispatch months its files touched (see ``orchestration.launch``).
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from orchestration.code_version import code_version
from orchestration.defs.resources import LedgerResource
from orchestration.inputs import SOURCES, fingerprint_of, input_hashes
from orchestration.launch import (
    INGEST,
    INGEST_PHASE,
    PHASE_TAG,
    build_request,
    ingest_request,
    plan_build,
)
from orchestration.paths import LedgerPaths
from orchestration.publish.store import open_store
from orchestration.run_lock import running

# No executor here: the Definitions-level in-process executor applies to this job and to
# whatever the UI launches ("Materialize all", backfills): every step touches the same
# single-writer DuckDB file, and one process avoids re-importing dbt/GX per step.
ledger_job = dg.define_asset_job(
    "ledger_job",
    selection=dg.AssetSelection.all(),
    description="Ingest raw files, build dbt models, audit with GX + dbt tests, publish a version."
    " Pick dispatch months to rebuild them whole (a backfill of a range, or one month).",
)

ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=INGEST,
    tags={PHASE_TAG: INGEST_PHASE},
    description="Read new or changed files under data/raw into the staging database (the "
    "sensor and the schedule select the sources with a change); a successful run triggers the "
    "build of the dispatch months it touched.",
)


@dataclass(frozen=True)
class PendingChange:
    """What the sensor and the schedule see: the fingerprint of inputs + code, the number of
    input files, and why there is nothing to do (None: a change to ingest)."""

    fingerprint: str
    code: str
    files: int
    nothing_to_do: str | None

    def ingest_run(self, paths: LedgerPaths, trigger: str) -> dg.RunRequest:
        """The ingest run for it: the steps of the sources with a change, as `ledger run`."""
        _, keys = ingest_request(paths, self.code)
        return dg.RunRequest(
            run_key=self.fingerprint, asset_selection=keys, tags={"trigger": trigger}
        )


def pending_change(ledger: LedgerResource) -> PendingChange:
    paths = ledger.paths
    hashes = input_hashes(paths)
    code = code_version()
    fingerprint = fingerprint_of(hashes, code)
    nothing_to_do = None
    if not hashes:
        nothing_to_do = f"no input files in {paths.raw_dir}/{{{','.join(SOURCES)}}}"
    elif holder := running(paths):
        nothing_to_do = f"a run is in progress ({holder})"
    elif (latest := open_store(paths).already_published(fingerprint)) is not None:
        nothing_to_do = f"{len(hashes)} input files, already {latest.label}"
    return PendingChange(fingerprint, code, len(hashes), nothing_to_do)


@dg.schedule(
    job=ingest_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every morning at 06:00 UTC, a run if inputs or code changed since the latest "
    "version (else skipped with the reason).",
)
def daily_ledger(context: dg.ScheduleEvaluationContext, ledger: LedgerResource):
    change = pending_change(ledger)
    if change.nothing_to_do:
        return dg.SkipReason(change.nothing_to_do)
    return change.ingest_run(ledger.paths, "schedule")


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches ingest_job when the files under data/raw/ (by sha256) or the code "
    "differ from those of the latest published version; also serves a fresh copy of the served "
    "file when a read-write client holds it (see guard.py).",
)
def raw_files_sensor(
    context: dg.SensorEvaluationContext, ledger: LedgerResource
) -> dg.SensorResult:
    # A read-write client on the served file shuts every reader out: free them within 30 s.
    for finding in open_store(ledger.paths).free_published_files(wait=False):
        context.log.warning(finding.message)
    change = pending_change(ledger)
    if change.nothing_to_do:
        return dg.SensorResult(
            skip_reason=dg.SkipReason(change.nothing_to_do), cursor=change.fingerprint
        )
    if change.fingerprint == context.cursor:
        return dg.SensorResult(
            skip_reason=dg.SkipReason(f"{change.files} input files, run requested")
        )
    return dg.SensorResult(
        run_requests=[change.ingest_run(ledger.paths, "raw_files")], cursor=change.fingerprint
    )


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[ingest_job],
    request_job=ledger_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After a successful ingest run: builds, audits and publishes the dispatch months "
    "whose waybills changed (every month when the code changed).",
)
def build_after_ingest(context: dg.RunStatusSensorContext, ledger: LedgerResource):
    with ledger.staging() as con:
        plan = plan_build(con, code_version())
    keys, tags = build_request(context.repository_def.asset_graph, plan, context.dagster_run.run_id)
    context.log.info(f"build {plan.describe()}")
    return dg.RunRequest(
        run_key=context.dagster_run.run_id, asset_selection=keys, tags={**tags, "trigger": "ingest"}
    )
