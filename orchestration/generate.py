"""Deterministic SYNTHETIC sample data for the shipment ledger.

Everything written here is invented: waybills, containers, wagons, IMO numbers, companies,
publishers and report texts. It is calibrated only to public aggregates (see the README's
opening note) so the pipeline has realistic volumes and a known answer: ``GENERATED.json``
records what was planted (totals over valid current rows, every deliberately broken row and
its expected quarantine reason) so tests can compare the published figures against it.

Two modes:
- sample (``rows=None``): five manifest files in different dialects with planted mess,
  voyages and reports; small enough to commit.
- scale (``rows=N``): one clean CSV of N consignments, written in constant memory in
  vectorised chunks, for benchmarks.
"""

from __future__ import annotations

import argparse
import calendar
import json
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from orchestration.ingest.parsing import MANIFEST_COLUMNS, VOYAGE_COLUMNS
from orchestration.iso6346 import check_digit_expr
from orchestration.paths import SEEDS_DIR, LedgerPaths
from orchestration.sql import sha256_file

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

SAMPLE_EXPLOSIVE = 4_000
SAMPLE_BACKGROUND = 2_000
SAMPLE_EXPLOSIVE_TARGET_KG = 74_200_000  # plus 0..99,990 kg chosen by the seed: "74,2xx t"
CORRECTION_DELTA_KG = 1_500  # the superseded first declaration was this much heavier
SCALE_CHUNK = 500_000
SCALE_EXPLOSIVE_SHARE = 2 / 3

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
CARGO_RU = {
    "481203": "Боеприпасы и взрывчатые изделия (класс 1)",
    "481218": "Артиллерийские выстрелы с метательными зарядами",
    "481307": "Метательные заряды и взрыватели",
    "161005": "Уголь каменный",
    "251018": "Лесоматериалы",
    "391001": "Машины и оборудование",
    "421034": "Удобрения минеральные",
    "692010": "Грузы в контейнерах",
}

RUSSIAN_HEADERS = {
    "waybill_no": "Номер накладной",
    "dispatch_date": "Дата отправления",
    "origin_station": "Станция отправления",
    "destination_station": "Станция назначения",
    "shipper": "Грузоотправитель",
    "consignee": "Грузополучатель",
    "cargo_code": "Код груза",
    "cargo_description": "Наименование груза",
    "hazard_class": "Класс опасности",
    "wagon_no": "Номер вагона",
    "container_no": "Номер контейнера",
    "gross_weight": "Вес брутто",
    "weight_unit": "Единица измерения",
    "packages": "Количество мест",
}
ENGLISH_VARIANT_HEADERS = {
    "waybill_no": "Waybill",
    "dispatch_date": "Date",
    "origin_station_code": "Origin Code",
    "origin_station": "Origin",
    "destination_station_code": "Destination Code",
    "destination_station": "Destination",
    "shipper": "Shipper",
    "consignee": "Consignee",
    "cargo_code": "Cargo Code",
    "cargo_description": "Cargo",
    "hazard_class": "Hazard Class",
    "wagon_no": "Wagon",
    "container_no": "Container",
    "gross_weight": "Gross Weight",
    "packages": "Packages",
}

# One entry per manifest file of the sample: which months it carries and its dialect.
MANIFEST_FILES: list[dict] = [
    {
        "name": "01_synthetic_manifests_2023-07_2023-09.csv",
        "months": ["2023-07", "2023-08", "2023-09"],
        "format": "csv",
        "encoding": "utf-8",
        "delimiter": ",",
        "line_ending": "LF",
        "date_format": "%Y-%m-%d",
        "weights": "kg",
        "station_names": "english",
        "language": "en",
        "headers": "canonical",
    },
    {
        "name": "02_synthetic_manifests_2023-10_cp1251.csv",
        "months": ["2023-10"],
        "format": "csv",
        "encoding": "cp1251",
        "delimiter": ";",
        "line_ending": "CRLF",
        "date_format": "%d.%m.%Y",
        "weights": "tonnes_decimal_comma",
        "station_names": "russian",
        "language": "ru",
        "headers": "russian",
    },
    {
        "name": "03_synthetic_manifests_2023-11.tsv",
        "months": ["2023-11"],
        "format": "csv",
        "encoding": "utf-8-sig",  # with a byte-order mark, as spreadsheet exports write it
        "delimiter": "\t",
        "line_ending": "LF",
        "date_format": "%d/%m/%Y",
        "weights": "suffix",
        "station_names": "aliases",
        "language": "en",
        "headers": "english_variants",
    },
    {
        "name": "04_synthetic_manifests_2023-12.jsonl",
        "months": ["2023-12"],
        "format": "jsonl",
        "encoding": "utf-8",
        "date_format": "%Y-%m-%d",
        "weights": "kg_number",
        "station_names": "english",
        "language": "en",
        "headers": "canonical",
    },
    {
        "name": "05_synthetic_manifests_2024-01_2024-02.parquet",
        "months": ["2024-01", "2024-02"],
        "format": "parquet",
        "date_format": None,
        "weights": "tonnes_number",
        "station_names": "english",
        "language": "en",
        "headers": "canonical",
    },
]
HEADERS: dict[str, dict[str, str]] = {
    "canonical": {c: c for c in MANIFEST_COLUMNS},
    # a Russian export: names only (no station code columns)
    "russian": RUSSIAN_HEADERS,
    # weights carry their unit as a suffix, so there is no weight_unit column
    "english_variants": ENGLISH_VARIANT_HEADERS,
}

