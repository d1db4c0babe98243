"""Parsing rules as polars expressions: exact values for each accepted and rejected shape."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from orchestration.defs.ingest.parsing import (
    MANIFEST_COLUMNS,
    MANIFEST_REQUIRED,
    Lookups,
    map_headers,
    missing_required,
    parse_date_expr,
    resolve_expr,
    unit_expr,
    unit_factor_expr,
    weight_parts,
)


def _eval(values: list[str | None], expr) -> list:
    return (
        pl.DataFrame({"v": values}, schema={"v": pl.String})
        .select(expr(pl.col("v")))[:, 0]
        .to_list()
    )


def test_dates_iso_dotted_slashed_and_failures() -> None:
    values = [
        "2023-08-01",
        "2023-08-01T10:30:00",
        "01.08.2023",
        "1.8.2023",
        "15/09/2023",
        "31.11.2023",
        "1O/11/2023",
        "2023/08/01",
        "08-01-2023",
        None,
    ]
    assert _eval(values, parse_date_expr) == [
        date(2023, 8, 1),
        date(2023, 8, 1),
        date(2023, 8, 1),
        date(2023, 8, 1),
        date(2023, 9, 15),
        None,
        None,
        None,
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("value", "unit_column", "kg"),
    [
        ("18500", None, 18500.0),
        ("18500", "kg", 18500.0),
        ("18,5", "т", 18500.0),
        ("18,5", "t", 18500.0),
        ("18.5 t", None, 18500.0),
        ("18.55 T", None, 18550.0),
        ("18 500 kg", None, 18500.0),
        ("18\u00a0500 кг", None, 18500.0),
        ("18,500", None, 18500.0),
        ("18,500.5", "kg", 18500.5),
        ("18.500,5", "kg", 18500.5),
        ("1.234.567", None, 1234567.0),
        ("18.5", "tonnes", 18500.0),
        ("18500 kg", "t", 18500.0),  # the suffix on the value wins over the column
        ("-18550", None, -18550.0),
    ],
)
def test_weights_normalise_to_kg(value: str, unit_column: str | None, kg: float) -> None:
    frame = pl.DataFrame(
        {"w": [value], "u": [unit_column]}, schema={"w": pl.String, "u": pl.String}
    )
    number, suffix = weight_parts(pl.col("w"))
    unit = unit_expr(suffix, pl.col("u"))
    assert frame.select(number * unit_factor_expr(unit)).item() == pytest.approx(kg)


@pytest.mark.parametrize(("value", "unit_column"), [("18.5 cwt", None), ("18500", "lb")])
def test_unknown_units_have_no_factor(value: str, unit_column: str | None) -> None:
    frame = pl.DataFrame(
        {"w": [value], "u": [unit_column]}, schema={"w": pl.String, "u": pl.String}
    )
    number, suffix = weight_parts(pl.col("w"))
    out = frame.select(
        number.alias("n"), unit_factor_expr(unit_expr(suffix, pl.col("u"))).alias("f")
    )
    assert out.row(0) == (18.5 if "cwt" in value else 18500.0, None)


def test_unparseable_weight_has_no_number() -> None:
    assert _eval(["abc", "", "t 18"], lambda c: weight_parts(c)[0]) == [None, None, None]


def test_header_aliases_russian_english_case_and_spacing() -> None:
    headers = [
        "\ufeffНомер накладной",
        "  DATE ",
        "Origin Code",
        "станция назначения",
        "Cargo_Code",
        "Вес брутто",
        "Единица измерения",
        "Waybill",  # second waybill column: kept aside, not mapped twice
        "remarks",
        "",
    ]
    mapped, unmapped = map_headers(headers, MANIFEST_COLUMNS)
    assert mapped == {
        "\ufeffНомер накладной": "waybill_no",
        "  DATE ": "dispatch_date",
        "Origin Code": "origin_station_code",
        "станция назначения": "destination_station",
        "Cargo_Code": "cargo_code",
        "Вес брутто": "gross_weight",
        "Единица измерения": "weight_unit",
    }
    assert unmapped == ["Waybill", "remarks"]
    assert missing_required(mapped.values(), MANIFEST_REQUIRED) == []
    assert missing_required(["waybill_no", "origin_station"], MANIFEST_REQUIRED) == [
        "dispatch_date",
        "destination_station_code or destination_station",
        "cargo_code",
        "gross_weight",
    ]


def test_station_and_port_names_resolve_through_seed_aliases() -> None:
    lookups = Lookups.from_seeds()
    stations = ["Тихорецк", "  tikhoretsk ", "515202", "DUNAI", "Находка  Восточная", "Атлантида"]
    assert _eval(stations, lambda c: resolve_expr(c, lookups.stations)) == [
        "515202",
        "515202",
        "515202",
        "986808",
        "984700",
        None,
    ]
    ports = ["Rajin (Rason)", "vostochny port", "RUDUN", "Дунай", "Atlantis"]
    assert _eval(ports, lambda c: resolve_expr(c, lookups.ports)) == [
        "KPRJN",
        "RUVYP",
        "RUDUN",
        "RUDUN",
        None,
    ]
