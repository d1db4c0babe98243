"""dbt models as Dagster assets: one lineage graph from raw files to published marts."""

import json
import os
import shutil
from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtProject, dbt_assets

# Not re-exported by dagster_dbt: the function its check specs are built with (using it keeps
# each test on the same model as the dbt_tests spec that LedgerDbtTranslator declares), the
# selection an in-process command ran with, and its converter of dbt's structured events.
from dagster_dbt.asset_utils import DbtCliInvocationPartialParams, get_asset_check_key_for_test
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

from orchestration.code_version import code_version
from orchestration.dbt_in_process import DBT_VARS, DbtRun
from orchestration.defs.dbt.metadata import (
    column_types,
    dbt_tests_description,
    failing_rows,
    published_table_name,
    test_name,
    tests_by_asset,
    with_column_types,
)
from orchestration.defs.dbt.resources import LedgerDbtCliResource, dbt_project
from orchestration.defs.partitions import dispatch_months
from orchestration.defs.resources import LedgerResource
from orchestration.incremental import (
    MONTHLY,
    RAW_SOURCE,
    REFERENCE,
    REST,
    changed_months,
    full_refresh_needed,
    queue_months,
    record_build,
    record_changed_months,
)
from orchestration.markdown import markdown_table
from orchestration.preload import EVIDENCE, preload
from orchestration.quality.audit import record_results
from orchestration.run_scope import SCOPE_CHANGED, SCOPE_TAG

KEEP_TARGETS = 5  # invocation target folders kept in dbt_project/target


DBT_TESTS_CHECK = "dbt_tests"


class LedgerDbtTranslator(DagsterDbtTranslator):
    """Models keep their bare names as keys; groups follow the dbt folder layer; all dbt tests
    of a model are one asset check.

    One check per test (~390) cost a Dagster event set each (~14 s of a sample run) and made
    run creation plan ~450 steps; one ``dbt_tests`` check per model lists each failing test by
    name in its metadata instead, and blocks publish the same way.
    """

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> dg.AssetCheckSpec | None:
        per_test = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if per_test is None:
            return None
        if not hasattr(self, "_tests_by_asset"):
            self._tests_by_asset: dict[int, dict[dg.AssetKey, list[str]]] = {}
        if id(manifest) not in self._tests_by_asset:
            self._tests_by_asset[id(manifest)] = tests_by_asset(
                manifest, lambda test: _check_key(manifest, self, test, project)
            )
        tests = self._tests_by_asset[id(manifest)].get(per_test.asset_key, [])
        return dg.AssetCheckSpec(
            name=DBT_TESTS_CHECK,
            asset=per_test.asset_key,
            blocking=True,
            description=dbt_tests_description(per_test.asset_key.to_user_string(), tests),
        )

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        """Storage is the published table (ledger.duckdb), not its build copy in staging."""
        metadata = dict(super().get_metadata(dbt_resource_props))
        if table := published_table_name(dbt_resource_props):
            metadata["dagster/table_name"] = table
        return metadata

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props["resource_type"] in ("seed", "snapshot"):
            return f"{dbt_resource_props['resource_type']}s"
        return fqn[1] if len(fqn) > 2 else None


def _check_key(
    manifest: Mapping[str, Any],
    translator: DagsterDbtTranslator,
    test_id: str,
    project: DbtProject | None,
) -> dg.AssetKey | None:
    key = get_asset_check_key_for_test(manifest, translator, test_id, project)
    return key.asset_key if key else None


def _record_dbt_tests(ledger: LedgerResource, run_id: str, run_results: dict[str, Any]) -> dict:
    """dbt tests are part of the audit: store them beside the GX results the publish step reads."""
    rows = []
    for result in run_results.get("results", []):
        if not result["unique_id"].startswith(("test.", "unit_test.")):
            continue
        status = result["status"]
        rows.append(
            {
                "run_id": run_id,
                "check_name": f"dbt:{result['unique_id'].split('.')[-1]}",
                "asset": result["unique_id"],
                "suite": "dbt",
                "severity": "warn" if status == "warn" else "error",
                "success": status in ("pass", "warn", "skipped"),
                "evaluated": 1,
                "failed": int(result.get("failures") or (status in ("fail", "error"))),
                "details": json.dumps({"status": status, "message": result.get("message")}),
                "data_docs_url": None,
                "validated_at": datetime.now(UTC).replace(tzinfo=None),
            }
        )
    with ledger.staging() as con:
        record_results(con, rows)
    statuses = [json.loads(r["details"])["status"] for r in rows]
    return {s: statuses.count(s) for s in sorted(set(statuses))}


def _tests_by_asset(
    run_results: dict[str, Any], params: DbtCliInvocationPartialParams
) -> dict[dg.AssetKey, list[tuple[str, str, int]]]:
    """(test name, status, failing rows) per asset, attached the way dagster-dbt attaches a
    test to a model for its check specs (attached node, single parent, or meta.dagster.ref),
    with the step's own manifest and translator."""
    tests: dict[dg.AssetKey, list[tuple[str, str, int]]] = defaultdict(list)
    for result in run_results.get("results", []):
        key = get_asset_check_key_for_test(
            params.manifest, params.dagster_dbt_translator, result["unique_id"], params.dbt_project
        )
        if key is not None:
            name = test_name(result["unique_id"])
            tests[key.asset_key].append((name, result["status"], result.get("failures") or 0))
    return tests