# Deliberately broken rows: (file index, reason code, {field: raw value}).
# None means "leave the cell empty"; BAD_CHECK_DIGIT is computed from the row's container.
BAD_CHECK_DIGIT = "<bad check digit>"
PLANTED_BAD_ROWS: list[tuple[int, str, dict[str, str | None]]] = [
    (0, "bad_container_check_digit", {"container_no": BAD_CHECK_DIGIT}),
    (0, "invalid_weight", {"gross_weight": "-18550"}),
    (0, "unknown_unit", {"weight_unit": "lb"}),
    (0, "missing_required_field", {"waybill_no": None}),
    (1, "unparseable_date", {"dispatch_date": "31.11.2023"}),
    (1, "unknown_station", {"destination_station": "Атлантида-Товарная"}),
    (2, "bad_container_check_digit", {"container_no": BAD_CHECK_DIGIT}),
    (2, "unparseable_date", {"dispatch_date": "1O/11/2023"}),
    (2, "unknown_unit", {"gross_weight": "18.5 cwt"}),
    (3, "invalid_weight", {"gross_weight": "0"}),
    (3, "missing_required_field", {"cargo_code": None}),
    (
        4,
        "unknown_station",
        {"origin_station_code": "999999", "origin_station": "Atlantis-Tovarnaya"},
    ),
]
BAD_ROW_MONTHS = {0: "2023-09", 1: "2023-10", 2: "2023-11", 3: "2023-12", 4: "2024-01"}

VOYAGE_VESSELS = {"Angara": 9, "Lady R": 6, "Maia-1": 7, "Maria": 5}  # 27 voyages
VOYAGES_FILE = "voyages/voyages_2023_2024.csv"


def generate(raw_dir: Path, seed: int = 7, rows: int | None = None, *, clean: bool = False) -> dict:
    """Write synthetic manifests, voyages and reports under ``raw_dir``; return the summary.

    The same seed always gives byte-identical files. The previous run's files (listed in
    its GENERATED.json) are replaced; ``clean`` also empties the three input folders.
    """
    started = time.perf_counter()
    raw_dir = Path(raw_dir)
    _prepare(raw_dir, clean)
    rng = np.random.default_rng(seed)
    seeds = _Seeds.load()
    if rows is None:
        manifests = _write_sample_manifests(raw_dir, rng, seeds)
    else:
        manifests = _write_scale_manifests(raw_dir, seed, rows, seeds)
    voyages = _write_voyages(raw_dir, rng, seeds)
    reports = _write_reports(raw_dir)
    files = {
        rel: sha256_file(raw_dir / rel)
        for rel in [*manifests["files"], VOYAGES_FILE, *reports["files"]]
    }
    summary = {
        "synthetic": True,
        "note": "All data here is SYNTHETIC, generated by orchestration.generate; it is "
        "calibrated to public aggregates only and describes no real consignment.",
        "seed": seed,
        "mode": "sample" if rows is None else "scale",
        "period": {"start": PERIOD_START.isoformat(), "end": PERIOD_END.isoformat()},
        "files": files,
        "manifests": manifests,
        "voyages": voyages,
        "reports": reports,
    }
    (raw_dir / "GENERATED.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    foreign = [
        rel
        for sub in ("manifests", "voyages", "reports")
        for path in sorted((raw_dir / sub).glob("*"))
        if (rel := path.relative_to(raw_dir).as_posix()) not in files
    ]
    if foreign:
        print(
            f"generate: other files in {raw_dir} will be ingested too (use --clean): {foreign}",
            file=sys.stderr,
        )
    _progress(rows, f"done in {time.perf_counter() - started:.1f} s -> {raw_dir}")
    return summary


# --------------------------------------------------------------------------- reference data


class _Seeds:
    """Station and cargo reference data from the dbt seeds, so names always resolve."""

    def __init__(self, stations: pl.DataFrame, ports: pl.DataFrame, cargo: pl.DataFrame) -> None:
        self.stations = stations
        self.ports = ports
        self.cargo = cargo

    @classmethod
    def load(cls) -> _Seeds:
        stations = pl.read_csv(SEEDS_DIR / "stations.csv", infer_schema=False).select(
            "station_code",
            "station_name",
            "station_name_ru",
            pl.col("aliases").str.split("|").alias("aliases"),
        )
        ports = pl.read_csv(SEEDS_DIR / "ports.csv", infer_schema=False).select(
            "port_code",
            pl.concat_list(pl.col("port_name"), pl.col("aliases").str.split("|")).alias("names"),
        )
        cargo = pl.read_csv(SEEDS_DIR / "cargo_codes.csv", infer_schema=False).select(
            "cargo_code",
            "cargo_description",
            pl.col("hazard_class").alias("seed_hazard_class"),
        )
        return cls(stations, ports, cargo)


# --------------------------------------------------------------------------- consignments


