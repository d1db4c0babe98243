"""Evidence for one published version: two charts and a one-page HTML summary.

Everything is read from the published DuckDB file (read-only), so the evidence always matches a
version BI users can query. Charts use matplotlib's object API (no pyplot global state), which
renders with Agg and is safe inside a Dagster worker.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import matplotlib.dates as mdates
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from orchestration.defs.publish.store import VERSIONS_TABLE, label

SYNTHETIC_LABEL = "SYNTHETIC DATA"
STATUS_COLOURS = {
    "consistent": "#2e7d32",
    "above_range": "#c62828",
    "below_range": "#ef6c00",
    "conflicting_direction": "#6a1b9a",
    "not_comparable": "#757575",
}
METRIC_LABELS = {
    "explosives_tonnes": "explosive cargo, tonnes",
    "rounds": "artillery rounds (mass method)",
    "shipments": "voyages Rajin → RU ports",
    "containers": "containers",
}
CHART_METRICS = ("explosives_tonnes", "rounds")  # the monthly chart's two panels
RECONCILIATION_COLUMNS = [
    "claim_id",
    "report_id",
    "metric",
    "claim_value",
    "period_start",
    "period_end",
    "computed_low",
    "computed_central",
    "computed_high",
    "ratio_to_central",
    "status",
    "explanation",
]
# shown when the reconciliation model provides them (helper D's model does)
OPTIONAL_COLUMNS = ["qualifier", "claim_low", "claim_high", "direction_from", "direction_to"]


@dataclass(frozen=True)
class EvidenceData:
    """The slices of a version the evidence needs, read in one short read-only session."""

    flows: pd.DataFrame
    reconciliation: pd.DataFrame
    stations: pd.DataFrame
    is_synthetic: bool
    served_version: str | None  # from the file's own registry table, when it has one


def _served_version(con: duckdb.DuckDBPyConnection) -> str | None:
    """Read in the same session as the data, so a swap in between cannot mislabel the charts."""
    has_registry = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'main' and table_name = ?",
        [VERSIONS_TABLE],
    ).fetchone()[0]
    if not has_registry:
        return None
    row = con.execute(
        f"select version_id from main.{VERSIONS_TABLE} "  # noqa: S608 - constant table name
        "order by is_served desc, version_id desc limit 1"
    ).fetchone()
    return label(row[0]) if row else None


def load_evidence(db_path: Path) -> EvidenceData:
    """One short read-only session: BI readers and the next publish's swap are never blocked."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        version = _served_version(con)
        flows = con.sql(
            "select month, route_id, route_name, origin_station_code, destination_station_code, "
            "explosive_tonnes as tonnes, shipments, rounds_low, rounds_central, rounds_high "
            "from main.agg_monthly_flows order by month, route_id"
        ).df()
        present = {
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'main' and table_name = 'fct_claim_reconciliation'"
            ).fetchall()
        }
        columns = RECONCILIATION_COLUMNS + [c for c in OPTIONAL_COLUMNS if c in present]
        reconciliation = con.sql(
            f"select {', '.join(columns)} "  # noqa: S608 - names from our constant lists
            "from main.fct_claim_reconciliation order by metric, period_end nulls last, claim_id"
        ).df()
        stations = con.sql(
            "select station_code, station_name, latitude, longitude, role from main.dim_stations"
        ).df()
        synthetic = con.sql(
            "select coalesce(bool_or(is_synthetic), false) from main.agg_monthly_flows"
        ).fetchone()[0]
    finally:
        con.close()
    flows["month"] = pd.to_datetime(flows["month"])
    for column in ("period_start", "period_end"):
        reconciliation[column] = pd.to_datetime(reconciliation[column])
    # a short reference shared by the chart markers and the table rows
    reconciliation.insert(0, "ref", [f"#{i}" for i in range(1, len(reconciliation) + 1)])
    return EvidenceData(flows, reconciliation, stations, bool(synthetic), version)


def _save(fig: Figure, path: Path) -> Path:
    """Write under a temp name and rename: someone browsing the folder never sees half a PNG."""
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=110, format=path.suffix.lstrip("."))
    os.replace(tmp, path)
    return path


