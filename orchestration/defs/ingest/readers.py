"""Readers: any supported file -> a lazy frame of text columns named canonically.

They sniff what senders vary (encoding, separator, header names) and leave every value as
text, so the parsing rules decide what is valid and the row count is what the file held.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl

from orchestration.defs.ingest.parsing import (
    ENCODING_ERROR_CHAR,
    clean_text,
    map_headers,
    missing_required,
)

TEXT_SUFFIXES = {".csv", ".tsv", ".txt"}
JSON_SUFFIXES = {".jsonl", ".ndjson", ".json"}
PARQUET_SUFFIXES = {".parquet"}
SAMPLE_BYTES = 1 << 20
TRANSCODE_CHUNK = 16 << 20
SEPARATORS = (",", ";", "\t", "|")
CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))  # not in any text file
LINE_SEPARATOR = "\x1f"  # never in text data: reads a JSON Lines file one line per row
# Longest physical line (bytes, line feed included) of a delimited file handed to polars,
# whose CSV reader peaks at ~10x the longest field. Longer lines are quarantined as
# malformed_row. The env var LEDGER_MAX_LINE_BYTES overrides it, read at each ingest.
MAX_LINE_BYTES = 1 << 20
RAW_RECORD_BYTES = 200


class FileRejected(Exception):
    """The whole file cannot be ingested; ``reason_code`` is a file-level code."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code
        self.message = message


@dataclass
class TextFrame:
    """A file as text columns: canonical names, ``source_row`` and ``extra_fields`` (JSON).

    ``__encoding_error`` and ``__malformed`` flag rows whose shape cannot be trusted.
    """

    frame: pl.LazyFrame
    columns_mapped: dict[str, str]
    columns_unmapped: list[str]
    encoding: str
    details: dict[str, str] = field(default_factory=dict)
    # Rows quarantined before parsing (lines too long to read), shaped like apply_plan's output.
    rejected: pl.DataFrame | None = None


