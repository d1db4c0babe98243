"""Parsing rules as polars expressions, so they run vectorised (and streaming) on any file size.

Every rule reads text columns (readers hand over all values as strings) and either yields a
typed value or, through ``reason_exprs``, the first reason a row cannot be accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import polars as pl

from orchestration.ingest.exprs import (
    Rule,
    clean_text,
    code_text_expr,
    excerpt_expr,
    lookup_key,
    quoted,
)
from orchestration.ingest.stations import (
    StationIndex,
    output_columns,
    resolution_stages,
    station_rules,
)
from orchestration.iso6346 import is_valid_expr
from orchestration.paths import SEEDS_DIR

MANIFEST_COLUMNS = (
    "waybill_no",
    "dispatch_date",
    "origin_station_code",
    "origin_station",
    "destination_station_code",
    "destination_station",
    "shipper",
    "consignee",
    "cargo_code",
    "cargo_description",
    "hazard_class",
    "wagon_no",
    "container_no",
    "gross_weight",
    "weight_unit",
    "packages",
)
VOYAGE_COLUMNS = ("vessel_name", "imo", "port", "arrival", "departure", "laden")

# Each inner tuple is "one of these columns must be present" (station code or name suffices).
MANIFEST_REQUIRED: tuple[tuple[str, ...], ...] = (
    ("waybill_no",),
    ("dispatch_date",),
    ("origin_station_code", "origin_station"),
    ("destination_station_code", "destination_station"),
    ("cargo_code",),
    ("gross_weight",),
)
VOYAGE_REQUIRED: tuple[tuple[str, ...], ...] = (("vessel_name",), ("port",), ("arrival",))

# Header variants seen in real manifests, compared after ``normalise_header``.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "waybill_no": ("waybill", "waybill number", "waybill nr", "номер накладной", "накладная"),
    "dispatch_date": (
        "date",
        "dispatch",
        "dispatched",
        "shipment date",
        "date of dispatch",
        "дата отправления",
        "дата отправки",
        "дата",
    ),
    "origin_station_code": (
        "origin code",
        "from code",
        "origin esr",
        "код станции отправления",
        "код ст отправления",
    ),
    "origin_station": (
        "origin",
        "from",
        "from station",
        "origin station name",
        "станция отправления",
    ),
    "destination_station_code": (
        "destination code",
        "dest code",
        "to code",
        "destination esr",
        "код станции назначения",
        "код ст назначения",
    ),
    "destination_station": (
        "destination",
        "dest",
        "to",
        "to station",
        "destination station name",
        "станция назначения",
    ),
    "shipper": ("sender", "consignor", "грузоотправитель", "отправитель"),
    "consignee": ("receiver", "recipient", "грузополучатель", "получатель"),
    "cargo_code": ("cargo code", "etsng", "etsng code", "commodity code", "код груза", "код етснг"),
    "cargo_description": (
        "cargo",
        "commodity",
        "description",
        "cargo name",
        "наименование груза",
        "груз",
    ),
    "hazard_class": ("hazard", "dangerous goods class", "un class", "класс опасности"),
    "wagon_no": ("wagon", "wagon number", "car", "car no", "номер вагона", "вагон"),
    "container_no": ("container", "container number", "номер контейнера", "контейнер"),
    "gross_weight": (
        "weight",
        "gross weight",
        "gross",
        "weight gross",
        "вес брутто",
        "вес",
        "масса брутто",
        "масса",
    ),
    "weight_unit": ("unit", "weight unit", "uom", "единица измерения", "ед изм", "единица"),
    "packages": ("pieces", "packages count", "pkgs", "количество мест", "мест", "места"),
    "vessel_name": ("vessel", "ship", "ship name", "судно", "название судна"),
    "imo": ("imo number", "imo no", "номер imo"),
    "port": ("port name", "port of call", "порт"),
    "arrival": ("arrived", "arrival date", "eta", "прибытие", "дата прибытия"),
    "departure": ("departed", "departure date", "etd", "отход", "дата отхода"),
    "laden": ("loaded", "is laden", "гружёный", "груженый"),
}

# kg per unit; an absent unit means kg (the manifests' default), anything else is unknown.
UNIT_FACTORS: dict[str, float] = {
    **dict.fromkeys(("kg", "kgs", "kilo", "kilogram", "kilograms", "кг", "килограмм"), 1.0),
    **dict.fromkeys(
        ("t", "tn", "mt", "ton", "tons", "tonne", "tonnes", "т", "тн", "тонн", "тонна", "тонны"),
        1000.0,
    ),
}
MAX_CONSIGNMENT_KG = 100_000.0
MIN_DATE = date(2000, 1, 1)
LADEN_VALUES: dict[str, bool] = {
    **dict.fromkeys(("true", "t", "yes", "y", "1", "laden", "loaded", "да", "гружен"), True),
    **dict.fromkeys(("false", "f", "no", "n", "0", "ballast", "empty", "нет", "порожний"), False),
}

ENCODING_ERROR_CHAR = "\ufffd"  # what the lossy UTF-8 decoder puts where bytes were invalid


def normalise_header(name: str) -> str:
    """Case, BOM, punctuation and spacing differ between senders; the words do not."""
    cleaned = name.replace("\ufeff", "").strip().strip('"').lower().replace("ё", "е")
    return re.sub(r"[\s_\-.,:/()]+", " ", cleaned).strip()


def _alias_index(canonical: Sequence[str]) -> dict[str, str]:
    index = {normalise_header(c): c for c in canonical}
    for column in canonical:
        for alias in HEADER_ALIASES.get(column, ()):
            index.setdefault(normalise_header(alias), column)
    return index


def map_headers(
    headers: Sequence[str], canonical: Sequence[str]
) -> tuple[dict[str, str], list[str]]:
    """Header -> canonical column for known headers, plus the headers kept aside as extras.

    The first header mapping to a canonical column wins; a second one is reported as extra.
    Headers with no name (trailing separators) are neither.
    """
    index = _alias_index(canonical)
    mapped: dict[str, str] = {}
    unmapped: list[str] = []
    for header in headers:
        target = index.get(normalise_header(header))
        if target is not None and target not in mapped.values():
            mapped[header] = target
        elif normalise_header(header) and not header.startswith("__unnamed"):
            unmapped.append(header)
    return mapped, unmapped


def missing_required(present: Iterable[str], required: Sequence[tuple[str, ...]]) -> list[str]:
    have = set(present)
    return [" or ".join(group) for group in required if not have.intersection(group)]


def _names_lookup(frame: pl.DataFrame, code: str, name_columns: Sequence[str]) -> dict[str, str]:
    names = frame.select(
        pl.col(code).alias("code"),
        pl.concat_list(
            pl.col(code), *name_columns, pl.col("aliases").fill_null("").str.split("|")
        ).alias("name"),
    ).explode("name")
    keyed = (
        names.with_columns(lookup_key(pl.col("name")).alias("key"))
        .filter(pl.col("key").str.len_chars() > 0)
        .unique("key", keep="first", maintain_order=True)
    )
    return dict(zip(keyed["key"].to_list(), keyed["code"].to_list(), strict=True))


@dataclass(frozen=True)
class Lookups:
    """Reference names from the dbt seeds: station and port names/aliases -> codes."""

    stations: StationIndex
    ports: dict[str, str]

    @classmethod
    def from_seeds(cls, seeds_dir: Path = SEEDS_DIR) -> Lookups:
        """Cached per seed-file version, so a long-lived process sees edited seeds."""
        versions = tuple((seeds_dir / f).stat().st_mtime_ns for f in ("stations.csv", "ports.csv"))
        return _load_lookups(seeds_dir, versions)


@cache
def _load_lookups(seeds_dir: Path, versions: tuple[int, ...]) -> Lookups:
    stations = pl.read_csv(seeds_dir / "stations.csv", infer_schema=False)
    ports = pl.read_csv(seeds_dir / "ports.csv", infer_schema=False)
    return Lookups(
        stations=StationIndex.from_seed(stations),
        ports=_names_lookup(ports, "port_code", ["port_name", "port_name_ru"]),
    )


def resolve_expr(col: pl.Expr, names: dict[str, str]) -> pl.Expr:
    """Code for a code, name or alias (null when unknown)."""
    return lookup_key(col).replace_strict(names, default=None, return_dtype=pl.String)


def parse_date_expr(col: pl.Expr) -> pl.Expr:
    """ISO (optionally with a time), DD.MM.YYYY or DD/MM/YYYY; null when none fits."""
    s = col.cast(pl.String).str.strip_chars()
    return pl.coalesce(
        pl.when(s.str.contains(r"^\d{4}-\d{2}-\d{2}(?:[T ].*)?$")).then(
            s.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
        ),
        pl.when(s.str.contains(r"^\d{1,2}\.\d{1,2}\.\d{4}$")).then(
            s.str.to_date("%d.%m.%Y", strict=False)
        ),
        pl.when(s.str.contains(r"^\d{1,2}/\d{1,2}/\d{4}$")).then(
            s.str.to_date("%d/%m/%Y", strict=False)
        ),
    )


def date_in_range_expr(parsed: pl.Expr, today: date) -> pl.Expr:
    return parsed.is_between(pl.lit(MIN_DATE), pl.lit(today + timedelta(days=365)))


_WEIGHT_PATTERN = r"^([+-]?\d[\d\s\u00a0\u202f'.,]*?)\s*([^\d\s.,'+-][^\d]*?)?\.?$"


def weight_parts(value: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(number, unit suffix) of a weight such as ``18 500 kg``, ``18,5`` or ``18.5 t``.

    Separators: spaces and apostrophes group thousands; with both ``,`` and ``.`` the last one
    is the decimal mark; a lone ``,`` followed by groups of exactly three digits groups
    thousands (``18,500``), otherwise it is a decimal comma (``18,5``); repeated ``.`` groups
    (``1.234.567``) are thousands.
    """
    s = value.cast(pl.String).str.strip_chars().str.to_lowercase()
    plain = s.cast(pl.Float64, strict=False)
    s = pl.when(plain.is_null()).then(s)  # regexes below skip nulls: plain numbers stay cheap
    number = s.str.extract(_WEIGHT_PATTERN, 1).str.replace_all(r"[\s\u00a0\u202f']", "")
    suffix = s.str.extract(_WEIGHT_PATTERN, 2).str.strip_chars()
    has_comma = number.str.contains(",", literal=True)
    has_dot = number.str.contains(".", literal=True)
    comma_last = number.str.contains(r"\.\d*,\d*$")
    normalised = (
        pl.when(has_comma & has_dot & comma_last)
        .then(number.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True))
        .when(has_comma & has_dot)
        .then(number.str.replace_all(",", "", literal=True))
        .when(has_comma & number.str.contains(r"^[+-]?\d{1,3}(?:,\d{3})+$"))
        .then(number.str.replace_all(",", "", literal=True))
        .when(has_comma)
        .then(number.str.replace(",", ".", literal=True))
        .when(number.str.contains(r"^[+-]?\d{1,3}(?:\.\d{3}){2,}$"))
        .then(number.str.replace_all(".", "", literal=True))
        .otherwise(number)
    )
    return pl.coalesce(plain, normalised.cast(pl.Float64, strict=False)), suffix