def _write_text(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def _stamp(fig: Figure, title: str, version_id: str, synthetic: bool) -> None:
    """Every chart says what it shows, which version, and that the data is synthetic."""
    height = fig.get_figheight()
    fig.get_layout_engine().set(rect=(0, 0, 1, 1 - 0.7 / height))
    fig.text(0.01, 1 - 0.1 / height, title, va="top", fontsize=13, fontweight="bold")
    fig.text(
        0.01, 1 - 0.4 / height, f"published version {version_id}", va="top", fontsize=9, color="0.4"
    )
    if synthetic:
        fig.text(
            0.99,
            1 - 0.1 / height,
            SYNTHETIC_LABEL,
            ha="right",
            va="top",
            fontsize=11,
            fontweight="bold",
            color="white",
            bbox={"boxstyle": "round,pad=0.3", "facecolor": "#c62828", "edgecolor": "none"},
        )


def _human(value: float, _pos: object = None) -> str:
    for scale, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def _overlay_claims(ax, claims: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp) -> None:
    """Claims live on their own axis: a claim is a total over its period, not a monthly figure.

    A diamond marks the claimed total at the end of its period (a thin line spans the period);
    the bar beside it is what the data gives for that same period (low-central-high).
    """
    if claims.empty:
        ax.set_yticks([])
        return
    end = claims["period_end"].fillna(last + pd.offsets.MonthEnd(0))
    start = claims["period_start"].fillna(first)
    colours = claims["status"].map(STATUS_COLOURS).fillna("black").tolist()
    ax.hlines(claims["claim_value"], start, end, colors=colours, linewidth=1, alpha=0.5)
    ax.scatter(end, claims["claim_value"], marker="D", s=55, c=colours, zorder=5)
    if {"claim_low", "claim_high"} <= set(claims.columns):  # a claimed range: "4.8 to 5 million"
        ax.vlines(end, claims["claim_low"], claims["claim_high"], colors=colours, linewidth=3)
    for x, claim in zip(end, claims.itertuples(), strict=True):  # a label per claim: a handful
        ax.annotate(
            f"{claim.ref}: {_human(claim.claim_value)}",
            (x, claim.claim_value),
            xytext=(-6, 6),
            textcoords="offset points",
            ha="right",
            fontsize=8,
            color="0.25",
        )
    computed = claims.dropna(subset=["computed_central"])
    shifted = computed["period_end"].fillna(last + pd.offsets.MonthEnd(0)) + pd.Timedelta(days=9)
    ax.errorbar(
        shifted,
        computed["computed_central"],
        yerr=[
            computed["computed_central"] - computed["computed_low"],
            computed["computed_high"] - computed["computed_central"],
        ],
        fmt="o",
        ms=4,
        color="black",
        capsize=3,
        zorder=4,
    )
    top = claims[["claim_value"]].join(computed[["computed_high"]]).max().max()
    ax.set_ylim(0, top * 1.15)
    ax.yaxis.set_major_formatter(FuncFormatter(_human))
    ax.set_ylabel("claim-period total (markers)", fontsize=9)


def monthly_chart(data: EvidenceData, path: Path, version_id: str) -> Path:
    """Monthly explosive tonnes and rounds (low-high band), with claims set against them."""
    monthly = (
        data.flows.groupby("month", as_index=False)[
            ["tonnes", "shipments", "rounds_low", "rounds_central", "rounds_high"]
        ]
        .sum()
        .sort_values("month")
    )
    fig = Figure(figsize=(11, 7.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    _stamp(
        fig, "Explosive cargo by month, and the claims made about it", version_id, data.is_synthetic
    )
    if monthly.empty:
        for ax in (top, bottom):
            ax.text(0.5, 0.5, "no shipments in this version", ha="center", transform=ax.transAxes)
        _save(fig, path)
        return path
    first, last = monthly["month"].min(), monthly["month"].max()
    mid_month = monthly["month"] + pd.Timedelta(days=14)
    top.bar(mid_month, monthly["tonnes"], width=24, color="#90a4ae")
    top.set_ylabel("tonnes per month (bars)")
    bottom.fill_between(
        mid_month,
        monthly["rounds_low"],
        monthly["rounds_high"],
        color="#ffcc80",
        alpha=0.7,
        label="rounds low–high",
    )
    bottom.plot(
        mid_month,
        monthly["rounds_central"],
        color="#e65100",
        marker="o",
        ms=3,
        label="rounds central",
    )
    bottom.set_ylabel("rounds per month (line, band)")
    claims = data.reconciliation
    for ax, metric, title in zip(
        (top, bottom),
        CHART_METRICS,
        ("Explosive cargo (tonnes)", "Munitions equivalent (rounds)"),
        strict=True,
    ):
        ax.set_title(title, loc="left", fontsize=10)
        ax.yaxis.set_major_formatter(FuncFormatter(_human))
        ax.grid(axis="y", color="0.9")
        ax.set_axisbelow(True)
        ax.set_ylim(bottom=0)
        _overlay_claims(ax.twinx(), claims[claims["metric"] == metric], first, last)
    bottom.xaxis.set_major_locator(mdates.MonthLocator())
    bottom.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))
    handles = [
        Line2D([], [], marker="D", ls="", color=colour, label=f"claim: {status}")
        for status, colour in STATUS_COLOURS.items()
        if status in set(claims.loc[claims["metric"].isin(CHART_METRICS), "status"])
    ] + [
        Line2D([], [], marker="o", color="black", label="data for the claim's period"),
        Line2D([], [], color="#e65100", marker="o", ms=3, label="rounds central"),
        Line2D([], [], color="#ffcc80", lw=8, label="rounds low–high"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    _save(fig, path)
    return path


def routes_chart(data: EvidenceData, path: Path, version_id: str) -> Path:
    """Where the cargo went: a lat/lon sketch with lines weighted by tonnes, and the ranking."""
    routes = (
        data.flows.groupby(
            ["route_id", "route_name", "origin_station_code", "destination_station_code"],
            as_index=False,
        )[["tonnes", "shipments"]]
        .sum()
        .sort_values("tonnes")
    )
    fig = Figure(figsize=(12, 5.5), layout="constrained")
    sketch, ranking = fig.subplots(1, 2, width_ratios=[1.5, 1])
    _stamp(fig, "Explosive cargo by rail route", version_id, data.is_synthetic)
    stations = data.stations.dropna(subset=["latitude", "longitude"]).set_index("station_code")
    located = routes[
        routes["origin_station_code"].isin(stations.index)
        & routes["destination_station_code"].isin(stations.index)
    ]
    if located.empty:
        sketch.text(0.5, 0.5, "no located routes", ha="center", transform=sketch.transAxes)
    else:
        origin = stations.loc[located["origin_station_code"], ["longitude", "latitude"]].to_numpy()
        dest = stations.loc[
            located["destination_station_code"], ["longitude", "latitude"]
        ].to_numpy()
        widths = 1 + 11 * located["tonnes"].to_numpy() / located["tonnes"].max()
        sketch.add_collection(
            LineCollection(
                list(zip(origin, dest, strict=True)),
                linewidths=widths,
                colors="#b0413e",
                alpha=0.55,
            )
        )
        used = stations.loc[
            sorted(set(located["origin_station_code"]) | set(located["destination_station_code"]))
        ]
        sketch.scatter(used["longitude"], used["latitude"], s=30, color="black", zorder=3)
        # labels only, a handful of stations: neighbours in latitude alternate above/below
        for i, station in enumerate(used.sort_values("latitude").itertuples()):
            east = station.longitude >= 100
            sketch.annotate(
                station.station_name,
                (station.longitude, station.latitude),
                xytext=(-5 if east else 5, 5 if i % 2 else -12),
                textcoords="offset points",
                fontsize=8,
                ha="right" if east else "left",
            )
        sketch.autoscale()
        sketch.margins(0.08, 0.25)
    sketch.set_xlabel("longitude °E")
    sketch.set_ylabel("latitude °N")
    sketch.set_title(
        "Rail routes (line width ∝ tonnes; not a map projection)", loc="left", fontsize=10
    )
    sketch.grid(color="0.92")
    ranking.barh(routes["route_name"], routes["tonnes"], color="#b0413e", alpha=0.8)
    for y, (tonnes, shipments) in enumerate(
        zip(routes["tonnes"], routes["shipments"], strict=True)
    ):
        ranking.text(tonnes, y, f" {shipments:,} shipments", va="center", fontsize=8)
    ranking.set_xlim(0, routes["tonnes"].max() * 1.35 if not routes.empty else 1)
    ranking.xaxis.set_major_formatter(FuncFormatter(_human))
    ranking.set_xlabel("explosive cargo, tonnes (all months)")
    ranking.set_title("Routes ranked by tonnes", loc="left", fontsize=10)
    ranking.tick_params(axis="y", labelsize=8)
    _save(fig, path)
    return path


def _number_text(values: pd.Series) -> pd.Series:
    return values.map(lambda v: "" if pd.isna(v) else f"{v:,.0f}")


def reconciliation_table(data: EvidenceData) -> str:
    """The claims-vs-data table as an HTML fragment, the status cell coloured by outcome.

    Qualifier, claimed range and direction are shown when the table has them (optional
    columns): a conflicting direction or a range claim cannot be judged without them.
    """
    recon = data.reconciliation
    claim = _number_text(recon["claim_value"])
    if {"claim_low", "claim_high"} <= set(recon.columns):
        is_range = recon["claim_low"].notna() & (recon["claim_low"] != recon["claim_high"])
        ranged = _number_text(recon["claim_low"]) + "–" + _number_text(recon["claim_high"])
        claim = claim.where(~is_range, ranged)
    if "qualifier" in recon.columns:
        claim = (recon["qualifier"].fillna("exact").replace("exact", "") + " " + claim).str.strip()
    period = (
        recon["period_start"].dt.strftime("%Y-%m-%d").fillna("…")
        + " – "
        + recon["period_end"].dt.strftime("%Y-%m-%d").fillna("…")
    )
    table = pd.DataFrame(
        {
            "ref": recon["ref"],
            "claim_id": recon["claim_id"],
            "metric": recon["metric"].map(METRIC_LABELS).fillna(recon["metric"]),
            "claim": claim,
            "period": period,
        }
    )
    if {"direction_from", "direction_to"} <= set(recon.columns):
        table["direction"] = (
            recon["direction_from"].fillna("?") + " → " + recon["direction_to"].fillna("?")
        ).where(recon["direction_from"].notna() | recon["direction_to"].notna(), "")
    computed = {
        "computed_low": "data low",
        "computed_central": "data central",
        "computed_high": "data high",
        "ratio_to_central": "claim ÷ central",
    }
    numbers = list(computed.values())
    table = table.join(recon[[*computed, "status", "explanation"]].rename(columns=computed))
    styler = (
        table.style.hide(axis="index")
        .format("{:,.0f}", subset=numbers[:3], na_rep="–")
        .format("{:.2f}", subset=numbers[3:], na_rep="–")
        .format(escape="html", subset=["claim_id", "explanation"], na_rep="–")
        .set_properties(subset=["claim", *numbers], **{"text-align": "right"})
        .set_properties(
            subset=[c for c in ("claim", "period", "direction") if c in table],
            **{"white-space": "nowrap"},
        )
        .map(
            lambda s: f"background-color: {STATUS_COLOURS.get(s, '#000')}; color: white",
            subset=["status"],
        )
        .set_uuid("recon")
        .set_table_attributes('class="recon"')
    )
    return styler.to_html()


PAGE_CSS = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1150px; padding: 0 1rem 3rem;
       color: #222; }
.banner { background: #c62828; color: #fff; font-weight: bold; padding: .5rem 1rem; margin: 0 -1rem;
          letter-spacing: .05em; }
h1 { margin: 1rem 0 .2rem; } .meta { color: #666; margin: 0 0 1rem; }
.facts { display: flex; flex-wrap: wrap; gap: .6rem; padding: 0; list-style: none; }
.facts li { background: #f3f3f3; border-radius: 6px; padding: .5rem .8rem; }
.facts b { display: block; font-size: 1.25rem; }
img { max-width: 100%; border: 1px solid #ddd; }
table.recon { border-collapse: collapse; font-size: .85rem; width: 100%; }
table.recon th, table.recon td { border-bottom: 1px solid #ddd; padding: .3rem .4rem;
                                 text-align: left; vertical-align: top; }
"""


def _page(title: str, body: str, synthetic: bool) -> str:
    banner = (
        f'<div class="banner">{SYNTHETIC_LABEL}: generated for testing, not real shipments '
        "or real reports</div>"
        if synthetic
        else ""
    )
    suffix = f" ({SYNTHETIC_LABEL})" if synthetic else ""
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title + suffix)}</title><style>{PAGE_CSS}</style></head>\n"
        f"<body>{banner}\n{body}\n</body></html>\n"
    )


def summary_facts(data: EvidenceData) -> dict[str, str]:
    """Headline figures of a version, shown on the page and in the asset metadata."""
    flows = data.flows
    if flows.empty:
        return {"shipments": "0"}
    statuses = data.reconciliation["status"].value_counts().to_dict()
    return {
        "months": f"{flows['month'].min():%b %Y} – {flows['month'].max():%b %Y}",
        "explosive cargo": f"{flows['tonnes'].sum():,.0f} t",
        "explosive shipments": f"{flows['shipments'].sum():,}",
        "rounds (low – central – high)": " – ".join(
            _human(flows[c].sum()) for c in ("rounds_low", "rounds_central", "rounds_high")
        ),
        "claims": ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "none",
    }


def render_evidence(
    db_path: Path,
    out_dir: Path,
    version_id: str,
    *,
    dbt_docs_href: str = "../../docs/dbt/index.html",
    gx_docs_href: str = "../../docs/gx/index.html",
) -> dict[str, Path]:
    """Charts + reconciliation table + index.html for one published version into ``out_dir``."""
    return write_evidence(
        load_evidence(db_path),
        out_dir,
        version_id,
        source_name=db_path.name,
        dbt_docs_href=dbt_docs_href,
        gx_docs_href=gx_docs_href,
    )


def write_evidence(
    data: EvidenceData,
    out_dir: Path,
    version_id: str,
    *,
    source_name: str,
    dbt_docs_href: str,
    gx_docs_href: str,
) -> dict[str, Path]:
    """Links to the docs are relative so the folder works from a file browser or a web server."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "monthly_chart": monthly_chart(data, out_dir / "monthly_flows.png", version_id),
        "routes_chart": routes_chart(data, out_dir / "routes.png", version_id),
    }
    table = reconciliation_table(data)
    files["reconciliation"] = out_dir / "reconciliation.html"
    _write_text(
        files["reconciliation"],
        _page(
            f"Claim reconciliation, version {version_id}",
            f"<h1>Claims vs data, version {html.escape(version_id)}</h1>\n{table}",
            data.is_synthetic,
        ),
    )
    facts = "".join(
        f"<li>{html.escape(k)}<b>{html.escape(v)}</b></li>" for k, v in summary_facts(data).items()
    )
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = f"""<h1>Shipment ledger evidence, version {html.escape(version_id)}</h1>
<p class="meta">Rendered {generated} from the published file
<code>{html.escape(source_name)}</code>. Every figure below can be re-queried from that
version: <code>ledger query --version {html.escape(version_id)} "..."</code>.</p>
<ul class="facts">{facts}</ul>
<h2>Monthly flows and claims</h2>
<p>Bars and the band are monthly figures; diamonds are claimed totals for a claim's period
(thin line), black bars what the data gives for that same period (low – central – high).</p>
<img src="monthly_flows.png" alt="Monthly explosive tonnes and rounds with claims">
<h2>Routes</h2>
<img src="routes.png" alt="Explosive cargo by rail route">
<h2>Claims vs data</h2>
<p>Also as a page of its own: <a href="reconciliation.html">reconciliation.html</a>.</p>
{table}
<h2>Documentation</h2>
<ul><li><a href="{html.escape(dbt_docs_href)}">dbt docs</a>: every model and column, lineage</li>
<li><a href="{html.escape(gx_docs_href)}">Great Expectations Data Docs</a>: validation results</li>
</ul>"""
    files["index"] = out_dir / "index.html"
    _write_text(
        files["index"], _page(f"Shipment ledger evidence {version_id}", body, data.is_synthetic)
    )
    return files
