"""Clean manifests for benchmarks: one big file in constant memory, or one more day's file."""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from orchestration.generate.consignments import PERIOD_END, PERIOD_START, make_consignments
from orchestration.generate.dialects import MANIFEST_FILES, as_text
from orchestration.generate.seeds import Seeds
from orchestration.generate.summary import aggregate, totals

SCALE_CHUNK = 500_000
SCALE_EXPLOSIVE_SHARE = 2 / 3

DAY_ID_BASE = 400_000_000  # waybill/container ids of one-day files: clear of the scale file's
DAY_MAX_ROWS = 1_000_000


def write_scale_manifests(raw_dir: Path, seed: int, rows: int, seeds: Seeds) -> dict:
    """One clean CSV of ``rows`` consignments, chunk by chunk: memory does not grow with rows."""
    if not 1 <= rows < 10**9:
        raise ValueError(f"rows must be between 1 and 999,999,999, got {rows:,}")
    rel = f"manifests/synthetic_manifests_scale_{rows}.csv"
    spec = MANIFEST_FILES[0]
    (raw_dir / "manifests").mkdir(parents=True, exist_ok=True)
    parts: list[pl.DataFrame] = []
    started = time.perf_counter()
    with open(raw_dir / rel, "wb") as fh:
        for chunk, start in enumerate(range(0, rows, SCALE_CHUNK)):
            n = min(SCALE_CHUNK, rows - start)
            n_exp = round(n * SCALE_EXPLOSIVE_SHARE)
            # one generator per chunk: the bytes depend only on (seed, rows), not on timing
            rng = np.random.default_rng([seed, chunk])
            block = make_consignments(rng, n_exp, n - n_exp, np.arange(start, start + n))
            as_text(block, seeds, spec).write_csv(fh, include_header=chunk == 0)
            parts.append(aggregate(block))
            done = start + n
            progress(
                rows,
                f"{done:,} / {rows:,} rows ({done / rows:.0%}), "
                f"{time.perf_counter() - started:.1f} s",
            )
    counts = {
        "rows_written": rows,
        "rows_accepted": rows,
        "rows_superseded": 0,
        "rows_quarantined": 0,
        "rows_duplicate": 0,
        "quarantined_by_reason": {},
    }
    return {
        "files": [rel],
        "per_file": {
            rel: {**{k: v for k, v in spec.items() if k not in ("name", "months")}, **counts}
        },
        **counts,
        "planted": [],
        "current": totals(parts),
    }


def generate_day(raw_dir: Path, day: date, rows: int, seed: int = 7) -> Path:
    """One more clean manifest file: ``rows`` consignments all dispatched on ``day``.

    What a daily delivery looks like, for measuring an incremental run on top of a large
    state. Other files are left alone; ids never collide with the scale file's.
    """
    if not PERIOD_START <= day <= PERIOD_END:
        raise ValueError(f"day must lie in {PERIOD_START}..{PERIOD_END}, got {day}")
    if not 1 <= rows <= DAY_MAX_ROWS:
        raise ValueError(f"rows must be between 1 and {DAY_MAX_ROWS:,}, got {rows:,}")
    path = raw_dir / "manifests" / f"synthetic_manifests_day_{day.isoformat()}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    first = DAY_ID_BASE + (day - PERIOD_START).days * DAY_MAX_ROWS
    rng = np.random.default_rng([seed, day.toordinal()])
    n_exp = round(rows * SCALE_EXPLOSIVE_SHARE)
    block = make_consignments(rng, n_exp, rows - n_exp, np.arange(first, first + rows))
    block = block.with_columns(pl.lit(day).alias("dispatch_date"))
    as_text(block, Seeds.load(), MANIFEST_FILES[0]).write_csv(path)
    return path


def progress(rows: int | None, message: str) -> None:
    """Progress on stderr, only for runs big enough to wait for."""
    if rows is not None and rows >= 1_000_000:
        print(f"generate: {message}", file=sys.stderr, flush=True)
