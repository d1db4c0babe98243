"""Evidence rendering against a hand-built published DuckDB file, and the Dagster asset."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.defs.evidence.assets import evidence_report
from orchestration.defs.resources import LedgerResource
from orchestration.evidence.charts import SYNTHETIC_LABEL
from orchestration.evidence.data import load_evidence
from orchestration.evidence.page import render_evidence
from orchestration.paths import LedgerPaths
from orchestration.publish.registry import VERSIONS_TABLE
from orchestration.publish.store import VersionStore

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
    ("r2:c1", "r2", "containers", 10_000, "2024-03-01", "2024-06-30",
     None, None, None, None, "not_comparable"),
    ("r3:20", "r3", "shipments", 40, "2023-12-01", "2024-03-31",
     12, 12, 12, 3.33, "partial_coverage"),
]  # fmt: skip
REPORTS = {  # report_id: publisher, published, url
    "r1": ("Rail Watch", "2024-02-10", "https://example.org/r1?a=1&b=2"),
    "r2": ("Harbour <Lens>", "2024-03-05", "https://example.org/r2"),
    "r3": ("Ministry", "2024-04-01", "https://example.org/r3"),
}
QUARANTINE = {"invalid_weight": 3, "unknown_station": 1}


def build_version_db(
    path: Path, *, version_id: int = 3, with_flows: bool = True, registry: bool = True
) -> Path:
    """A published file as the publish step leaves it: marts in main + ledger_versions
    (without it: a staging database for the real publish step)."""
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
        "sentence varchar, publisher varchar, published date, is_synthetic boolean)"
    )
    con.executemany(
        "insert into fct_claims values (?, ?, ?, ?, ?, ?, true)",
        [
            (c, r, m, f"The <i>sentence</i> of {c}.", *REPORTS[r][:2])
            for c, r, m, *_ in RECONCILIATION
        ],
    )
    con.execute("create table dim_reports (report_id varchar, url varchar, is_synthetic boolean)")
    con.executemany(
        "insert into dim_reports values (?, ?, true)", [(r, v[2]) for r, v in REPORTS.items()]
    )
    con.execute("create table quarantine (reason_code varchar, is_synthetic boolean)")
    con.executemany(
        "insert into quarantine values (?, true)",
        [(reason,) for reason, n in QUARANTINE.items() for _ in range(n)],
    )
    con.execute(
        "create table dim_stations as select * from read_csv(?, all_varchar = true)",
        [str(Path(__file__).parents[1] / "dbt_project" / "seeds" / "stations.csv")],
    )
    con.execute(
        "create or replace table dim_stations as select station_code, station_name, "
        "latitude::double as latitude, longitude::double as longitude, role from dim_stations"
    )
    if registry:
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
    assert list(data.reconciliation["claim_id"]) == [
        "r2:c1", "r1:120", "r3:10", "r1:200", "r2:40", "r3:20"
    ]  # fmt: skip
    assert list(data.reconciliation["ref"]) == ["#1", "#2", "#3", "#4", "#5", "#6"]
    assert list(data.reconciliation["publisher"]) == [
        "Harbour <Lens>", "Rail Watch", "Ministry", "Rail Watch", "Harbour <Lens>", "Ministry"
    ]  # fmt: skip
    assert data.quarantine == {"invalid_weight": 3, "unknown_station": 1}
    assert data.is_synthetic is True


def _cells(html: str, ref: str) -> list[str]:
    """The text of each cell of one claim's table row (tags dropped, entities kept)."""
    row = html.split(f'<tr id="claim-{ref}">', 1)[1].split("</tr>", 1)[0]
    return [re.sub(r"<[^>]+>", " ", c).split() and " ".join(re.sub(r"<[^>]+>", " ", c).split())
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]  # fmt: skip


