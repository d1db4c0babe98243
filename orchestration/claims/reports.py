"""Report files: YAML front matter (the contract's keys only), curated claims, merging.

The front matter is split off by one regular expression and read with yaml.safe_load rather than
python-frontmatter, which normalises line endings, strips the body and returns empty metadata
when the header is missing: claims keep character offsets into the body, so it must be exactly
the text after the closing ``---``, and a missing or bad header must fail naming the file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from orchestration.claims.extraction import extract_claims

CLAIM_FIELDS = (
    "report_id",
    "claim_id",
    "metric",
    "value",
    "value_low",
    "value_high",
    "qualifier",
    "period_start",
    "period_end",
    "direction_from",
    "direction_to",
    "char_start",
    "char_end",
    "sentence",
    "is_curated",
)
METRICS = ("explosives_tonnes", "rounds", "shipments", "containers")
QUALIFIERS = ("over", "about", "nearly", "up to", "exact")
# Only these keys are kept: anything else (e.g. a path to "include") is ignored, never followed.
FRONT_MATTER_KEYS = ("title", "publisher", "published", "url", "language", "synthetic", "claims")


class ReportError(ValueError):
    """A report file that cannot be read; the message names the file and the reason."""


@dataclass
class ParsedReport:
    """One report; ``ignored_keys`` lists front-matter keys outside the contract (never used)."""

    report_id: str
    front_matter: dict[str, Any]
    body: str
    claims: list[dict[str, Any]]
    ignored_keys: list[str] = field(default_factory=list)


def _parse_date(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError as exc:
        raise ReportError(f"{where}: not an ISO date: {value!r}") from exc


def _curated_claim(raw: Any, n: int, report_id: str, where: str) -> dict[str, Any]:
    where = f"{where}: claims[{n}]"
    if not isinstance(raw, dict):
        raise ReportError(f"{where}: expected a mapping, got {type(raw).__name__}")
    metric = raw.get("metric")
    if metric not in METRICS:
        raise ReportError(f"{where}: metric {metric!r} not one of {', '.join(METRICS)}")
    qualifier = raw.get("qualifier") or "exact"
    if qualifier not in QUALIFIERS:
        raise ReportError(f"{where}: qualifier {qualifier!r} not one of {', '.join(QUALIFIERS)}")
    numbers: dict[str, float | None] = {}
    for key in ("value", "value_low", "value_high"):
        value = raw.get(key)
        if value is None and key != "value":
            numbers[key] = None
            continue
        try:
            numbers[key] = float(value)
        except (TypeError, ValueError) as exc:
            raise ReportError(f"{where}: field {key} is not a number: {value!r}") from exc
        if not math.isfinite(numbers[key]):  # type: ignore[arg-type]
            raise ReportError(f"{where}: field {key} is not finite: {value!r}")
    directions = {}
    for key in ("direction_from", "direction_to"):
        code = raw.get(key)
        if code is not None and not re.fullmatch(r"[A-Z]{2}", str(code)):
            raise ReportError(f"{where}: field {key} is not an ISO 3166 alpha-2 code: {code!r}")
        directions[key] = code
    return {
        "report_id": report_id,
        "claim_id": f"{report_id}:c{n}",
        "metric": metric,
        "value": numbers["value"],
        "value_low": numbers["value_low"] if numbers["value_low"] is not None else numbers["value"],
        "value_high": (
            numbers["value_high"] if numbers["value_high"] is not None else numbers["value"]
        ),
        "qualifier": qualifier,
        "period_start": _parse_date(raw.get("period_start"), f"{where}: period_start"),
        "period_end": _parse_date(raw.get("period_end"), f"{where}: period_end"),
        **directions,
        "char_start": None,
        "char_end": None,
        "sentence": None if raw.get("sentence") is None else str(raw["sentence"]),
        "is_curated": True,
    }


def merge_curated(
    extracted: list[dict[str, Any]], curated: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Curated claims confirm an extracted one (same metric and figure) or are added after."""
    merged = [dict(c) for c in extracted]
    added = []
    for cur in curated:
        match = next(
            (
                c
                for c in merged
                if c["metric"] == cur["metric"]
                and any(
                    math.isclose(cur["value"], c[k], rel_tol=1e-9)
                    for k in ("value", "value_low", "value_high")
                )
            ),
            None,
        )
        if match is None:
            added.append(cur)
            continue
        match["is_curated"] = True
        for key in ("period_start", "period_end", "direction_from", "direction_to"):
            if match[key] is None:
                match[key] = cur[key]
    return merged + added


def _plain(value: Any) -> Any:
    """YAML dates as ISO strings, so the front matter is JSON-ready wherever it goes."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n(?P<yaml>.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)


def parse_report_text(text: str, report_id: str, where: str) -> ParsedReport:
    """The pure part of :func:`read_report`; ``where`` names the source in error messages."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    m = FRONT_MATTER_RE.match(text)
    if m is None:
        raise ReportError(f"{where}: no YAML front matter (the file must start with '---')")
    try:
        loaded = yaml.safe_load(m["yaml"])
    except yaml.YAMLError as exc:
        raise ReportError(f"{where}: front matter is not valid YAML: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ReportError(f"{where}: front matter must be a mapping, got {type(loaded).__name__}")
    front = {k: _plain(loaded[k]) for k in FRONT_MATTER_KEYS if k in loaded}
    ignored = sorted(str(k) for k in loaded if k not in FRONT_MATTER_KEYS)
    published = _parse_date(front.get("published"), f"{where}: published")
    if "published" in front:
        front["published"] = published
    synthetic = front.get("synthetic", False)
    if not isinstance(synthetic, bool):
        raise ReportError(f"{where}: synthetic must be true or false, got {synthetic!r}")
    front["synthetic"] = synthetic
    raw_claims = front.get("claims") or []
    if not isinstance(raw_claims, list):
        raise ReportError(f"{where}: claims must be a list, got {type(raw_claims).__name__}")
    body = text[m.end() :]
    extracted = extract_claims(
        body,
        report_id=report_id,
        published=date.fromisoformat(published) if published else None,
    )
    curated = [_curated_claim(c, n, report_id, where) for n, c in enumerate(raw_claims, 1)]
    return ParsedReport(report_id, front, body, merge_curated(extracted, curated), ignored)


def read_report(path: Path) -> ParsedReport:
    """Parse one report file; never follows any path named inside it."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ReportError(f"{path.name}: cannot read file: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ReportError(f"{path.name}: not UTF-8 text (byte {exc.start})") from exc
    return parse_report_text(text, path.stem, path.name)
