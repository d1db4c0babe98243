"""Parse plans: how text rows of each tabular source become the typed rows of its raw table.

A plan is typed helper columns, the rules in the order they are tried, and the output columns
(the contract's, see ``rules.contract_output``). The rules are polars expressions, so they run
vectorised (and streaming) on any file size.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from orchestration.ingest.contract import (
    MANIFEST_COLUMNS,
    MANIFEST_REQUIRED,
    VOYAGE_COLUMNS,
    VOYAGE_REQUIRED,
)
from orchestration.ingest.exprs import Rule, code_text_expr, excerpt_expr, lookup_key, quoted
from orchestration.ingest.lookups import Lookups, resolve_expr
from orchestration.ingest.rules import (
    ParsePlan,
    common_rules,
    contract_output,
    date_rules,
    required_rules,
)
from orchestration.ingest.stations import output_columns, resolution_stages, station_rules
from orchestration.ingest.values import (
    LADEN_VALUES,
    MAX_CONSIGNMENT_KG,
    container_expr,
    integer_expr,
    parse_date_expr,
    unit_expr,
    unit_factor_expr,
    weight_stages,
)
from orchestration.iso6346 import is_valid_normalised_expr


def manifest_plan(lookups: Lookups, today: date) -> ParsePlan:
    """Text manifest rows -> the typed columns of raw.manifests."""
    typed = [
        *weight_stages(pl.col("gross_weight"), "__weight"),
        [
            unit_expr(pl.col("__weight_suffix"), pl.col("weight_unit")).alias("__unit"),
            container_expr(pl.col("container_no")).alias("__container"),
        ],
        [
            (pl.col("__weight_number") * unit_factor_expr(pl.col("__unit"))).alias("__weight_kg"),
            # __container is trimmed and upper-cased (container_expr)
            is_valid_normalised_expr(pl.col("__container")).alias("__container_ok"),
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
    computed = [
        pl.col("__date").alias("dispatch_date"),
        *output_columns("origin"),
        *output_columns("destination"),
        code_text_expr(pl.col("cargo_code")).alias("cargo_code"),
        pl.col("__container").alias("container_no"),
        pl.col("__weight_kg").alias("gross_weight_kg"),
        pl.coalesce(pl.col("weight_unit"), pl.col("__unit")).alias("weight_unit_raw"),
        integer_expr(pl.col("packages")).alias("packages"),
    ]
    output = contract_output("manifests", MANIFEST_COLUMNS, computed)
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
    computed = [
        code_text_expr(pl.col("imo")).alias("imo"),
        pl.col("__port").alias("port"),
        pl.col("port").alias("port_raw"),
        pl.col("__arrival").alias("arrival"),
        pl.col("__departure").alias("departure"),
        pl.col("__laden").alias("laden"),
    ]
    output = contract_output("voyages", VOYAGE_COLUMNS, computed)
    return ParsePlan(VOYAGE_COLUMNS, typed, rules, output)
