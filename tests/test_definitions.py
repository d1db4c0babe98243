"""The Definitions object loads, and its schedule and sensor behave."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.scheduler.instigation import TickStatus

from orchestration.cli import build_parser
from orchestration.dbt_in_process import DBT_VARS, manifest
from orchestration.definitions import defs
from orchestration.defs.jobs import raw_files_sensor
from orchestration.defs.resources import LedgerResource
from orchestration.instance import DAGSTER_YAML, dagster_instance, dagster_yaml
from orchestration.launch import BuildPlan, build_request
from orchestration.paths import DBT_PROJECT_DIR, PROJECT_ROOT, LedgerPaths


def test_definitions_load_with_job_schedule_sensor() -> None:
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.assets_defs_by_key}
    assert {"raw/manifests", "raw/voyages", "raw/reports", "published_version"} <= keys
    assert {"fct_shipments", "fct_munitions_equivalent", "agg_monthly_flows"} <= keys
    assert defs.resolve_job_def("ledger_job") is not None
    assert defs.get_schedule_def("daily_ledger").cron_schedule == "0 6 * * *"
    assert defs.get_sensor_def("raw_files_sensor").job_name == "ingest_job"
    assert defs.get_sensor_def("build_after_ingest") is not None
    assert defs.get_schedule_def("daily_ledger").job_name == "ingest_job"
    graph = defs.resolve_asset_graph()
    partitioned = {
        k.to_user_string() for k in graph.executable_asset_keys if graph.get(k).is_partitioned
    }
    # the month-keyed tables and the manifest rows they are built from, by dispatch month
    assert partitioned == {
        "stg_raw__manifests",
        "stg_raw__changed_waybills",
        "int_ranked_resent_waybills",
        "int_versioned_consignments",
        "int_classified_consignments",
        "fct_shipments",
        "fct_munitions_equivalent",
    }
    months = graph.get(dg.AssetKey("fct_shipments")).partitions_def
    assert months.get_partition_keys()[:2] == ["2023-07", "2023-08"]
    groups = {a.group_names_by_key[k] for a in repo.assets_defs_by_key.values() for k in a.keys}
    assert {"ingest", "staging", "intermediate", "marts", "publish"} <= groups


def test_dbt_sources_hang_off_ingest_assets() -> None:
    """One lineage graph: staging models depend on the ingest assets' keys."""
    graph = defs.resolve_asset_graph()
    parents = graph.get(dg.AssetKey(["stg_raw__manifests"])).parent_keys
    assert dg.AssetKey(["raw", "manifests"]) in parents


def test_sensor_requests_a_run_only_when_raw_files_change(ledger_home: LedgerPaths) -> None:
    ledger = LedgerResource(home=str(ledger_home.home))
    empty = raw_files_sensor(dg.build_sensor_context(cursor=None, resources={"ledger": ledger}))
    assert not empty.run_requests, "nothing to ingest yet"
    manifest = ledger_home.raw_dir / "manifests" / "a.csv"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text("waybill_no\n1\n")

    first = raw_files_sensor(dg.build_sensor_context(cursor=None, resources={"ledger": ledger}))
    assert len(first.run_requests) == 1

    unchanged = raw_files_sensor(
        dg.build_sensor_context(cursor=first.cursor, resources={"ledger": ledger})
    )
    assert not unchanged.run_requests

    (ledger_home.raw_dir / "manifests" / "b.csv").write_text("waybill_no\n2\n")
    changed = raw_files_sensor(
        dg.build_sensor_context(cursor=first.cursor, resources={"ledger": ledger})
    )
    assert len(changed.run_requests) == 1
    assert changed.cursor != first.cursor


