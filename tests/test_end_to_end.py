"""The whole pipeline on generated data: published totals equal what the generator generated."""

from __future__ import annotations

import json
import re
from datetime import date

import dagster as dg
import duckdb
import pytest


@pytest.fixture(scope="module")
def served(pipeline_run: dict):
    con = duckdb.connect(str(pipeline_run["paths"].serving_db), read_only=True)
    yield con
    con.close()


def copied_home(pipeline_run: dict, tmp_path, monkeypatch: pytest.MonkeyPatch):
    """The published state of the session's run, copied to a home of this test's own."""
    import shutil

    from orchestration.paths import LedgerPaths

    home = tmp_path / "home"
    shutil.copytree(
        pipeline_run["paths"].home, home, ignore=shutil.ignore_patterns("dagster"), symlinks=True
    )
    monkeypatch.setenv("LEDGER_HOME", str(home))
    return LedgerPaths.from_env()


def run_again(pipeline_run: dict, with_ingest: bool = True, months: tuple[str, ...] = ()):
    """The next `ledger run` on this home: the ingest run, then the build run it calls for
    (both results). Without ingest, only the build of what the change log holds: the tests
    that write raw rows themselves log their waybills there, as ingest does."""
    import dagster as dg

    from orchestration.code_version import code_version
    from orchestration.launch import build_in_process, run_in_process

    defs, instance = pipeline_run["defs"], dg.DagsterInstance.ephemeral()
    if with_ingest:
        return run_in_process(defs, instance, code_version(), print, months or None)
    return [build_in_process(defs, instance, code_version(), print, None, months or None)]


def checks_of(results) -> list:
    return [c for r in results for c in r.get_asset_check_evaluations()]


def months_built(results) -> list[str]:
    """The dispatch-month partitions the runs materialized fct_shipments for."""
    return sorted(
        m.partition
        for r in results
        for m in r.get_asset_materialization_events()
        if m.asset_key.to_user_string() == "fct_shipments"
    )


def test_run_succeeds_and_publishes_every_mart(pipeline_run: dict, served) -> None:
    result = pipeline_run["result"]
    assert result.success and pipeline_run["ingest"].success
    tables = {
        r[0] for r in served.execute("select table_name from information_schema.tables").fetchall()
    }
    assert {
        "fct_shipments",
        "fct_munitions_equivalent",
        "agg_monthly_flows",
        "fct_claims",
        "fct_claim_reconciliation",
        "dim_stations",
        "dim_ports",
        "dim_vessels",
        "dim_reports",
        "quarantine",
        "ledger_versions",
    } <= tables
    checks = checks_of([pipeline_run["ingest"], result])
    assert checks, "GX, dbt and conservation checks ran"
    assert all(c.passed for c in checks), [c.check_name for c in checks if not c.passed]
    assert {"gx_fct_shipments", "gx_raw_manifests", "row_conservation"} <= {
        c.check_name for c in checks
    }
    # one dbt_tests check per model, not one Dagster event set per dbt test
    dbt_checks = {c.asset_key.to_user_string(): c for c in checks if c.check_name == "dbt_tests"}
    assert {"fct_shipments", "agg_monthly_flows", "stg_raw__manifests"} <= dbt_checks.keys()
    # every check ran its model's tests: keys, relationships, one column_rules test for the rules
    # of all its columns
    assert all(c.metadata["tests"].value >= 1 for c in dbt_checks.values())
    assert sum(c.metadata["tests"].value for c in dbt_checks.values()) > 100
    assert len(checks) < 60
    # and no per-test warning in the run log ("Logging an `AssetObservation` instead of ...")
    logs = pipeline_run["instance"].all_logs(result.run_id)
    assert logs, "the run's event log was read"
    assert not [e.user_message for e in logs if "AssetObservation" in e.user_message]