def unit_expr(suffix: pl.Expr, unit_column: pl.Expr) -> pl.Expr:
    """The unit as written: a suffix on the value wins over the ``weight_unit`` column."""
    column = unit_column.cast(pl.String).str.strip_chars().str.to_lowercase().str.strip_suffix(".")
    return pl.coalesce(suffix, pl.when(column.str.len_chars() > 0).then(column))


def unit_factor_expr(unit: pl.Expr) -> pl.Expr:
    """kg per unit; 1 when no unit is given, null when the unit is unknown."""
    return (
        pl.when(unit.is_null())
        .then(pl.lit(1.0))
        .otherwise(unit.replace_strict(UNIT_FACTORS, default=None, return_dtype=pl.Float64))
    )


def container_expr(col: pl.Expr) -> pl.Expr:
    """Container numbers are often written with spaces or dashes (``CSQU 305438-3``)."""
    return clean_text(col.cast(pl.String).str.to_uppercase().str.replace_all(r"[\s\-]", ""))


def integer_expr(col: pl.Expr) -> pl.Expr:
    """Counts may arrive as ``12``, ``12.0`` (JSON/parquet floats) or ``1 200``."""
    s = col.cast(pl.String).str.replace_all(r"[\s\u00a0\u202f']", "")
    return s.cast(pl.Float64, strict=False).round(0).cast(pl.Int32, strict=False)