def test_the_cli_instance_is_shared_with_the_ui_and_sends_no_telemetry(
    ledger_home: LedgerPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", "unset below; restored after the test")
    monkeypatch.delenv("DAGSTER_HOME")  # one set in the environment would win
    instance = dagster_instance(ledger_home)

    home = ledger_home.warehouse_dir / "dagster"
    config = home / "dagster.yaml"
    assert config.read_text() == dagster_yaml(home)
    assert instance.root_directory == str(home)
    assert not instance.telemetry_enabled
    assert not instance.nux_enabled, "no community pop-up in the UI of an offline machine"
    # UI, sensor and schedule runs queue one at a time; runs stuck starting are failed
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    assert instance.run_coordinator.get_run_queue_config().max_concurrent_runs == 1
    assert instance.run_monitoring_enabled
    retention = instance.get_tick_retention_settings(InstigatorType.SENSOR)
    assert retention[TickStatus.SKIPPED] == 7

    for earlier in ("telemetry:\n  enabled: false\nnux:\n  enabled: false\n", DAGSTER_YAML):
        config.write_text(earlier)
        dagster_instance(ledger_home)
        assert config.read_text() == dagster_yaml(home)

    config.write_text("telemetry:\n  enabled: false\n")  # what an earlier version wrote
    dagster_instance(ledger_home)
    assert "nux:" in config.read_text()
    config.write_text("telemetry:\n  enabled: true\n")  # edited by hand: left alone
    dagster_instance(ledger_home)
    assert config.read_text() == "telemetry:\n  enabled: true\n"
    assert "ui" in build_parser().format_help()


def test_with_a_postgres_url_the_instance_config_moves_storage_there_and_back(
    ledger_home: LedgerPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LEDGER_PG_URL: run, event-log and schedule storage in Postgres (the URL stays in the
    environment), a run queue LEDGER_WORKERS wide, everything else as before; unset, the
    SQLite config comes back byte for byte."""
    import yaml

    from orchestration.instance import dagster_home

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    config = ledger_home.warehouse_dir / "dagster" / "dagster.yaml"
    monkeypatch.setenv("LEDGER_PG_URL", "postgresql+psycopg2://ledger@db.example:5432/dagster")
    monkeypatch.setenv("LEDGER_WORKERS", "3")
    dagster_home(ledger_home)
    written = yaml.safe_load(config.read_text())
    assert "db.example" not in config.read_text()
    assert written["storage"] == {"postgres": {"postgres_url": {"env": "LEDGER_PG_URL"}}}
    assert written["run_coordinator"]["config"] == {"max_concurrent_runs": 3}
    sqlite = yaml.safe_load(DAGSTER_YAML)
    assert {k: v for k, v in written.items() if k not in ("storage", "run_coordinator")} == {
        k: v for k, v in sqlite.items() if k != "run_coordinator"
    }
    monkeypatch.setenv("LEDGER_PG_URL", "postgresql://ledger@db.example:5432/dagster")
    with pytest.raises(ValueError, match=r"must start with postgresql\+psycopg2://"):
        dagster_home(ledger_home)  # SQLAlchemy would look for psycopg 3, not installed
    monkeypatch.setenv("LEDGER_PG_URL", "postgresql+psycopg2://ledger@db.example:5432/dagster")
    monkeypatch.setenv("LEDGER_WORKERS", "two")
    with pytest.raises(ValueError, match="LEDGER_WORKERS='two'"):
        dagster_home(ledger_home)

    monkeypatch.delenv("LEDGER_PG_URL")
    dagster_home(ledger_home)
    assert config.read_text() == dagster_yaml(config.parent)


def all_check_specs() -> dict[dg.AssetCheckKey, dg.AssetCheckSpec]:
    repo = defs.get_repository_def()
    definitions = [*repo.assets_defs_by_key.values(), *repo.asset_checks_defs_by_key.values()]
    return {spec.key: spec for d in definitions for spec in d.check_specs}


def test_every_check_says_what_it_protects() -> None:
    specs = all_check_specs()
    assert len(specs) > 40
    assert [k for k, spec in specs.items() if not (spec.description or "").strip()] == []
    files_readable = specs[dg.AssetCheckKey(dg.AssetKey(["raw", "manifests"]), "files_readable")]
    assert files_readable.description.startswith(
        "Warns (does not block) when a file in data/raw/manifests cannot be read at all"
    )
    gx = specs[dg.AssetCheckKey(dg.AssetKey(["dim_stations"]), "gx_dim_stations")]
    assert gx.description.startswith("Guards the published station dimension")
    assert "expectations/dim_stations.json (11 expectations)" in gx.description
    dbt = specs[dg.AssetCheckKey(dg.AssetKey(["fct_claims"]), "dbt_tests")]
    assert "unique(claim_id)" in dbt.description
    # the value rules of every column in one test, which lists them
    assert "column_rules(claim_id, report_id, report_title, " in dbt.description


def test_asset_pages_show_columns_and_the_published_table() -> None:
    specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
    manifests = specs[dg.AssetKey(["raw", "manifests"])].metadata
    columns = {c.name: c for c in manifests["dagster/column_schema"].columns}
    assert (columns["dispatch_date"].type, columns["dispatch_date"].constraints.nullable) == (
        "DATE",
        False,
    )
    assert columns["container_no"].description == "ISO 6346, check digit valid, or null"
    assert manifests["dagster/table_name"] == "staging.raw.manifests"
    shipments = specs[dg.AssetKey(["fct_shipments"])].metadata
    assert shipments["dagster/table_name"] == "ledger.main.fct_shipments"
    assert (
        specs[dg.AssetKey(["stg_raw__manifests"])]
        .metadata["dagster/table_name"]
        .startswith("staging.")
    ), "a view is not published: it stays in staging"


def test_ingest_bookkeeping_tables_are_assets_not_external() -> None:
    repo = defs.get_repository_def()
    for table in ("file_registry", "quarantine"):
        assets_def = repo.assets_defs_by_key[dg.AssetKey(["raw", table])]
        assert assets_def.is_executable and assets_def.node_def.name == "raw_bookkeeping"
    job = defs.resolve_job_def("ledger_job")
    assert "raw_bookkeeping" in {node.name for node in job.nodes}


def test_no_intermediate_model_reads_a_mart() -> None:
    """Lineage runs staging -> intermediate -> marts, never back from marts."""
    graph = defs.resolve_asset_graph()
    groups = {key: graph.get(key).group_name for key in graph.get_all_asset_keys()}
    backwards = {
        (key.to_user_string(), parent.to_user_string())
        for key, group in groups.items()
        if group == "intermediate"
        for parent in graph.get(key).parent_keys
        if groups.get(parent) == "marts"
    }
    assert backwards == set()
    # the claim models take their shipments from the intermediate layer (directly or through
    # its daily sums), not from fct_shipments
    for model in ("int_claim_figures", "int_resolved_claim_periods"):
        upstream, todo = set(), [dg.AssetKey([model])]
        while todo:
            parents = graph.get(todo.pop()).parent_keys - upstream
            upstream |= parents
            todo.extend(parents)
        assert dg.AssetKey(["int_classified_consignments"]) in upstream
        assert dg.AssetKey(["fct_shipments"]) not in upstream


def test_dbt_commands_run_in_this_process_on_one_parse(tmp_path: Path) -> None:
    """The dbt resource's `invoke` runs dbt in the calling process (no `dbt` process to start
    per command) and reuses the project parsed once, until a project file changes."""
    dbt = defs.resources["dbt"]
    run, _ = dbt.invoke(
        ["ls", "--select", "fct_shipments", "--resource-type", "model", *DBT_VARS],
        target_path=tmp_path / "target",
    )
    assert run.success, run.errors
    assert {event["info"]["pid"] for event in run.events} == {os.getpid()}
    assert any(e["info"]["msg"].endswith("marts.shipments.fct_shipments") for e in run.events)
    assert (tmp_path / "target" / "dbt.log").exists()
    parsed = manifest(DBT_PROJECT_DIR)
    assert manifest(DBT_PROJECT_DIR) is parsed
    before = (DBT_PROJECT_DIR / "target" / "manifest.json").stat().st_mtime_ns
    model = DBT_PROJECT_DIR / "models" / "marts" / "shipments" / "fct_shipments.sql"
    os.utime(model)  # an edit: the next command parses again (and pickles the parse)
    (DBT_PROJECT_DIR / "target" / "partial_parse.msgpack").unlink()  # in full, as in a new clone
    assert manifest(DBT_PROJECT_DIR) is not parsed
    written = (DBT_PROJECT_DIR / "target" / "manifest.json").stat().st_mtime_ns
    assert written > before
    # a new process unpickles that parse instead of parsing again (dbt's manifest.json, which
    # every parse rewrites, stays as it was) and compiles two models on it: refs and sources resolve
    compile_ = (
        "import os, sys; from pathlib import Path;"
        " from orchestration.dbt_in_process import DBT_VARS, invoke;"
        " from orchestration.paths import DBT_PROJECT_DIR;"
        " os.environ['LEDGER_STAGING_DB'] = sys.argv[1];"
        " run = invoke(['compile', '--select', 'int_claim_figures stg_raw__manifests',"
        " *DBT_VARS], DBT_PROJECT_DIR, Path(sys.argv[2]));"
        " sys.exit(0 if run.success else ' '.join(run.errors) or 1)"
    )
    probe = [sys.executable, "-c", compile_, str(tmp_path / "s.duckdb"), str(tmp_path / "new")]
    compiled = subprocess.run(probe, capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr[-3000:]
    assert (DBT_PROJECT_DIR / "target" / "manifest.json").stat().st_mtime_ns == written
    sql = tmp_path / "new" / "compiled" / "shipment_ledger" / "models" / "intermediate"
    assert "int_summed_daily_flows" in (sql / "claims" / "int_claim_figures.sql").read_text()
    # without the manifest.json the dbt assets load, the pickle is not enough: a new process
    # loading the definitions parses again and writes it
    (DBT_PROJECT_DIR / "target" / "manifest.json").unlink()
    load = [sys.executable, "-c", "import orchestration.defs.dbt.resources"]
    loaded = subprocess.run(load, capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert (DBT_PROJECT_DIR / "target" / "manifest.json").exists()


@pytest.mark.slow  # three dbt parses of a copy of the project (~30 s)
def test_a_partial_parse_that_lost_yaml_snapshots_is_done_again_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dbt-core#10903: a partial parse can drop the snapshots declared in YAML. A saved parse
    without them stands in for that case: used as is, the snapshots are missing; the parse
    notices and parses again in full."""
    from dbt.parser.manifest import extended_mashumaro_encoder

    from orchestration import dbt_in_process

    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))

    def snapshots(parsed: Any) -> list[str]:
        return sorted(n.name for n in parsed.nodes.values() if n.resource_type == "snapshot")

    full = dbt_in_process.parse(project)
    declared = snapshots(full)
    assert declared == [
        "method_parameters_history",
        "munition_profiles_history",
        "stations_history",
    ]
    for unique_id in [k for k, n in full.nodes.items() if n.resource_type == "snapshot"]:
        del full.nodes[unique_id]
    cache = project / "target" / dbt_in_process.PARTIAL_PARSE_FILE
    cache.write_bytes(full.to_msgpack(extended_mashumaro_encoder))
    with monkeypatch.context() as patched:
        patched.setattr(dbt_in_process, "_lost_snapshots", lambda *_: False)
        assert snapshots(dbt_in_process.parse(project)) == []
    assert snapshots(dbt_in_process.parse(project)) == declared