def test_published_totals_match_the_generator(pipeline_run: dict, served) -> None:
    expected = pipeline_run["summary"]["manifests"]["current"]
    shipments, tonnes = served.execute(
        "select count(*), round(sum(gross_cargo_tonnes), 2) from fct_shipments"
    ).fetchone()
    assert shipments == expected["shipments"]
    assert tonnes == pytest.approx(expected["tonnes"], abs=0.01)

    explosive = expected["explosive"]
    n, t, containers = served.execute(
        "select count(*), round(sum(gross_cargo_tonnes), 2), count(distinct container_no) "
        "from fct_shipments where is_explosive"
    ).fetchone()
    assert (n, containers) == (explosive["shipments"], explosive["containers"])
    assert t == pytest.approx(explosive["tonnes"], abs=0.01)

    by_month = dict(
        served.execute(
            "select strftime(month, '%Y-%m'), round(sum(explosive_tonnes), 2) "
            "from agg_monthly_flows group by 1"
        ).fetchall()
    )
    assert by_month == pytest.approx(
        {m: v["tonnes"] for m, v in explosive["by_month"].items()}, abs=0.01
    )
    by_route = dict(
        served.execute(
            "select route_id, sum(shipments) from agg_monthly_flows group by 1"
        ).fetchall()
    )
    assert by_route == {r: v["shipments"] for r, v in explosive["by_route"].items()}


def test_rounds_range_brackets_the_public_estimate(served) -> None:
    """≈74,000 t ≈ 1.6 M rounds (analysts' figure) must sit inside low..high."""
    low, central, high = served.execute(
        "select sum(rounds_low), sum(rounds_central), sum(rounds_high) from agg_monthly_flows"
    ).fetchone()
    assert low < 1_600_000 < high
    assert low <= central <= high


def test_quarantine_and_voyages_match_the_generator(pipeline_run: dict, served) -> None:
    summary = pipeline_run["summary"]
    reasons = dict(
        served.execute("select reason_code, count(*) from quarantine group by 1").fetchall()
    )
    assert reasons == summary["manifests"]["quarantined_by_reason"]
    voyages = served.execute("select sum(voyages) from dim_vessels").fetchone()[0]
    assert voyages == summary["voyages"]["voyages"] == 27


def test_every_table_is_labelled_synthetic(served) -> None:
    """Every data table says whether it is synthetic: all of them, on the generated sample."""
    flags = {}
    for (table,) in served.execute(
        "select table_name from information_schema.tables where table_name <> 'ledger_versions'"
    ).fetchall():
        sql = f'select bool_and(is_synthetic) from "{table}"'  # noqa: S608 - catalog name
        flags[table] = served.execute(sql).fetchone()[0]
    assert {t for t, synthetic in flags.items() if not synthetic} == set()
    assert len(flags) >= 10


def test_docs_are_generated(pipeline_run: dict) -> None:
    docs = pipeline_run["paths"].docs_dir
    assert (docs / "dbt" / "index.html").stat().st_size > 10_000
    assert (docs / "gx" / "index.html").exists()


def test_what_an_analyst_reads_works_offline(pipeline_run: dict) -> None:
    """dbt docs open on the project overview, GX Data Docs load nothing from a network, and
    the evidence report plots every sample claim."""
    paths = pipeline_run["paths"]
    manifest = json.loads((paths.docs_dir / "dbt" / "manifest.json").read_text())
    overview = manifest["docs"]["doc.shipment_ledger.__overview__"]["block_contents"]
    assert overview.startswith("# Shipment ledger\n")
    for page in (paths.docs_dir / "gx").rglob("*.html"):
        html = page.read_text()
        assert not re.findall(r'<(?:script|link|img)\b[^>]*?\b(?:src|href)="https?://', html), page
    index = (paths.reports_dir / "v0001" / "index.html").read_text()
    with duckdb.connect(str(paths.serving_db), read_only=True) as con:
        claims = con.execute("select count(*) from fct_claim_reconciliation").fetchone()[0]
    assert index.count('<tr id="claim-') == claims >= 10
    assert '<ul class="unplotted">' not in index
    assert "partial_coverage" in index


