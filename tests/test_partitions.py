"""Dispatch-month partitions on a real home: which months a change builds, a backfill of every
month, a corrected re-send in an old month, and a backfill killed half-way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from orchestration.defs.dbt.assets import reference_dbt_assets
from orchestration.paths import DBT_PROJECT_DIR
from orchestration.publish.parts import WAYBILL_TABLES
from orchestration.publish.registry import parse_version_id
from orchestration.publish.store import VersionStore, change_summary
from tests.test_end_to_end import copied_home, months_built, run_again

pytestmark = pytest.mark.slow  # each test is a dbt build on the sample (~1 min idle)

MARTS = ("fct_shipments", "fct_munitions_equivalent", "agg_monthly_flows", "quarantine")


def same_rows(staging: Path, served: Path, table: str, ignore: tuple[str, ...] = ()) -> bool:
    """Equal row for row; sums of doubles compared to 1e-6, since their last bits depend on the
    order the rows were added in, and a backfill re-inserts them in another order. Columns in
    ``ignore`` are left out (when two separate runs loaded the rows: ``ingested_at``)."""
    con = duckdb.connect(":memory:")
    con.execute(f"attach '{staging}' as s (read_only)")
    con.execute(f"attach '{served}' as p (read_only)")
    columns = ", ".join(
        f"round({name}, 6)" if kind == "DOUBLE" else name
        for name, kind in con.execute(
            "select column_name, data_type from duckdb_columns()"
            " where database_name = 'p' and table_name = ? order by column_index",
            [table],
        ).fetchall()
        if name not in ignore
    )
    differ = con.execute(
        f"select count(*) from ((select {columns} from s.main.{table} except all"  # noqa: S608
        f" select {columns} from p.main.{table}) union all (select {columns} from p.main.{table}"
        f" except all select {columns} from s.main.{table}))"
    ).fetchone()[0]
    return differ == 0


def data_months(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select distinct strftime(dispatch_date, '%Y-%m') from fct_shipments order by 1"
        ).fetchall()
    return [r[0] for r in rows]


def test_a_backfill_of_every_month_rebuilds_the_published_tables_exactly(
    pipeline_run: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every waybill of every month deleted and rebuilt, re-validated: the same tables as the
    full run, so the publish finds nothing new to serve."""
    paths = copied_home(pipeline_run, tmp_path, monkeypatch)
    months = data_months(paths.serving_db)
    results = run_again(pipeline_run, months=(months[0], months[-1]))
    assert all(r.success for r in results)
    assert months_built(results) == months
    [published] = results[-1].asset_materializations_for_node("published_version")
    assert published.metadata["status"].value == "unchanged"
    for table in MARTS:
        assert same_rows(paths.staging_db, paths.serving_db, table), table
    gx = {
        c.check_name: c.metadata["scope"].value
        for c in results[-1].get_asset_check_evaluations()
        if "scope" in c.metadata
    }
    total = pipeline_run["summary"]["manifests"]["current"]["shipments"]
    assert gx["gx_fct_shipments"] == f"rebuilt waybills ({total:,} of {total:,} rows)"


