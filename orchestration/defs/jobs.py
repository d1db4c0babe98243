"""The main job, its daily schedule, and the sensor that reacts to new raw files."""

from __future__ import annotations

import hashlib

import dagster as dg

from orchestration.resources import LedgerResource

RAW_SUFFIXES = {".csv", ".tsv", ".txt", ".jsonl", ".json", ".parquet", ".md"}

# In-process: every step touches the same single-writer DuckDB file, and one process avoids
# re-importing dbt/GX per step (seconds each) on a small machine.
ledger_job = dg.define_asset_job(
    "ledger_job",
    selection=dg.AssetSelection.all(),
    description="Ingest raw files, build dbt models, audit with GX + dbt tests, publish a version.",
    executor_def=dg.in_process_executor,
)

daily_ledger_schedule = dg.ScheduleDefinition(
    name="daily_ledger",
    job=ledger_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Full run every morning; idempotent, so an unchanged input publishes nothing.",
)


def raw_files_fingerprint(ledger: LedgerResource) -> tuple[str, int]:
    """Names, sizes and mtimes of the raw inputs: cheap, and changes whenever a file does."""
    digest = hashlib.sha256()
    count = 0
    for path in sorted(ledger.paths.raw_dir.rglob("*")):
        if path.is_file() and path.suffix.lower() in RAW_SUFFIXES:
            stat = path.stat()
            digest.update(
                f"{path.relative_to(ledger.paths.raw_dir)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode()
            )
            count += 1
    return digest.hexdigest(), count


@dg.sensor(
    job=ledger_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches ledger_job when files under data/raw/ appear or change.",
)
def raw_files_sensor(
    context: dg.SensorEvaluationContext, ledger: LedgerResource
) -> dg.SensorResult:
    fingerprint, count = raw_files_fingerprint(ledger)
    if count == 0:
        return dg.SensorResult(
            skip_reason=dg.SkipReason(f"no input files in {ledger.paths.raw_dir}")
        )
    if fingerprint == context.cursor:
        return dg.SensorResult(skip_reason=dg.SkipReason(f"{count} raw files, none changed"))
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=fingerprint, tags={"trigger": "raw_files"})],
        cursor=fingerprint,
    )