def _pick(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    """Indices into ``weights``' keys, drawn with the given shares."""
    p = np.array(list(weights.values()))
    return rng.choice(len(p), size=n, p=p / p.sum())


def _labels(keys: list[str], idx: np.ndarray) -> pl.Series:
    """Strings by index, built in polars: numpy string arrays convert slowly."""
    return pl.Series(keys).gather(idx)


def _month_dates(rng: np.random.Generator, months: dict[str, float], n: int) -> np.ndarray:
    """Random dates (datetime64[D]) with the given share of rows per month."""
    starts = np.array([f"{m}-01" for m in months], dtype="datetime64[D]")
    lengths = np.array([calendar.monthrange(int(m[:4]), int(m[5:]))[1] for m in months])
    idx = _pick(rng, months, n)
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


def _consignments(
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
        n_st + _pick(rng, PORT_ORIGINS, n_bg),
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
            "origin_station_code": _labels(
                STATION_CODES,
                np.concatenate([n_st + _pick(rng, PORT_ORIGINS, n_exp), bg_origin]),
            ),
            "destination_station_code": _labels(
                STATION_CODES,
                np.concatenate([n_st + n_ports + _pick(rng, DEPOTS, n_exp), bg_dest]),
            ),
            "cargo_code": _labels(
                CARGO_CODES,
                np.concatenate(
                    [_pick(rng, EXPLOSIVE_CARGO, n_exp), len(EXPLOSIVE_CARGO) + bg_cargo]
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


# --------------------------------------------------------------------------- sample manifests


def _write_sample_manifests(raw_dir: Path, rng: np.random.Generator, seeds: _Seeds) -> dict:
    """Five files in five dialects; the valid rows total exactly the calibration target."""
    n_rows = SAMPLE_EXPLOSIVE + SAMPLE_BACKGROUND
    ids = rng.choice(10**8, n_rows + len(PLANTED_BAD_ROWS), replace=False)
    target_kg = SAMPLE_EXPLOSIVE_TARGET_KG + int(rng.integers(0, 10_000)) * 10
    month_to_file = {m: i for i, spec in enumerate(MANIFEST_FILES) for m in spec["months"]}
    valid = _consignments(
        rng, SAMPLE_EXPLOSIVE, SAMPLE_BACKGROUND, ids[:n_rows], explosive_total_kg=target_kg
    ).with_columns(
        pl.col("dispatch_date").dt.strftime("%Y-%m").replace_strict(month_to_file).alias("file"),
        pl.lit("accepted").alias("outcome"),
        pl.lit(None, pl.String).alias("reason"),
        pl.lit(None, pl.String).alias("case"),
        pl.lit(None, pl.String).alias("fault"),
        pl.lit(False).alias("is_copy"),
    )
    planted = pl.concat(
        [*_plant_duplicate_and_correction(valid, rng), _bad_rows(rng, ids[n_rows:])],
        how="diagonal",
    )
    files: list[str] = []
    per_file: dict[str, dict] = {}
    planted_cases: list[pl.DataFrame] = []
    for i, spec in enumerate(MANIFEST_FILES):
        rel = f"manifests/{spec['name']}"
        rows = (
            planted.filter(pl.col("file") == i)
            .sort("dispatch_date", "waybill_no", "is_copy", "outcome")
            .with_row_index("source_row", offset=1)
        )
        _write_manifest_file(raw_dir / rel, rows, spec, seeds)
        files.append(rel)
        per_file[rel] = {
            **{k: v for k, v in spec.items() if k not in ("name", "months")},
            **_outcome_counts(rows),
        }
        planted_cases.append(
            rows.filter(pl.col("case").is_not_null()).select(
                pl.lit(rel).alias("file"),
                "source_row",
                "waybill_no",
                "case",
                pl.col("outcome").alias("expected"),
                "reason",
                "fault",
                pl.when(pl.col("outcome") != "quarantined").then("gross_kg").alias("gross_kg"),
            )
        )
    current = planted.filter(pl.col("outcome") == "accepted")
    assert current["waybill_no"].is_unique().all(), "generator bug: waybill reused"
    return {
        "files": files,
        "per_file": per_file,
        **_outcome_counts(planted),
        "explosive_target_kg": target_kg,
        "planted": pl.concat(planted_cases).to_dicts(),
        "current": _totals([_aggregate(current)]),
        "header_aliases": {"russian": RUSSIAN_HEADERS, "english_variants": ENGLISH_VARIANT_HEADERS},
    }


def _plant_duplicate_and_correction(
    valid: pl.DataFrame, rng: np.random.Generator
) -> list[pl.DataFrame]:
    """The valid rows plus an exact duplicate row in file 0 and a corrected re-send.

    The re-sent waybill is first declared in file 1, then corrected in file 4: the
    corrected row is the valid one (moved to the later file), the superseded first
    declaration stays in file 1 with a different weight.
    """
    explosive = valid.filter(pl.col("is_explosive"))
    dup_src = explosive.filter(pl.col("file") == 0).sample(1, seed=int(rng.integers(2**31)))
    fix_src = explosive.filter(pl.col("file") == 1).sample(1, seed=int(rng.integers(2**31)))
    is_fixed = pl.col("waybill_no").is_in(fix_src["waybill_no"].implode())
    return [
        valid.with_columns(
            pl.when(is_fixed).then(4).otherwise(pl.col("file")).alias("file"),
            pl.when(is_fixed).then(pl.lit("correction_latest_wins")).alias("case"),
        ),
        dup_src.with_columns(
            pl.lit("duplicate").alias("outcome"),
            pl.lit("exact_duplicate_of_previous_row").alias("case"),
            pl.lit(True).alias("is_copy"),
        ),
        fix_src.with_columns(
            pl.col("gross_kg") + CORRECTION_DELTA_KG,
            pl.lit("superseded").alias("outcome"),
            pl.lit("superseded_by_later_correction").alias("case"),
        ),
    ]


def _bad_rows(rng: np.random.Generator, ids: np.ndarray) -> pl.DataFrame:
    """Explosive-looking rows each broken in exactly one way (see PLANTED_BAD_ROWS)."""
    n = len(PLANTED_BAD_ROWS)
    fields = sorted({f for _, _, faults in PLANTED_BAD_ROWS for f in faults})
    spec = pl.DataFrame(
        {
            "file": [f for f, _, _ in PLANTED_BAD_ROWS],
            "reason": [r for _, r, _ in PLANTED_BAD_ROWS],
            "month_start": [f"{BAD_ROW_MONTHS[f]}-01" for f, _, _ in PLANTED_BAD_ROWS],
            **{f"set__{f}": [f in faults for *_, faults in PLANTED_BAD_ROWS] for f in fields},
            **{f"ov__{f}": [faults.get(f) for *_, faults in PLANTED_BAD_ROWS] for f in fields},
        },
        schema_overrides={f"ov__{f}": pl.String for f in fields},
    )
    bad_container = pl.concat_str(
        pl.col("container_no").str.slice(0, 10),
        ((pl.col("container_no").str.slice(10, 1).cast(pl.Int64) + 1) % 10).cast(pl.String),
    )
    return (
        _consignments(rng, n, 0, ids)
        .drop("dispatch_date")
        .hstack(spec)
        .with_columns(
            (pl.col("month_start").str.to_date() + pl.duration(days=rng.integers(0, 28, n))).alias(
                "dispatch_date"
            ),
            pl.when(pl.col("ov__container_no") == BAD_CHECK_DIGIT)
            .then(bad_container)
            .otherwise(pl.col("ov__container_no"))
            .alias("ov__container_no"),
            pl.lit("quarantined").alias("outcome"),
            pl.col("reason").alias("case"),
            pl.lit(False).alias("is_copy"),
        )
        .with_columns(
            pl.concat_str(
                [
                    pl.when(pl.col(f"set__{f}")).then(
                        pl.format("{}={}", pl.lit(f), pl.col(f"ov__{f}").fill_null("<empty>"))
                    )
                    for f in fields
                ],
                separator="; ",
                ignore_nulls=True,
            ).alias("fault")
        )
        .drop("month_start")
    )


def _station_names(rows: pl.DataFrame, seeds: _Seeds, style: str) -> pl.DataFrame:
    """Origin/destination name columns in the file's naming style (names from the seeds)."""
    options = {
        "english": pl.concat_list("station_name"),
        "russian": pl.concat_list("station_name_ru"),
        "aliases": pl.concat_list("station_name", "aliases"),
    }[style]
    names = seeds.stations.select("station_code", options.alias("options"))
    for side, salt in (("origin", 0), ("destination", 7)):
        rows = rows.join(
            names.rename({"station_code": f"{side}_station_code", "options": "_options"}),
            on=f"{side}_station_code",
            how="left",
            maintain_order="left",
        ).with_columns(
            pl.col("_options")
            .list.get((pl.col("row_id") + salt) % pl.col("_options").list.len())
            .alias(f"{side}_station")
        )
        rows = rows.drop("_options")
    return rows


def _weight_text(style: str) -> tuple[pl.Expr, str | None]:
    """gross_weight as text in one of the dialects, and the weight_unit value."""
    kg = pl.col("gross_kg")
    tonnes = (kg // 1000).cast(pl.String)
    decimals = (kg % 1000 // 10).cast(pl.String).str.zfill(2)
    if style == "tonnes_decimal_comma":
        return pl.concat_str(tonnes, pl.lit(","), decimals), "т"  # Cyrillic "t"
    if style == "suffix":
        return (
            pl.when(pl.col("row_id") % 2 == 0)
            .then(pl.concat_str(tonnes, pl.lit("."), decimals, pl.lit(" t")))
            .otherwise(  # a space groups thousands: "18 550 kg"
                pl.concat_str(
                    tonnes, pl.lit(" "), (kg % 1000).cast(pl.String).str.zfill(3), pl.lit(" kg")
                )
            ),
            None,
        )
    if style == "tonnes_number":
        return (kg / 1000).cast(pl.String), "t"
    return kg.cast(pl.String), "kg"


def _as_text(rows: pl.DataFrame, seeds: _Seeds, spec: dict) -> pl.DataFrame:
    """Canonical columns as text in the file's dialect, planted faults applied."""
    descriptions = (
        CARGO_RU
        if spec["language"] == "ru"
        else dict(seeds.cargo.select("cargo_code", "cargo_description").iter_rows())
    )
    hazard = dict(seeds.cargo.select("cargo_code", "seed_hazard_class").iter_rows())
    weight, unit = _weight_text(spec["weights"])
    date_text = (
        pl.col("dispatch_date").dt.strftime(spec["date_format"])
        if spec["date_format"]
        else pl.col("dispatch_date").cast(pl.String)
    )
    text = _station_names(rows, seeds, spec["station_names"]).with_columns(
        date_text.alias("dispatch_date"),
        pl.col("cargo_code").replace_strict(descriptions).alias("cargo_description"),
        pl.col("cargo_code").replace_strict(hazard).alias("hazard_class"),
        weight.alias("gross_weight"),
        pl.lit(unit, pl.String).alias("weight_unit"),
        pl.col("packages").cast(pl.String),
    )
    for column in MANIFEST_COLUMNS:
        if f"set__{column}" in text.columns:
            text = text.with_columns(
                pl.when(pl.col(f"set__{column}").fill_null(False))
                .then(pl.col(f"ov__{column}"))
                .otherwise(pl.col(column))
                .alias(column)
            )
    headers = HEADERS[spec["headers"]]
    return text.select(pl.col(c).alias(h) for c, h in headers.items())


def _write_manifest_file(path: Path, rows: pl.DataFrame, spec: dict, seeds: _Seeds) -> None:
    text = _as_text(rows, seeds, spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    if spec["format"] == "csv":
        body = text.write_csv(
            separator=spec["delimiter"],
            line_terminator="\r\n" if spec["line_ending"] == "CRLF" else "\n",
        )
        path.write_bytes(body.encode(spec["encoding"]))
        return
    typed = text.with_columns(
        pl.col("gross_weight").cast(pl.Float64), pl.col("packages").cast(pl.Int64)
    )
    if spec["format"] == "jsonl":
        typed.write_ndjson(path)
    else:
        typed.with_columns(pl.col("dispatch_date").str.to_date()).write_parquet(path)


def _outcome_counts(rows: pl.DataFrame) -> dict:
    """What ingest should make of these rows: conservation read = accepted + quarantined + dup."""
    outcome = rows["outcome"].value_counts()
    count = dict(outcome.iter_rows())
    reasons = rows.filter(pl.col("outcome") == "quarantined")["reason"].value_counts(sort=True)
    return {
        "rows_written": rows.height,
        "rows_accepted": count.get("accepted", 0) + count.get("superseded", 0),
        "rows_superseded": count.get("superseded", 0),
        "rows_quarantined": count.get("quarantined", 0),
        "rows_duplicate": count.get("duplicate", 0),
        "quarantined_by_reason": dict(sorted(reasons.iter_rows())),
    }


def _aggregate(rows: pl.DataFrame) -> pl.DataFrame:
    """Shipments, kg and containers per (is_explosive, month, route): small and mergeable."""
    return rows.group_by(
        "is_explosive",
        pl.col("dispatch_date").dt.strftime("%Y-%m").alias("month"),
        pl.concat_str("origin_station_code", pl.lit("-"), "destination_station_code").alias(
            "route_id"
        ),
    ).agg(
        pl.len().alias("shipments"),
        pl.col("gross_kg").sum().alias("kg"),
        pl.col("container_no").count().alias("containers"),
    )


def _totals(parts: list[pl.DataFrame]) -> dict:
    """Exact totals over valid current rows; tonnes = gross_weight (declared cargo mass) / 1000."""
    agg = (
        pl.concat(parts)
        .group_by("is_explosive", "month", "route_id")
        .agg(pl.col("shipments", "kg", "containers").sum())
    )

    def by(frame: pl.DataFrame, key: str) -> dict[str, dict[str, float | int]]:
        grouped = frame.group_by(key).agg(pl.col("shipments", "kg").sum()).sort(key)
        return {
            k: {"shipments": n, "tonnes": kg / 1000}
            for k, n, kg in grouped.select(key, "shipments", "kg").iter_rows()
        }

    explosive = agg.filter(pl.col("is_explosive"))
    background = agg.filter(~pl.col("is_explosive"))
    in_period = explosive.filter(
        pl.col("month").is_between(
            pl.lit(PERIOD_START.strftime("%Y-%m")), pl.lit(PERIOD_END.strftime("%Y-%m"))
        )
    )
    return {
        "tonnes_basis": "gross_weight of the consignment (declared cargo mass, no wagon tare) "
        "/ 1000, over valid current rows: quarantined, duplicate and superseded rows excluded",
        "shipments": int(agg["shipments"].sum()),
        "tonnes": int(agg["kg"].sum()) / 1000,
        "explosive": {
            "shipments": int(explosive["shipments"].sum()),
            "tonnes": int(explosive["kg"].sum()) / 1000,
            "tonnes_in_period": int(in_period["kg"].sum()) / 1000,
            "containers": int(explosive["containers"].sum()),
            "by_month": by(explosive, "month"),
            "by_route": by(explosive, "route_id"),
            "by_month_route": [
                {"month": m, "route_id": r, "shipments": n, "tonnes": kg / 1000}
                for m, r, n, kg in explosive.sort("month", "route_id")
                .select("month", "route_id", "shipments", "kg")
                .iter_rows()
            ],
        },
        "background": {
            "shipments": int(background["shipments"].sum()),
            "tonnes": int(background["kg"].sum()) / 1000,
            "by_route": by(background, "route_id"),
        },
    }


# --------------------------------------------------------------------------- scale mode


def _write_scale_manifests(raw_dir: Path, seed: int, rows: int, seeds: _Seeds) -> dict:
    """One clean CSV of ``rows`` consignments, chunk by chunk: memory does not grow with rows."""
    if not 1 <= rows < 10**9:
        raise ValueError(f"rows must be between 1 and 999,999,999, got {rows:,}")
    rel = f"manifests/synthetic_manifests_scale_{rows}.csv"
    spec = MANIFEST_FILES[0]
    (raw_dir / "manifests").mkdir(parents=True, exist_ok=True)
    parts: list[pl.DataFrame] = []
    started = time.perf_counter()
    with open(raw_dir / rel, "wb") as fh:
        for chunk, start in enumerate(range(0, rows, SCALE_CHUNK)):
            n = min(SCALE_CHUNK, rows - start)
            n_exp = round(n * SCALE_EXPLOSIVE_SHARE)
            # one generator per chunk: the bytes depend only on (seed, rows), not on timing
            rng = np.random.default_rng([seed, chunk])
            block = _consignments(rng, n_exp, n - n_exp, np.arange(start, start + n))
            _as_text(block, seeds, spec).write_csv(fh, include_header=chunk == 0)
            parts.append(_aggregate(block))
            done = start + n
            _progress(
                rows,
                f"{done:,} / {rows:,} rows ({done / rows:.0%}), "
                f"{time.perf_counter() - started:.1f} s",
            )
    counts = {
        "rows_written": rows,
        "rows_accepted": rows,
        "rows_superseded": 0,
        "rows_quarantined": 0,
        "rows_duplicate": 0,
        "quarantined_by_reason": {},
    }
    return {
        "files": [rel],
        "per_file": {
            rel: {**{k: v for k, v in spec.items() if k not in ("name", "months")}, **counts}
        },
        **counts,
        "planted": [],
        "current": _totals(parts),
    }


DAY_ID_BASE = 400_000_000  # waybill/container ids of one-day files: clear of the scale file's
DAY_MAX_ROWS = 1_000_000


def generate_day(raw_dir: Path, day: date, rows: int, seed: int = 7) -> Path:
    """One more clean manifest file: ``rows`` consignments all dispatched on ``day``.

    What a daily delivery looks like, for measuring an incremental run on top of a large
    state. Other files are left alone; ids never collide with the scale file's.
    """
    if not PERIOD_START <= day <= PERIOD_END:
        raise ValueError(f"day must lie in {PERIOD_START}..{PERIOD_END}, got {day}")
    if not 1 <= rows <= DAY_MAX_ROWS:
        raise ValueError(f"rows must be between 1 and {DAY_MAX_ROWS:,}, got {rows:,}")
    path = raw_dir / "manifests" / f"synthetic_manifests_day_{day.isoformat()}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    first = DAY_ID_BASE + (day - PERIOD_START).days * DAY_MAX_ROWS
    rng = np.random.default_rng([seed, day.toordinal()])
    n_exp = round(rows * SCALE_EXPLOSIVE_SHARE)
    block = _consignments(rng, n_exp, rows - n_exp, np.arange(first, first + rows))
    block = block.with_columns(pl.lit(day).alias("dispatch_date"))
    _as_text(block, _Seeds.load(), MANIFEST_FILES[0]).write_csv(path)
    return path


def _progress(rows: int | None, message: str) -> None:
    """Progress on stderr, only for runs big enough to wait for."""
    if rows is not None and rows >= 1_000_000:
        print(f"generate: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- voyages


def _imo_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """Synthetic 7-digit IMO numbers: 6 random digits + the IMO check digit."""
    base = rng.choice(np.arange(100_000, 1_000_000), n, replace=False)
    digits = base[:, None] // 10 ** np.arange(5, -1, -1) % 10
    check = (digits * np.arange(7, 1, -1)).sum(axis=1) % 10
    return (base * 10 + check).astype(str).tolist()


def _write_voyages(raw_dir: Path, rng: np.random.Generator, seeds: _Seeds) -> dict:
    """Port calls: each voyage is a laden Rajin call followed by a laden call at Dunai/Vostochny.

    Two distractor vessels add calls that must NOT count: a ballast (unladen) pair and a
    laden trip to Vladivostok.
    """
    names = list(VOYAGE_VESSELS)
    counts = np.array(list(VOYAGE_VESSELS.values()))
    n = int(counts.sum())
    vessel = np.repeat(np.arange(len(names)), counts)
    k = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)  # voyage number per vessel
    cycle_days = 170 // counts
    rajin_arrival = (
        np.datetime64(PERIOD_START, "D")
        + rng.integers(1, 6, len(names))[vessel]
        + k * cycle_days[vessel]
        + rng.integers(0, 3, n)
    )
    rajin_departure = rajin_arrival + rng.integers(1, 3, n)
    ru_arrival = rajin_departure + rng.integers(2, 4, n)
    ru_departure = ru_arrival + rng.integers(2, 5, n)
    ru_port = _labels(["RUDUN", "RUVYP"], _pick(rng, {"RUDUN": 0.6, "RUVYP": 0.4}, n))
    distractors = {
        "vessel_name": ["Sea Falcon (synthetic)"] * 2 + ["Mirny Bay (synthetic)"] * 2,
        "port_code": ["KPRJN", "RUVYP", "KPRJN", "RUVVO"],
        "arrival": ["2023-09-10", "2023-09-14", "2023-11-05", "2023-11-09"],
        "departure": ["2023-09-11", "2023-09-16", "2023-11-06", "2023-11-11"],
        "laden": [False, False, True, True],
    }
    all_names = [*names, "Sea Falcon (synthetic)", "Mirny Bay (synthetic)"]
    imo = dict(zip(all_names, _imo_numbers(rng, len(all_names)), strict=True))
    calls = pl.concat(
        [
            pl.DataFrame(
                {
                    "vessel_name": np.tile(np.array(names)[vessel], 2),
                    "port_code": pl.concat([pl.Series(["KPRJN"] * n), ru_port]),
                    "arrival": np.concatenate([rajin_arrival, ru_arrival]),
                    "departure": np.concatenate([rajin_departure, ru_departure]),
                    "laden": np.ones(2 * n, bool),
                },
            ).with_columns(pl.col("arrival", "departure").cast(pl.Date)),
            pl.DataFrame(distractors).with_columns(pl.col("arrival", "departure").str.to_date()),
        ]
    ).with_row_index("call")
    ports = seeds.ports.rename({"names": "_names"})
    text = (
        calls.join(ports, on="port_code", how="left", maintain_order="left")
        .with_columns(
            pl.col("_names")
            .list.get(pl.Series(rng.integers(0, 1000, calls.height)) % pl.col("_names").list.len())
            .alias("port"),
            pl.col("vessel_name").replace_strict(imo).alias("imo"),
        )
        .sort("vessel_name", "arrival")
    )
    path = raw_dir / VOYAGES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    text.select(VOYAGE_COLUMNS).write_csv(path)
    voyages = pl.DataFrame({"vessel_name": np.array(names)[vessel], "port_code": ru_port})
    return {
        "files": [VOYAGES_FILE],
        "port_calls": calls.height,
        "voyages": n,
        "rule": "a voyage is a laden departure call at Rajin (KPRJN) followed by the same "
        "vessel's next call, laden, at Dunai (RUDUN) or Vostochny (RUVYP)",
        "voyages_by_vessel": dict(sorted(voyages["vessel_name"].value_counts().iter_rows())),
        "voyages_by_port": dict(sorted(voyages["port_code"].value_counts().iter_rows())),
        "first_departure": str(rajin_departure.min()),
        "last_arrival": str(ru_arrival.max()),
        "vessels": imo,
        "distractor_calls": 4,
    }


# --------------------------------------------------------------------------- reports


def _claim(
    text: str,
    metric: str,
    value: int,
    qualifier: str,
    low: int | None = None,
    high: int | None = None,
    period: tuple[str, date, date] | None = None,
) -> dict:
    """One entry of the answer key: a claim as it appears in a report's text.

    ``period`` (its words, start, end) is given for claims whose period is not the report's:
    the extractor must resolve those words to those dates.
    """
    claim = {
        "text": text,
        "metric": metric,
        "value": value,
        "value_low": value if low is None else low,
        "value_high": value if high is None else high,
        "qualifier": qualifier,
    }
    if period is not None:
        words, start, end = period
        claim |= {
            "period_text": words,
            "period_start": start.isoformat(),
            "period_end": end.isoformat(),
        }
    return claim


# Invented publishers and wording; only the orders of magnitude echo public reporting.
# Paragraphs are single lines so that claims never straddle a line break.
# "claims" are what a careful reader takes from each text (the extractor's answer key);
# "traps" are numbers in the text that are NOT claims.
REPORTS: list[dict] = [
    {
        "file": "synthetic_report_01_rail_ledger_observatory.md",
        "front_matter": {
            "title": "Explosive cargo by rail from two Far East ports (synthetic example)",
            "publisher": "Rail Ledger Observatory (fictional)",
            "published": date(2024, 2, 20),
            "url": "https://example.org/synthetic/rail-ledger-observatory/far-east-ports",
            "language": "en",
            "synthetic": True,
            "claims": [
                {
                    "metric": "explosives_tonnes",
                    "value": 74000,
                    "qualifier": "over",
                    "period_start": date(2023, 8, 1),
                    "period_end": date(2024, 1, 31),
                    "direction_from": "KP",
                    "direction_to": "RU",
                },
                {
                    "metric": "rounds",
                    "value": 1600000,
                    "qualifier": "about",
                    "period_start": date(2023, 8, 1),
                    "period_end": date(2024, 1, 31),
                    "direction_from": "KP",
                    "direction_to": "RU",
                },
            ],
        },
        "paragraphs": [
            "# Explosive cargo by rail from two Far East ports",
            "SYNTHETIC REPORT: written to test the shipment ledger. The publisher, the wording "
            "and the analysis are invented.",
            "Our reading of rail consignment records shows that more than 74,000 metric tons of "
            "cargo declared as explosives left the port stations of Dunai and "
            "Nakhodka-Vostochnaya from August 2023 to January 2024. Most consignments were routed "
            "to depots near the western border, above all Tikhoretskaya and Kotluban.",
            "Taken together with port imagery, the pattern fits a supply line from North Korea "
            "to Russia. At roughly 46 kg per packed round, that tonnage corresponds to about 1.6 "
            "million artillery rounds.",
            "The busiest single day in the records was 14 October 2023. Most crates seem sized "
            "for 152mm ammunition, and October volumes were 30 percent above September (see the "
            "chart on page 12).",
        ],
        "claims": [
            _claim("more than 74,000 metric tons", "explosives_tonnes", 74_000, "over"),
            _claim("about 1.6 million artillery rounds", "rounds", 1_600_000, "about"),
        ],
        "period": "from August 2023 to January 2024",
        "direction": "from North Korea to Russia",
        "traps": ["14 October 2023", "152mm", "30 percent", "page 12", "46 kg"],
    },
    {
        "file": "synthetic_report_02_harbour_lens.md",
        "front_matter": {
            "title": "Port calls between Rajin and Primorye terminals (synthetic example)",
            "publisher": "Harbour Lens Monitor (fictional)",
            "published": date(2024, 2, 8),
            "url": "https://example.org/synthetic/harbour-lens/rajin-port-calls",
            "language": "en",
            "synthetic": True,
            "claims": [
                {
                    "metric": "shipments",
                    "value": 27,
                    "qualifier": "exact",
                    "period_start": date(2023, 8, 1),
                    "period_end": date(2024, 1, 31),
                    "direction_from": "KP",
                    "direction_to": "RU",
                }
            ],
        },
        "paragraphs": [
            "# Port calls between Rajin and Primorye terminals",
            "SYNTHETIC REPORT: the monitor, its imagery and this text are invented for testing.",
            "Starting in August 2023, repeated satellite passes counted 27 shipments within six "
            "months from the North Korean port of Rajin to the Russian terminals at Dunai and "
            "Vostochny. The cargo ships Angara, Lady R, Maia-1 and Maria made the crossings, "
            "usually with their transponders switched off.",
            "The first loaded departure we could confirm was on 9 August 2023. Stacks of "
            "containers were visible on the quay at each call, and the ships went back to Rajin "
            "in ballast after unloading. Crate markings were consistent with 122-mm rounds "
            "(Figure 3).",
            "In October 2023 alone the four ships made at least six trips from Rajin to Russia.",
        ],
        "claims": [
            _claim("27 shipments", "shipments", 27, "exact"),
            _claim(
                "at least six trips",
                "shipments",
                6,
                "over",
                period=("In October 2023", date(2023, 10, 1), date(2023, 10, 31)),
            ),
        ],
        "period": "within six months",
        "direction": "from the North Korean port of Rajin to the Russian terminals",
        "traps": ["9 August 2023", "122-mm", "Figure 3"],
    },
    {
        "file": "synthetic_report_03_ministry_statement.md",
        "front_matter": {
            "title": "Statement on munitions transfers (synthetic example)",
            "publisher": "Ministry of Examples, press office (fictional)",
            "published": date(2024, 6, 14),
            "url": "https://example.org/synthetic/ministry-of-examples/statement-0614",
            "language": "en",
            "synthetic": True,
            "claims": [
                {
                    "metric": "containers",
                    "value": 10000,
                    "qualifier": "about",
                    "period_start": date(2023, 8, 1),
                    "period_end": date(2024, 6, 30),
                    "direction_from": "KP",
                    "direction_to": "RU",
                }
            ],
        },
        "paragraphs": [
            "# Statement on munitions transfers",
            "SYNTHETIC REPORT: this statement and its issuer are fictional test material.",
            "The ministry said at a briefing on 13 June 2024 that, since August, about 10,000 "
            "containers had been shipped from North Korea to Russia. Officials added that the "
            "containers could hold nearly 5 million shells.",
            "The statement gave no breakdown by port or by month.",
            "Since last September, the ministry added, more than 60,000 tonnes of ammunition "
            "had crossed the border by rail.",
        ],
        "claims": [
            _claim("about 10,000 containers", "containers", 10_000, "about"),
            _claim("nearly 5 million shells", "rounds", 5_000_000, "nearly"),
            _claim(
                "more than 60,000 tonnes",
                "explosives_tonnes",
                60_000,
                "over",
                period=("Since last September", date(2023, 9, 1), date(2024, 6, 30)),
            ),
        ],
        "period": "since August",
        "direction": "from North Korea to Russia",
        "traps": ["13 June 2024"],
    },
    {
        "file": "synthetic_report_04_open_numbers.md",
        "front_matter": {
            "title": "How many rounds fit in the declared tonnage? (synthetic example)",
            "publisher": "Open Numbers Institute (fictional)",
            "published": date(2024, 3, 1),
            "url": "https://example.org/synthetic/open-numbers/rounds-per-tonne",
            "language": "en",
            "synthetic": True,
        },
        "paragraphs": [
            "# How many rounds fit in the declared tonnage?",
            "SYNTHETIC REPORT: an invented methods note for testing.",
            "Converting tonnage into rounds depends on the assumed mix. For the flows from North "
            "Korea to Russia between August 2023 and January 2024, other estimates put the total "
            "at 4.8 to 5 million rounds, which would imply a much lighter mix than 152mm shells "
            "alone.",
            "Packaging matters too: in our sample of crates, about 30 percent of the gross mass "
            "was wood and metal rather than ammunition (table on page 7).",
            "## Counting containers",
            "Our own count of loaded flatcars came to about 3,000 containers. That was from "
            "September to December 2023, at the two port stations.",
        ],
        "claims": [
            _claim("4.8 to 5 million rounds", "rounds", 4_900_000, "exact", 4_800_000, 5_000_000),
            _claim(
                "about 3,000 containers",
                "containers",
                3_000,
                "about",
                period=("from September to December 2023", date(2023, 9, 1), date(2023, 12, 31)),
            ),
        ],
        "period": "between August 2023 and January 2024",
        "direction": "from North Korea to Russia",
        "traps": ["152mm", "30 percent", "page 7"],
    },
    {
        "file": "synthetic_report_05_coastal_courier.md",
        "front_matter": {
            "title": "Shells heading the other way? (synthetic example)",
            "publisher": "The Coastal Courier (fictional)",
            "published": date(2024, 1, 15),
            "url": "https://example.org/synthetic/coastal-courier/shells-other-way",
            "language": "en",
            "synthetic": True,
        },
        "paragraphs": [
            "# Shells heading the other way?",
            "SYNTHETIC REPORT: a fictional newspaper item whose direction contradicts the other "
            "sources.",
            "A source quoted by the paper claimed that some 300,000 shells were moving from "
            "Russia to North Korea between September 2023 and December 2023, in exchange for "
            "grain and fuel. The paper printed the claim on page 2 without independent "
            "confirmation.",
        ],
        "claims": [_claim("some 300,000 shells", "rounds", 300_000, "about")],
        "period": "between September 2023 and December 2023",
        "direction": "from Russia to North Korea",
        "traps": ["page 2"],
    },
]


def _write_reports(raw_dir: Path) -> dict:
    import yaml

    folder = raw_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    for report in REPORTS:
        front = yaml.safe_dump(report["front_matter"], sort_keys=False, allow_unicode=True)
        body = "\n\n".join(report["paragraphs"])
        (folder / report["file"]).write_text(f"---\n{front}---\n\n{body}\n")
    return {
        "files": [f"reports/{r['file']}" for r in REPORTS],
        "count": len(REPORTS),
        "planted_claims": [
            {
                "report_id": r["file"].removesuffix(".md"),
                "period_text": r["period"],
                "direction_text": r["direction"],
                **claim,
            }
            for r in REPORTS
            for claim in r["claims"]
        ],
        "traps": {r["file"].removesuffix(".md"): r["traps"] for r in REPORTS},
        "conflicting_direction": ["synthetic_report_05_coastal_courier"],
    }


# --------------------------------------------------------------------------- files and CLI


def _prepare(raw_dir: Path, clean: bool) -> None:
    """Remove the previous run's files (or, with ``clean``, every input file)."""
    summary = raw_dir / "GENERATED.json"
    stale = list(json.loads(summary.read_text()).get("files", {})) if summary.exists() else []
    doomed = [raw_dir / rel for rel in stale]
    if clean:
        doomed += [
            p for sub in ("manifests", "voyages", "reports") for p in (raw_dir / sub).glob("*")
        ]
    for path in doomed:
        if path.is_file():
            path.unlink()
    summary.unlink(missing_ok=True)


def cmd_generate(args: argparse.Namespace) -> int:
    """`ledger generate` (its arguments are declared in orchestration/cli.py)."""
    out = args.out or LedgerPaths.from_env().raw_dir
    if args.day is not None:
        path = generate_day(out, args.day, args.rows or 55_000, seed=args.seed)
        print(f"wrote SYNTHETIC manifests for {args.day}: {path}")
        return 0
    summary = generate(out, seed=args.seed, rows=args.rows, clean=args.clean)
    m = summary["manifests"]
    explosive = m["current"]["explosive"]
    print(
        f"wrote SYNTHETIC data to {out}: {len(summary['files'])} files, "
        f"{m['rows_written']:,} manifest rows ({m['rows_quarantined']} planted bad, "
        f"{m['rows_duplicate']} duplicate), {explosive['shipments']:,} explosive consignments "
        f"= {explosive['tonnes']:,.2f} t, {summary['voyages']['voyages']} voyages, "
        f"{summary['reports']['count']} reports; summary in {out / 'GENERATED.json'}"
    )
    return 0