def reason_exprs(rules: Sequence[Rule]) -> list[pl.Expr]:
    """``reason_code`` and ``reason_field`` of the first failing rule (null: row accepted).

    Each condition is evaluated once, into the index of the first failing rule.
    """
    first = pl.when(rules[0].condition.fill_null(False)).then(pl.lit(0))
    for index, rule in enumerate(rules[1:], start=1):
        first = first.when(rule.condition.fill_null(False)).then(pl.lit(index))
    first = first.otherwise(None)
    return [
        first.alias("__rule"),
        first.replace_strict(
            {i: r.code for i, r in enumerate(rules)}, default=None, return_dtype=pl.String
        ).alias("reason_code"),
        first.replace_strict(
            {i: r.field for i, r in enumerate(rules)}, default=None, return_dtype=pl.String
        ).alias("reason_field"),
    ]


def message_expr(rules: Sequence[Rule], source_file: str) -> pl.Expr:
    """The human message of the failing rule (``__rule``): file, row, field, value and why."""
    expr = pl.when(pl.lit(False)).then(pl.lit(None, pl.String))
    for index, rule in enumerate(rules):
        where = f", field '{rule.field}'" if rule.field else ""
        expr = expr.when(pl.col("__rule") == index).then(
            pl.concat_str(
                pl.lit(f"{source_file} row "),
                pl.col("source_row").cast(pl.String),
                pl.lit(f"{where}: "),
                rule.detail,
            )
        )
    return expr.otherwise(None).alias("reason_message")


