"""Two runs per change: ingest the files, then build, audit and publish the months they touched.

Which months a delivery touches is known only once its rows are read (a file can span months,
a corrected re-send can move a waybill to another month), so ``ledger run`` and the sensors
launch the ingest first, read the change log it wrote, then launch the build for exactly those
dispatch-month partitions. The build run carries the ingest run's id: publish audits both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import dagster as dg
import duckdb

from orchestration.defs.dbt.assets import reference_dbt_assets
from orchestration.defs.ingest.assets import raw_bookkeeping
from orchestration.defs.partitions import dispatch_months
from orchestration.incremental import (
    MONTHLY,
    REFERENCE,
    REST,
    changed_months,
    data_months,
    full_refresh_needed,
    pending_sources,
)
from orchestration.ingest.contract import SOURCE_TABLES, ensure_raw_schema
from orchestration.ingest.registry import registered, rejected_files
from orchestration.inputs import SOURCES, input_hashes
from orchestration.paths import LedgerPaths
from orchestration.run_scope import INGEST_RUN_TAG, SCOPE_CHANGED, SCOPE_TAG
from orchestration.staging import open_staging

if TYPE_CHECKING:
    from dagster._core.definitions.assets.graph.asset_graph import AssetGraph

INGEST = dg.AssetSelection.groups("ingest")
# Runs a job in-process: ``execute(job, **execute_in_process arguments)``.
Execute = Callable[..., dg.ExecuteInProcessResult]
PHASE_TAG = "ledger/phase"
INGEST_PHASE = "ingest"
# The tags a Dagster run reads its partition range from (single-run backfills use the same).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class BuildPlan:
    """The partitions a build run covers; none when no month-keyed row changed."""

    months: tuple[str, ...]
    full_refresh: bool
    rebuild: bool = False  # every waybill of the months, not only the changed ones
    reference: bool = True  # the models no raw table feeds (built when the code changed)
    # sources with unpublished changes: models fed by none of them are left out; None: all built
    changed_sources: frozenset[str] | None = None

    def unchanged(self) -> list[str]:
        """What this build leaves as built: the seeds, the sources nothing changed in."""
        left = [] if self.reference else ["seeds"]
        if self.changed_sources is not None:
            left += [s for s in SOURCE_TABLES if s not in self.fed_sources()]
        return left

    def fed_sources(self) -> frozenset[str]:
        """The changed sources, with the manifests whenever months are rebuilt."""
        return frozenset(self.changed_sources or ()) | ({"manifests"} if self.months else set())

    @property
    def range_tags(self) -> dict[str, str]:
        if not self.months:
            return {}
        return {
            RANGE_START_TAG: self.months[0],
            RANGE_END_TAG: self.months[-1],
        }

    def describe(self) -> str:
        left = self.unchanged()
        kept = f"; not rebuilt (unchanged): {', '.join(left)}" if left else ""
        if not self.months:
            return f"no manifest row changed: the monthly tables stay as they are{kept}"
        span = (
            self.months[0]
            if len(self.months) == 1
            else f"{self.months[0]}..{self.months[-1]} ({len(self.months)} months)"
        )
        how = (
            "full refresh (code changed)"
            if self.full_refresh
            else "every waybill"
            if self.rebuild
            else "changed waybills only"
        )
        return f"dispatch months {span}: {how}{kept}"


def _clamp(months: list[str]) -> tuple[str, ...]:
    """The contiguous partition range covering these months (runs take one range); months
    outside the partitions are still rebuilt, their rows are just not shown per partition."""
    keys = dispatch_months.get_partition_keys()
    if not months:
        return ()
    first = min(max(months[0], keys[0]), keys[-1])
    last = max(min(months[-1], keys[-1]), keys[0])
    return tuple(keys[keys.index(first) : keys.index(last) + 1])


def sources_to_ingest(
    con: duckdb.DuckDBPyConnection, hashes: Mapping[str, str], code: str
) -> list[str]:
    """The sources an ingest run reads: every one when the code changed (a new contract or
    suite reads and validates every file again); else those whose files differ from the
    registry, whose changes no publish has consumed (an audit that failed is run again) or that
    hold a rejected file (warned about on every run while it sits in data/raw)."""
    if full_refresh_needed(con, code, MONTHLY) or full_refresh_needed(con, code, REST):
        return list(SOURCES)
    pending = pending_sources(con)
    wanted = []
    for source in SOURCES:
        files = {name: sha for name, sha in hashes.items() if name.split("/")[0] == source}
        known = {name: sha for name, (sha, _) in registered(con, source).items()}
        if files != known or source in pending or rejected_files(con, source):
            wanted.append(source)
    return wanted


def ingest_request(paths: LedgerPaths, code: str) -> tuple[list[str], list[dg.AssetKey]]:
    """(sources to read, asset keys of the ingest run that reads them): the raw tables of those
    sources, and the registry and quarantine that every ingest writes."""
    with open_staging(paths.ensure()) as con:
        ensure_raw_schema(con)
        sources = sources_to_ingest(con, input_hashes(paths), code)
    keys = [dg.AssetKey(["raw", t]) for s in sources for t in SOURCE_TABLES[s]]
    return sources, [*keys, *raw_bookkeeping.keys]


def plan_build(con: duckdb.DuckDBPyConnection, code: str) -> BuildPlan:
    """After ingest: the months whose waybills changed, or every month when the code changed."""
    full = full_refresh_needed(con, code, MONTHLY)
    months = data_months(con) if full else changed_months(con)
    if full and not months:  # no manifest rows yet: the tables must still exist downstream
        months = [dispatch_months.get_partition_keys()[-1]]
    # A build that is full or has nothing pending (`--force`) rebuilds every model.
    pending = pending_sources(con)
    changed = None if full_refresh_needed(con, code, REST) or not pending else frozenset(pending)
    return BuildPlan(
        _clamp(months),
        full,
        reference=full_refresh_needed(con, code, REFERENCE),
        changed_sources=changed,
    )


def build_request(
    asset_graph: AssetGraph, plan: BuildPlan, ingest_run_id: str | None
) -> tuple[list[dg.AssetKey], dict[str, str]]:
    """Asset keys and tags of the build run that follows an ingest run."""
    keys = asset_graph.executable_asset_keys - INGEST.resolve(asset_graph)
    if not plan.reference:  # the last build of the seeds and what only they feed ran this code
        keys -= set(reference_dbt_assets.keys)
    if plan.changed_sources is not None:
        keys -= _fed_by_others(asset_graph, keys, plan.fed_sources())
    if not plan.months:
        keys = {k for k in keys if not asset_graph.get(k).is_partitioned}
    tags = {**plan.range_tags, **({INGEST_RUN_TAG: ingest_run_id} if ingest_run_id else {})}
    if not plan.rebuild:
        tags[SCOPE_TAG] = SCOPE_CHANGED
    return sorted(keys, key=str), tags


def _fed_by_others(
    asset_graph: AssetGraph, keys: set[dg.AssetKey], sources: frozenset[str]
) -> set[dg.AssetKey]:
    """The keys whose raw inputs are all unchanged: built from other sources' tables only.

    Any file event changes the file registry and the quarantine, so what reads those stays in.
    """
    raw = INGEST.resolve(asset_graph)
    changed = {dg.AssetKey(["raw", t]) for s in sources for t in SOURCE_TABLES[s]}
    if sources:
        changed |= {dg.AssetKey(["raw", "file_registry"]), dg.AssetKey(["raw", "quarantine"])}
    skipped = set()
    for key in keys:
        inputs = asset_graph.get_ancestor_asset_keys(key) & raw
        if inputs and not inputs & changed:
            skipped.add(key)
    return skipped


def parse_months(text: str) -> tuple[str, ...]:
    """'2023-10' or '2023-08:2023-12' -> the partition keys of that inclusive range."""
    keys = dispatch_months.get_partition_keys()
    first, _, last = text.partition(":")
    last = last or first
    for month in (first, last):
        if month not in keys:
            raise ValueError(
                f"--months {text}: {month!r} is not a dispatch month partition "
                f"(YYYY-MM from {keys[0]} to {keys[-1]})"
            )
    if first > last:
        raise ValueError(f"--months {text}: {first} comes after {last}")
    return tuple(keys[keys.index(first) : keys.index(last) + 1])


def execute_plainly(job: dg.JobDefinition, **execute: Any) -> dg.ExecuteInProcessResult:
    """``execute_in_process`` with Dagster's own logging (``ledger run --verbose``, tests)."""
    return job.execute_in_process(raise_on_error=False, **execute)


