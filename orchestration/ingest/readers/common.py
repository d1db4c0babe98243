"""What every reader shares: the whole-file rejection, the text frame it returns, the mapping
of a file's columns to canonical ones, and the constants that bound memory and messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from orchestration.ingest.contract import FileColumns
from orchestration.ingest.exprs import clean_text, excerpt
from orchestration.ingest.headers import map_headers, missing_required

ENCODING_ERROR_CHAR = "\ufffd"  # what the lossy UTF-8 decoder puts where bytes were invalid
TRANSCODE_CHUNK = 16 << 20  # bytes a streaming pass reads at a time
RAW_RECORD_BYTES = 200  # what raw_record keeps of a line too broken to split into fields


# A library's error text (polars, arrow, YAML) may echo the bytes it choked on: one line of it,
# cut to this length, goes into a rejection message.
ERROR_CHARS = 160


def error_text(exc: BaseException) -> str:
    """The first line of an exception's text, bounded; its type name when it has none."""
    lines = str(exc).strip().splitlines()
    return excerpt(lines[0].strip(), ERROR_CHARS) if lines else type(exc).__name__


class FileRejected(Exception):
    """The whole file cannot be ingested; ``reason_code`` is a file-level code."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code
        self.message = message


@dataclass
class TextFrame:
    """A file as text columns: canonical names, ``source_row`` and ``extra_fields`` (JSON).

    ``__encoding_error`` flags rows whose bytes cannot be trusted; ``__malformed`` says why a
    row's shape cannot be (null when it can).
    """

    frame: pl.LazyFrame
    columns_mapped: dict[str, str]
    columns_unmapped: list[str]
    encoding: str
    details: dict[str, str] = field(default_factory=dict)
    # Rows quarantined before parsing (lines too long to read), shaped like apply_plan's output.
    rejected: pl.DataFrame | None = None


def text_columns(
    raw: pl.LazyFrame,
    names: Sequence[str],
    expected: FileColumns,
    display: str,
) -> tuple[pl.LazyFrame, dict[str, str], list[str]]:
    """Rename ``names`` (the raw columns, in order) to canonical ones; extras go to JSON."""
    mapped, unmapped = map_headers(names, expected.names)
    missing = missing_required(mapped.values(), expected.required)
    if missing:
        raise FileRejected(
            "missing_required_columns",
            f"{display}: missing required columns {missing};"
            f" found columns {excerpt(str(list(names)))};"
            f" expected {list(expected.names)} (or a known alias)",
        )
    present = {target: source for source, target in mapped.items()}
    values = [
        clean_text(pl.col(present[c])).alias(c)
        if c in present
        else pl.lit(None, pl.String).alias(c)
        for c in expected.names
    ]
    extras = (
        pl.struct([pl.col(u).alias(u) for u in unmapped]).struct.json_encode()
        if unmapped
        else pl.lit(None, pl.String)
    )
    frame = raw.with_columns(extras.alias("extra_fields")).with_columns(values)
    return frame, mapped, unmapped