def test_a_corrected_resend_in_an_old_month_rebuilds_that_month_only(
    pipeline_run: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file re-sending one August waybill with a corrected weight: August is the one
    partition built, and the served row is the correction."""
    from orchestration.generate import generate_day

    paths = copied_home(pipeline_run, tmp_path, monkeypatch)
    with duckdb.connect(str(paths.serving_db), read_only=True) as con:
        waybill, shipments = con.execute(
            "select min(waybill_no) filter (where strftime(dispatch_date, '%Y-%m') = '2023-08'),"
            " count(*) from fct_shipments"
        ).fetchone()
    day = generate_day(paths.raw_dir, date(2023, 8, 20), 1)
    pl.read_csv(day, infer_schema=False).with_columns(
        pl.lit(waybill).alias("waybill_no"), pl.lit("12345").alias("gross_weight")
    ).write_csv(day)

    results = run_again(pipeline_run)
    assert all(r.success for r in results)
    assert months_built(results) == ["2023-08"]
    built = {m.asset_key for m in results[-1].get_asset_materialization_events() if m.asset_key}
    assert built.isdisjoint(reference_dbt_assets.keys), "seeds: same code, not rebuilt"
    assert dg.AssetKey("int_versioned_consignments") in built
    # same code as the full build before it: the unit tests (fixed rows, not data) are not run
    # again; its data tests are
    build_run = results[-1].run_id
    with duckdb.connect(str(paths.staging_db), read_only=True) as con:
        this_run, earlier = con.execute(
            "select count(*) filter (where run_id = $run), count(*) filter (where run_id <> $run)"
            " from audit.validation_results where asset like 'unit_test.%'",
            {"run": build_run},
        ).fetchone()
        (data_tests,) = con.execute(
            "select count(*) from audit.validation_results"
            " where run_id = ? and asset like 'test.%'",
            [build_run],
        ).fetchone()
    assert this_run == 0 and earlier > 0 and data_tests > 0
    # dbt writes the run results a step reads, not the 2 MB manifest.json of the parse it reused
    [step_target] = (DBT_PROJECT_DIR / "target").glob(f"monthly_dbt_assets-{build_run[:7]}-*")
    assert (step_target / "run_results.json").exists()
    assert not (step_target / "manifest.json").exists()
    with duckdb.connect(str(paths.serving_db), read_only=True) as con:
        row = con.execute(
            "select dispatch_date, gross_cargo_tonnes, (select count(*) from fct_shipments)"
            " from fct_shipments where waybill_no = ?",
            [waybill],
        ).fetchone()
    assert row == (date(2023, 8, 20), 12.345, shipments), "superseded, not added"
    # The version is the previous one plus the changed waybill, and equals staging table by table.
    [published] = results[-1].asset_materializations_for_node("published_version")
    assert published.metadata["built"].value == "delta"
    assert published.metadata["months_written"].value == "; ".join(
        f"{table}: 2023-08" for table in sorted(WAYBILL_TABLES)
    )
    for table in (*MARTS, "fct_waybill_versions", "fct_claim_reconciliation", "dim_stations"):
        assert same_rows(paths.staging_db, paths.serving_db, table), table
    # its diff, scoped to the replaced waybills, is the full diff; the report shows that one
    shown, version = (published.metadata[k].value for k in ("diff_vs_previous", "version_id"))
    store = VersionStore(paths)
    assert shown["tables"] == change_summary(
        store, shown["from_version"], parse_version_id(version)
    )
    assert shown["tables"]["fct_shipments"] == {"added": 0, "removed": 0, "changed": 1}
    report = (paths.reports_dir / version / "index.html").read_text()
    assert '<tr><td>fct_shipments</td><td class="num">0</td><td class="num">0</td>' in report
    with duckdb.connect(str(paths.serving_db), read_only=True) as con:
        history = con.execute(
            "select version_rank, gross_cargo_tonnes from fct_waybill_versions"
            " where waybill_no = ? order by version_rank",
            [waybill],
        ).fetchall()
    assert [rank for rank, _ in history] == [1, 2] and history[0][1] == 12.345


MONTHLY_SUMS = """
    select strftime(dispatch_date, '%Y-%m'), count(*), round(sum(gross_cargo_tonnes), 6)
    from fct_shipments where is_explosive group by 1 order by 1
"""


def test_a_resend_that_moves_a_waybill_recomputes_the_aggregates_of_both_months(
    pipeline_run: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A September waybill re-sent with an August date: both months are built, and the
    aggregates rebuilt by month (agg_monthly_flows, int_summed_daily_flows) leave September
    as much as they add to August, matching fct_shipments day by day and month by month."""
    from orchestration.generate import generate_day

    paths = copied_home(pipeline_run, tmp_path, monkeypatch)
    with duckdb.connect(str(paths.serving_db), read_only=True) as con:
        (waybill,) = con.execute(
            "select min(waybill_no) from fct_shipments"
            " where is_explosive and strftime(dispatch_date, '%Y-%m') = '2023-09'"
        ).fetchone()
    day = generate_day(paths.raw_dir, date(2023, 8, 20), 1)
    pl.read_csv(day, infer_schema=False).with_columns(
        pl.lit(waybill).alias("waybill_no")
    ).write_csv(day)

    results = run_again(pipeline_run)
    assert all(r.success for r in results)
    assert months_built(results) == ["2023-08", "2023-09"]
    with duckdb.connect(str(paths.serving_db), read_only=True) as con:
        assert con.execute(
            "select strftime(dispatch_date, '%Y-%m') from fct_shipments where waybill_no = ?",
            [waybill],
        ).fetchall() == [("2023-08",)]
        flows = con.execute(
            "select strftime(month, '%Y-%m'), sum(shipments), round(sum(explosive_tonnes), 6)"
            " from agg_monthly_flows group by 1 order by 1"
        ).fetchall()
        assert flows == con.execute(MONTHLY_SUMS).fetchall()
    with duckdb.connect(str(paths.staging_db), read_only=True) as con:
        mismatched = con.execute(
            "select count(*) from (select dispatch_date, sum(shipments) as n,"
            " round(sum(tonnes), 6) as t from intermediate.int_summed_daily_flows group by 1) a"
            " full join (select dispatch_date, count(*) as n, round(sum(gross_cargo_tonnes), 6)"
            " as t from main.fct_shipments group by 1) b using (dispatch_date)"
            " where a.n is distinct from b.n or a.t is distinct from b.t"
        ).fetchone()[0]
    assert mismatched == 0


def test_a_killed_backfill_leaves_the_served_version_and_the_next_run_completes_it(
    pipeline_run: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = copied_home(pipeline_run, tmp_path, monkeypatch)
    months = data_months(paths.serving_db)
    with duckdb.connect(str(paths.serving_db), read_only=True) as con:
        served_before = con.execute(
            "select max(version_id), (select count(*) from fct_shipments) from ledger_versions"
        ).fetchone()
    env = {**os.environ, "DAGSTER_HOME": str(paths.home / "dagster")}
    ledger = [sys.executable, "-m", "orchestration.cli"]
    proc = subprocess.Popen(
        [*ledger, "run", "--verbose", "--months", f"{months[0]}:{months[-1]}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:  # until the monthly tables are being rebuilt
        seen.append(line)
        if "waybills queued" in line:
            break
    else:
        pytest.fail("the run ended before the monthly build:\n" + "".join(seen[-40:]))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    with duckdb.connect(str(paths.serving_db), read_only=True) as con:
        assert (
            con.execute(
                "select max(version_id), (select count(*) from fct_shipments) from ledger_versions"
            ).fetchone()
            == served_before
        )
    with duckdb.connect(str(paths.staging_db), read_only=True) as con:
        assert con.execute("select count(*) from raw.changed_keys").fetchone()[0] > 0, "queued"

    done = subprocess.run(
        [*ledger, "run", "--force"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "unchanged: served at" in done.stdout
    with duckdb.connect(str(paths.staging_db), read_only=True) as con:
        assert con.execute("select count(*) from raw.changed_keys").fetchone()[0] == 0
    for table in MARTS:
        assert same_rows(paths.staging_db, paths.serving_db, table), table


def test_after_an_ingest_run_the_sensor_requests_the_months_it_touched(
    pipeline_run: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The raw-files sensor launches ingest_job; its success makes build_after_ingest request
    ledger_job for the touched months only, tagged with the ingest run it audits with."""
    import dagster as dg

    from orchestration.defs.jobs import build_after_ingest
    from orchestration.defs.resources import LedgerResource
    from orchestration.generate import generate_day

    paths = copied_home(pipeline_run, tmp_path, monkeypatch)
    generate_day(paths.raw_dir, date(2024, 1, 9), 50)
    defs, instance = pipeline_run["defs"], dg.DagsterInstance.ephemeral()
    ingest = defs.resolve_job_def("ingest_job").execute_in_process(instance=instance)
    [success] = [e for e in ingest.all_events if e.event_type_value == "PIPELINE_SUCCESS"]
    request = build_after_ingest(
        dg.build_run_status_sensor_context(
            sensor_name="build_after_ingest",
            dagster_instance=instance,
            dagster_run=ingest.dagster_run,
            dagster_event=success,
            repository_def=defs.get_repository_def(),
            resources={"ledger": LedgerResource(home=str(paths.home))},
        )
    )
    assert request.tags["dagster/asset_partition_range_start"] == "2024-01"
    assert request.tags["dagster/asset_partition_range_end"] == "2024-01"
    assert request.tags["ledger/scope"] == "changed"
    assert request.tags["ledger/ingest_run"] == ingest.run_id
    assert dg.AssetKey(["raw", "manifests"]) not in request.asset_selection
    build = defs.resolve_job_def("ledger_job").execute_in_process(
        instance=instance, asset_selection=request.asset_selection, tags=request.tags
    )
    assert months_built([build]) == ["2024-01"]
    [published] = build.asset_materializations_for_node("published_version")
    assert published.metadata["status"].value == "published"
