"""Is it text, and in which encoding: the checks a text file passes before any parsing."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from orchestration.ingest.readers.common import ENCODING_ERROR_CHAR, TRANSCODE_CHUNK, FileRejected

SAMPLE_BYTES = 1 << 20
CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))  # not in any text file
CYRILLIC_WORD = re.compile("[\u0400-\u04ff]{2}")


def sample_bytes(path: Path) -> bytes:
    """The first ``SAMPLE_BYTES`` of a file: enough to sniff, never the whole file."""
    with path.open("rb") as fh:
        return fh.read(SAMPLE_BYTES)


def _is_blank(sample: bytes) -> bool:
    return not sample.replace(codecs.BOM_UTF8, b"").strip()


def text_sample(path: Path, display: str) -> bytes:
    """The first MB of a text file, once it is known not to be empty or binary.

    NUL or many control bytes: not a text file in any encoding we read.
    """
    sample = sample_bytes(path)
    if _is_blank(sample):
        raise FileRejected("empty_file", f"{display}: the file is empty")
    if b"\x00" in sample:
        raise FileRejected("unreadable_file", f"{display}: binary content (NUL bytes), not text")
    controls = len(sample) - len(sample.translate(None, CONTROL_BYTES))
    if controls > len(sample) // 100:
        raise FileRejected("unreadable_file", f"{display}: binary content, not text")
    return sample


def detect_encoding(path: Path) -> tuple[str, bool]:
    """'utf-8' (possibly with a few bad bytes, reported per row) or 'cp1251', and whether
    decoding it as UTF-8 gave any U+FFFD (a file without one needs no per-row check).

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
    return ("cp1251" if bad > good and words else "utf-8"), bad > 0


def transcode_to_utf8(path: Path, target: Path, encoding: str) -> Path:
    """Stream a legacy-encoded file into UTF-8 so polars can scan it; constant memory."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    with path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(TRANSCODE_CHUNK):
            dst.write(decoder.decode(chunk))
        dst.write(decoder.decode(b"", final=True))
    return target
