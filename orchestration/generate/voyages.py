"""Vessel port calls: the voyages from Rajin the pipeline must count, and calls it must not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from orchestration.generate.consignments import PERIOD_START, labels, pick
from orchestration.generate.seeds import Seeds
from orchestration.ingest.contract import VOYAGE_COLUMNS

VOYAGE_VESSELS = {"Angara": 9, "Lady R": 6, "Maia-1": 7, "Maria": 5}  # 27 voyages
VOYAGES_FILE = "voyages/voyages_2023_2024.csv"


def _imo_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """Synthetic 7-digit IMO numbers: 6 random digits + the IMO check digit."""
    base = rng.choice(np.arange(100_000, 1_000_000), n, replace=False)
    digits = base[:, None] // 10 ** np.arange(5, -1, -1) % 10
    check = (digits * np.arange(7, 1, -1)).sum(axis=1) % 10
    return (base * 10 + check).astype(str).tolist()


def write_voyages(raw_dir: Path, rng: np.random.Generator, seeds: Seeds) -> dict:
    """Port calls: each voyage is a laden Rajin call followed by a laden call at Dunai/Vostochny.

    Two distractor vessels add calls that must NOT count: a ballast (unladen) pair and a
    laden trip to Vladivostok.
    """
    names = list(VOYAGE_VESSELS)
    counts = np.array(list(VOYAGE_VESSELS.values()))
    n = int(counts.sum())
    vessel = np.repeat(np.arange(len(names)), counts)
    k = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)  # voyage number per vessel
    cycle_days = 170 // counts
    rajin_arrival = (
        np.datetime64(PERIOD_START, "D")
        + rng.integers(1, 6, len(names))[vessel]
        + k * cycle_days[vessel]
        + rng.integers(0, 3, n)
    )
    rajin_departure = rajin_arrival + rng.integers(1, 3, n)
    ru_arrival = rajin_departure + rng.integers(2, 4, n)
    ru_departure = ru_arrival + rng.integers(2, 5, n)
    ru_port = labels(["RUDUN", "RUVYP"], pick(rng, {"RUDUN": 0.6, "RUVYP": 0.4}, n))
    distractors = {
        "vessel_name": ["Sea Falcon (synthetic)"] * 2 + ["Mirny Bay (synthetic)"] * 2,
        "port_code": ["KPRJN", "RUVYP", "KPRJN", "RUVVO"],
        "arrival": ["2023-09-10", "2023-09-14", "2023-11-05", "2023-11-09"],
        "departure": ["2023-09-11", "2023-09-16", "2023-11-06", "2023-11-11"],
        "laden": [False, False, True, True],
    }
    all_names = [*names, "Sea Falcon (synthetic)", "Mirny Bay (synthetic)"]
    imo = dict(zip(all_names, _imo_numbers(rng, len(all_names)), strict=True))
    calls = pl.concat(
        [
            pl.DataFrame(
                {
                    "vessel_name": np.tile(np.array(names)[vessel], 2),
                    "port_code": pl.concat([pl.Series(["KPRJN"] * n), ru_port]),
                    "arrival": np.concatenate([rajin_arrival, ru_arrival]),
                    "departure": np.concatenate([rajin_departure, ru_departure]),
                    "laden": np.ones(2 * n, bool),
                },
            ).with_columns(pl.col("arrival", "departure").cast(pl.Date)),
            pl.DataFrame(distractors).with_columns(pl.col("arrival", "departure").str.to_date()),
        ]
    ).with_row_index("call")
    ports = seeds.ports.rename({"names": "_names"})
    text = (
        calls.join(ports, on="port_code", how="left", maintain_order="left")
        .with_columns(
            pl.col("_names")
            .list.get(pl.Series(rng.integers(0, 1000, calls.height)) % pl.col("_names").list.len())
            .alias("port"),
            pl.col("vessel_name").replace_strict(imo).alias("imo"),
        )
        .sort("vessel_name", "arrival")
    )
    path = raw_dir / VOYAGES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    text.select(VOYAGE_COLUMNS).write_csv(path)
    voyages = pl.DataFrame({"vessel_name": np.array(names)[vessel], "port_code": ru_port})
    return {
        "files": [VOYAGES_FILE],
        "port_calls": calls.height,
        "voyages": n,
        "rule": "a voyage is a laden departure call at Rajin (KPRJN) followed by the same "
        "vessel's next call, laden, at Dunai (RUDUN) or Vostochny (RUVYP)",
        "voyages_by_vessel": dict(sorted(voyages["vessel_name"].value_counts().iter_rows())),
        "voyages_by_port": dict(sorted(voyages["port_code"].value_counts().iter_rows())),
        "first_departure": str(rajin_departure.min()),
        "last_arrival": str(ru_arrival.max()),
        "vessels": imo,
        "distractor_calls": 4,
    }
