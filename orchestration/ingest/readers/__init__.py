"""Readers: any supported file -> a lazy frame of text columns named canonically.

They sniff what senders vary (encoding, separator, header names) and leave every value as
text, so the parsing rules decide what is valid and the row count is what the file held.
One module per format (``delimited``, ``jsonl``, ``parquet``); ``encoding`` and
``long_lines`` guard text files before polars reads them; ``common`` holds what all share.
"""

from __future__ import annotations

from pathlib import Path

from orchestration.ingest.contract import FileColumns
from orchestration.ingest.readers.common import FileRejected, TextFrame
from orchestration.ingest.readers.delimited import read_delimited
from orchestration.ingest.readers.jsonl import read_json_lines
from orchestration.ingest.readers.parquet import read_parquet

TEXT_SUFFIXES = {".csv", ".tsv", ".txt"}
JSON_SUFFIXES = {".jsonl", ".ndjson", ".json"}
PARQUET_SUFFIXES = {".parquet"}


def read_table(path: Path, display: str, expected: FileColumns, scratch: Path) -> TextFrame:
    """The reader for the file's suffix; an empty or unsupported file is rejected whole."""
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise FileRejected("empty_file", f"{display}: the file is empty")
    if suffix in TEXT_SUFFIXES:
        return read_delimited(path, display, expected, scratch)
    if suffix in JSON_SUFFIXES:
        return read_json_lines(path, display, expected, scratch)
    if suffix in PARQUET_SUFFIXES:
        return read_parquet(path, display, expected)
    supported = sorted(TEXT_SUFFIXES | JSON_SUFFIXES | PARQUET_SUFFIXES)
    raise FileRejected("unreadable_file", f"{display}: unsupported file type; expected {supported}")