@dataclass(frozen=True)
class ParsePlan:
    """How to turn text rows into typed rows: helper columns, rules in order, output columns."""

    text_columns: Sequence[str]
    typed: Sequence[Sequence[pl.Expr]]  # stages: later ones may use earlier helper columns
    rules: Sequence[Rule]
    output: Sequence[pl.Expr]


def apply_plan(
    batch: pl.DataFrame, plan: ParsePlan, source_file: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(accepted rows, quarantined rows) of one batch.

    Messages and the raw record are only built for the (usually few) failing rows.
    """
    typed = batch.lazy()
    for stage in plan.typed:
        typed = typed.with_columns(stage)
    # Lazy so polars evaluates shared sub-expressions once (eager frames would not).
    flagged = typed.with_columns(reason_exprs(plan.rules)).collect()
    accepted = flagged.filter(pl.col("reason_code").is_null()).select("source_row", *plan.output)
    quarantined = flagged.filter(pl.col("reason_code").is_not_null()).select(
        "source_row",
        "reason_code",
        "reason_field",
        message_expr(plan.rules, source_file),
        pl.struct([*plan.text_columns, "extra_fields"]).struct.json_encode().alias("raw_record"),
    )
    return accepted, quarantined


def common_rules() -> list[Rule]:
    """Row-shape problems come first: nothing else about such a row can be trusted."""
    return [
        Rule(
            pl.col("__encoding_error"),
            "encoding_error",
            None,
            pl.lit("bytes that are not valid text in the file's encoding"),
        ),
        Rule(pl.col("__malformed").is_not_null(), "malformed_row", None, pl.col("__malformed")),
    ]


def required_rules(required: Sequence[tuple[str, ...]]) -> list[Rule]:
    return [
        Rule(
            pl.all_horizontal(pl.col(c).is_null() for c in group),
            "missing_required_field",
            group[0],
            pl.lit(f"required value missing ({' or '.join(group)})"),
        )
        for group in required
    ]


def date_rules(column: str, parsed: str, today: date) -> list[Rule]:
    return [
        Rule(
            pl.col(column).is_not_null() & pl.col(parsed).is_null(),
            "unparseable_date",
            column,
            pl.concat_str(
                quoted(column), pl.lit(" is not a date (YYYY-MM-DD, DD.MM.YYYY, DD/MM/YYYY)")
            ),
        ),
        Rule(
            pl.col(parsed).is_not_null() & ~date_in_range_expr(pl.col(parsed), today),
            "date_out_of_range",
            column,
            pl.concat_str(
                quoted(column),
                pl.lit(f" is outside {MIN_DATE.isoformat()}..{(today + timedelta(days=365))}"),
            ),
        ),
    ]


def manifest_plan(lookups: Lookups, today: date) -> ParsePlan:
    """Text manifest rows -> the typed columns of raw.manifests."""
    number, suffix = weight_parts(pl.col("gross_weight"))
    unit = unit_expr(suffix, pl.col("weight_unit"))
    typed = [
        [
            number.alias("__weight_number"),
            unit.alias("__unit"),
            container_expr(pl.col("container_no")).alias("__container"),
        ],
        [
            (pl.col("__weight_number") * unit_factor_expr(pl.col("__unit"))).alias("__weight_kg"),
            is_valid_expr(pl.col("__container")).alias("__container_ok"),
            parse_date_expr(pl.col("dispatch_date")).alias("__date"),
        ],
        *resolution_stages(lookups.stations),
    ]

    rules = [
        *common_rules(),
        *required_rules(MANIFEST_REQUIRED),
        *date_rules("dispatch_date", "__date", today),
        Rule(
            pl.col("__weight_number").is_not_null()
            & pl.col("__unit").is_not_null()
            & pl.col("__weight_kg").is_null(),
            "unknown_unit",
            "weight_unit",
            pl.concat_str(
                pl.lit("unit '"),
                excerpt_expr(pl.col("__unit")),
                pl.lit("' of weight "),
                quoted("gross_weight"),
                pl.lit(" is not kg or t"),
            ),
        ),
        Rule(
            pl.col("__weight_number").is_null()
            | ~pl.col("__weight_kg").is_finite()
            | (pl.col("__weight_kg") <= 0)
            | (pl.col("__weight_kg") > MAX_CONSIGNMENT_KG),
            "invalid_weight",
            "gross_weight",
            pl.concat_str(
                quoted("gross_weight"),
                pl.when(pl.col("__weight_kg").is_not_null())
                .then(pl.format(" = {} kg", pl.col("__weight_kg")))
                .otherwise(pl.lit("")),
                pl.lit(f" is not a weight in (0, {MAX_CONSIGNMENT_KG:.0f}] kg"),
            ),
        ),
        Rule(
            pl.col("__container").is_not_null() & ~pl.col("__container_ok"),
            "bad_container_check_digit",
            "container_no",
            pl.concat_str(quoted("container_no"), pl.lit(" fails the ISO 6346 check digit")),
        ),
        *station_rules(lookups.stations),
    ]
    output = [
        pl.col("waybill_no"),
        pl.col("__date").alias("dispatch_date"),
        *output_columns("origin"),
        *output_columns("destination"),
        "shipper",
        "consignee",
        code_text_expr(pl.col("cargo_code")).alias("cargo_code"),
        "cargo_description",
        "hazard_class",
        "wagon_no",
        pl.col("__container").alias("container_no"),
        pl.col("__weight_kg").alias("gross_weight_kg"),
        pl.coalesce(pl.col("weight_unit"), pl.col("__unit")).alias("weight_unit_raw"),
        integer_expr(pl.col("packages")).alias("packages"),
        pl.col("extra_fields"),
    ]
    return ParsePlan(MANIFEST_COLUMNS, typed, rules, output)


def voyage_plan(lookups: Lookups, today: date) -> ParsePlan:
    """Text port calls -> the typed columns of raw.voyages."""
    typed = [
        [
            resolve_expr(pl.col("port"), lookups.ports).alias("__port"),
            parse_date_expr(pl.col("arrival")).alias("__arrival"),
            parse_date_expr(pl.col("departure")).alias("__departure"),
            lookup_key(pl.col("laden"))
            .replace_strict(LADEN_VALUES, default=None, return_dtype=pl.Boolean)
            .alias("__laden"),
        ]
    ]
    rules = [
        *common_rules(),
        *required_rules(VOYAGE_REQUIRED),
        *date_rules("arrival", "__arrival", today),
        *date_rules("departure", "__departure", today),
        Rule(
            pl.col("__port").is_null(),
            "unknown_station",
            "port",
            pl.concat_str(
                pl.lit("port "),
                quoted("port"),
                pl.lit(" is not a code, name or alias in seeds/ports.csv"),
            ),
        ),
    ]
    output = [
        pl.col("vessel_name"),
        code_text_expr(pl.col("imo")).alias("imo"),
        pl.col("__port").alias("port"),
        pl.col("port").alias("port_raw"),
        pl.col("__arrival").alias("arrival"),
        pl.col("__departure").alias("departure"),
        pl.col("__laden").alias("laden"),
        pl.col("extra_fields"),
    ]
    return ParsePlan(VOYAGE_COLUMNS, typed, rules, output)
