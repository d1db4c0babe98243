"""The committed sample's manifests: five files, each row's expected ingest outcome recorded.

Besides the valid rows, the sample plants an exact duplicate, a corrected re-send and rows
broken in exactly one way each, so ingest's quarantine and dedup can be checked against
``GENERATED.json``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from orchestration.generate.consignments import make_consignments
from orchestration.generate.dialects import (
    ENGLISH_VARIANT_HEADERS,
    MANIFEST_FILES,
    RUSSIAN_HEADERS,
    write_manifest_file,
)
from orchestration.generate.seeds import Seeds
from orchestration.generate.summary import aggregate, totals

SAMPLE_EXPLOSIVE = 4_000
SAMPLE_BACKGROUND = 2_000
SAMPLE_EXPLOSIVE_TARGET_KG = 74_200_000  # plus 0..99,990 kg chosen by the seed: "74,2xx t"
CORRECTION_DELTA_KG = 1_500  # the superseded first declaration was this much heavier

# Deliberately broken rows: (file index, reason code, {field: raw value}).
# None means "leave the cell empty"; BAD_CHECK_DIGIT is computed from the row's container.
BAD_CHECK_DIGIT = "<bad check digit>"
PLANTED_BAD_ROWS: list[tuple[int, str, dict[str, str | None]]] = [
    (0, "bad_container_check_digit", {"container_no": BAD_CHECK_DIGIT}),
    (0, "invalid_weight", {"gross_weight": "-18550"}),
    (0, "unknown_unit", {"weight_unit": "lb"}),
    (0, "missing_required_field", {"waybill_no": None}),
    (1, "unparseable_date", {"dispatch_date": "31.11.2023"}),
    (1, "unknown_station", {"destination_station": "Атлантида-Товарная"}),
    (2, "bad_container_check_digit", {"container_no": BAD_CHECK_DIGIT}),
    (2, "unparseable_date", {"dispatch_date": "1O/11/2023"}),
    (2, "unknown_unit", {"gross_weight": "18.5 cwt"}),
    (3, "invalid_weight", {"gross_weight": "0"}),
    (3, "missing_required_field", {"cargo_code": None}),
    (
        4,
        "unknown_station",
        {"origin_station_code": "999999", "origin_station": "Atlantis-Tovarnaya"},
    ),
]
BAD_ROW_MONTHS = {0: "2023-09", 1: "2023-10", 2: "2023-11", 3: "2023-12", 4: "2024-01"}


def write_sample_manifests(raw_dir: Path, rng: np.random.Generator, seeds: Seeds) -> dict:
    """Five files in five dialects; the valid rows total exactly the calibration target."""
    n_rows = SAMPLE_EXPLOSIVE + SAMPLE_BACKGROUND
    ids = rng.choice(10**8, n_rows + len(PLANTED_BAD_ROWS), replace=False)
    target_kg = SAMPLE_EXPLOSIVE_TARGET_KG + int(rng.integers(0, 10_000)) * 10
    month_to_file = {m: i for i, spec in enumerate(MANIFEST_FILES) for m in spec["months"]}
    valid = make_consignments(
        rng, SAMPLE_EXPLOSIVE, SAMPLE_BACKGROUND, ids[:n_rows], explosive_total_kg=target_kg
    ).with_columns(
        pl.col("dispatch_date").dt.strftime("%Y-%m").replace_strict(month_to_file).alias("file"),
        pl.lit("accepted").alias("outcome"),
        pl.lit(None, pl.String).alias("reason"),
        pl.lit(None, pl.String).alias("case"),
        pl.lit(None, pl.String).alias("fault"),
        pl.lit(False).alias("is_copy"),
    )
    planted = pl.concat(
        [*_plant_duplicate_and_correction(valid, rng), _bad_rows(rng, ids[n_rows:])],
        how="diagonal",
    )
    files: list[str] = []
    per_file: dict[str, dict] = {}
    planted_cases: list[pl.DataFrame] = []
    for i, spec in enumerate(MANIFEST_FILES):
        rel = f"manifests/{spec['name']}"
        rows = (
            planted.filter(pl.col("file") == i)
            .sort("dispatch_date", "waybill_no", "is_copy", "outcome")
            .with_row_index("source_row", offset=1)
        )
        write_manifest_file(raw_dir / rel, rows, spec, seeds)
        files.append(rel)
        per_file[rel] = {
            **{k: v for k, v in spec.items() if k not in ("name", "months")},
            **_outcome_counts(rows),
        }
        planted_cases.append(
            rows.filter(pl.col("case").is_not_null()).select(
                pl.lit(rel).alias("file"),
                "source_row",
                "waybill_no",
                "case",
                pl.col("outcome").alias("expected"),
                "reason",
                "fault",
                pl.when(pl.col("outcome") != "quarantined").then("gross_kg").alias("gross_kg"),
            )
        )
    current = planted.filter(pl.col("outcome") == "accepted")
    assert current["waybill_no"].is_unique().all(), "generator bug: waybill reused"
    return {
        "files": files,
        "per_file": per_file,
        **_outcome_counts(planted),
        "explosive_target_kg": target_kg,
        "planted": pl.concat(planted_cases).to_dicts(),
        "current": totals([aggregate(current)]),
        "header_aliases": {"russian": RUSSIAN_HEADERS, "english_variants": ENGLISH_VARIANT_HEADERS},
    }


def _plant_duplicate_and_correction(
    valid: pl.DataFrame, rng: np.random.Generator
) -> list[pl.DataFrame]:
    """The valid rows plus an exact duplicate row in file 0 and a corrected re-send.

    The re-sent waybill is first declared in file 1, then corrected in file 4: the
    corrected row is the valid one (moved to the later file), the superseded first
    declaration stays in file 1 with a different weight.
    """
    explosive = valid.filter(pl.col("is_explosive"))
    dup_src = explosive.filter(pl.col("file") == 0).sample(1, seed=int(rng.integers(2**31)))
    fix_src = explosive.filter(pl.col("file") == 1).sample(1, seed=int(rng.integers(2**31)))
    is_fixed = pl.col("waybill_no").is_in(fix_src["waybill_no"].implode())
    return [
        valid.with_columns(
            pl.when(is_fixed).then(4).otherwise(pl.col("file")).alias("file"),
            pl.when(is_fixed).then(pl.lit("correction_latest_wins")).alias("case"),
        ),
        dup_src.with_columns(
            pl.lit("duplicate").alias("outcome"),
            pl.lit("exact_duplicate_of_previous_row").alias("case"),
            pl.lit(True).alias("is_copy"),
        ),
        fix_src.with_columns(
            pl.col("gross_kg") + CORRECTION_DELTA_KG,
            pl.lit("superseded").alias("outcome"),
            pl.lit("superseded_by_later_correction").alias("case"),
        ),
    ]


def _bad_rows(rng: np.random.Generator, ids: np.ndarray) -> pl.DataFrame:
    """Explosive-looking rows each broken in exactly one way (see PLANTED_BAD_ROWS)."""
    n = len(PLANTED_BAD_ROWS)
    fields = sorted({f for _, _, faults in PLANTED_BAD_ROWS for f in faults})
    spec = pl.DataFrame(
        {
            "file": [f for f, _, _ in PLANTED_BAD_ROWS],
            "reason": [r for _, r, _ in PLANTED_BAD_ROWS],
            "month_start": [f"{BAD_ROW_MONTHS[f]}-01" for f, _, _ in PLANTED_BAD_ROWS],
            **{f"set__{f}": [f in faults for *_, faults in PLANTED_BAD_ROWS] for f in fields},
            **{f"ov__{f}": [faults.get(f) for *_, faults in PLANTED_BAD_ROWS] for f in fields},
        },
        schema_overrides={f"ov__{f}": pl.String for f in fields},
    )
    bad_container = pl.concat_str(
        pl.col("container_no").str.slice(0, 10),
        ((pl.col("container_no").str.slice(10, 1).cast(pl.Int64) + 1) % 10).cast(pl.String),
    )
    return (
        make_consignments(rng, n, 0, ids)
        .drop("dispatch_date")
        .hstack(spec)
        .with_columns(
            (pl.col("month_start").str.to_date() + pl.duration(days=rng.integers(0, 28, n))).alias(
                "dispatch_date"
            ),
            pl.when(pl.col("ov__container_no") == BAD_CHECK_DIGIT)
            .then(bad_container)
            .otherwise(pl.col("ov__container_no"))
            .alias("ov__container_no"),
            pl.lit("quarantined").alias("outcome"),
            pl.col("reason").alias("case"),
            pl.lit(False).alias("is_copy"),
        )
        .with_columns(
            pl.concat_str(
                [
                    pl.when(pl.col(f"set__{f}")).then(
                        pl.format("{}={}", pl.lit(f), pl.col(f"ov__{f}").fill_null("<empty>"))
                    )
                    for f in fields
                ],
                separator="; ",
                ignore_nulls=True,
            ).alias("fault")
        )
        .drop("month_start")
    )


def _outcome_counts(rows: pl.DataFrame) -> dict:
    """What ingest should make of these rows: conservation read = accepted + quarantined + dup."""
    outcome = rows["outcome"].value_counts()
    count = dict(outcome.iter_rows())
    reasons = rows.filter(pl.col("outcome") == "quarantined")["reason"].value_counts(sort=True)
    return {
        "rows_written": rows.height,
        "rows_accepted": count.get("accepted", 0) + count.get("superseded", 0),
        "rows_superseded": count.get("superseded", 0),
        "rows_quarantined": count.get("quarantined", 0),
        "rows_duplicate": count.get("duplicate", 0),
        "quarantined_by_reason": dict(sorted(reasons.iter_rows())),
    }
