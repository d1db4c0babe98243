"""Readers: any supported file -> a lazy frame of text columns named canonically.

They sniff what senders vary (encoding, separator, header names) and leave every value as
text, so the parsing rules decide what is valid and the row count is what the file held.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import json
import os
import re
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

import numpy as np
import polars as pl

from orchestration.ingest.exprs import clean_text, excerpt
from orchestration.ingest.parsing import (
    ENCODING_ERROR_CHAR,
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
CYRILLIC_WORD = re.compile("[\u0400-\u04ff]{2}")
LINE_SEPARATOR = "\x1f"  # never in text data: reads a JSON Lines file one line per row
# Longest physical line (bytes, line feed included) of a delimited file handed to polars,
# whose CSV reader peaks at ~10x the longest field. Longer lines are quarantined as
# malformed_row. The env var LEDGER_MAX_LINE_BYTES overrides it, read at each ingest.
MAX_LINE_BYTES = 1 << 20
RAW_RECORD_BYTES = 200
# csv module errors (CPython's wording) for a quoted field still open at the end of the file,
# or grown past the field size limit: both mean a quote that is never closed.
UNCLOSED_QUOTE_ERRORS = ("unexpected end of data", "field larger than field limit")


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


def _sample(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(SAMPLE_BYTES)


def _is_blank(sample: bytes) -> bool:
    return not sample.replace(codecs.BOM_UTF8, b"").strip()


def text_sample(path: Path, display: str) -> bytes:
    """The first MB of a text file, once it is known not to be empty or binary.

    NUL or many control bytes: not a text file in any encoding we read.
    """
    sample = _sample(path)
    if _is_blank(sample):
        raise FileRejected("empty_file", f"{display}: the file is empty")
    if b"\x00" in sample:
        raise FileRejected("unreadable_file", f"{display}: binary content (NUL bytes), not text")
    controls = len(sample) - len(sample.translate(None, CONTROL_BYTES))
    if controls > len(sample) // 100:
        raise FileRejected("unreadable_file", f"{display}: binary content, not text")
    return sample


def detect_encoding(path: Path) -> str:
    """'utf-8' (possibly with a few bad bytes, reported per row) or 'cp1251'.

    The whole file is scanned (ASCII chunks cost almost nothing), so a stray byte or a
    Cyrillic block far down the file counts as much as one on the first line. Mostly valid
    multi-byte UTF-8 is UTF-8. Non-ASCII bytes that are not UTF-8 are the Cyrillic Windows
    code page still common in rail paperwork only if they spell Cyrillic words there;
    isolated stray bytes in an ASCII file are corruption, quarantined as encoding_error.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    bad = good = 0
    words = False
    with path.open("rb") as fh:
        while chunk := fh.read(TRANSCODE_CHUNK):
            if chunk.isascii() and not decoder.getstate()[0]:
                continue
            text = decoder.decode(chunk)
            errors = text.count(ENCODING_ERROR_CHAR)
            bad += errors
            good += len(text) - len(text.encode("ascii", errors="ignore")) - errors
            words = words or (
                errors > 0 and CYRILLIC_WORD.search(chunk.decode("cp1251", "replace")) is not None
            )
    bad += decoder.decode(b"", final=True).count(ENCODING_ERROR_CHAR)
    return "cp1251" if bad > good and words else "utf-8"


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


@dataclass
class RecordScan:
    """What one pass over a delimited file found: short records and whether quoting is clean."""

    short: pl.DataFrame  # source_row, fields: records with fewer fields than needed
    quotes_clean: bool  # every quoted field opens at a field start and closes at a field end


