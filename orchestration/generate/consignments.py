"""Typed synthetic consignments: the calibration constants and the vectorised row generator.

Every mode (sample, scale, one day) draws its rows here; the dialect writers then turn them
into text.
"""

from __future__ import annotations

import calendar
from datetime import date

import numpy as np
import polars as pl

from orchestration.iso6346 import check_digit_expr

PERIOD_START = date(2023, 8, 1)
PERIOD_END = date(2024, 1, 31)
# Share of explosive consignments per month: the traffic ramps up in Sep-Oct 2023.
EXPLOSIVE_MONTHS: dict[str, float] = {
    "2023-08": 0.07,
    "2023-09": 0.20,
    "2023-10": 0.25,
    "2023-11": 0.19,
    "2023-12": 0.15,
    "2024-01": 0.14,
}
# Background freight runs a month either side so that period filters matter.
BACKGROUND_START = date(2023, 7, 1)
BACKGROUND_END = date(2024, 2, 29)

PORT_ORIGINS = {"986808": 0.6, "984700": 0.4}  # Dunai, Nakhodka-Vostochnaya
DEPOTS = {"515202": 0.5, "610402": 0.4, "582007": 0.1}  # Tikhoretskaya, Kotluban, Mozdok
EXPLOSIVE_CARGO = {"481203": 0.45, "481218": 0.40, "481307": 0.15}
# Background: cargo code -> (weight range in kg, carried in a container?)
BACKGROUND_CARGO: dict[str, tuple[int, int, bool]] = {
    "161005": (58_000, 70_000, False),
    "251018": (45_000, 64_000, False),
    "391001": (6_000, 24_000, True),
    "421034": (55_000, 68_000, False),
    "692010": (5_000, 24_000, True),
}
BACKGROUND_STATIONS = ["980003", "980700", "970002", "850006", "780001", "194006", "270003"]
BACKGROUND_PORT_SHARE = 0.06  # a little ordinary freight also leaves the two ports
STATION_CODES = [*BACKGROUND_STATIONS, *PORT_ORIGINS, *DEPOTS]
CARGO_CODES = [*EXPLOSIVE_CARGO, *BACKGROUND_CARGO]

SHIPPERS = {
    "986808": "Dunai Pier Logistics (synthetic)",
    "984700": "Vostochny Terminal Forwarding (synthetic)",
}
CONSIGNEES = {
    "515202": "Depot Consignee Tikhoretsk (synthetic)",
    "610402": "Depot Consignee Kotluban (synthetic)",
    "582007": "Depot Consignee Mozdok (synthetic)",
}
BACKGROUND_COMPANIES = [
    "Amur Coal Trading (synthetic)",
    "Taiga Timber Export (synthetic)",
    "Ural Machinery Supply (synthetic)",
    "Siberian Agro Chemicals (synthetic)",
    "Pacific Box Lines (synthetic)",
    "Volga General Freight, Ltd (synthetic)",  # the comma forces quoting in CSV
]


