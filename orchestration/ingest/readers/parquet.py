"""Parquet -> a lazy frame of text columns: typed values are cast back to text, so the parsing
rules judge them like any other file's."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from orchestration.ingest.contract import FileColumns
from orchestration.ingest.readers.common import FileRejected, TextFrame, error_text, text_columns


def read_parquet(path: Path, display: str, expected: FileColumns) -> TextFrame:
    """Typed values cast back to text; parquet has no broken lines or bad bytes to flag."""
    try:
        schema = pl.read_parquet_schema(path)
    except Exception as exc:  # polars raises several error types for a damaged footer
        raise FileRejected(
            "unreadable_file", f"{display}: not a readable parquet file ({error_text(exc)})"
        ) from exc
    names = list(schema)
    raw = (
        pl.scan_parquet(path)
        .with_row_index("source_row", offset=1)
        .with_columns(
            pl.col("source_row").cast(pl.Int64), *(pl.col(n).cast(pl.String) for n in names)
        )
    )
    frame, mapped, unmapped = text_columns(raw, names, expected, display)
    frame = frame.with_columns(
        pl.lit(None, pl.String).alias("__malformed"), pl.lit(False).alias("__encoding_error")
    )
    return TextFrame(frame, mapped, unmapped, "parquet")
