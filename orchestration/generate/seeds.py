"""Station, port and cargo reference data read from the dbt seeds, so generated names resolve."""

from __future__ import annotations

import polars as pl

from orchestration.paths import SEEDS_DIR


class Seeds:
    """Station and cargo reference data from the dbt seeds, so names always resolve."""

    def __init__(self, stations: pl.DataFrame, ports: pl.DataFrame, cargo: pl.DataFrame) -> None:
        self.stations = stations
        self.ports = ports
        self.cargo = cargo

    @classmethod
    def load(cls) -> Seeds:
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