def _model_check(
    key: dg.AssetCheckKey, tests: list[tuple[str, str, int]], found: Mapping[str, str]
) -> dg.AssetCheckResult:
    """All dbt tests of one model as one result, each listed by name and status, with the
    first rows each failing test found.

    Tests declared with severity warn (status ``warn``) are listed but do not fail it.
    """
    failing = sorted(name for name, status, _ in tests if status in ("fail", "error"))
    shown = [(name, found[name]) for name in failing if name in found]
    return dg.AssetCheckResult(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=bool(tests) and not failing,
        description=None if tests else "no dbt test ran: the model was skipped",
        metadata={
            "tests": len(tests),
            "failed": len(failing),
            "warned": sum(status == "warn" for _, status, _ in tests),
            "failing_tests": dg.MetadataValue.json(failing),
            "results": dg.MetadataValue.md(
                markdown_table(
                    ["test", "status", "failing rows"],
                    sorted(tests, key=lambda t: (t[1] == "pass", t[0])),
                )
            ),
            **(
                {"failing_rows": dg.MetadataValue.md(markdown_table(["test", "found"], shown))}
                if shown
                else {}
            ),
        },
    )


def _generate_docs(
    dbt: LedgerDbtCliResource, ledger: LedgerResource, target: Path, code: str
) -> Path | None:
    """Static dbt docs (one self-contained HTML) next to GX Data Docs, rebuilt when the code
    changed (models, YAML descriptions, seeds: all in the code version); else None.

    Reuses the build's target (``--no-compile``): compiling the project again costs ~20 s.
    """
    out = ledger.paths.docs_dir / "dbt"
    stamp = out / ".code_version"
    if (out / "index.html").exists() and stamp.exists() and stamp.read_text() == code:
        return None
    docs, _ = dbt.invoke(
        ["docs", "generate", "--static", "--no-compile", *DBT_VARS], target_path=target
    )
    if not docs.success:
        raise dg.Failure(f"dbt docs generate failed: {'; '.join(docs.errors)}")
    out.mkdir(parents=True, exist_ok=True)
    for name in ("static_index.html", "manifest.json", "catalog.json"):
        shutil.copy2(target / name, out / ("index.html" if name == "static_index.html" else name))
    stamp.write_text(code)
    return out / "index.html"


def _prune_targets(current: Path, keep: int = KEEP_TARGETS) -> None:
    """dagster-dbt gives every invocation its own target folder (~25 MB here); keep the newest.

    Without this a daily schedule leaves ~9 GB a year in dbt_project/target. The newest few
    stay for debugging (compiled SQL, run_results.json), and a run still going is among them.
    """
    folders = sorted(
        current.parent.glob(f"{current.name.rsplit('-', 2)[0]}-*"), key=os.path.getmtime
    )
    for folder in folders[:-keep]:
        if folder != current:
            shutil.rmtree(folder, ignore_errors=True)


def _build(
    context: dg.AssetExecutionContext, dbt: LedgerDbtCliResource, ledger: LedgerResource, part: str
) -> Iterator[Any]:
    """One dbt build of the selected models and their tests, into the staging database only."""
    # dbt reads the database path from the environment (profiles.yml): point it at this home.
    os.environ["LEDGER_STAGING_DB"] = str(ledger.paths.staging_db)
    code = code_version()
    with ledger.staging() as con:
        full = full_refresh_needed(con, code, part)
        if part == MONTHLY and not full:  # a full build of it is followed by a full one of REST
            queued = _queue_partition_months(context, con)
            if queued:
                context.log.info(f"months {context.partition_key_range}: {queued} waybills queued")
            now = datetime.now(UTC).replace(tzinfo=None)
            record_changed_months(con, changed_months(con), context.run_id, now)
    started = datetime.now(UTC).replace(tzinfo=None)  # after queueing: the build consumes them
    context.log.info(
        "dbt build: full refresh (code changed since the last build)"
        if full
        else "dbt build: incremental (only waybills whose manifest rows changed)"
    )
    # incremental: heavy tests on the big models see the rebuilt waybills only (changed_waybills);
    # unit tests, which read fixed rows and not the data, passed when this code last built
    args = ["build", *DBT_VARS]
    args += ["--full-refresh"] if full else ["--exclude-resource-type", "unit_test"]
    if part == REST:  # the evidence report comes next: its imports overlap dbt's SQL
        preload(EVIDENCE)
    run, params = dbt.invoke(args, context=context)
    if not (run.target_path / "run_results.json").exists():  # e.g. a profile or project error
        raise dg.Failure(f"dbt build stopped before any node, nothing is published: {run.errors}")
    # Models are yielded once dbt is done: only then can the database tell their column types.
    built = list(_node_events(run, params, context))
    run_results = run.artifact("run_results.json")
    with ledger.staging(read_only=True) as con:
        types = column_types(con)
        found = failing_rows(con, run_results)
    yield from with_column_types(built, context.assets_def, params.manifest, types)
    summary = _record_dbt_tests(ledger, context.run_id, run_results)
    context.log.info(f"dbt tests: {summary}")
    by_asset = _tests_by_asset(run_results, params)
    for key in sorted(context.selected_asset_check_keys, key=str):
        yield _model_check(key, by_asset.get(key.asset_key, []), found)
    if not run.success:
        failing = sorted(
            f"{name} ({found[name]})" if found.get(name) else name
            for name in (
                test_name(r["unique_id"])
                for r in run_results.get("results", [])
                if r["status"] in ("fail", "error")
            )
        )
        raise dg.Failure(
            description="dbt build failed, nothing is published; failing: "
            + (", ".join(failing) or "; ".join(run.errors) or "see the dbt log"),
            metadata={"dbt_tests": dg.MetadataValue.json(summary)},
        )
    with ledger.staging() as con:
        record_build(
            con, context.run_id, code, full, started, datetime.now(UTC).replace(tzinfo=None), part
        )
    if part == REST:  # the last dbt step: the catalog then sees every model built
        docs = _generate_docs(dbt, ledger, run.target_path, code)
        context.log.info(f"dbt docs written to {docs}" if docs else "dbt docs up to date")
    _prune_targets(run.target_path)


