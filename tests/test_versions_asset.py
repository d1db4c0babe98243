"""The published_version asset: audit gate, idempotency and metadata, via dagster.materialize."""

# No `from __future__ import annotations`: Dagster checks the context annotation at runtime.
from datetime import datetime

import dagster as dg
import duckdb

from orchestration.defs.dbt.assets import mart_asset_keys
from orchestration.defs.publish.assets import published_version
from orchestration.defs.resources import LedgerResource
from orchestration.ingest.contract import ensure_raw_schema
from orchestration.paths import LedgerPaths
from orchestration.publish.store import VersionStore
from orchestration.quality.audit import record_results


def fake_marts(shipments: int, files: dict[str, str], audit: list[tuple[str, str, bool]]):
    """Stands in for ingest + dbt + GX: marts, loaded files and this run's audit rows."""

    @dg.asset(key=dg.AssetKey(["fct_shipments"]))
    def marts(context: dg.AssetExecutionContext, ledger: LedgerResource) -> None:
        ledger.paths.staging_db.unlink(missing_ok=True)
        with ledger.staging() as con:
            con.execute(
                "create table main.fct_shipments as select 's' || range as waybill_no, "
                "true as is_synthetic from range(?)",
                [shipments],
            )
            ensure_raw_schema(con)
            # bad.csv was rejected: still an input, its rejection is part of the version
            registry = [("bad.csv", "ff", "rejected")]
            registry += [(name, sha, "loaded") for name, sha in files.items()]
            con.executemany(
                "insert into raw.file_registry (file_sha256, source, source_file, size_bytes, "
                "status, loaded_at) values (?, 'manifests', ?, 1, ?, ?)",
                [
                    [sha, name, status, datetime(2024, 6, 13, 0, minute)]
                    for minute, (name, sha, status) in enumerate(registry)
                ],
            )
            record_results(
                con,
                [
                    {
                        "run_id": context.run_id,
                        "check_name": name,
                        "asset": "fct_shipments",
                        "suite": "gx_fct_shipments",
                        "severity": severity,
                        "success": success,
                        "evaluated": shipments,
                        "failed": 0 if success else 1,
                        "details": "{}",
                        "data_docs_url": "docs/gx/index.html",
                        "validated_at": datetime(2024, 6, 13),
                    }
                    for name, severity, success in audit
                ],
            )

    return marts


PASSING = [("not_null_shipment_id", "error", True), ("rows_in_range", "warn", True)]


def materialize(home: LedgerPaths, marts: dg.AssetsDefinition) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [marts, published_version],
        resources={"ledger": LedgerResource(home=str(home.home))},
        raise_on_error=False,
    )


def metadata(result: dg.ExecuteInProcessResult) -> dict:
    [mat] = result.asset_materializations_for_node("published_version")
    return {k: v.value for k, v in mat.metadata.items()}


def test_asset_is_wired_to_the_marts() -> None:
    spec = published_version.specs_by_key[dg.AssetKey(["published_version"])]
    assert spec.group_name == "publish"
    assert {d.asset_key for d in spec.deps} == set(mart_asset_keys)
    assert published_version.required_resource_keys == {"io_manager", "ledger"}


def test_passing_audit_publishes_then_unchanged_then_a_new_version(
    ledger_home: LedgerPaths,
) -> None:
    first = materialize(ledger_home, fake_marts(10, {"m/a.csv": "aa"}, PASSING))
    assert first.success
    meta = metadata(first)
    assert (meta["version_id"], meta["status"]) == ("v0001", "published")
    assert meta["row_counts"] == {"fct_shipments": 10}
    assert meta["input_files"] == 2
    assert (meta["audit_results"], meta["asset_checks"]) == (2, 0), "no Dagster check ran here"
    assert meta["data_docs/gx_fct_shipments"] == "docs/gx/index.html"
    assert meta["served_path"] == str(ledger_home.serving_db)
    assert meta["validation"] == {
        "checks": 2,
        "passed": 2,
        "warned": 0,
        "failed": 0,
        "failing_checks": [],
        "suites": ["gx_fct_shipments"],
        "data_docs": ["docs/gx/index.html"],
    }
    version = VersionStore(ledger_home).get(1)
    assert version.run_id == first.run_id
    assert version.input_hashes == {"bad.csv": "ff", "m/a.csv": "aa"}

    again = materialize(ledger_home, fake_marts(10, {"m/a.csv": "aa"}, PASSING))
    assert (metadata(again)["version_id"], metadata(again)["status"]) == ("v0001", "unchanged")

    warned = [*PASSING[:1], ("rows_in_range", "warn", False)]
    third = materialize(ledger_home, fake_marts(12, {"m/a.csv": "aa", "m/b.csv": "bb"}, warned))
    meta = metadata(third)
    assert (meta["version_id"], meta["status"]) == ("v0002", "published")
    assert (meta["validation"]["passed"], meta["validation"]["warned"]) == (1, 1)
    assert meta["diff_vs_previous"] == {
        "from_version": 1,
        "tables": {"fct_shipments": {"added": 2, "removed": 0, "changed": 0}},
    }
    assert meta["changes"] == (
        "since v0001\n\n"
        "| table | added | removed | changed |\n"
        "|---|---|---|---|\n"
        "| fct_shipments | 2 | 0 | 0 |"
    )
    assert [v.version_id for v in VersionStore(ledger_home).versions()] == [1, 2]


def test_failing_error_check_refuses_to_publish(ledger_home: LedgerPaths) -> None:
    assert materialize(ledger_home, fake_marts(10, {"a": "1"}, PASSING)).success
    failing = [("not_null_shipment_id", "error", False), ("rows_in_range", "warn", False)]
    result = materialize(ledger_home, fake_marts(99, {"a": "2"}, failing))

    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.user_failure_data.description
    assert message == (
        "audit failed, nothing is published; failing checks: "
        "gx_fct_shipments:not_null_shipment_id on fct_shipments"
    )
    assert [v.version_id for v in VersionStore(ledger_home).versions()] == [1]
    con = duckdb.connect(str(ledger_home.serving_db), read_only=True)
    assert con.execute("select count(*) from fct_shipments").fetchone() == (10,)
    con.close()


def test_a_run_without_audit_results_publishes_nothing(ledger_home: LedgerPaths) -> None:
    result = materialize(ledger_home, fake_marts(10, {"a": "1"}, []))
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    description = failure.step_failure_data.user_failure_data.description
    assert description == (
        f"run {result.run_id} has no audit results (GX/dbt tests did not run): "
        "nothing is published."
    )
    assert VersionStore(ledger_home).versions() == []
    assert not ledger_home.serving_db.exists()
