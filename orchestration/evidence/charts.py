"""Evidence charts for one published version: monthly flows, claims vs data, routes.

Charts use matplotlib's object API (no pyplot global state), which renders with Agg and is safe
inside a Dagster worker. Every axis has one unit: monthly figures and claim-period totals are
never drawn on twin axes, where a marker's height would mean nothing against the bars.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from orchestration.evidence.data import EvidenceData

SYNTHETIC_LABEL = "SYNTHETIC DATA"
STATUS_COLOURS = {
    "consistent": "#2e7d32",
    "above_range": "#c62828",
    "below_range": "#ef6c00",
    "partial_coverage": "#1565c0",
    "conflicting_direction": "#6a1b9a",
    "not_comparable": "#757575",
}
# the unit of a claim-period total, per metric (the y-axis of its panel)
METRIC_UNITS = {
    "explosives_tonnes": "explosive cargo, tonnes",
    "rounds": "artillery rounds",
    "shipments": "voyages Rajin → RU ports",
    "containers": "containers",
}


def _save(fig: Figure, path: Path) -> Path:
    """Write under a temp name and rename: someone browsing the folder never sees half a PNG."""
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=110, format=path.suffix.lstrip("."))
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


def human(value: float, _pos: object = None) -> str:
    for scale, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def data_range(data: EvidenceData) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First day of the first month to the last day of the last month with shipments."""
    return data.flows["month"].min(), data.flows["month"].max() + pd.offsets.MonthEnd(0)


def _month_axis(ax: Axes, first: pd.Timestamp, last: pd.Timestamp) -> None:
    """The x-axis spans the data and nothing more: no empty months after it ends."""
    ax.set_xlim(first, last + pd.Timedelta(days=1))
    ax.xaxis.set_major_locator(mdates.MonthLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))


