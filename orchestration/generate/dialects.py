"""Manifest rows as text in each sample file's dialect: headers, names, dates, weights, encoding.

``MANIFEST_FILES`` lists the sample's five files and how each one is written; the scale and
one-day files use the first (plain English CSV).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from orchestration.generate.seeds import Seeds
from orchestration.ingest.contract import MANIFEST_COLUMNS

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


def _station_names(rows: pl.DataFrame, seeds: Seeds, style: str) -> pl.DataFrame:
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


def as_text(rows: pl.DataFrame, seeds: Seeds, spec: dict) -> pl.DataFrame:
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


def write_manifest_file(path: Path, rows: pl.DataFrame, spec: dict, seeds: Seeds) -> None:
    text = as_text(rows, seeds, spec)
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