def scan_records(path: Path, separator: str, needed: int) -> RecordScan:
    """Count the fields of every record without parsing it: separators outside quotes.

    polars pads a short record with nulls, so it cannot tell a missing field from an empty
    one. Quote parity (``""`` escapes cancel out) tells which separators and line feeds are
    inside quotes, which is how polars splits records too; that holds only while every
    opening quote starts a field and every closing one ends it, which is checked alongside
    (a stray ``5" shells`` breaks it). Reads 16 MB slices, carrying the parity and the open
    record's count. Records are numbered as polars numbers rows (header = 0, blank lines
    counted); blank records are reported too, and dropped later as layout.
    """
    sep, rows, counts = ord(separator), [], []
    record, open_seps, quoted, last_end, clean, lo = 0, 0, 0, -1, True, 0
    with path.open("rb") as fh:
        bom = fh.peek(3).startswith(codecs.BOM_UTF8)
        edge = b"\n"  # the byte before the slice: the file's start counts as a line start
        while chunk := fh.read(TRANSCODE_CHUNK):
            # One byte either side, so a quote at a slice edge sees its neighbours.
            wide = np.frombuffer(edge + chunk + (fh.peek(1)[:1] or b"\n"), dtype=np.uint8)
            part = wide[1:-1]
            quotes = np.flatnonzero(part == 34)
            seps, ends = np.flatnonzero(part == sep), np.flatnonzero(part == 10)
            if quotes.size:
                opens = (np.arange(quotes.size) + quoted) % 2 == 0
                opens_ok = np.isin(wide[quotes], (sep, 10, 34)) | (quotes + lo == 3 * bom)
                closes_ok = np.isin(wide[quotes + 2], (sep, 13, 10, 34))
                clean = clean and bool(np.where(opens, opens_ok, closes_ok).all())
            if quotes.size or quoted:
                seps = seps[(quoted + np.searchsorted(quotes, seps)) % 2 == 0]
                ends = ends[(quoted + np.searchsorted(quotes, ends)) % 2 == 0]
            before_end = np.searchsorted(seps, ends)  # separators in this slice before each end
            fields = np.diff(before_end, prepend=0) + 1
            fields[:1] += open_seps
            short = np.flatnonzero(fields < needed)
            rows.append(short + record)
            counts.append(fields[short])
            open_seps = seps.size - int(before_end[-1]) if ends.size else open_seps + seps.size
            record += ends.size
            quoted = (quoted + quotes.size) % 2
            last_end = int(ends[-1]) + lo if ends.size else last_end
            lo, edge = lo + len(chunk), chunk[-1:]
    if lo > last_end + 1 and open_seps + 1 < needed:  # a last record without a line feed
        rows.append(np.array([record]))
        counts.append(np.array([open_seps + 1]))
    found = pl.DataFrame(
        {"source_row": np.concatenate(rows), "fields": np.concatenate(counts)},
        schema={"source_row": pl.Int64, "fields": pl.Int64},
    )
    return RecordScan(found.filter(pl.col("source_row") > 0), clean and not quoted)


