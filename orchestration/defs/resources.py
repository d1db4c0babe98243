"""Dagster resources: configured by env vars, with defaults that work with no configuration."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from orchestration.dagster_runs import process_tags
from orchestration.defs.dbt.resources import DBT_EXECUTABLE, LedgerDbtCliResource, dbt_project
from orchestration.instance import pg_url
from orchestration.paths import LedgerPaths
from orchestration.run_lock import RunInProgress, acquire
from orchestration.staging import open_staging


class LedgerResource(dg.ConfigurableResource):
    """The ledger home; every asset reaches files and the staging database through it."""

    home: str | None = None

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """A run (not a sensor or schedule tick) takes the run lock before any step, and
        records its process so a kill -9 can be told from a long run (dagster_runs.py).

        The lock is held until the process ends: a UI, sensor or schedule run has a process of
        its own, and ``ledger run`` holds it already. (No teardown: it would make this a
        context-manager resource, which sensors and schedules would have to enter.)"""
        run = context.dagster_run
        if run is None:
            return
        context.instance.add_run_tags(run.run_id, process_tags())
        # On a shared instance several runs are in flight by design: they take turns.
        wait = context.log.info if pg_url() else None
        try:
            acquire(self.paths, run.run_id, run.tags.get("ledger/launched_by", "dagster"), wait)
        except RunInProgress as exc:
            raise dg.Failure(description=f"{exc}; this run did nothing") from None

    @property
    def paths(self) -> LedgerPaths:
        return LedgerPaths.from_env(self.home).ensure()

    @contextmanager
    def staging(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection: DuckDB allows one writer per file, so never hold it."""
        with open_staging(self.paths, read_only) as con:
            yield con


@dg.definitions
def resources() -> dg.Definitions:
    """Resources and the executor shared by every asset and job (the UI's launches included)."""
    return dg.Definitions(
        # In-process for every job, the UI's "Materialize all" and backfills included, on a
        # Postgres instance too: the steps form a chain over one single-writer DuckDB file, so a
        # process per step would only repeat the start-up; months run in parallel as runs
        # instead (orchestration/parallel.py, LEDGER_WORKERS).
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
