"""Reference names from the dbt seeds (stations, ports) that the parsing rules resolve against."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polars as pl

from orchestration.ingest.exprs import lookup_key
from orchestration.ingest.stations import StationIndex
from orchestration.paths import SEEDS_DIR


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