def test_corrupted_data_fails_gx_and_blocks_publish(
    pipeline_run: dict, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad upstream (containers that break ISO 6346) fails GX; the served version stays."""
    paths = copied_home(pipeline_run, tmp_path, monkeypatch)
    before = paths.serving_db.stat().st_ino
    with duckdb.connect(str(paths.staging_db)) as con:
        con.execute(
            "update raw.manifests set container_no = 'BAD' || container_no "
            "where container_no is not null and source_row % 50 = 0"
        )
        corrupted = con.execute(
            "select count(*) from raw.manifests where container_no like 'BAD%'"
        ).fetchone()[0]
        # whatever writes raw rows logs the waybills it touched, as ingest does
        con.execute(
            "insert into raw.changed_keys select 'manifests', waybill_no, source_file, now()"
            " from raw.manifests where container_no like 'BAD%'"
        )
    assert corrupted > 0

    [result] = run_again(pipeline_run, with_ingest=False)
    assert not result.success
    failed = {c.check_name for c in result.get_asset_check_evaluations() if not c.passed}
    assert any("gx" in name for name in failed), failed
    assert not result.asset_materializations_for_node("published_version")
    assert paths.serving_db.stat().st_ino == before, "served file untouched"


def test_a_failing_dbt_test_is_named_and_blocks_publish(
    pipeline_run: dict, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dbt tests are one check per model: each failing test is named there and in the failure,
    with what it found; a column rule broken is named by its column."""
    paths = copied_home(pipeline_run, tmp_path, monkeypatch)
    before = paths.serving_db.stat().st_ino
    with duckdb.connect(str(paths.staging_db)) as con:  # one manifest row stored twice
        file, row = con.execute(
            "select source_file, min(source_row) from raw.manifests group by 1 order by 1 limit 1"
        ).fetchone()
        con.execute(
            "insert into raw.manifests select * from raw.manifests"
            " where source_file = ? and source_row = ?",
            [file, row],
        )
        # and another row of that file breaking a column rule (packages >= 0) of the same model
        con.execute(
            "update raw.manifests set packages = -3 where source_file = ? and source_row = ("
            " select min(source_row) from raw.manifests where source_file = ? and source_row > ?)",
            [file, file, row],
        )
        # whatever writes raw rows logs the waybills it touched, as ingest does
        con.execute(
            "insert into raw.changed_keys select 'manifests', waybill_no, source_file, now()"
            " from raw.manifests group by all having count(*) > 1"
        )

    [result] = run_again(pipeline_run, with_ingest=False)
    assert not result.success
    checks = {
        c.asset_key.to_user_string(): c
        for c in result.get_asset_check_evaluations()
        if c.check_name == "dbt_tests"
    }
    failed = {name: c.metadata["failing_tests"].value for name, c in checks.items() if not c.passed}
    both = ["column_rules_stg_raw__manifests", "unique_stg_raw__manifests_file_row"]
    assert failed == {"stg_raw__manifests": both}
    # what each found: the column whose rule broke; the duplicated file and row, twice
    found = [
        r"column_rules_stg_raw__manifests \(failed_column=packages, failing_rows=1\)",
        r"unique_stg_raw__manifests_file_row \(unique_field=[0-9a-f]{64}:\d+, n_records=2\)",
    ]
    shown = checks["stg_raw__manifests"].metadata["failing_rows"].value
    for pattern in found:
        row = pattern.replace(r" \(", r" \| ").replace(r"\)", r" \|")
        assert re.search(row, shown), shown
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert re.fullmatch(
        "dbt build failed, nothing is published; failing: " + ", ".join(found),
        failure.step_failure_data.user_failure_data.description,
    ), failure.step_failure_data.user_failure_data.description
    assert not result.asset_materializations_for_node("published_version")
    assert paths.serving_db.stat().st_ino == before, "served file untouched"


def test_a_new_day_is_built_incrementally_and_published(
    pipeline_run: dict, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A day's file on top of the published state: dbt rebuilds only its waybills (same code:
    no full refresh), the published totals grow by exactly that file, the change log empties."""
    import polars as pl

    from orchestration.generate import generate_day

    paths = copied_home(pipeline_run, tmp_path, monkeypatch)
    day = generate_day(paths.raw_dir, date(2023, 11, 14), 300)
    added = pl.read_csv(day, infer_schema=False)

    results = run_again(pipeline_run)
    assert all(r.success for r in results)
    assert months_built(results) == ["2023-11"], "only the month of the new day was built"
    # no voyages or reports file changed: their ingest steps and checks did not run
    ingested = {m.asset_key for m in results[0].get_asset_materialization_events()}
    assert ingested == {
        dg.AssetKey(["raw", t]) for t in ("manifests", "file_registry", "quarantine")
    }
    checked = {c.asset_key for c in results[0].get_asset_check_evaluations()}
    assert checked == {dg.AssetKey(["raw", "manifests"])}
    scopes = {
        c.check_name: c.metadata["scope"].value for c in checks_of(results) if "scope" in c.metadata
    }
    total = pipeline_run["summary"]["manifests"]["current"]["shipments"]
    assert scopes["gx_raw_manifests"].startswith("new files (300 of ")
    assert scopes["gx_fct_shipments"] == f"rebuilt waybills (300 of {total + 300:,} rows)"
    assert scopes["gx_agg_monthly_flows"] == "whole table"
    with duckdb.connect(str(paths.staging_db), read_only=True) as con:
        builds = con.execute(
            "select full_refresh from audit.dbt_builds where part = 'monthly' order by finished_at"
        ).fetchall()
        pending = con.execute("select count(*) from raw.changed_keys").fetchone()[0]
    assert builds == [(True,), (False,)], "the first build was full, this one incremental"
    assert pending == 0, "the publish cleared the change log it consumed"
    before = pipeline_run["summary"]["manifests"]["current"]
    with duckdb.connect(str(paths.serving_db), read_only=True) as con:
        shipments, tonnes, munitions = con.execute(
            "select count(*), sum(gross_cargo_tonnes),"
            " (select count(*) from fct_munitions_equivalent) from fct_shipments"
        ).fetchone()
        explosive = con.execute("select count(*) from fct_shipments where is_explosive").fetchone()[
            0
        ]
    assert shipments == before["shipments"] + added.height
    added_t = added["gross_weight"].cast(pl.Float64).sum() / 1000
    assert tonnes == pytest.approx(before["tonnes"] + added_t, abs=0.01)
    assert munitions == explosive


def test_an_ingest_run_reads_only_the_sources_with_a_change(
    pipeline_run: dict, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source is read again when a file of it differs from the registry or it holds a change
    no publish consumed (an audit that failed); new code reads every source. The raw-files
    sensor requests the same steps as `ledger run`."""
    from orchestration.code_version import code_version
    from orchestration.defs.jobs import raw_files_sensor
    from orchestration.defs.resources import LedgerResource
    from orchestration.ingest.registry import record_file_event
    from orchestration.launch import ingest_request
    from orchestration.staging import open_staging

    paths = copied_home(pipeline_run, tmp_path, monkeypatch)
    code = code_version()
    assert ingest_request(paths, code)[0] == [], "the published state: nothing to read"
    assert ingest_request(paths, f"not {code}")[0] == ["manifests", "voyages", "reports"]
    voyage = sorted((paths.raw_dir / "voyages").iterdir())[0]
    voyage.write_bytes(voyage.read_bytes() + b"\n")
    sources, keys = ingest_request(paths, code)
    assert sources == ["voyages"]
    assert {k.to_user_string() for k in keys} == {
        "raw/voyages",
        "raw/file_registry",
        "raw/quarantine",
    }
    ledger = LedgerResource(home=str(paths.home))  # the sensor asks for the same steps
    [request] = raw_files_sensor(
        dg.build_sensor_context(cursor=None, resources={"ledger": ledger})
    ).run_requests
    assert set(request.asset_selection) == set(keys)
    with open_staging(paths) as con:
        record_file_event(con, "reports", "reports/left_by_a_failed_audit.md")
    assert ingest_request(paths, code)[0] == ["voyages", "reports"]


def test_reconciliation_flags_the_wrong_direction_report(pipeline_run: dict, served) -> None:
    """The sample report that reverses the flow (RU -> KP) is surfaced, not hidden."""
    conflicting = pipeline_run["summary"]["reports"]["conflicting_direction"]
    rows = served.execute(
        "select report_id, status, explanation from fct_claim_reconciliation "
        "where status = 'conflicting_direction'"
    ).fetchall()
    assert {r[0] for r in rows} == set(conflicting)
    assert all(r[2] for r in rows), "every status carries an explanation"
    statuses = dict(
        served.execute(
            "select status, count(*) from fct_claim_reconciliation group by 1"
        ).fetchall()
    )
    assert statuses.get("consistent", 0) >= 3
