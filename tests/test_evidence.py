"""Evidence rendering against a hand-built published DuckDB file, and the Dagster asset."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.defs.evidence.assets import evidence_report
from orchestration.defs.evidence.charts import SYNTHETIC_LABEL, load_evidence, render_evidence
from orchestration.defs.publish.store import VERSIONS_TABLE
from orchestration.paths import LedgerPaths
from orchestration.resources import LedgerResource

MONTHS = [date(2023, 8, 1), date(2023, 9, 1), date(2023, 10, 1), date(2023, 11, 1),
          date(2023, 12, 1), date(2024, 1, 1)]  # fmt: skip
PORTS = {"986808": "Dunai", "984700": "Nakhodka-Vostochnaya"}
DEPOTS = {"515202": "Tikhoretskaya", "610402": "Kotluban", "582007": "Mozdok"}
RECONCILIATION = [
    # claim_id, report_id, metric, claim_value, start, end, low, central, high, ratio, status
    ("r1:120", "r1", "explosives_tonnes", 74_000, "2023-08-01", "2024-01-31",
     70_000, 75_600, 81_000, 0.98, "consistent"),
    ("r1:200", "r1", "rounds", 1_600_000, "2023-08-01", "2024-01-31",
     1_300_000, 1_640_000, 2_100_000, 0.98, "consistent"),
    ("r2:40", "r2", "rounds", 5_000_000, None, "2024-06-30",
     1_300_000, 1_640_000, 2_100_000, 3.05, "above_range"),
    ("r3:10", "r3", "rounds", 1_000_000, "2023-08-01", "2023-10-31",
     700_000, 900_000, 1_100_000, 1.11, "conflicting_direction"),
    ("r2:c1", "r2", "containers", 10_000, None, "2024-06-30",
     None, None, None, None, "not_comparable"),
]  # fmt: skip


def build_version_db(path: Path, *, version_id: int = 3, with_flows: bool = True) -> Path:
    """A published file as the publish step leaves it: marts in main + ledger_versions."""
    con = duckdb.connect(str(path))
    con.execute(
        "create table agg_monthly_flows (month date, route_id varchar, route_name varchar, "
        "origin_station_code varchar, destination_station_code varchar, explosive_tonnes double, "
        "shipments bigint, rounds_low double, rounds_central double, rounds_high double, "
        "is_synthetic boolean)"
    )
    if with_flows:
        # tonnes = 1000 x month number (1..6) x port weight x depot weight; rounds at 60/46/35 kg
        flows = [
            (month, f"{o}-{d}", f"{PORTS[o]} → {DEPOTS[d]}", o, d, t, 10 * i, t / 0.060,
             t / 0.046, t / 0.035)
            for i, month in enumerate(MONTHS, 1)
            for o, wo in zip(PORTS, (1.0, 0.6), strict=True)
            for d, wd in zip(DEPOTS, (3.0, 2.0, 0.5), strict=True)
            for t in [1000.0 * i * wo * wd]
        ]  # fmt: skip
        con.executemany(
            "insert into agg_monthly_flows values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, true)", flows
        )
    con.execute(
        "create table fct_claim_reconciliation (claim_id varchar, report_id varchar, "
        "metric varchar, claim_value double, period_start date, period_end date, "
        "computed_low double, computed_central double, computed_high double, "
        "ratio_to_central double, status varchar, explanation varchar, is_synthetic boolean)"
    )
    con.executemany(
        "insert into fct_claim_reconciliation values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, true)",
        [(*row, f"<b>{row[0]}</b> is {row[-1]}") for row in RECONCILIATION],
    )
    con.execute(
        "create table fct_claims (claim_id varchar, report_id varchar, metric varchar, "
        "is_synthetic boolean)"
    )
    con.execute(
        "create table dim_stations as select * from read_csv(?, all_varchar = true)",
        [str(Path(__file__).parents[1] / "dbt_project" / "seeds" / "stations.csv")],
    )
    con.execute(
        "create or replace table dim_stations as select station_code, station_name, "
        "latitude::double as latitude, longitude::double as longitude, role from dim_stations"
    )
    con.execute(
        f"create table {VERSIONS_TABLE} (version_id integer, status varchar, is_served boolean)"
    )
    con.executemany(
        f"insert into {VERSIONS_TABLE} values (?, 'published', ?)",  # noqa: S608
        [(v, v == version_id) for v in range(1, version_id + 2)],
    )
    con.close()
    return path


def test_load_evidence_reads_exact_figures(tmp_path: Path) -> None:
    data = load_evidence(build_version_db(tmp_path / "ledger.duckdb"))
    assert len(data.flows) == 36
    # sum over months (1..6) x port weights (1.0 + 0.6) x depot weights (3 + 2 + 0.5)
    assert data.flows["tonnes"].sum() == pytest.approx(1000 * 21 * 1.6 * 5.5)
    assert data.flows["shipments"].sum() == 210 * 6
    assert list(data.reconciliation["claim_id"]) == ["r2:c1", "r1:120", "r3:10", "r1:200", "r2:40"]
    assert list(data.reconciliation["ref"]) == ["#1", "#2", "#3", "#4", "#5"]
    assert data.is_synthetic is True


def test_render_evidence_writes_charts_and_pages(tmp_path: Path) -> None:
    db = build_version_db(tmp_path / "ledger.duckdb")
    files = render_evidence(db, tmp_path / "out" / "v0003", "v0003")
    assert {k: p.name for k, p in files.items()} == {
        "monthly_chart": "monthly_flows.png",
        "routes_chart": "routes.png",
        "reconciliation": "reconciliation.html",
        "index": "index.html",
    }
    for key in ("monthly_chart", "routes_chart"):
        assert files[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert files[key].stat().st_size > 20_000
    index = files["index"].read_text()
    assert SYNTHETIC_LABEL in index
    assert "version v0003" in index
    assert '<a href="../../docs/dbt/index.html">dbt docs</a>' in index
    assert '<img src="monthly_flows.png"' in index and '<img src="routes.png"' in index
    assert "184,800 t" in index  # 1000 * 21 * 1.6 * 5.5
    assert "1 above_range, 1 conflicting_direction, 2 consistent, 1 not_comparable" in index
    table = files["reconciliation"].read_text()
    assert table.count("<tr>") == 1 + len(RECONCILIATION)
    assert "74,000" in table and "&lt;b&gt;r1:120&lt;/b&gt; is consistent" in table
    assert "<b>r1:120</b>" not in table  # explanations are escaped


def test_render_evidence_without_shipments(tmp_path: Path) -> None:
    db = build_version_db(tmp_path / "ledger.duckdb", with_flows=False)
    files = render_evidence(db, tmp_path / "out", "v0001")
    assert files["monthly_chart"].read_bytes()[:4] == b"\x89PNG"
    assert "<b>0</b>" in files["index"].read_text()


def test_served_version_comes_from_the_registry_in_the_file(tmp_path: Path) -> None:
    data = load_evidence(build_version_db(tmp_path / "ledger.duckdb", version_id=7))
    assert data.served_version == "v0007"  # not v0008, the newest row


def test_evidence_report_asset_materializes(tmp_path: Path) -> None:
    paths = LedgerPaths.from_env(tmp_path).ensure()
    build_version_db(paths.serving_db, version_id=2)
    result = dg.materialize(
        [evidence_report], resources={"ledger": LedgerResource(home=str(tmp_path))}
    )
    assert result.success
    [mat] = result.asset_materializations_for_node("evidence_report")
    out = paths.reports_dir / "v0002"
    assert sorted(p.name for p in out.iterdir()) == [
        "index.html",
        "monthly_flows.png",
        "reconciliation.html",
        "routes.png",
    ]
    assert mat.metadata["version_id"].value == "v0002"
    assert mat.metadata["index"].value == str(out / "index.html")
    assert mat.metadata["claims_by_status"].value == json.loads(
        '{"above_range": 1, "conflicting_direction": 1, "consistent": 2, "not_comparable": 1}'
    )
    assert "data:image/png;base64," in mat.metadata["preview"].value


def test_optional_reconciliation_columns_are_shown(tmp_path: Path) -> None:
    db = build_version_db(tmp_path / "ledger.duckdb")
    con = duckdb.connect(str(db))
    for ddl in ("qualifier varchar", "claim_low double", "claim_high double",
                "direction_from varchar", "direction_to varchar"):  # fmt: skip
        con.execute(f"alter table fct_claim_reconciliation add column {ddl}")
    con.execute(
        "update fct_claim_reconciliation set qualifier = 'over', claim_low = 4.8e6, "
        "claim_high = 5e6, direction_from = 'RU', direction_to = 'KP' where claim_id = 'r2:40'"
    )
    con.close()
    table = render_evidence(db, tmp_path / "out", "v0003")["reconciliation"].read_text()
    assert "over 4,800,000–5,000,000" in table
    assert "RU → KP" in table
    assert ">74,000<" in table  # no qualifier, no range: the bare figure


def test_evidence_report_fails_clearly_before_the_first_publish(tmp_path: Path) -> None:
    with pytest.raises(dg.Failure, match="nothing has been published yet"):
        dg.materialize([evidence_report], resources={"ledger": LedgerResource(home=str(tmp_path))})
