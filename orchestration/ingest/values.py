"""Value rules as polars expressions: dates, weights and units, containers, counts.

Each reads a text column (readers hand over every value as a string) and yields a typed value,
or null where the text does not fit; the parsing rules turn a null into a quarantine reason.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from orchestration.ingest.exprs import clean_text

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


def weight_stages(value: pl.Expr, prefix: str) -> list[list[pl.Expr]]:
    """Helper-column stages reading a weight such as ``18 500 kg``, ``18,5`` or ``18.5 t`` into
    ``<prefix>_number`` and ``<prefix>_suffix`` (a unit written on the value, else null).

    Separators: spaces and apostrophes group thousands; with both ``,`` and ``.`` the last one
    is the decimal mark; a lone ``,`` followed by groups of exactly three digits groups
    thousands (``18,500``), otherwise it is a decimal comma (``18,5``); repeated ``.`` groups
    (``1.234.567``) are thousands. Stages, not one expression: polars evaluates a sub-expression
    once per use, and the trimmed text has ~10 (as one expression: twice the time).
    """
    text, plain, rest, digits = (
        pl.col(f"{prefix}_{n}") for n in ("text", "plain", "rest", "digits")
    )
    has_comma = digits.str.contains(",", literal=True)
    has_dot = digits.str.contains(".", literal=True)
    comma_last = digits.str.contains(r"\.\d*,\d*$")
    normalised = (
        pl.when(has_comma & has_dot & comma_last)
        .then(digits.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True))
        .when(has_comma & has_dot)
        .then(digits.str.replace_all(",", "", literal=True))
        .when(has_comma & digits.str.contains(r"^[+-]?\d{1,3}(?:,\d{3})+$"))
        .then(digits.str.replace_all(",", "", literal=True))
        .when(has_comma)
        .then(digits.str.replace(",", ".", literal=True))
        .when(digits.str.contains(r"^[+-]?\d{1,3}(?:\.\d{3}){2,}$"))
        .then(digits.str.replace_all(".", "", literal=True))
        .otherwise(digits)
    )
    return [
        [value.cast(pl.String).str.strip_chars().str.to_lowercase().alias(f"{prefix}_text")],
        [text.cast(pl.Float64, strict=False).alias(f"{prefix}_plain")],
        # the regexes below skip nulls: plain numbers stay cheap
        [pl.when(plain.is_null()).then(text).alias(f"{prefix}_rest")],
        [
            rest.str.extract(_WEIGHT_PATTERN, 1)
            .str.replace_all(r"[\s\u00a0\u202f']", "")
            .alias(f"{prefix}_digits"),
            rest.str.extract(_WEIGHT_PATTERN, 2).str.strip_chars().alias(f"{prefix}_suffix"),
        ],
        [pl.coalesce(plain, normalised.cast(pl.Float64, strict=False)).alias(f"{prefix}_number")],
    ]


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
