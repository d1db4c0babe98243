"""Parsing rules as polars expressions: exact values for each accepted and rejected shape."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from orchestration.ingest.contract import MANIFEST_COLUMNS, MANIFEST_REQUIRED
from orchestration.ingest.headers import map_headers, missing_required
from orchestration.ingest.lookups import Lookups, resolve_expr
from orchestration.ingest.parsing import manifest_plan
from orchestration.ingest.rules import apply_plan
from orchestration.ingest.stations import StationIndex
from orchestration.ingest.values import parse_date_expr, unit_expr, unit_factor_expr, weight_stages


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
    frame = _weights([value], [unit_column])
    unit = unit_expr(pl.col("w_suffix"), pl.col("u"))
    assert frame.select(pl.col("w_number") * unit_factor_expr(unit)).item() == pytest.approx(kg)


@pytest.mark.parametrize(("value", "unit_column"), [("18.5 cwt", None), ("18500", "lb")])
def test_unknown_units_have_no_factor(value: str, unit_column: str | None) -> None:
    out = _weights([value], [unit_column]).select(
        pl.col("w_number").alias("n"),
        unit_factor_expr(unit_expr(pl.col("w_suffix"), pl.col("u"))).alias("f"),
    )
    assert out.row(0) == (18.5 if "cwt" in value else 18500.0, None)


def test_unparseable_weight_has_no_number() -> None:
    assert _weights(["abc", "", "t 18"], [None] * 3)["w_number"].to_list() == [None] * 3


def _weights(values: list[str], units: list[str | None]) -> pl.DataFrame:
    """Columns w (weight as written) and u (unit column), with weight_stages' columns w_*."""
    frame = pl.DataFrame({"w": values, "u": units}, schema={"w": pl.String, "u": pl.String})
    for stage in weight_stages(pl.col("w"), "w"):
        frame = frame.with_columns(stage)
    return frame


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
    assert _eval(stations, lambda c: resolve_expr(c, lookups.stations.by_name)) == [
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


def _manifest_rows(stations: pl.DataFrame, rows: list[dict[str, str]]) -> tuple[list, list]:
    """(accepted, quarantined) rows of ``rows`` parsed against a stations seed of our own."""
    lookups = Lookups(StationIndex.from_seed(stations), ports={})
    base = {c: None for c in MANIFEST_COLUMNS} | {
        "waybill_no": "W",
        "dispatch_date": "2023-08-01",
        "cargo_code": "481203",
        "gross_weight": "18500",
    }
    frame = pl.DataFrame(
        [base | r for r in rows], schema=dict.fromkeys(MANIFEST_COLUMNS, pl.String)
    ).with_columns(
        pl.int_range(1, len(rows) + 1).alias("source_row"),
        pl.lit(False).alias("__encoding_error"),
        pl.lit(None, pl.String).alias("__malformed"),
        pl.lit(None, pl.String).alias("extra_fields"),
    )
    accepted, quarantined = apply_plan(frame, manifest_plan(lookups, date(2024, 6, 1)), "m.csv")
    columns = [
        "origin_station_code",
        "origin_station_matched_by",
        "origin_station_code_given",
        "destination_station_code",
    ]
    return (
        accepted.select("source_row", *columns).rows(),
        quarantined.select("source_row", "reason_code", "reason_message").rows(),
    )


def test_a_name_of_several_stations_needs_a_code_that_agrees() -> None:
    """Two stations share the alias "Port": the name alone resolves nothing, a code decides,
    and a code of a third station conflicts with both."""
    stations = pl.DataFrame(
        {
            "station_code": ["100001", "100002", "100003"],
            "station_name": ["Alpha", "Beta", "Gamma"],
            "station_name_ru": ["Альфа", "Бета", "Гамма"],
            "aliases": ["Port|Alfa", "PORT", None],
        }
    )
    accepted, quarantined = _manifest_rows(
        stations,
        [
            {"origin_station": "port", "destination_station": "Gamma"},
            {"origin_station_code": "100002", "origin_station": "Port", "destination_station": "g"},
            {
                "origin_station_code": "100003",
                "origin_station": "PORT",
                "destination_station": "Гамма",
            },
            {
                "origin_station_code": "555",
                "origin_station": "alfa",
                "destination_station": "ГАММА",
            },
        ],
    )
    assert accepted == [(4, "100001", "name", "555", "100003")]
    assert quarantined == [
        (
            1,
            "unknown_station",
            "m.csv row 1, field 'origin_station': station 'port' names several stations in"
            " seeds/stations.csv (Alpha (100001), Beta (100002)); give its code",
        ),
        (
            2,
            "unknown_station",
            "m.csv row 2, field 'destination_station': station 'g' is not a code, name or alias"
            " in seeds/stations.csv",
        ),
        (
            3,
            "station_code_name_conflict",
            "m.csv row 3, field 'origin_station_code': code '100003' is Gamma (100003) but name"
            " 'PORT' is one of Alpha (100001), Beta (100002)",
        ),
    ]