def test_render_evidence_writes_charts_and_pages(tmp_path: Path) -> None:
    db = build_version_db(tmp_path / "ledger.duckdb")
    files = render_evidence(db, tmp_path / "out" / "v0003", "v0003")
    assert {k: p.name for k, p in files.items()} == {
        "monthly_chart": "monthly_flows.png",
        "claims_chart": "claims.png",
        "routes_chart": "routes.png",
        "reconciliation": "reconciliation.html",
        "index": "index.html",
    }
    for key in ("monthly_chart", "claims_chart", "routes_chart"):
        assert files[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert files[key].stat().st_size > 20_000
    index = files["index"].read_text()
    assert SYNTHETIC_LABEL in index
    assert "version v0003" in index
    assert '<a href="../../docs/dbt/index.html">dbt docs</a>' in index
    for image in ("monthly_flows.png", "claims.png", "routes.png"):
        assert f'<img src="{image}"' in index
    assert "184,800 t" in index  # 1000 * 21 * 1.6 * 5.5
    assert (
        "1 above_range, 1 conflicting_direction, 2 consistent, 1 not_comparable, "
        "1 partial_coverage" in index
    )
    table = files["reconciliation"].read_text()
    assert table.count('<tr id="claim-') == len(RECONCILIATION)
    assert "74,000" in table and "&lt;b&gt;r1:120&lt;/b&gt; is consistent" in table
    assert "<b>r1:120</b>" not in table  # explanations are escaped


def test_headline_and_table_say_which_rounds_method_they_show(tmp_path: Path) -> None:
    """The tile is the mass method (agg_monthly_flows); the claims' data range for rounds is the
    envelope of both methods: each is labelled as what it is."""
    db = build_version_db(tmp_path / "ledger.duckdb")
    index = render_evidence(db, tmp_path / "out", "v0003")["index"].read_text()
    # 184,800 t at 60 / 46 / 35 kg per round
    mass = "3.08M – 4.02M – 5.28M"
    assert f"<li>rounds, mass method (low – central – high)<b>{mass}</b></li>" in index
    assert _cells(index, "4")[2:8] == [
        "artillery rounds (mass and container methods)",
        "1,600,000",
        "2023-08-01 – 2024-01-31",  # on two lines
        "1,300,000",
        "1,640,000",
        "2,100,000",
    ]
    assert "envelope of the mass and container methods (central: mass method)" in index
    assert "(mass method)" not in index.split('<table class="recon">')[1]


def test_claims_show_sentence_publisher_date_and_link(tmp_path: Path) -> None:
    db = build_version_db(tmp_path / "ledger.duckdb")
    index = render_evidence(db, tmp_path / "out", "v0003")["index"].read_text()
    row = index.split('<tr id="claim-2">', 1)[1].split("</tr>", 1)[0]
    assert "<q>The &lt;i&gt;sentence&lt;/i&gt; of r1:120.</q>" in row
    assert (
        '<div class="source">Rail Watch, 2024-02-10, <a href="https://example.org/r1?a=1&amp;b=2">'
        "https://example.org/r1?a=1&amp;b=2</a><br>r1:120</div>" in row
    )
    assert "Harbour &lt;Lens&gt;, 2024-03-05" in index


def test_quarantine_counts_by_reason_and_first_version_says_so(tmp_path: Path) -> None:
    db = build_version_db(tmp_path / "ledger.duckdb")
    index = render_evidence(db, tmp_path / "out", "v0003")["index"].read_text()
    assert "<p>4 rows were set aside" in index
    assert '<tr><td>invalid_weight</td><td class="num">3</td></tr>' in index
    assert '<tr><td>unknown_station</td><td class="num">1</td></tr>' in index
    assert "<p>v0003 is the first version: nothing to compare with.</p>" in index


def test_claims_outside_the_data_are_listed_with_why(tmp_path: Path) -> None:
    """Every claim is plotted, or listed with the reason it cannot be; the chart's months end
    with the data (Jan 2024), not with the longest claim period."""
    db = build_version_db(tmp_path / "ledger.duckdb")
    index = render_evidence(db, tmp_path / "out", "v0003")["index"].read_text()
    unplotted = re.findall(r"<ul class=\"unplotted\">(.*?)</ul>", index, flags=re.S)
    assert unplotted == [
        "<li>#1: its period (2024-03-01 – 2024-06-30) is outside the data "
        "(Aug 2023 – Jan 2024)</li>"
    ]
    assert "Periods are drawn within the data's months (Aug 2023 – Jan 2024)." in index


def test_chart_axes_one_unit_each_and_clipped_to_the_data(tmp_path: Path) -> None:
    from matplotlib.dates import num2date

    from orchestration.evidence import charts

    data = load_evidence(build_version_db(tmp_path / "ledger.duckdb"))
    figures = []
    original = charts._save
    charts._save = lambda fig, path: figures.append(fig) or path
    try:
        charts.claims_chart(data, tmp_path / "c.png", "v0003")
        charts.monthly_chart(data, tmp_path / "m.png", "v0003")
    finally:
        charts._save = original
    claims_fig, monthly_fig = figures
    claim_axes = claims_fig.get_axes()
    assert [ax.get_ylabel() for ax in claim_axes] == [
        "explosive cargo, tonnes",
        "artillery rounds",
        "voyages Rajin → RU ports",
    ]  # fmt: skip  (no twin axes; containers: its only claim is outside the data)
    for fig in figures:
        low, high = (num2date(x).date() for x in fig.get_axes()[-1].get_xlim())
        assert (low, high) == (date(2023, 8, 1), date(2024, 2, 1))
    assert len(monthly_fig.get_axes()) == 2


def test_report_fits_1280_pixels(pipeline_run: dict, tmp_path: Path) -> None:
    """Both pages of the sample run's report, laid out by a real browser at 1280 px: nothing
    wider than the window (a real report has long sentences, URLs and explanations)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed")
    pages = render_evidence(pipeline_run["paths"].serving_db, tmp_path / "out", "v0001")
    for page in (pages["index"], pages["reconciliation"]):
        probe = page.with_name(f"probe-{page.name}")
        probe.write_text(
            page.read_text().replace(
                "</body>",
                "<script>window.onload = () => { document.body.dataset.width = "
                "document.documentElement.scrollWidth; };</script></body>",
            )
        )
        dom = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
             "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        width = int(re.search(r'data-width="(\d+)"', dom).group(1))
        assert width <= 1280, page.name


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
        "claims.png",
        "index.html",
        "monthly_flows.png",
        "reconciliation.html",
        "routes.png",
    ]
    assert mat.metadata["version_id"].value == "v0002"
    assert mat.metadata["index"].value == str(out / "index.html")
    assert mat.metadata["claims_by_status"].value == {
        "above_range": 1,
        "conflicting_direction": 1,
        "consistent": 2,
        "not_comparable": 1,
        "partial_coverage": 1,
    }
    assert "data:image/png;base64," in mat.metadata["preview"].value


def test_report_says_what_changed_since_the_previous_version(tmp_path: Path) -> None:
    """Two real publishes; the asset's page lists the store's diff, changed tables only."""
    paths = LedgerPaths.from_env(tmp_path).ensure()
    store = VersionStore(paths)
    build_version_db(paths.staging_db, registry=False)
    store.publish(paths.staging_db, "run-1", {"a": "1"}, "abc", {"passed": 1, "failed": 0})
    with duckdb.connect(str(paths.staging_db)) as con:
        con.execute("delete from fct_claim_reconciliation where claim_id = 'r2:40'")
        con.execute("insert into quarantine values ('invalid_weight', true)")
    store.publish(paths.staging_db, "run-2", {"a": "2"}, "abc", {"passed": 1, "failed": 0})
    result = dg.materialize(
        [evidence_report], resources={"ledger": LedgerResource(home=str(tmp_path))}
    )
    assert result.success
    index = (paths.reports_dir / "v0002" / "index.html").read_text()
    changes = index.split('<table class="changes">', 1)[1].split("</table>", 1)[0]
    rows = [
        [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>.*?</td>", r)]
        for r in re.findall(r"<tr>(.*?)</tr>", changes)
        if "<td" in r
    ]
    assert rows == [
        ["fct_claim_reconciliation", "0", "1", "0"],
        ["quarantine", "1", "0", "n/a"],
    ]
    assert "Compared with v0001 (<code>ledger diff v0001 v0002</code>" in index


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
    assert "over 4,800,000–5,000,000<br>RU → KP" in table
    assert '<td class="num">74,000</td>' in table  # no qualifier, no range: the bare figure


def test_evidence_report_fails_clearly_before_the_first_publish(tmp_path: Path) -> None:
    with pytest.raises(dg.Failure, match="ledger.duckdb does not exist: nothing published yet"):
        dg.materialize([evidence_report], resources={"ledger": LedgerResource(home=str(tmp_path))})