def pick(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    """Indices into ``weights``' keys, drawn with the given shares."""
    p = np.array(list(weights.values()))
    return rng.choice(len(p), size=n, p=p / p.sum())


def labels(keys: list[str], idx: np.ndarray) -> pl.Series:
    """Strings by index, built in polars: numpy string arrays convert slowly."""
    return pl.Series(keys).gather(idx)


def _month_dates(rng: np.random.Generator, months: dict[str, float], n: int) -> np.ndarray:
    """Random dates (datetime64[D]) with the given share of rows per month."""
    starts = np.array([f"{m}-01" for m in months], dtype="datetime64[D]")
    lengths = np.array([calendar.monthrange(int(m[:4]), int(m[5:]))[1] for m in months])
    idx = pick(rng, months, n)
    return starts[idx] + (rng.random(n) * lengths[idx]).astype(np.int64)


def _uniform_dates(rng: np.random.Generator, start: date, end: date, n: int) -> np.ndarray:
    span = (end - start).days + 1
    return np.datetime64(start, "D") + rng.integers(0, span, n)


def _container_head(ids: pl.Expr) -> pl.Expr:
    """Owner code 'S??U' + 6-digit serial, unique per id (< 676 M); check digit added later."""
    owner = ids // 1_000_000
    letter = pl.lit("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return pl.concat_str(
        pl.lit("S"),
        letter.str.slice(owner // 26 % 26, 1),
        letter.str.slice(owner % 26, 1),
        pl.lit("U"),
        (ids % 1_000_000).cast(pl.String).str.zfill(6),
    )


def make_consignments(
    rng: np.random.Generator,
    n_exp: int,
    n_bg: int,
    ids: np.ndarray,
    explosive_total_kg: int | None = None,
) -> pl.DataFrame:
    """Typed consignments: ``n_exp`` explosive port->depot rows, then ``n_bg`` background rows.

    ``ids`` (unique, one per row) make waybill and container numbers unique;
    ``explosive_total_kg`` pins the explosive total exactly (the calibration target).
    """
    lo, hi, boxed = (np.array(v) for v in zip(*BACKGROUND_CARGO.values(), strict=True))
    bg_cargo = rng.integers(0, len(BACKGROUND_CARGO), n_bg)
    # station indices into STATION_CODES: background stations, then ports, then depots
    n_st, n_ports = len(BACKGROUND_STATIONS), len(PORT_ORIGINS)
    bg_origin = np.where(
        rng.random(n_bg) < BACKGROUND_PORT_SHARE,
        n_st + pick(rng, PORT_ORIGINS, n_bg),
        rng.integers(0, n_st, n_bg),
    )
    bg_dest = rng.integers(0, n_st, n_bg)
    bg_dest = np.where(bg_dest == bg_origin, (bg_dest + 1) % n_st, bg_dest)  # never to itself
    # explosive weights: 12-22 t, skewed towards the upper half (mean ~18.5 t)
    exp_kg = np.round((12_000 + 10_000 * rng.beta(3.8, 2.0, n_exp)) / 10) * 10
    if explosive_total_kg is not None:
        exp_kg = _rescale(exp_kg, explosive_total_kg)
    bg_kg = np.round((lo[bg_cargo] + (hi - lo)[bg_cargo] * rng.random(n_bg)) / 10) * 10
    df = pl.DataFrame(
        {
            "row_id": ids.astype(np.int64),
            "is_explosive": np.repeat([True, False], [n_exp, n_bg]),
            "dispatch_date": np.concatenate(
                [
                    _month_dates(rng, EXPLOSIVE_MONTHS, n_exp),
                    _uniform_dates(rng, BACKGROUND_START, BACKGROUND_END, n_bg),
                ]
            ),
            "origin_station_code": labels(
                STATION_CODES,
                np.concatenate([n_st + pick(rng, PORT_ORIGINS, n_exp), bg_origin]),
            ),
            "destination_station_code": labels(
                STATION_CODES,
                np.concatenate([n_st + n_ports + pick(rng, DEPOTS, n_exp), bg_dest]),
            ),
            "cargo_code": labels(
                CARGO_CODES,
                np.concatenate(
                    [pick(rng, EXPLOSIVE_CARGO, n_exp), len(EXPLOSIVE_CARGO) + bg_cargo]
                ),
            ),
            "has_container": np.concatenate([np.ones(n_exp, bool), boxed[bg_cargo]]),
            "company": rng.integers(0, len(BACKGROUND_COMPANIES), n_exp + n_bg),
            "wagon_no": rng.integers(0, 10_000_000, n_exp + n_bg) + 50_000_000,
            "gross_kg": np.concatenate([exp_kg, bg_kg]).astype(np.int64),
        },
    )
    return (
        df.with_columns(
            pl.col("dispatch_date").cast(pl.Date),
            pl.concat_str(pl.lit("SY"), pl.col("row_id").cast(pl.String).str.zfill(9)).alias(
                "waybill_no"
            ),
            pl.when(pl.col("is_explosive"))
            .then(pl.col("origin_station_code").replace_strict(SHIPPERS, default=None))
            .otherwise(
                pl.col("company").replace_strict(
                    dict(enumerate(BACKGROUND_COMPANIES)), return_dtype=pl.String
                )
            )
            .alias("shipper"),
            pl.when(pl.col("is_explosive"))
            .then(pl.col("destination_station_code").replace_strict(CONSIGNEES, default=None))
            .otherwise(
                pl.col("company").replace_strict(
                    dict(enumerate(BACKGROUND_COMPANIES[1:] + BACKGROUND_COMPANIES[:1])),
                    return_dtype=pl.String,
                )
            )
            .alias("consignee"),
            pl.col("wagon_no").cast(pl.String),
            pl.when(pl.col("has_container")).then(_container_head(pl.col("row_id"))).alias("head"),
            # explosives: crates of two packed rounds (~92 kg); bulk freight has no packages
            pl.when(pl.col("is_explosive"))
            .then(pl.col("gross_kg") // 92)
            .when(pl.col("has_container"))
            .then(pl.col("gross_kg") // 400)
            .alias("packages"),
        )
        .with_columns(
            pl.concat_str("head", check_digit_expr(pl.col("head")).cast(pl.String)).alias(
                "container_no"
            )
        )
        .drop("company", "has_container", "head")
    )


def _rescale(kg: np.ndarray, total_kg: int) -> np.ndarray:
    """Scale weights (multiples of 10 kg) so they sum to exactly ``total_kg``."""
    scaled = np.round(kg * (total_kg / kg.sum()) / 10).astype(np.int64) * 10
    steps = (total_kg - int(scaled.sum())) // 10
    scaled[: abs(steps)] += 10 * int(np.sign(steps))
    return scaled