def _sample(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(SAMPLE_BYTES)


def _is_blank(sample: bytes) -> bool:
    return not sample.replace(codecs.BOM_UTF8, b"").strip()


def detect_encoding(sample: bytes, display: str) -> str:
    """'utf-8' (possibly with a few bad bytes, reported per row) or 'cp1251'.

    A sample that is mostly valid multi-byte UTF-8 is UTF-8; one where the non-ASCII bytes
    do not form UTF-8 is the Cyrillic Windows code page still common in rail paperwork.
    """
    if b"\x00" in sample:
        raise FileRejected("unreadable_file", f"{display}: binary content (NUL bytes), not text")
    text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(sample, final=False)
    bad = text.count(ENCODING_ERROR_CHAR)
    good = len(text) - len(text.encode("ascii", errors="ignore")) - bad
    if bad == 0 or good > bad:
        return "utf-8"
    controls = len(sample) - len(sample.translate(None, CONTROL_BYTES))
    if controls > len(sample) // 100:
        raise FileRejected("unreadable_file", f"{display}: binary content, not text")
    return "cp1251"


def transcode_to_utf8(path: Path, target: Path, encoding: str) -> Path:
    """Stream a legacy-encoded file into UTF-8 so polars can scan it; constant memory."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    with path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(TRANSCODE_CHUNK):
            dst.write(decoder.decode(chunk))
        dst.write(decoder.decode(b"", final=True))
    return target


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
    path: Path, target: Path, long: np.ndarray, display: str, limit: int
) -> tuple[Path, pl.DataFrame]:
    """Copy ``path`` with each long line left blank, streamed; the lines become malformed rows.

    A blank line keeps the row numbers of the lines after it (polars counts it, the reader
    drops it as layout). Only the first ``RAW_RECORD_BYTES`` of a long line are ever read.
    """
    if long[0, 0] == 1:
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
    numbers = pl.Series(long[:, 0] - 1, dtype=pl.Int64)  # the header is line 1
    sizes = pl.Series(long[:, 2] - long[:, 1], dtype=pl.Int64)
    rejected = pl.DataFrame({"source_row": numbers, "raw_record": heads}).select(
        "source_row",
        pl.lit("malformed_row").alias("reason_code"),
        pl.lit(None, pl.String).alias("reason_field"),
        pl.format(
            "{}: physical line {} (data row {}) is {} bytes, longer than the limit of {} bytes"
            " (LEDGER_MAX_LINE_BYTES); with quoted line breaks the row number may differ",
            pl.lit(display),
            numbers + 1,
            numbers,
            sizes,
            pl.lit(limit),
        ).alias("reason_message"),
        "raw_record",
    )
    return target, rejected


def _copy_range(src: BinaryIO, dst: BinaryIO, start: int, end: int) -> None:
    src.seek(start)
    while start < end:
        chunk = src.read(min(TRANSCODE_CHUNK, end - start))
        if not chunk:
            break
        dst.write(chunk)
        start += len(chunk)


def sniff_header(text: str, suffix: str) -> tuple[str, list[str]]:
    """Separator (the candidate most frequent outside quotes in the header) and header names."""
    first_line = text.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    unquoted = re.sub(r'"[^"]*"', "", first_line)
    counts = {sep: unquoted.count(sep) for sep in SEPARATORS}
    default = "\t" if suffix == ".tsv" else ","
    separator = max(SEPARATORS, key=lambda s: (counts[s], s == default))
    if counts[separator] == 0:
        separator = default
    header = next(csv.reader([first_line], delimiter=separator), [])
    return separator, header


def _text_columns(
    raw: pl.LazyFrame,
    names: Sequence[str],
    canonical: Sequence[str],
    required: Sequence[tuple[str, ...]],
    display: str,
) -> tuple[pl.LazyFrame, dict[str, str], list[str]]:
    """Rename ``names`` (the raw columns, in order) to canonical ones; extras go to JSON."""
    mapped, unmapped = map_headers(names, canonical)
    missing = missing_required(mapped.values(), required)
    if missing:
        raise FileRejected(
            "missing_required_columns",
            f"{display}: missing required columns {missing}; found columns {list(names)};"
            f" expected {list(canonical)} (or a known alias)",
        )
    present = {target: source for source, target in mapped.items()}
    values = [
        clean_text(pl.col(present[c])).alias(c)
        if c in present
        else pl.lit(None, pl.String).alias(c)
        for c in canonical
    ]
    extras = (
        pl.struct([pl.col(u).alias(u) for u in unmapped]).struct.json_encode()
        if unmapped
        else pl.lit(None, pl.String)
    )
    frame = raw.with_columns(extras.alias("extra_fields")).with_columns(values)
    return frame, mapped, unmapped


def _drop_blank_rows(frame: pl.LazyFrame, columns: Sequence[str]) -> pl.LazyFrame:
    """Blank lines (or only separators) are layout, not records: they are not counted."""
    return frame.filter(pl.any_horizontal(clean_text(pl.col(c)).is_not_null() for c in columns))


def read_delimited(
    path: Path,
    display: str,
    canonical: Sequence[str],
    required: Sequence[tuple[str, ...]],
    scratch: Path,
) -> TextFrame:
    sample = _sample(path)
    if _is_blank(sample):
        raise FileRejected("empty_file", f"{display}: the file is empty")
    encoding = detect_encoding(sample, display)
    source = path
    if encoding != "utf-8":
        source = transcode_to_utf8(path, scratch / "transcoded.csv", encoding)
        sample = _sample(source)
    rejected = None
    limit = int(os.environ.get("LEDGER_MAX_LINE_BYTES", MAX_LINE_BYTES))
    long = find_long_lines(source, limit)
    if long.size:
        source, rejected = drop_long_lines(
            source, scratch / "short_lines.csv", long, display, limit
        )
    text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(sample, final=False)
    separator, header = sniff_header(text, path.suffix.lower())
    names = _distinct([h.replace("\ufeff", "").strip() for h in header])
    # Positional names keep odd headers apart; one spare column catches rows with more fields
    # than the header (malformed; the rest of such a row is cut off).
    positional = [f"__c{i}" for i in range(len(names))]
    raw = pl.scan_csv(
        source,
        separator=separator,
        has_header=False,
        skip_rows=1,
        schema={**dict.fromkeys(positional, pl.String), "__spill": pl.String},
        truncate_ragged_lines=True,
        encoding="utf8-lossy",
        row_index_name="source_row",
        row_index_offset=1,
        quote_char='"',
        raise_if_empty=False,
    ).with_columns(pl.col("source_row").cast(pl.Int64))
    named = _drop_blank_rows(raw, [*positional, "__spill"]).rename(
        dict(zip(positional, names, strict=True))
    )
    frame, mapped, unmapped = _text_columns(named, names, canonical, required, display)
    frame = frame.with_columns(
        pl.any_horizontal(pl.col(n).str.contains(ENCODING_ERROR_CHAR, literal=True) for n in names)
        .fill_null(False)
        .alias("__encoding_error"),
        clean_text(pl.col("__spill")).is_not_null().alias("__malformed"),
    )
    sep_name = {"\t": "tab"}.get(separator, separator)
    return TextFrame(frame, mapped, unmapped, encoding, {"separator": sep_name}, rejected)


def _distinct(names: Sequence[str]) -> list[str]:
    """Unnamed columns (trailing separators) get placeholder names the mapping ignores."""
    out: list[str] = []
    for i, name in enumerate(names):
        if not name:
            name = f"__unnamed{i}"
        elif name in out:
            name = f"{name}_{i + 1}"  # a repeated header: kept aside as an extra column
        out.append(name)
    return out


def read_json_lines(
    path: Path,
    display: str,
    canonical: Sequence[str],
    required: Sequence[tuple[str, ...]],
) -> TextFrame:
    """One JSON object per line; a line that is not an object is a malformed row, not a bad file."""
    sample = _sample(path)
    if _is_blank(sample):
        raise FileRejected("empty_file", f"{display}: the file is empty")
    detect_encoding(sample, display)
    keys: list[str] = []
    for line in sample.decode("utf-8", errors="replace").lstrip("\ufeff").splitlines():
        try:
            first = json.loads(line)
        except ValueError:
            continue
        if isinstance(first, dict):
            keys = list(first)
            break
    if not keys:
        raise FileRejected("unreadable_file", f"{display}: no JSON object found in the first lines")
    lines = pl.scan_csv(
        path,
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
        (~parsed.str.starts_with("{")).fill_null(True).alias("__malformed"),
        pl.col("__line").str.contains(ENCODING_ERROR_CHAR, literal=True).alias("__encoding_error"),
    )
    frame, mapped, unmapped = _text_columns(raw, keys, canonical, required, display)
    return TextFrame(frame, mapped, unmapped, "utf-8")


def read_parquet(
    path: Path,
    display: str,
    canonical: Sequence[str],
    required: Sequence[tuple[str, ...]],
) -> TextFrame:
    try:
        schema = pl.read_parquet_schema(path)
    except Exception as exc:  # polars raises several error types for a damaged footer
        raise FileRejected(
            "unreadable_file", f"{display}: not a readable parquet file ({exc})"
        ) from exc
    names = list(schema)
    raw = (
        pl.scan_parquet(path)
        .with_row_index("source_row", offset=1)
        .with_columns(
            pl.col("source_row").cast(pl.Int64), *(pl.col(n).cast(pl.String) for n in names)
        )
    )
    frame, mapped, unmapped = _text_columns(raw, names, canonical, required, display)
    frame = frame.with_columns(
        pl.lit(False).alias("__malformed"), pl.lit(False).alias("__encoding_error")
    )
    return TextFrame(frame, mapped, unmapped, "parquet")


def read_table(
    path: Path,
    display: str,
    canonical: Sequence[str],
    required: Sequence[tuple[str, ...]],
    scratch: Path,
) -> TextFrame:
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise FileRejected("empty_file", f"{display}: the file is empty")
    if suffix in TEXT_SUFFIXES:
        return read_delimited(path, display, canonical, required, scratch)
    if suffix in JSON_SUFFIXES:
        return read_json_lines(path, display, canonical, required)
    if suffix in PARQUET_SUFFIXES:
        return read_parquet(path, display, canonical, required)
    supported = sorted(TEXT_SUFFIXES | JSON_SUFFIXES | PARQUET_SUFFIXES)
    raise FileRejected("unreadable_file", f"{display}: unsupported file type; expected {supported}")