def test_a_build_for_changed_files_leaves_out_what_they_do_not_feed() -> None:
    """The build run's selection: the seeds' step only when the code changed, and of the rest
    only the models some changed source feeds (every file event feeds the registry's models)."""
    graph = defs.resolve_asset_graph()

    def built(plan: BuildPlan) -> set[str]:
        keys, _ = build_request(graph, plan, None)
        return {k.to_user_string() for k in keys}

    everything = built(BuildPlan(("2023-11",), full_refresh=True))
    assert {"stations", "fct_voyages", "fct_claims", "agg_monthly_flows"} <= everything
    day = built(BuildPlan(("2023-11",), False, reference=False, changed_sources=frozenset()))
    assert {"fct_shipments", "agg_monthly_flows", "fct_claim_reconciliation"} <= day
    assert "published_version" in day and "quarantine" in day
    assert not {"stations", "int_blended_munition_profiles", "fct_voyages", "fct_claims"} & day
    voyages = built(BuildPlan((), False, reference=False, changed_sources=frozenset({"voyages"})))
    assert {"fct_voyages", "dim_vessels", "quarantine", "published_version"} <= voyages
    assert not {"fct_shipments", "agg_monthly_flows", "fct_claims", "stations"} & voyages
    assert everything - day - voyages >= {"fct_claims", "dim_reports", "stations"}


def test_loading_the_definitions_imports_no_gx_pandas_or_matplotlib(
    ledger_home: LedgerPaths,
) -> None:
    """Every Dagster process (UI code server, daemon, each run) loads the Definitions: the steps
    import GX (~10 s), pandas (~1.3 s) and matplotlib when they run, not before."""
    probe = (
        "import sys\n"
        "import orchestration.definitions\n"
        "heavy = ('great_expectations', 'pandas', 'matplotlib')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    env = {**os.environ, "LEDGER_HOME": str(ledger_home.home)}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
