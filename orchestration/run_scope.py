"""How much a run rebuilds, told by a run tag (read by the dbt step, set by the launchers)."""

SCOPE_TAG = "ledger/scope"
# Launched for what changed (sensor, schedule, `ledger run`): the months are those of the
# changed waybills, and only those waybills are rebuilt. Without the tag (a UI backfill, a
# re-run of one month) every waybill of the run's months is rebuilt.
SCOPE_CHANGED = "changed"
# The run that ingested the files a build run builds on: its checks belong to the same audit.
INGEST_RUN_TAG = "ledger/ingest_run"
