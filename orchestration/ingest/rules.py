"""Rules in order, and a plan that applies them: text rows in, accepted and quarantined out.

A row is accepted when no rule fails; otherwise the first failing rule gives its reason code
and message. The accepted rows carry the raw table's columns in the contract's order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from orchestration.ingest.contract import payload_columns
from orchestration.ingest.exprs import Rule, quoted
from orchestration.ingest.values import MIN_DATE, date_in_range_expr


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


def contract_output(
    table: str, text_columns: Sequence[str], computed: Sequence[pl.Expr]
) -> list[pl.Expr]:
    """The output of a plan: raw.<table>'s columns (less provenance) in the contract's order.

    ``computed`` gives the columns parsing derives (each expression named after its column);
    every other column is a text column passed on as written. A plan that names a column the
    contract lacks, or leaves one out that no text column can fill, fails here, at build time.
    """
    by_name: Mapping[str, pl.Expr] = {e.meta.output_name(): e for e in computed}
    columns = payload_columns(table)
    passed = (*text_columns, "extra_fields")
    unknown = sorted(set(by_name) - set(columns))
    missing = [c for c in columns if c not in by_name and c not in passed]
    if unknown or missing:
        raise ValueError(
            f"parse plan for raw.{table} disagrees with the contract:"
            f" columns not in it {unknown}, columns it has but the plan does not fill {missing}"
        )
    return [by_name.get(c, pl.col(c)) for c in columns]


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