def requote(
    path: Path, target: Path, separator: str, display: str, limit: int
) -> tuple[Path, pl.DataFrame | None]:
    """Rewrite a file with stray quotes so that polars reads it as the csv module's rules do.

    A quote inside an unquoted field is kept as a character. A record whose quoting cannot be
    read (``"x"y``) is a malformed row. A quote that opens a field and is never closed would
    swallow the rest of the file (or ``limit`` bytes of it): its first line is the malformed
    row and reading resumes on the line after it. A malformed row's line is left blank so the
    numbering holds. Only files that fail the quote check come here: this pass is pure Python.
    """
    csv.field_size_limit(limit)  # process-wide; the same bound as the long-line guard
    consumed: list[str] = []  # the physical lines of the record being read
    replay: deque[str] = deque()  # lines to read again after a quote that never closed
    bad: list[tuple[int, str, str]] = []
    line_no = 0

    def lines(src: TextIO) -> Iterator[str]:
        nonlocal line_no
        while line := replay.popleft() if replay else src.readline():
            line_no += 1
            consumed.append(line)
            yield line

    with (
        path.open(encoding="utf-8", errors="replace", newline="") as src,
        target.open("w", encoding="utf-8", newline="") as dst,
    ):
        writer = csv.writer(dst, delimiter=separator, lineterminator="\n")
        reader = csv.reader(lines(src), delimiter=separator, strict=True)
        for record in itertools.count():
            consumed.clear()
            first = line_no + 1
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                unclosed = str(exc).startswith(UNCLOSED_QUOTE_ERRORS)
                problem = "a quote opens a field and is never closed" if unclosed else str(exc)
                raw = consumed[0] if unclosed else "".join(consumed)
                bad.append(
                    (record, raw.rstrip("\r\n")[:RAW_RECORD_BYTES], f"line {first}: {problem}")
                )
                if unclosed:
                    replay.extend(consumed[1:])
                    line_no = first
                    reader = csv.reader(lines(src), delimiter=separator, strict=True)
                fields = []
            writer.writerow(fields)
    if not bad:
        return target, None
    rejected = pl.DataFrame(bad, schema=["source_row", "raw_record", "problem"], orient="row")
    return target, rejected.select(
        pl.col("source_row").cast(pl.Int64),
        pl.lit("malformed_row").alias("reason_code"),
        pl.lit(None, pl.String).alias("reason_field"),
        pl.format(
            "{} row {}: broken quoting, {}; a field that starts with a quote must end with one"
            " followed by the separator or the end of the line, and a quote inside it is"
            ' written twice ("")',
            pl.lit(display),
            "source_row",
            "problem",
        ).alias("reason_message"),
        "raw_record",
    )


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
            f"{display}: missing required columns {missing};"
            f" found columns {excerpt(str(list(names)))};"
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
    sample = text_sample(path, display)
    encoding = detect_encoding(path)
    source = path
    if encoding != "utf-8":
        source = transcode_to_utf8(path, scratch / "transcoded.csv", encoding)
        sample = _sample(source)
    source, rejected = guard_long_lines(source, scratch, display, header=True)
    text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(sample, final=False)
    separator, header = sniff_header(text, path.suffix.lower())
    names = _distinct([h.replace("\ufeff", "").strip() for h in header])
    details = {"separator": {"\t": "tab"}.get(separator, separator)}
    # Trailing unnamed columns (a header ending in separators) may be left off a row.
    needed = max((i + 1 for i, h in enumerate(header) if h.strip()), default=1)
    scan = scan_records(source, separator, needed)
    if not scan.quotes_clean:
        source, broken = requote(source, scratch / "requoted.csv", separator, display, line_limit())
        parts = [r for r in (rejected, broken) if r is not None]
        rejected = pl.concat(parts) if parts else None
        scan = scan_records(source, separator, needed)
        details["quoting"] = "stray quotes read as characters"
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
    # A join, not replace_strict: that one makes polars drop streaming (7 GB for 10 M rows).
    short = scan.short.rename({"fields": "__fields"}).lazy()
    fields = pl.col("__fields")
    frame = (
        frame.join(short, on="source_row", how="left", maintain_order="left")
        .with_columns(
            pl.any_horizontal(
                pl.col(n).str.contains(ENCODING_ERROR_CHAR, literal=True) for n in names
            )
            .fill_null(False)
            .alias("__encoding_error"),
            pl.when(clean_text(pl.col("__spill")).is_not_null())
            .then(
                pl.lit(f"more fields than the header's {len(names)}; the extra fields are cut off")
            )
            .when(fields.is_not_null())
            .then(pl.format(f"{{}} field(s) where the header has {len(names)}", fields))
            .alias("__malformed"),
        )
        .drop("__fields")
    )
    return TextFrame(frame, mapped, unmapped, encoding, details, rejected)


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
    scratch: Path,
) -> TextFrame:
    """One JSON object per line; a line that is not an object is a malformed row, not a bad file."""
    text_sample(path, display)
    source, rejected = guard_long_lines(path, scratch, display, header=False)
    head = _sample(source)
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
        keys = list(canonical)  # every line was too long to read: they are the file's rows
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
    frame, mapped, unmapped = _text_columns(raw, keys, canonical, required, display)
    return TextFrame(frame, mapped, unmapped, "utf-8", rejected=rejected)


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
    frame, mapped, unmapped = _text_columns(raw, names, canonical, required, display)
    frame = frame.with_columns(
        pl.lit(None, pl.String).alias("__malformed"), pl.lit(False).alias("__encoding_error")
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
        return read_json_lines(path, display, canonical, required, scratch)
    if suffix in PARQUET_SUFFIXES:
        return read_parquet(path, display, canonical, required)
    supported = sorted(TEXT_SUFFIXES | JSON_SUFFIXES | PARQUET_SUFFIXES)
    raise FileRejected("unreadable_file", f"{display}: unsupported file type; expected {supported}")
