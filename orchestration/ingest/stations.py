"""Station resolution for manifests: by code, else by name or alias; disagreements quarantined.

Real files often carry station codes from another numbering (or mistyped) next to a correct
station name. Such a row is kept when its name (Russian, transliterated or an alias from
seeds/stations.csv; case, spacing and ё do not matter) names exactly one station, and the row
says so: ``<side>_station_matched_by = 'name'`` and ``<side>_station_code_given`` keeps the code
as written. A row is quarantined only when nothing matches (``unknown_station``) or when a known
code and the name point at different stations (``station_code_name_conflict``).

``matched_by`` is ``code`` exactly when the code column holds a code of the seed; otherwise the
station was found through the name column (or, when that is empty, through the text of the
code column read as a name, which is how older files put names there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import polars as pl

from orchestration.ingest.exprs import Rule, code_text_expr, lookup_key, quoted

SIDES = ("origin", "destination")
MATCHED_BY = ("code", "name")
CONFLICT = "station_code_name_conflict"
SEED = "seeds/stations.csv"


@dataclass(frozen=True)
class StationIndex:
    """Codes, names and aliases of seeds/stations.csv, keyed for matching."""

    codes: dict[str, str]  # code -> code: the code column matches these only
    by_name: dict[str, str]  # key of a code, name, Russian name or alias -> its only station
    ambiguous: dict[str, str]  # key naming several stations -> "|code|code|"
    labels: dict[str, str]  # code -> "Dunai (986808)", for messages

    @classmethod
    def from_seed(cls, stations: pl.DataFrame) -> StationIndex:
        """From the stations seed read as text (station_code, names, ``|``-separated aliases)."""
        names = (
            stations.select(
                pl.col("station_code").alias("code"),
                pl.concat_list(
                    "station_code",
                    "station_name",
                    "station_name_ru",
                    pl.col("aliases").fill_null("").str.split("|"),
                ).alias("name"),
            )
            .explode("name")
            .with_columns(lookup_key(pl.col("name")).alias("key"))
            .filter(pl.col("key").str.len_chars() > 0)
            .group_by("key", maintain_order=True)
            .agg(pl.col("code").unique(maintain_order=True))
        )
        by_name: dict[str, str] = {}
        ambiguous: dict[str, str] = {}
        for key, codes in names.iter_rows():
            if len(codes) == 1:
                by_name[key] = codes[0]
            else:
                ambiguous[key] = "|" + "|".join(codes) + "|"
        labels = {
            code: f"{name} ({code})"
            for code, name in stations.select("station_code", "station_name").iter_rows()
        }
        return cls({c: c for c in labels}, by_name, ambiguous, labels)

    def candidates_label(self, key: str) -> str:
        """``Alpha (100001), Beta (100002)`` for a name of several stations."""
        codes = self.ambiguous[key].strip("|").split("|")
        return ", ".join(self.labels[c] for c in codes)


def _lookup(expr: pl.Expr, mapping: dict[str, str]) -> pl.Expr:
    if not mapping:  # replace_strict needs at least one key to infer anything useful
        return pl.lit(None, pl.String)
    return expr.replace_strict(mapping, default=None, return_dtype=pl.String)


def resolution_stages(index: StationIndex) -> list[list[pl.Expr]]:
    """Helper columns per side, in three stages (each uses the previous ones).

    ``__<side>`` is the resolved code (null when unknown or in conflict), ``__<side>_matched_by``
    how it was found and ``__<side>_code_given`` the code as written.
    """
    stages: list[list[pl.Expr]] = [[], [], []]
    for side in SIDES:
        code, name = pl.col(f"{side}_station_code"), pl.col(f"{side}_station")
        given, key = f"__{side}_code_given", f"__{side}_name_key"
        by_code, by_name, candidates = f"__{side}_by_code", f"__{side}_by_name", f"__{side}_any"
        stages[0] += [
            code_text_expr(code).alias(given),
            lookup_key(pl.coalesce(name, code)).alias(key),
        ]
        stages[1] += [
            _lookup(pl.col(given), index.codes).alias(by_code),
            _lookup(pl.col(key), index.by_name).alias(by_name),
            _lookup(pl.col(key), index.ambiguous).alias(candidates),
        ]
        conflict = pl.col(by_code).is_not_null() & (
            (pl.col(by_name).is_not_null() & (pl.col(by_name) != pl.col(by_code)))
            | (
                pl.col(candidates).is_not_null()
                & ~pl.col(candidates).str.contains(
                    pl.concat_str(pl.lit("|"), pl.col(by_code), pl.lit("|")), literal=True
                )
            )
        )
        stages[2] += [
            conflict.fill_null(False).alias(f"__{side}_conflict"),
            pl.when(conflict)
            .then(None)
            .otherwise(pl.coalesce(by_code, by_name))
            .alias(f"__{side}"),
            pl.when(conflict)
            .then(None)
            .when(pl.col(by_code).is_not_null())
            .then(pl.lit("code"))
            .when(pl.col(by_name).is_not_null())
            .then(pl.lit("name"))
            .alias(f"__{side}_matched_by"),
        ]
    return stages


def _name_label(side: str, index: StationIndex) -> pl.Expr:
    """The station(s) the name column points at: one label, or "one of A, B"."""
    key = pl.col(f"__{side}_name_key")
    several = {k: f"one of {index.candidates_label(k)}" for k in index.ambiguous}
    return pl.coalesce(_lookup(pl.col(f"__{side}_by_name"), index.labels), _lookup(key, several))


def station_rules(index: StationIndex) -> list[Rule]:
    """Per side: a code/name conflict, then no single station at all."""
    rules = []
    for side in SIDES:
        code, name = f"{side}_station_code", f"{side}_station"
        conflict_detail = pl.concat_str(
            pl.lit("code "),
            quoted(code),
            pl.lit(" is "),
            _lookup(pl.col(f"__{side}_by_code"), index.labels),
            pl.lit(" but name "),
            quoted(name),
            pl.lit(" is "),
            _name_label(side, index),
        )
        several = _lookup(
            pl.col(f"__{side}_name_key"),
            {k: index.candidates_label(k) for k in index.ambiguous},
        )
        unknown_detail = (
            pl.when(several.is_not_null())
            .then(
                pl.concat_str(
                    pl.lit("station "),
                    quoted(pl.coalesce(name, code)),
                    pl.lit(" names several stations in " + SEED + " ("),
                    several,
                    pl.lit("); give its code"),
                )
            )
            .when(pl.col(code).is_not_null() & pl.col(name).is_not_null())
            .then(
                pl.concat_str(
                    pl.lit("station code "),
                    quoted(code),
                    pl.lit(" and name "),
                    quoted(name),
                    pl.lit(f" match no code, name or alias in {SEED}"),
                )
            )
            .otherwise(
                pl.concat_str(
                    pl.lit("station "),
                    quoted(pl.coalesce(code, name)),
                    pl.lit(f" is not a code, name or alias in {SEED}"),
                )
            )
        )
        rules += [
            Rule(pl.col(f"__{side}_conflict"), CONFLICT, code, conflict_detail),
            Rule(pl.col(f"__{side}").is_null(), "unknown_station", name, unknown_detail),
        ]
    return rules


def output_columns(side: str) -> list[pl.Expr]:
    """The raw.manifests columns of one side: resolved code, as written, how it matched."""
    return [
        pl.col(f"__{side}").alias(f"{side}_station_code"),
        pl.coalesce(f"{side}_station", f"{side}_station_code").alias(f"{side}_station_raw"),
        pl.col(f"__{side}_matched_by").alias(f"{side}_station_matched_by"),
        pl.col(f"__{side}_code_given").alias(f"{side}_station_code_given"),
    ]


def match_details(con: duckdb.DuckDBPyConnection, source_file: str, sha: str) -> dict[str, str]:
    """How the loaded rows of one file found their stations, for the ingest metadata table."""
    counts = ", ".join(
        f"count(*) filter (where {side}_station_matched_by = '{how}')"
        for side in SIDES
        for how in MATCHED_BY
    )
    row: Sequence[int] = con.execute(
        f"select {counts} from raw.manifests where source_file = ? and file_sha256 = ?",  # noqa: S608 - constant names
        [source_file, sha],
    ).fetchone()
    return {
        f"{side}_matched_by": f"code {row[2 * i]} / name {row[2 * i + 1]}"
        for i, side in enumerate(SIDES)
    }
