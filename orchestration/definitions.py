"""The one Definitions object: assets, checks, job, schedule, sensor and resources."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.dbt.assets import (
    DBT_EXECUTABLE,
    LedgerDbtCliResource,
    dbt_inputs_assets,
    dbt_project,
    ledger_dbt_assets,
    monthly_dbt_assets,
)
from orchestration.defs.evidence.assets import evidence_assets
from orchestration.defs.ingest.assets import ingest_assets, ingest_checks
from orchestration.defs.jobs import (
    build_after_ingest,
    daily_ledger,
    ingest_job,
    ledger_job,
    raw_files_sensor,
)
from orchestration.defs.publish.assets import publish_assets
from orchestration.defs.quality.checks import quality_checks
from orchestration.resources import LedgerResource

defs = dg.Definitions(
    assets=[
        *ingest_assets,
        dbt_inputs_assets,
        monthly_dbt_assets,
        ledger_dbt_assets,
        *publish_assets,
        *evidence_assets,
    ],
    asset_checks=[*ingest_checks, *quality_checks],
    jobs=[ledger_job, ingest_job],
    schedules=[daily_ledger],
    sensors=[raw_files_sensor, build_after_ingest],
    # In-process for every job, the UI's "Materialize all" and backfills included.
    executor=dg.in_process_executor,
    resources={
        "ledger": LedgerResource(),
        "dbt": LedgerDbtCliResource(
            project_dir=dbt_project,
            profiles_dir=dbt_project.project_dir,
            dbt_executable=DBT_EXECUTABLE,
        ),
    },
)
