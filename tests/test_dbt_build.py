"""The dbt project built for real (dbt-duckdb) on a small hand-made raw schema: exact answers.

Long because most tests read the one session build (a dbt build is the expensive part):
splitting the file would not split that cost, only scatter the exact figures it checks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.contract import ensure_raw_schema
from orchestration.paths import DBT_PROJECT_DIR

T0 = datetime(2024, 2, 1, 8, 0)
T1 = datetime(2024, 2, 2, 8, 0)  # a later ingest: its rows supersede earlier ones
DBT = Path(sys.executable).parent / "dbt"
PROV_A = ("manifests/a.csv", "a" * 64, T0)
PROV_B = ("manifests/b.csv", "b" * 64, T1)
PROV_V = ("voyages/v.csv", "v" * 64, T0)

# waybill, date, origin, destination, cargo, container, kg, file provenance, row
MANIFESTS = [
    ("W001", date(2023, 8, 10), "986808", "515202", "481218", "CONT0000001", 20000.0, PROV_A, 1),
    ("W002", date(2023, 9, 5), "984700", "610402", "481203", "CONT0000002", 18000.0, PROV_A, 2),
    ("W003", date(2023, 10, 1), "986808", "515202", "481307", "CONT0000003", 10000.0, PROV_A, 3),
    ("W004", date(2023, 10, 15), "980700", "194006", "161005", None, 60000.0, PROV_A, 4),
    ("W005", date(2024, 1, 20), "986808", "582007", "481218", "CONT0000001", 15000.0, PROV_A, 5),
    # corrected re-send of W002 in a later file: the later row wins
    ("W002", date(2023, 9, 5), "984700", "610402", "481203", "CONT0000002", 18500.0, PROV_B, 1),
]

# vessel, port, arrival, departure, laden, row
VOYAGES = [
    ("Angara", "KPRJN", date(2023, 8, 20), date(2023, 8, 22), True, 1),
    ("Angara", "RUDUN", date(2023, 8, 25), date(2023, 8, 27), True, 2),
    ("Angara", "KPRJN", date(2023, 9, 10), date(2023, 9, 11), False, 3),  # left Rajin empty
    ("Angara", "RUDUN", date(2023, 9, 14), date(2023, 9, 15), True, 4),
    ("Maria", "KPRJN", date(2023, 10, 1), date(2023, 10, 2), True, 5),
    ("Maria", "RUVYP", date(2023, 10, 5), date(2023, 10, 6), True, 6),
    ("Lady R", "KPRJN", date(2023, 9, 1), date(2023, 9, 2), True, 7),
    ("Lady R", "RUVVO", date(2023, 9, 6), date(2023, 9, 7), True, 8),  # not a destination port
]

# claim_id, report, metric, value, qualifier, period_start, period_end, from, to
AUG, JAN, DEC = date(2023, 8, 1), date(2024, 1, 31), date(2023, 12, 31)
JUNE = (date(2024, 6, 1), date(2024, 6, 30))
CLAIMS = [
    ("r1:10", "r1", "explosives_tonnes", 60.0, "over", AUG, JAN, "KP", "RU"),
    ("r1:20", "r1", "rounds", 5_000_000.0, "nearly", None, None, None, None),
    ("r1:30", "r1", "explosives_tonnes", 30.0, "up to", None, None, None, None),
    ("r2:10", "r2", "rounds", 1000.0, "about", None, None, "RU", "KP"),
    ("r2:20", "r2", "shipments", 27.0, "exact", *JUNE, None, None),
    ("r2:30", "r2", "shipments", 2.0, "exact", None, None, None, None),
    ("r2:40", "r2", "containers", 3.0, "exact", AUG, DEC, None, None),
]

EXPECTED_STATUS = {
    "r1:10": "consistent",
    "r1:20": "above_range",
    "r1:30": "below_range",
    "r2:10": "conflicting_direction",
    "r2:20": "not_comparable",
    "r2:30": "consistent",
    "r2:40": "consistent",
}


def fill_raw(db: Path) -> None:
    """Write the fixture rows through the real raw-schema contract."""
    with duckdb.connect(str(db)) as con:
        ensure_raw_schema(con)
        con.executemany(
            "insert into raw.manifests (waybill_no, dispatch_date, origin_station_code,"
            " origin_station_matched_by, origin_station_code_given, destination_station_code,"
            " destination_station_matched_by, destination_station_code_given, shipper, consignee,"
            " cargo_code, wagon_no, container_no, gross_weight_kg, packages, source_file,"
            " source_row, file_sha256, ingested_at)"
            " values (?, ?, ?, ?, ?, ?, 'code', ?, 'Shipper LLC', 'Depot 1', ?, '50000001', ?, ?,"
            " 40, ?, ?, ?, ?)",
            [
                # W004's file gave another numbering's code for Ussuriysk, found by its name
                [w, d, o, *(("name", "980777") if w == "W004" else ("code", o)), de, de]
                + [c, ct, kg, prov[0], row, prov[1], prov[2]]
                for w, d, o, de, c, ct, kg, prov, row in MANIFESTS
            ],
        )
        con.executemany(
            "insert into raw.voyages (vessel_name, imo, port, port_raw, arrival, departure, laden,"
            " source_file, source_row, file_sha256, ingested_at)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    v,
                    "9000001" if v == "Angara" else None,
                    p,
                    p,
                    a,
                    d,
                    la,
                    *PROV_V[:1],
                    r,
                    *PROV_V[1:],
                ]
                for v, p, a, d, la, r in VOYAGES
            ],
        )
        con.executemany(
            "insert into raw.reports (report_id, title, publisher, published, url, language,"
            " is_synthetic, body, source_file, source_row, file_sha256, ingested_at)"
            " values (?, ?, 'Example Monitor', ?, ?, 'en', true, 'text', ?, 1, ?, ?)",
            [
                [
                    rid,
                    f"Report {rid}",
                    date(2024, 6, 20),
                    f"https://example.org/{rid}",
                    f"reports/{rid}.md",
                    rid * 32,
                    T0,
                ]
                for rid in ("r1", "r2", "r3")
            ],
        )
        con.executemany(
            "insert into raw.report_claims (claim_id, report_id, metric, value, value_low,"
            " value_high, qualifier, period_start, period_end, direction_from, direction_to,"
            " is_curated,"
            " source_file, source_row, file_sha256, ingested_at)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, false, ?, 1, ?, ?)",
            [
                [cid, rid, m, v, v, v, q, ps, pe, df, dt, f"reports/{rid}.md", rid * 32, T0]
                for cid, rid, m, v, q, ps, pe, df, dt in CLAIMS
            ],
        )
        con.execute(
            "insert into raw.quarantine values ('manifests', 'manifests/a.csv', 7, ?,"
            " 'gross_weight', 'invalid_weight',"
            " 'manifests/a.csv row 7 field gross_weight: -5 is not positive',"
            ' \'{"gross_weight": "-5"}\', ?)',
            ["a" * 64, T0],
        )


def run_dbt(args: list[str], db: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    """The dbt CLI on `db`; target and logs go to tmp so the project's own manifest is untouched."""
    return subprocess.run(
        [
            str(DBT),
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(tmp / "target"),
            "--log-path",
            str(tmp / "logs"),
        ],
        env={**os.environ, "LEDGER_STAGING_DB": str(db)},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def built(dbt_fixture_build: dict[str, Path]) -> Iterator[duckdb.DuckDBPyConnection]:
    """The fixture rows above after a real `dbt build` (conftest.py runs it once a session)."""
    con = duckdb.connect(str(dbt_fixture_build["db"]), read_only=True)
    yield con
    con.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_latest_waybill_version_wins_and_history_stays(built: duckdb.DuckDBPyConnection) -> None:
    assert rows(built, "select count(*), count(distinct waybill_no) from main.fct_shipments") == [
        (5, 5)
    ]
    assert rows(
        built,
        "select gross_cargo_tonnes, source_file, source_row, versions_count"
        " from main.fct_shipments where waybill_no = 'W002'",
    ) == [(18.5, "manifests/b.csv", 1, 2)]
    assert rows(
        built,
        "select source_file, version_rank, is_current from intermediate.int_versioned_consignments"
        " where waybill_no = 'W002' order by version_rank",
    ) == [("manifests/b.csv", 1, True), ("manifests/a.csv", 2, False)]


def test_station_match_flags_reach_staging(built: duckdb.DuckDBPyConnection) -> None:
    """How ingest found each station (code, or name when the code is not in the seed) and
    the code the file gave are in stg_raw__manifests; dbt tests them (accepted_values)."""
    assert rows(
        built,
        "select waybill_no, origin_station_code, origin_station_matched_by,"
        " origin_station_code_given, destination_station_matched_by,"
        " destination_station_code_given from staging.staging.stg_raw__manifests"
        " where source_file = 'manifests/a.csv' and waybill_no in ('W003', 'W004')"
        " order by waybill_no",
    ) == [
        ("W003", "986808", "code", "986808", "code", "515202"),
        ("W004", "980700", "name", "980777", "code", "194006"),
    ]


def test_shipments_are_enriched_from_seeds(built: duckdb.DuckDBPyConnection) -> None:
    assert rows(
        built,
        "select route_id, route_name, cargo_class, is_explosive, hazard_class, dispatch_month,"
        " is_synthetic from main.fct_shipments where waybill_no in ('W001', 'W004')"
        " order by waybill_no",
    ) == [
        (
            "986808-515202",
            "Dunai - Tikhoretskaya",
            "explosives",
            True,
            "1.1",
            date(2023, 8, 1),
            True,
        ),
        (
            "980700-194006",
            "Ussuriysk - Moskva-Tovarnaya",
            "bulk",
            False,
            None,
            date(2023, 10, 1),
            True,
        ),
    ]


def test_munitions_arithmetic_on_known_shipment(built: duckdb.DuckDBPyConnection) -> None:
    """W001: 20 t in a container; the seed mix (152mm_he 0.6 at 46/52/60 kg and 300/400/480 per
    container, 122mm_he 0.3 at 27/33/40 and 450/600/800, 122mm_rocket 0.1 at 75/85/95 and
    60/75/90) blended per shipment: mass = t x 1000 x sum(share / kg)."""
    got = rows(
        built,
        "select rounds_low, rounds_central, rounds_high, container_rounds_low,"
        " container_rounds_central, container_rounds_high from main.fct_munitions_equivalent"
        " where waybill_no = 'W001'",
    )[0]
    per_kg = [
        sum(share / kg for share, kg in zip((0.6, 0.3, 0.1), masses, strict=True))
        for masses in ((60, 40, 95), (52, 33, 85), (46, 27, 75))
    ]
    assert got[:3] == pytest.approx([20_000 * k for k in per_kg], rel=1e-12)
    assert got[3:] == pytest.approx((0.6 * 300 + 0.3 * 450 + 0.1 * 60, 427.5, 537.0), rel=1e-12)
    # one row per explosive shipment (4); the coal train gets none
    assert rows(
        built, "select count(*), count(distinct shipment_id) from main.fct_munitions_equivalent"
    ) == [(4, 4)]


def test_the_summable_table_gives_the_headline_and_the_profile_split_adds_up(
    built: duckdb.DuckDBPyConnection,
) -> None:
    """What a BI user sums is the headline (mass) figure; the split by calibre sums back to it."""
    headline = rows(
        built,
        "select sum(rounds_low), sum(rounds_central), sum(rounds_high)"
        " from main.fct_munitions_equivalent",
    )[0]
    by_profile = rows(
        built,
        "select sum(rounds_low), sum(rounds_central), sum(rounds_high)"
        " from main.agg_munitions_by_profile",
    )[0]
    monthly = rows(
        built,
        "select sum(rounds_low), sum(rounds_central), sum(rounds_high) from main.agg_monthly_flows",
    )[0]
    assert by_profile == pytest.approx(headline, rel=1e-12)
    assert monthly == pytest.approx(headline, rel=1e-12)
    tonnes = rows(
        built, "select sum(gross_cargo_tonnes) from main.fct_shipments where is_explosive"
    )[0][0]
    blended_kg = 1 / (0.6 / 52 + 0.3 / 33 + 0.1 / 85)
    assert headline[1] == pytest.approx(tonnes * 1000 / blended_kg, rel=1e-12)


def test_calibration_blend_matches_analysts_kg_per_round(built: duckdb.DuckDBPyConnection) -> None:
    """74,000 t at the central mix must give about 1.6 million rounds (inside low..high)."""
    low, central, high = rows(
        built,
        "select sum(74000000 * mix_share / kg_per_round_high), sum(74000000 * mix_share /"
        " kg_per_round_central), sum(74000000 * mix_share / kg_per_round_low)"
        " from seeds.munition_profiles",
    )[0]
    assert low < 1_600_000 < high
    assert round(central, -4) == 1_610_000


def test_monthly_flows_cover_explosives_only(built: duckdb.DuckDBPyConnection) -> None:
    assert rows(
        built,
        "select month, route_id, explosive_tonnes, shipments from main.agg_monthly_flows"
        " order by month, route_id",
    ) == [
        (date(2023, 8, 1), "986808-515202", 20.0, 1),
        (date(2023, 9, 1), "984700-610402", 18.5, 1),
        (date(2023, 10, 1), "986808-515202", 10.0, 1),
        (date(2024, 1, 1), "986808-582007", 15.0, 1),
    ]
    mass_total = rows(built, "select sum(rounds_central) from main.fct_munitions_equivalent")[0][0]
    assert rows(built, "select sum(rounds_central) from main.agg_monthly_flows")[0][0] == (
        pytest.approx(mass_total, rel=1e-12)
    )


def test_voyages_pair_laden_rajin_departures_with_russian_arrivals(
    built: duckdb.DuckDBPyConnection,
) -> None:
    assert rows(
        built,
        "select vessel_name, origin_port_code, destination_port_code, arrival_date"
        " from intermediate.int_paired_voyages order by arrival_date",
    ) == [
        ("Angara", "KPRJN", "RUDUN", date(2023, 8, 25)),
        ("Maria", "KPRJN", "RUVYP", date(2023, 10, 5)),
    ]
    assert rows(
        built, "select vessel_name, voyages, port_calls from main.dim_vessels order by 1"
    ) == [
        ("Angara", 1, 4),
        ("Lady R", 0, 2),
        ("Maria", 1, 2),
    ]


def test_reconciliation_statuses(built: duckdb.DuckDBPyConnection) -> None:
    got = dict(rows(built, "select claim_id, status from main.fct_claim_reconciliation"))
    assert got == EXPECTED_STATUS


def test_reconciliation_figures_and_coverage(built: duckdb.DuckDBPyConnection) -> None:
    got = {
        r[0]: r[1:]
        for r in rows(
            built,
            "select claim_id, period_start, period_end, data_coverage, evidence_rows,"
            " computed_low, computed_central, computed_high from main.fct_claim_reconciliation",
        )
    }
    # 63.5 t of explosives (W002 counted at its corrected 18.5 t), tolerance 2 %
    assert got["r1:10"][:4] == (date(2023, 8, 1), date(2024, 1, 31), 1.0, 4)
    assert got["r1:10"][4:] == pytest.approx((63.5 * 0.98, 63.5, 63.5 * 1.02), rel=1e-12)
    # 2 voyages over the voyage data period (whole months Aug..Oct 2023)
    assert got["r2:30"] == (date(2023, 8, 1), date(2023, 10, 31), 1.0, 2, 2.0, 2.0, 2.0)
    # containers reused across shipments count once; W005 (January) is outside the period
    assert got["r2:40"][3:] == (3, 3.0, 3.0, 3.0)
    assert got["r2:20"] == (date(2024, 6, 1), date(2024, 6, 30), 0.0, 0, None, None, None)
    explanation = rows(
        built, "select explanation from main.fct_claim_reconciliation where claim_id = 'r2:10'"
    )[0][0]
    assert explanation == (
        "Claim: about 1,000 rounds for 2023-08-01 to 2024-01-31 (whole data period)."
        " It states the flow as RU -> KP, but the data shows KP -> RU."
    )


def test_evidence_rows_trace_every_computed_figure(built: duckdb.DuckDBPyConnection) -> None:
    """Traceability: the evidence view sums to the reconciled figures, row for row."""
    assert (
        rows(
            built,
            "select f.claim_id from main.fct_claim_reconciliation f"
            " left join (select claim_id, count(*) as n, sum(gross_cargo_tonnes) as t"
            "   from main.fct_claim_evidence group by claim_id) e using (claim_id)"
            " where coalesce(e.n, 0) <> f.evidence_rows"
            "    or (f.metric = 'explosives_tonnes' and abs(e.t - f.computed_central) > 1e-9)",
        )
        == []
    )
    assert rows(
        built,
        "select waybill_no, source_file, source_row from main.fct_claim_evidence"
        " where claim_id = 'r1:10' order by waybill_no",
    ) == [
        ("W001", "manifests/a.csv", 1),
        ("W002", "manifests/b.csv", 1),
        ("W003", "manifests/a.csv", 3),
        ("W005", "manifests/a.csv", 5),
    ]


def test_dims_and_quarantine(built: duckdb.DuckDBPyConnection) -> None:
    assert rows(built, "select report_id, claims from main.dim_reports order by 1") == [
        ("r1", 3),
        ("r2", 4),
        ("r3", 0),
    ]
    assert rows(
        built,
        "select port_code, port_calls, voyages_departed, voyages_arrived from main.dim_ports"
        " order by 1",
    ) == [("KPRJN", 4, 2, 0), ("RUDUN", 2, 0, 1), ("RUVVO", 1, 0, 0), ("RUVYP", 1, 0, 1)]
    assert rows(
        built,
        "select station_code, shipments_dispatched, explosive_tonnes_dispatched"
        " from main.dim_stations where station_code in ('986808', '984700') order by 1",
    ) == [("984700", 1, 18.5), ("986808", 3, 45.0)]
    assert rows(built, "select reason_code, source_row, is_synthetic from main.quarantine") == [
        ("invalid_weight", 7, True)
    ]


def test_every_mart_table_has_is_synthetic(built: duckdb.DuckDBPyConnection) -> None:
    tables = rows(
        built,
        "select table_name, bool_or(column_name = 'is_synthetic') from information_schema.columns"
        " where table_schema = 'main' group by table_name order by table_name",
    )
    assert tables == [
        (name, True)
        for name in sorted(
            [
                "agg_monthly_flows",
                "agg_munitions_by_profile",
                "dim_ports",
                "dim_reports",
                "dim_stations",
                "dim_vessels",
                "fct_claim_evidence",
                "fct_claim_reconciliation",
                "fct_claims",
                "fct_munitions_equivalent",
                "fct_shipments",
                "fct_voyages",
                "fct_waybill_versions",
                "quarantine",
            ]
        )
    ]


@pytest.mark.slow  # a second dbt parse + build (~20 s)
def test_column_rules_name_the_failing_column(tmp_path: Path) -> None:
    """A bad value fails the one-scan column test; the stored failure names the column."""
    db = tmp_path / "bad.duckdb"
    fill_raw(db)
    with duckdb.connect(str(db)) as con:
        con.execute("update raw.manifests set packages = -3 where waybill_no = 'W003'")
    result = run_dbt(
        [
            "build",
            "--select",
            "stg_raw__manifests",
            "--exclude",
            "test_type:unit",
            "--store-failures",
        ],
        db,
        tmp_path,
    )
    assert result.returncode == 1
    assert result.stdout.count("FAIL 1 column_rules_stg_raw__manifests") == 1, result.stdout[-3000:]
    with duckdb.connect(str(db), read_only=True) as con:
        (table,) = con.execute(
            "select table_name from information_schema.tables"
            " where table_schema = 'dbt_test__audit' and table_name like 'column_rules%'"
        ).fetchone()
        stored = con.table(f'dbt_test__audit."{table}"').fetchall()
    assert stored == [("packages", 1)]


@pytest.mark.slow  # a second full dbt build (~20 s)
def test_builds_on_an_almost_empty_raw_schema_with_real_data_flag(tmp_path: Path) -> None:
    """A fresh install (no manifests, no reports) builds and tests clean; var is_synthetic=false
    marks manifest- and voyage-derived rows as real data."""
    db = tmp_path / "fresh.duckdb"
    with duckdb.connect(str(db)) as con:
        ensure_raw_schema(con)
        con.execute(
            "insert into raw.voyages (vessel_name, port, arrival, laden, source_file, source_row,"
            " file_sha256, ingested_at) values ('Angara', 'KPRJN', date '2023-08-20', true,"
            " 'voyages/v.csv', 1, ?, ?)",
            ["v" * 64, T0],
        )
    result = run_dbt(["build", "--vars", "{is_synthetic: false}"], db, tmp_path)
    assert result.returncode == 0, result.stdout[-5000:]
    with duckdb.connect(str(db), read_only=True) as con:
        counts = [
            con.table(f"main.{name}").count("*").fetchone()[0]
            for name in ("fct_shipments", "fct_munitions_equivalent", "agg_monthly_flows")
        ]
        assert counts == [0, 0, 0]
        assert rows(con, "select vessel_name, voyages, is_synthetic from main.dim_vessels") == [
            ("Angara", 0, False)
        ]


def test_reference_snapshots_hold_the_factors_in_force(built: duckdb.DuckDBPyConnection) -> None:
    assert rows(
        built,
        "select profile_id, kg_per_round_central, dbt_valid_to from"
        " snapshots.munition_profiles_history order by profile_id",
    ) == [("122mm_he", 33.0, None), ("122mm_rocket", 85.0, None), ("152mm_he", 52.0, None)]


def test_old_invocation_target_folders_are_pruned_but_the_current_one_kept(
    tmp_path: Path,
) -> None:
    # Imported here: importing the module parses the dbt project when its manifest is stale.
    from orchestration.defs.dbt.assets import KEEP_TARGETS, _prune_targets

    folders = [tmp_path / f"ledger_dbt_assets-run{i:04d}-abc{i:04d}" for i in range(8)]
    for age, folder in enumerate(reversed(folders)):  # folders[-1] is the newest
        (folder / "run").mkdir(parents=True)
        os.utime(folder, (1e9 - age * 60, 1e9 - age * 60))
    (tmp_path / "partial_parse.msgpack").write_bytes(b"kept")

    _prune_targets(folders[1])  # a run that is still going, older than the newest five

    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == sorted(
        [f.name for f in folders[-KEEP_TARGETS:]] + [folders[1].name, "partial_parse.msgpack"]
    )


def test_docs_open_on_the_project_overview(dbt_fixture_build: dict[str, Path]) -> None:
    """dbt docs show the `__overview__` doc on their first page: it must be ours, not dbt's.
    (The manifest the dbt CLI wrote for the fixture build: a `dbt parse` writes the same.)"""
    manifest = json.loads((dbt_fixture_build["target"] / "manifest.json").read_text())
    overview = [d for d in manifest["docs"].values() if d["name"] == "__overview__"]
    ours = [d for d in overview if d["package_name"] == "shipment_ledger"]
    assert len(ours) == 1
    text = ours[0]["block_contents"]
    assert text.startswith("# Shipment ledger\n")
    assert "**SYNTHETIC DATA.**" in text
    for promised in ("## Layers", "## Main marts", "fct_munitions_equivalent", "read_only=True"):
        assert promised in text