def monthly_chart(data: EvidenceData, path: Path, version_id: str) -> Path:
    """Monthly explosive tonnes and rounds (mass method, low-high band); claims have their own
    chart, on axes of their own unit."""
    monthly = (
        data.flows.groupby("month", as_index=False)[
            ["tonnes", "shipments", "rounds_low", "rounds_central", "rounds_high"]
        ]
        .sum()
        .sort_values("month")
    )
    fig = Figure(figsize=(11, 6.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    _stamp(fig, "Explosive cargo by month", version_id, data.is_synthetic)
    if monthly.empty:
        for ax in (top, bottom):
            ax.text(0.5, 0.5, "no shipments in this version", ha="center", transform=ax.transAxes)
        return _save(fig, path)
    mid_month = monthly["month"] + pd.Timedelta(days=14)
    top.bar(mid_month, monthly["tonnes"], width=24, color="#90a4ae")
    top.set_ylabel("tonnes per month")
    bottom.fill_between(
        mid_month, monthly["rounds_low"], monthly["rounds_high"], color="#ffcc80", alpha=0.7
    )
    bottom.plot(mid_month, monthly["rounds_central"], color="#e65100", marker="o", ms=3)
    bottom.set_ylabel("rounds per month")
    for ax, title in zip(
        (top, bottom),
        ("Explosive cargo (tonnes)", "Munitions equivalent, mass method (rounds)"),
        strict=True,
    ):
        ax.set_title(title, loc="left", fontsize=10)
        ax.yaxis.set_major_formatter(FuncFormatter(human))
        ax.grid(axis="y", color="0.9")
        ax.set_axisbelow(True)
        ax.set_ylim(bottom=0)
    _month_axis(bottom, *data_range(data))
    handles = [
        Line2D([], [], color="#e65100", marker="o", ms=3, label="rounds central"),
        Line2D([], [], color="#ffcc80", lw=8, label="rounds low–high"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    return _save(fig, path)


def unplottable_claims(data: EvidenceData) -> dict[str, str]:
    """Claims the claims chart cannot place, by ref, with the reason (listed on the page)."""
    if data.flows.empty:
        return {ref: "the version has no shipments" for ref in data.reconciliation["ref"]}
    first, last = data_range(data)
    out = {}
    for claim in data.reconciliation.itertuples():
        start = claim.period_start if pd.notna(claim.period_start) else first
        end = claim.period_end if pd.notna(claim.period_end) else last
        if end < first or start > last:
            out[claim.ref] = (
                f"its period ({start:%Y-%m-%d} – {end:%Y-%m-%d}) is outside the data "
                f"({first:%b %Y} – {last:%b %Y})"
            )
    return out


def claims_chart(data: EvidenceData, path: Path, version_id: str) -> Path:
    """One panel per metric, its y-axis in the metric's unit: a diamond is the claimed total at
    the (clipped) end of its period, a thin line spans the period, and the black bar beside it
    is what the data gives for that same period (low – central – high)."""
    skip = unplottable_claims(data)
    claims = data.reconciliation[~data.reconciliation["ref"].isin(skip)]
    metrics = [m for m in METRIC_UNITS if m in set(claims["metric"])]
    metrics += sorted(set(claims["metric"]) - set(metrics))
    fig = Figure(figsize=(11, 1.2 + 2.3 * max(len(metrics), 1)), layout="constrained")
    axes = fig.subplots(max(len(metrics), 1), 1, sharex=True, squeeze=False)[:, 0]
    _stamp(fig, "Claims against the data for their period", version_id, data.is_synthetic)
    if not metrics:
        axes[0].text(0.5, 0.5, "no claim to plot", ha="center", transform=axes[0].transAxes)
        axes[0].set_yticks([])
        return _save(fig, path)
    first, last = data_range(data)
    for ax, metric in zip(axes, metrics, strict=True):
        _claims_panel(ax, claims[claims["metric"] == metric], first, last)
        ax.set_ylabel(METRIC_UNITS.get(metric, metric), fontsize=9)
    _month_axis(axes[-1], first, last)
    handles = [
        Line2D([], [], marker="D", ls="", color=colour, label=status)
        for status, colour in STATUS_COLOURS.items()
        if status in set(claims["status"])
    ] + [Line2D([], [], marker="o", color="black", label="data for the claim's period")]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    return _save(fig, path)


def _claims_panel(ax: Axes, claims: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp) -> None:
    start = claims["period_start"].fillna(first).clip(lower=first)
    end = claims["period_end"].fillna(last).clip(upper=last)
    colours = claims["status"].map(STATUS_COLOURS).fillna("black").tolist()
    ax.hlines(claims["claim_value"], start, end, colors=colours, linewidth=1.5, alpha=0.6)
    ax.scatter(end, claims["claim_value"], marker="D", s=55, c=colours, zorder=5, clip_on=False)
    if {"claim_low", "claim_high"} <= set(claims.columns):  # a claimed range: "4.8 to 5 million"
        ax.vlines(end, claims["claim_low"], claims["claim_high"], colors=colours, linewidth=3)
    # a label per claim (a handful); neighbours alternate above / below their diamond
    for i, (x, claim) in enumerate(zip(end, claims.itertuples(), strict=True)):
        ax.annotate(
            f"{claim.ref}: {human(claim.claim_value)}",
            (x, claim.claim_value),
            xytext=(-8, 6 if i % 2 == 0 else -13),
            textcoords="offset points",
            ha="right",
            fontsize=8,
            color="0.25",
        )
    computed = claims.dropna(subset=["computed_central"])
    ax.errorbar(
        end[computed.index] - pd.Timedelta(days=4),
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
    top = pd.concat([claims["claim_value"], computed["computed_high"]]).max()
    ax.set_ylim(0, top * 1.2)
    ax.yaxis.set_major_formatter(FuncFormatter(human))
    ax.grid(axis="y", color="0.9")
    ax.set_axisbelow(True)


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
    ranking.xaxis.set_major_formatter(FuncFormatter(human))
    ranking.set_xlabel("explosive cargo, tonnes (all months)")
    ranking.set_title("Routes ranked by tonnes", loc="left", fontsize=10)
    ranking.tick_params(axis="y", labelsize=8)
    _save(fig, path)
    return path