def _node_events(
    run: DbtRun, params: DbtCliInvocationPartialParams, context: dg.AssetExecutionContext
) -> Iterator[Any]:
    """Dagster events for the models, seeds and snapshots dbt built; none for its tests.

    Tests become one ``dbt_tests`` result per model (below, from run_results.json). Converted
    one by one, each test found no per-test check and was logged as a warning instead: ~430
    event-log writes a sample run, each a line in the UI's run log.
    """
    for raw in run.events:
        unique_id = raw["data"].get("node_info", {}).get("unique_id", "")
        if not unique_id or unique_id.startswith(("test.", "unit_test.")):
            continue
        yield from DbtCoreCliEventMessage(
            raw_event=raw, event_history_metadata={}
        ).to_default_asset_events(
            manifest=params.manifest,
            dagster_dbt_translator=params.dagster_dbt_translator,
            context=context,
            target_path=run.target_path,
            project=params.dbt_project,
        )


def _queue_partition_months(context: dg.AssetExecutionContext, con: Any) -> int:
    """A run that names its months (UI backfill, re-run of a month) rebuilds them whole; a run
    the sensor or `ledger run` launched for what changed rebuilds the changed waybills only."""
    if context.run.tags.get(SCOPE_TAG) == SCOPE_CHANGED:
        return 0
    months = context.partition_keys
    return queue_months(con, months, context.run_id, datetime.now(UTC).replace(tzinfo=None))


# Three dbt steps, so that only month-keyed data carries partitions (reference data, claims and
# aggregates stay unpartitioned) and a run for changed files skips what only the code feeds:
# what no raw table feeds (seeds and the models over them alone), the month-keyed models with
# the staging and intermediate models they read, then the rest.
@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=LedgerDbtTranslator(),
    select="fqn:*",
    exclude=f"source:{RAW_SOURCE}+",
)
def reference_dbt_assets(
    context: dg.AssetExecutionContext, dbt: LedgerDbtCliResource, ledger: LedgerResource
) -> Iterator[Any]:
    """Seeds, their snapshots and the models over them alone: they change with the code only,
    so a run for changed files leaves them out (launch.py) unless the code changed."""
    yield from _build(context, dbt, ledger, REFERENCE)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=LedgerDbtTranslator(),
    select=f"source:{RAW_SOURCE}+",
    exclude=f"+tag:{MONTHLY}",
)
def ledger_dbt_assets(
    context: dg.AssetExecutionContext, dbt: LedgerDbtCliResource, ledger: LedgerResource
) -> Iterator[Any]:
    """Everything else: dimensions, claims, aggregates over the monthly tables."""
    yield from _build(context, dbt, ledger, REST)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=LedgerDbtTranslator(),
    select=f"source:{RAW_SOURCE}+,+tag:{MONTHLY}",
    partitions_def=dispatch_months,
    # a range of months is one dbt build: the incremental models delete + insert its waybills
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def monthly_dbt_assets(
    context: dg.AssetExecutionContext, dbt: LedgerDbtCliResource, ledger: LedgerResource
) -> Iterator[Any]:
    """fct_shipments and fct_munitions_equivalent, partitioned by dispatch month, with the
    staging views and consignment models of manifest rows they read (one row per waybill
    version, each in its dispatch month)."""
    yield from _build(context, dbt, ledger, MONTHLY)


mart_asset_keys: list[dg.AssetKey] = sorted(
    (
        spec.key
        for assets in (reference_dbt_assets, monthly_dbt_assets, ledger_dbt_assets)
        for spec in assets.specs
        if spec.group_name == "marts"
    ),
    key=str,
)