def build_in_process(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    code: str,
    log: Callable[[str], None],
    ingest_run_id: str | None = None,
    months: tuple[str, ...] | None = None,
    run_id: str | None = None,
    execute: Execute = execute_plainly,
) -> dg.ExecuteInProcessResult:
    """The build run for what the change log holds; with ``months``, those months whole, as a
    UI backfill would do."""
    with open_staging(LedgerPaths.from_env().ensure()) as con:
        plan = plan_build(con, code)
    if months:
        plan = replace(plan, months=_clamp(sorted({*plan.months, *months})), rebuild=True)
    log(f"ledger run: build {plan.describe()}")
    keys, tags = build_request(defs.resolve_asset_graph(), plan, ingest_run_id)
    return execute(
        defs.resolve_job_def("ledger_job"),
        instance=instance,
        asset_selection=keys,
        tags=tags,
        run_id=run_id,
    )


def run_in_process(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    code: str,
    log: Callable[[str], None],
    months: tuple[str, ...] | None = None,
    run_id: str | None = None,
    execute: Execute | None = None,
    read_all: bool = False,
) -> list[dg.ExecuteInProcessResult]:
    """`ledger run`: the ingest run of the sources with a change (every source with
    ``read_all`` or ``months``), then, if it succeeded, the build run it calls for, with
    ``run_id`` (the id the run lock names, and the version records)."""
    execute = execute or execute_plainly
    if read_all or months:
        sources, keys = list(SOURCES), None
    else:
        sources, keys = ingest_request(LedgerPaths.from_env(), code)
    if left := [s for s in SOURCES if s not in sources]:
        log(f"ledger run: ingest {', '.join(sources) or 'nothing'}; no change in {', '.join(left)}")
    results: list[dg.ExecuteInProcessResult] = []
    if sources:
        job = defs.resolve_job_def("ingest_job")
        results.append(execute(job, instance=instance, asset_selection=keys))
        if not results[0].success:
            return results
    ingest_run_id = results[0].run_id if results else None
    results.append(
        build_in_process(defs, instance, code, log, ingest_run_id, months, run_id, execute)
    )
    return results
