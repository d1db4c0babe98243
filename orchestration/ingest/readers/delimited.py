"""CSV/TSV (any separator, quoting and encoding) -> a lazy frame of text columns."""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import polars as pl

from orchestration.ingest.contract import FileColumns
from orchestration.ingest.exprs import clean_text
from orchestration.ingest.readers.common import (
    ENCODING_ERROR_CHAR,
    RAW_RECORD_BYTES,
    TRANSCODE_CHUNK,
    TextFrame,
    text_columns,
)
from orchestration.ingest.readers.encoding import (
    detect_encoding,
    sample_bytes,
    text_sample,
    transcode_to_utf8,
)
from orchestration.ingest.readers.long_lines import guard_long_lines, line_limit

SEPARATORS = (",", ";", "\t", "|")
# csv module errors (CPython's wording) for a quoted field still open at the end of the file,
# or grown past the field size limit: both mean a quote that is never closed.
UNCLOSED_QUOTE_ERRORS = ("unexpected end of data", "field larger than field limit")


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


def read_delimited(path: Path, display: str, expected: FileColumns, scratch: Path) -> TextFrame:
    """Every record as text, with the rows whose shape is wrong flagged, not dropped."""
    sample = text_sample(path, display)
    encoding, replaced = detect_encoding(path)
    source = path
    if encoding != "utf-8":
        source = transcode_to_utf8(path, scratch / "transcoded.csv", encoding)
        sample = sample_bytes(source)
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
    frame, mapped, unmapped = text_columns(
        raw.rename(dict(zip(positional, names, strict=True))), names, expected, display
    )
    # Blank lines (or only separators) are layout, not records: they are not counted. The
    # canonical columns are already clean text, so only the others are cleaned for this.
    frame = frame.filter(
        pl.any_horizontal(
            *(pl.col(c).is_not_null() for c in expected.names),
            *(clean_text(pl.col(c)).is_not_null() for c in [*unmapped, "__spill"]),
        )
    )
    # Only a file that decoded to some U+FFFD can have a row with bytes that are not text (a
    # cp1251 file always did: that is how it was told apart), and only a file the scan found
    # short records in needs them joined: each costs a pass over every value at 10 M rows.
    encoding_error = (
        pl.any_horizontal(
            pl.col(n).str.contains(ENCODING_ERROR_CHAR, literal=True) for n in names
        ).fill_null(False)
        if replaced
        else pl.lit(False)
    )
    fields = pl.col("__fields")
    if scan.short.is_empty():
        frame = frame.with_columns(pl.lit(None, pl.Int64).alias("__fields"))
    else:
        # A join, not replace_strict: that one makes polars drop streaming (7 GB for 10 M rows).
        short = scan.short.rename({"fields": "__fields"}).lazy()
        frame = frame.join(short, on="source_row", how="left", maintain_order="left")
    frame = frame.with_columns(
        encoding_error.alias("__encoding_error"),
        pl.when(clean_text(pl.col("__spill")).is_not_null())
        .then(pl.lit(f"more fields than the header's {len(names)}; the extra fields are cut off"))
        .when(fields.is_not_null())
        .then(pl.format(f"{{}} field(s) where the header has {len(names)}", fields))
        .alias("__malformed"),
    ).drop("__fields")
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
