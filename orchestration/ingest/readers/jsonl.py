"""JSON Lines -> a lazy frame of text columns, one row per line."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from orchestration.ingest.contract import FileColumns
from orchestration.ingest.readers.common import (
    ENCODING_ERROR_CHAR,
    FileRejected,
    TextFrame,
    text_columns,
)
from orchestration.ingest.readers.encoding import sample_bytes, text_sample
from orchestration.ingest.readers.long_lines import guard_long_lines

LINE_SEPARATOR = "\x1f"  # never in text data: reads a JSON Lines file one line per row


def read_json_lines(path: Path, display: str, expected: FileColumns, scratch: Path) -> TextFrame:
    """One JSON object per line; a line that is not an object is a malformed row, not a bad file."""
    text_sample(path, display)
    source, rejected = guard_long_lines(path, scratch, display, header=False)
    head = sample_bytes(source)
    keys: list[str] = []
    for line in head.decode("utf-8", errors="replace").lstrip("\ufeff").splitlines():
        try:
            first = json.loads(line)
        except ValueError:
            continue
        if isinstance(first, dict):
            keys = list(first)
            break
    if not keys and rejected is not None and not head.strip():
        keys = list(expected.names)  # every line was too long to read: they are the file's rows
    if not keys:
        raise FileRejected("unreadable_file", f"{display}: no JSON object found in the first lines")
    lines = pl.scan_csv(
        source,
        separator=LINE_SEPARATOR,
        has_header=False,
        quote_char=None,
        schema={"__line": pl.String},
        encoding="utf8-lossy",
        row_index_name="source_row",
        row_index_offset=1,
        truncate_ragged_lines=True,
        raise_if_empty=False,
    ).with_columns(
        pl.col("source_row").cast(pl.Int64),
        pl.col("__line").str.strip_chars().str.strip_prefix("\ufeff"),
    )
    lines = lines.filter(pl.col("__line").str.len_chars() > 0)
    parsed = pl.col("__line").str.json_path_match("$")
    raw = lines.with_columns(
        pl.col("__line").str.json_path_match(f"$[{json.dumps(k, ensure_ascii=False)}]").alias(k)
        for k in keys
    ).with_columns(
        pl.when((~parsed.str.starts_with("{")).fill_null(True))
        .then(pl.lit("the line is not a JSON object"))
        .alias("__malformed"),
        pl.col("__line").str.contains(ENCODING_ERROR_CHAR, literal=True).alias("__encoding_error"),
    )
    frame, mapped, unmapped = text_columns(raw, keys, expected, display)
    return TextFrame(frame, mapped, unmapped, "utf-8", rejected=rejected)
