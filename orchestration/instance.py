"""The Dagster instance `ledger run`, `ledger ui` and the backfill workers share.

Zero configuration: SQLite storage under ``data/warehouse/dagster``, its event log kept by
event_log.py (connections that outlive one event). SQLite is for one process at a time, so runs
queue one by one. With ``LEDGER_PG_URL`` set the run, event-log and schedule
storage move to that PostgreSQL database, and ``LEDGER_WORKERS`` runs may be in flight at once.
Import-light: the CLI imports it; Dagster loads only in :func:`dagster_instance`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from orchestration.paths import LedgerPaths

if TYPE_CHECKING:
    from dagster import DagsterInstance

PG_URL_ENV = "LEDGER_PG_URL"
WORKERS_ENV = "LEDGER_WORKERS"
DEFAULT_WORKERS = 2  # the cores of the machine this was measured on

# This machine has no internet: Dagster's usage statistics would only queue up, its first-run
# banner about them is noise in every `ledger run`, and the UI's "Join the Dagster community"
# pop-up offers links that cannot load. Runs launched from the UI, the sensor and the schedule
# queue one at a time (they share one staging database; `ledger run` takes the run lock
# instead, see run_lock.py); run monitoring fails runs stuck in STARTING; sensor and schedule
# ticks are purged after 30 days (skipped sensor ticks, one per 30 s, after 7).
DAGSTER_YAML = """telemetry:
  enabled: false
nux:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 1
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
retention:
  schedule:
    purge_after_days: 30
  sensor:
    purge_after_days:
      skipped: 7
      failure: 30
      success: 30
"""
# What earlier versions wrote: replaced by the current one; a file edited by hand is left alone.
OLD_DAGSTER_YAMLS = (
    "telemetry:\n  enabled: false\n",
    "telemetry:\n  enabled: false\nnux:\n  enabled: false\n",
    DAGSTER_YAML,
)
# The first line of each variant: while it is there the file is ours to rewrite.
GENERATED = "# written by ledger"
SQLITE_HEADER = f"{GENERATED}; delete this line to keep edits\n"
PG_HEADER = f"{GENERATED} because {PG_URL_ENV} is set; delete this line to keep edits\n"
# Dagster's own SQLite event log with its connections kept open (event_log.py). Dagster's
# default puts it in history/runs too, but fills the folder in at load time; a configured one
# needs it written out, so the file names this home's folder (and is rewritten if it moves).
SQLITE_EVENT_LOG = """event_log_storage:
  module: orchestration.event_log
  class: PooledSqliteEventLogStorage
  config:
    base_dir: {runs}
"""
# The URL stays in the environment (it may carry a password), not in the file.
PG_STORAGE = f"""storage:
  postgres:
    postgres_url:
      env: {PG_URL_ENV}
"""


# Dagster hands the URL to SQLAlchemy, whose bare postgresql:// means the psycopg (3) driver;
# the one installed (scale group, with dagster-postgres) is psycopg2, so the URL must say so.
PG_SCHEME = "postgresql+psycopg2://"


def pg_url() -> str | None:
    """The PostgreSQL URL for Dagster's storage, or None for the zero-config SQLite instance."""
    url = os.environ.get(PG_URL_ENV) or None
    if url is not None and not url.startswith(PG_SCHEME):
        raise ValueError(
            f"{PG_URL_ENV} must start with {PG_SCHEME} (the driver installed), "
            f"e.g. {PG_SCHEME}user:password@host:5432/dagster"
        )
    return url


def with_driver(url: str) -> str:
    """A libpq URL (``postgresql://…``, what psql and DuckDB take) as LEDGER_PG_URL wants it."""
    return PG_SCHEME + url.split("://", 1)[1]


def workers() -> int:
    """How many runs may be in flight at once on a Postgres instance (``LEDGER_WORKERS``)."""
    value = os.environ.get(WORKERS_ENV, str(DEFAULT_WORKERS))
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{WORKERS_ENV}={value!r}: expected a whole number of runs, at least 1")
    return int(value)


def dagster_yaml(home: Path) -> str:
    """The instance config for this environment: SQLite in ``home`` as always, or Postgres
    storage with a run queue as wide as ``LEDGER_WORKERS``."""
    if pg_url() is None:
        runs = json.dumps(str((home / "history" / "runs").absolute()))  # YAML reads JSON strings
        return SQLITE_HEADER + DAGSTER_YAML + SQLITE_EVENT_LOG.format(runs=runs)
    queue = DAGSTER_YAML.replace("max_concurrent_runs: 1", f"max_concurrent_runs: {workers()}")
    return PG_HEADER + queue + PG_STORAGE


def _generated(text: str) -> bool:
    return text in OLD_DAGSTER_YAMLS or text.startswith(GENERATED)


def dagster_home(paths: LedgerPaths) -> str:
    """The instance folder shared by `ledger run` and `ledger ui`, so runs show up in the UI."""
    home = Path(os.environ.get("DAGSTER_HOME") or paths.warehouse_dir / "dagster")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    wanted = dagster_yaml(home)
    if not config.exists() or (_generated(text := config.read_text()) and text != wanted):
        config.write_text(wanted)
    return str(home)


def dagster_instance(paths: LedgerPaths) -> DagsterInstance:
    from dagster import DagsterInstance

    return DagsterInstance.from_config(dagster_home(paths))
