"""Lines too long to hand to polars: found in constant memory, blanked, quarantined."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl

from orchestration.ingest.readers.common import RAW_RECORD_BYTES, TRANSCODE_CHUNK, FileRejected

# Longest physical line (bytes, line feed included) of a delimited file handed to polars,
# whose CSV reader peaks at ~10x the longest field. Longer lines are quarantined as
# malformed_row. The env var LEDGER_MAX_LINE_BYTES overrides it, read at each ingest.
MAX_LINE_BYTES = 1 << 20


def find_long_lines(path: Path, limit: int) -> np.ndarray:
    """(line number, start offset, end offset) of each physical line longer than ``limit`` bytes.

    Scans 16 MB chunks with numpy, carrying the open line across chunk boundaries, so
    memory stays constant however long a line is. ``end`` includes the line feed.
    """
    found: list[np.ndarray] = []
    start, lines, offset = 0, 0, 0  # current line's start, lines finished, bytes scanned
    with path.open("rb") as fh:
        while chunk := fh.read(TRANSCODE_CHUNK):
            ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10) + offset
            offset += len(chunk)
            if ends.size:
                starts = np.concatenate(([start], ends[:-1] + 1))
                long = np.flatnonzero(ends + 1 - starts > limit)
                numbers = lines + 1 + long
                found.append(np.column_stack((numbers, starts[long], ends[long] + 1)))
                start, lines = int(ends[-1]) + 1, lines + ends.size
    if offset - start > limit:  # a last line without a line feed
        found.append(np.array([[lines + 1, start, offset]]))
    return np.concatenate(found) if found else np.empty((0, 3), dtype=np.int64)


def drop_long_lines(
    path: Path, target: Path, long: np.ndarray, display: str, limit: int, header: bool
) -> tuple[Path, pl.DataFrame]:
    """Copy ``path`` with each long line left blank, streamed; the lines become malformed rows.

    A blank line keeps the row numbers of the lines after it (polars counts it, the reader
    drops it as layout). Only the first ``RAW_RECORD_BYTES`` of a long line are ever read.
    """
    if header and long[0, 0] == 1:
        raise FileRejected(
            "unreadable_file", f"{display}: the header line is longer than {limit} bytes"
        )
    heads: list[str] = []
    with path.open("rb") as src, target.open("wb") as dst:
        copied = 0
        for start, end in long[:, 1:].tolist():
            _copy_range(src, dst, copied, start)
            src.seek(start)
            heads.append(src.read(min(RAW_RECORD_BYTES, end - start)).decode(errors="replace"))
            dst.write(b"\n")
            copied = end
        _copy_range(src, dst, copied, path.stat().st_size)
    numbers = pl.Series(long[:, 0] - int(header), dtype=pl.Int64)  # a header is line 1
    sizes = pl.Series(long[:, 2] - long[:, 1], dtype=pl.Int64)
    if header:  # a quoted line break makes a record span lines: say both numbers
        where, lines = "physical line {} (data row {})", [pl.lit(numbers + 1), pl.lit(numbers)]
        caveat = "; with quoted line breaks the row number may differ"
    else:
        where, lines, caveat = "line {}", [pl.lit(numbers)], ""
    rejected = pl.DataFrame({"source_row": numbers, "raw_record": heads}).select(
        "source_row",
        pl.lit("malformed_row").alias("reason_code"),
        pl.lit(None, pl.String).alias("reason_field"),
        pl.format(
            f"{{}}: {where} is {{}} bytes, longer than the limit of {{}} bytes"
            f" (LEDGER_MAX_LINE_BYTES){caveat}",
            pl.lit(display),
            *lines,
            sizes,
            pl.lit(limit),
        ).alias("reason_message"),
        "raw_record",
    )
    return target, rejected


def line_limit() -> int:
    """LEDGER_MAX_LINE_BYTES, read at each ingest so a run can change it."""
    return int(os.environ.get("LEDGER_MAX_LINE_BYTES", MAX_LINE_BYTES))


def guard_long_lines(
    path: Path, scratch: Path, display: str, header: bool
) -> tuple[Path, pl.DataFrame | None]:
    """The file to hand to polars (long lines blanked) and the rows quarantined for them."""
    limit = line_limit()
    long = find_long_lines(path, limit)
    if not long.size:
        return path, None
    return drop_long_lines(
        path, scratch / f"short_lines{path.suffix}", long, display, limit, header
    )


def _copy_range(src: BinaryIO, dst: BinaryIO, start: int, end: int) -> None:
    src.seek(start)
    while start < end:
        chunk = src.read(min(TRANSCODE_CHUNK, end - start))
        if not chunk:
            break
        dst.write(chunk)
        start += len(chunk)
