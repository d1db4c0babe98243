"""Quantitative claims in open-source reports, found by rules so every figure points at its text.

A report is Markdown with YAML front matter. Claims are extracted with regular expressions (no
model, no network) and keep character offsets into the body, so an analyst can always see the
exact words a number came from. Hand-curated claims from the front matter are merged in.

Rules (also shown by `ledger claims extract --help`):
- A range ("4.8 to 5 million") gives value_low/value_high and ``value`` = the midpoint, the
  neutral central figure to reconcile against; single figures have low = high = value. The
  qualifier reflects the words only: a bare range stays "exact", its spread is low..high.
- Dates, calibres ("152mm"), page/footnote numbers and percentages are masked first (with
  same-length filler, so offsets stay valid) and can never become claims.
- Period and direction come from the claim's sentence (the nearest period phrase wins); a
  sentence without one inherits the last one stated earlier in the same section (text between
  Markdown headings). Month periods use month-start / month-end dates; a month without a year
  is the latest such month up to the publication date.
- "within N months" runs N months from a stated anchor month ("within six months of August
  2023" -> 2023-08-01..2024-01-31), else the N months ending with the publication month;
  "since M" ends with the publication month; "as of M" sets only the end.
- A curated claim equal to an extracted one (same metric, value equal to its value, low or
  high) marks it curated and only fills the fields the text left empty; otherwise it is added
  with claim_id ``<report_id>:c<n>`` (n = 1-based position in the front matter) and no offsets.
"""

from __future__ import annotations

import argparse
import calendar
import json
import math
import re
import sys
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

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


# --- numbers -------------------------------------------------------------------------------

_SMALL = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
WORD_VALUES: dict[str, int] = {w: i for i, w in enumerate(_SMALL)} | {
    w: 20 + 10 * i for i, w in enumerate(_TENS)
}
SCALES: dict[str, int] = {
    "dozen": 12,
    "hundred": 100,
    "thousand": 1_000,
    "k": 1_000,
    "million": 1_000_000,
    "mn": 1_000_000,
    "mln": 1_000_000,
    "m": 1_000_000,
    "billion": 1_000_000_000,
    "bn": 1_000_000_000,
}
_SCALE_WORDS = r"(?:dozen|hundred|thousand|million|billion|mln|mn|bn)"
_WORD_NUM = (
    rf"(?:(?:{'|'.join(_TENS)})(?:[- ](?:{'|'.join(_SMALL[1:10])}))?"
    rf"|{'|'.join(sorted(_SMALL, key=len, reverse=True))}"
    rf"|half\s+an?(?=\s+{_SCALE_WORDS})|an?(?=\s+{_SCALE_WORDS}))"
)
_DIGITS = (
    r"(?:\d{1,3}(?:(?:,|[ \u00a0\u202f])\d{3})+(?:\.\d+)?"  # 74,000 / 300 000
    rf"|\d+,\d{{1,2}}(?=\s*{_SCALE_WORDS})"  # 1,6 million (decimal comma)
    r"|\d+(?:\.\d+)?)"
)
_ATTACHED_SCALE = r"(?:mn|bn|m|k)\b"  # 1.6m, 5bn, 10k
_SCALE = rf"(?:\s+{_SCALE_WORDS}\b(?:\s+{_SCALE_WORDS}\b)?|(?<=\d){_ATTACHED_SCALE})"


def _number(prefix: str) -> str:
    """A figure with optional scale; the look-arounds stop matches inside 1.6 or A-27."""
    return (
        rf"(?P<{prefix}num>(?<![\w.,]){_DIGITS}(?:(?={_ATTACHED_SCALE})|(?![\w.]))|\b{_WORD_NUM}\b)"
        rf"(?P<{prefix}scale>{_SCALE})?"
    )


QUALIFIER_WORDS: dict[str, str] = {
    "more than": "over",
    "over": "over",
    "at least": "over",
    "in excess of": "over",
    "upwards of": "over",
    "above": "over",
    "exceeding": "over",
    "about": "about",
    "around": "about",
    "roughly": "about",
    "approximately": "about",
    "approx.": "about",
    "some": "about",
    "an estimated": "about",
    "estimated": "about",
    "nearly": "nearly",
    "almost": "nearly",
    "close to": "nearly",
    "just under": "nearly",
    "up to": "up to",
    "as many as": "up to",
}
UNIT_METRICS: dict[str, str] = {
    "metric tons": "explosives_tonnes",
    "metric tonnes": "explosives_tonnes",
    "tonnes": "explosives_tonnes",
    "tonne": "explosives_tonnes",
    "tons": "explosives_tonnes",
    "ton": "explosives_tonnes",
    "t": "explosives_tonnes",
    "artillery rounds": "rounds",
    "artillery shells": "rounds",
    "rounds": "rounds",
    "shells": "rounds",
    "munitions": "rounds",
    "projectiles": "rounds",
    "shipments": "shipments",
    "shipment": "shipments",
    "voyages": "shipments",
    "voyage": "shipments",
    "deliveries": "shipments",
    "delivery": "shipments",
    "containers": "containers",
    "container": "containers",
}
_QUALS = "|".join(re.escape(q) for q in sorted(QUALIFIER_WORDS, key=len, reverse=True))
_UNITS = "|".join(re.escape(u) for u in sorted(UNIT_METRICS, key=len, reverse=True) if u != "t")
# Words that end a noun phrase: a unit after them belongs to another figure ("6 months and ...").
_STOP = r"(?:and|or|to|from|in|on|at|by|with|than|per|since|between|of|months?|years?|weeks?|days?)"
_MODIFIER = rf"(?:(?!{_STOP}\b)[a-z][a-z'-]*|#+)"
CLAIM_RE = re.compile(
    rf"(?:(?P<qual>{_QUALS})\s+)?(?:(?P<between>between)\s+)?"
    rf"{_number('a')}"
    rf"(?:(?(between)\s+and\s+|(?:\s+to\s+|\s*[-–—]\s*)){_number('b')})?"
    rf"(?:\s+(?:{_MODIFIER}\s+){{0,3}}?(?P<unit>{_UNITS})\b|\s*(?P<unit_t>t)\b(?!-))",
    re.IGNORECASE,
)

# --- traps: masked before matching ---------------------------------------------------------

_MONTHS = {
    name: i
    for i in range(1, 13)
    for name in (calendar.month_name[i].lower(), calendar.month_abbr[i].lower())
} | {"sept": 9}
_MONTH = rf"(?:{'|'.join(sorted(_MONTHS, key=len, reverse=True))})\.?"
_YEAR = r"(?:19|20)\d{2}"
TRAP_RE = re.compile(
    "|".join(
        [
            r"\b\d{4}-\d{2}-\d{2}\b",  # ISO date
            r"\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b",  # 27.08.2023, 27/08/2023
            rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}(?:,?\s+{_YEAR})?\b",  # 27 August 2023
            rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+{_YEAR}\b",  # August 27, 2023
            rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)\b",  # August 27th
            rf"\b{_MONTH}\s+{_YEAR}\b",  # August 2023
            rf"\b(?:in|by|since|during|until|early|late|mid|end\s+of)[\s-]+{_YEAR}\b",
            rf"\b(?:from|between)\s+{_YEAR}\s+(?:to|and)\s+{_YEAR}\b",
            rf"\b{_YEAR}\s*[-–—/]\s*(?:{_YEAR}|\d{{2}})\b",  # 2023-24, 2023–2024
            r"\b\d+(?:[.,]\d+)?\s*-?\s*(?:mm|millimet(?:er|re)s?|cm|in\.?|inch)\b",  # calibres
            r"\b(?:pages?|pp?\.|no\.|nos\.|fig\.|figure|table|section|chapter)\s*\d+"
            r"(?:\s*[-–]\s*\d+)?",
            r"\[\d+\]",  # footnote markers
            r"\b\d+(?:[.,]\d+)?\s*(?:%|percent\b|per\s+cent\b|pct\b)",
        ]
    ),
    re.IGNORECASE,
)

# --- periods and directions ----------------------------------------------------------------


def _month_year(p: str) -> str:
    """Month with optional year, groups named ``<p>m`` and ``<p>y``."""
    return (
        rf"(?:(?:early|mid|late|the\s+end\s+of)[\s-]+)?(?P<{p}m>{_MONTH})"
        rf"(?:\s+(?P<{p}y>{_YEAR}))?"
    )


_NUMERAL_MONTHS = rf"(?P<n>\d+|{'|'.join(_SMALL[1:] + _TENS)})"
PERIOD_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "range",
        re.compile(
            rf"(?:\b(?:from|between)\s+)?\b{_month_year('a')}"
            rf"\s*(?:\s(?:to|and|until|till|through)\s|[-–—])\s*{_month_year('b')}",
            re.IGNORECASE,
        ),
    ),
    (
        "within",
        re.compile(
            # an anchor stated earlier in the sentence: "Starting in August 2023, ... within"
            rf"(?:\b(?:starting|beginning|from|since|after)\s+(?:in\s+)?{_month_year('c')}\b"
            r"[^.;]*?)?"
            rf"\b(?:within|in\s+(?:just\s+)?(?:the\s+(?:first|past|last)\s+)?)\s*{_NUMERAL_MONTHS}"
            rf"\s+months?(?:\s+(?:of|from|after|since|starting(?:\s+in)?)\s+"
            rf"{_month_year('a')})?",
            re.IGNORECASE,
        ),
    ),
    ("since", re.compile(rf"\bsince\s+{_month_year('a')}", re.IGNORECASE)),
    ("as_of", re.compile(rf"\b(?:as\s+of|by)\s+{_month_year('b')}", re.IGNORECASE)),
    ("month", re.compile(rf"\b(?:in|during)\s+{_month_year('a')}", re.IGNORECASE)),
    (
        "part",  # first half of 2024, Q3 2023, the third quarter of 2023
        re.compile(
            rf"\b(?:(?P<half>first|second)\s+half|(?P<q>first|second|third|fourth)\s+quarter"
            rf"|q(?P<qn>[1-4]))(?:\s+of)?\s+(?P<y>{_YEAR})\b",
            re.IGNORECASE,
        ),
    ),
    ("year", re.compile(rf"\b(?:in|during|throughout)\s+(?P<y>{_YEAR})\b", re.IGNORECASE)),
]

COUNTRY_ALIASES = {
    "KP": r"north\s+korea(?:n|'s)?|dprk|democratic\s+people's\s+republic\s+of\s+korea|pyongyang"
    r"|rajin|najin|rason",
    "RU": r"russia(?:n|'s)?|russian\s+federation|moscow|vostochny|dunai|vladivostok|nakhodka",
}
_COUNTRY = "|".join(rf"(?P<{code}>{alias})" for code, alias in COUNTRY_ALIASES.items())
COUNTRY_RE = re.compile(rf"\b(?:{_COUNTRY})\b", re.IGNORECASE)
FROM_TO_RE = re.compile(
    rf"\bfrom\s+(?:the\s+)?(?P<src>{_COUNTRY.replace('?P<', '?P<a')})\b(?:\s+\w+){{0,3}}?"
    rf"\s+(?:to|into)\s+(?:the\s+)?(?P<dst>{_COUNTRY.replace('?P<', '?P<b')})\b",
    re.IGNORECASE,
)
TO_RE = re.compile(rf"\b(?:to|into)\s+(?:the\s+)?(?:{_COUNTRY})\b", re.IGNORECASE)
FROM_RE = re.compile(rf"\bfrom\s+(?:the\s+)?(?:{_COUNTRY})\b", re.IGNORECASE)

SENTENCE_BREAK_RE = re.compile(
    r"\n[ \t]*\n\s*"  # paragraph
    r"|\n(?=[ \t]*(?:[-*+]\s|#|\d+\.\s|>))"  # list item, heading, quote
    r"|(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z])"  # sentence end before a capital
)


# --- helpers -------------------------------------------------------------------------------


def _month_start(year: int, month: int) -> date:
    return date(year, month, 1)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _shift(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _month_number(text: str) -> int:
    return _MONTHS[text.lower().rstrip(".")]


def _infer_year(month: int, known: int | None, published: date | None) -> int | None:
    """A month without a year is the latest such month not after the publication month."""
    if known is not None:
        return known
    if published is None:
        return None
    return published.year if month <= published.month else published.year - 1


def _parse_number(num: str, scale: str | None) -> Decimal:
    text = num.lower().strip()
    words = text.replace("-", " ").split()
    if text[0].isdigit():
        if re.fullmatch(r"\d+,\d{1,2}", text):
            value = Decimal(text.replace(",", "."))
        else:
            value = Decimal(re.sub(r"[,\s\u00a0\u202f]", "", text))
    elif words[0] == "half":
        value = Decimal("0.5")
    elif words[0] in ("a", "an"):
        value = Decimal(1)
    else:
        value = Decimal(sum(WORD_VALUES[w] for w in words))
    for word in (scale or "").lower().split():
        value *= SCALES[word]
    return value


def _parse_date(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError as exc:
        raise ReportError(f"{where}: not an ISO date: {value!r}") from exc


def _sentence_spans(body: str) -> list[tuple[int, int]]:
    starts = [0] + [m.end() for m in SENTENCE_BREAK_RE.finditer(body)]
    ends = [m.start() for m in SENTENCE_BREAK_RE.finditer(body)] + [len(body)]
    return list(zip(starts, ends, strict=True))


Period = tuple[date | None, date | None]
Direction = tuple[str | None, str | None]


def _period(sentence: str, claim_at: int, published: date | None) -> Period:
    """The period phrase nearest to the claim inside its sentence, as (start, end).

    Patterns are tried most specific first; a later pattern cannot reuse text an earlier one
    matched ("in August 2023" inside "from July to August 2023" is not a second period).
    """
    taken: list[tuple[int, int]] = []
    best: tuple[int, Period] | None = None
    for kind, pattern in PERIOD_PATTERNS:
        for m in pattern.finditer(sentence):
            if any(m.start() < end and start < m.end() for start, end in taken):
                continue
            start, end = _resolve_period(kind, m, published)
            if start is None and end is None:
                continue
            taken.append(m.span())
            distance = (
                0
                if m.start() <= claim_at < m.end()
                else min(abs(m.start() - claim_at), abs(m.end() - claim_at))
            )
            if best is None or distance < best[0]:
                best = (distance, (start, end))
    return (None, None) if best is None else best[1]


def _resolve_period(kind: str, m: re.Match[str], published: date | None) -> Period:
    groups = m.groupdict()
    if kind == "year":
        year = int(groups["y"])
        return date(year, 1, 1), date(year, 12, 31)
    if kind == "part":
        year = int(groups["y"])
        ordinal = ("first", "second", "third", "fourth")
        if groups["half"]:
            first, months = 1 + 6 * ordinal.index(groups["half"].lower()), 6
        else:
            quarter = int(groups["qn"]) if groups["qn"] else ordinal.index(groups["q"].lower()) + 1
            first, months = 1 + 3 * (quarter - 1), 3
        return _month_start(year, first), _month_end(year, first + months - 1)
    if kind == "range":
        end_month = _month_number(groups["bm"])
        end_year = _infer_year(end_month, _int(groups["by"]), published)
        start_month = _month_number(groups["am"])
        if groups["ay"]:
            start_year: int | None = int(groups["ay"])
        elif end_year is not None:
            start_year = end_year if start_month <= end_month else end_year - 1
        else:
            start_year = None
        if start_year is None or end_year is None:
            return None, None
        return _month_start(start_year, start_month), _month_end(end_year, end_month)
    if kind == "within":
        n = _parse_number(groups["n"], None)
        months = int(n)
        anchor = "a" if groups["am"] else "c" if groups["cm"] else None
        if anchor:
            month = _month_number(groups[f"{anchor}m"])
            year = _infer_year(month, _int(groups[f"{anchor}y"]), published)
            if year is None:
                return None, None
            end = _shift(year, month, months - 1)
            return _month_start(year, month), _month_end(*end)
        if published is None:
            return None, None
        first = _shift(published.year, published.month, -(months - 1))
        return _month_start(*first), _month_end(published.year, published.month)
    if kind == "since":
        month = _month_number(groups["am"])
        year = _infer_year(month, _int(groups["ay"]), published)
        if year is None:
            return None, None
        end = _month_end(published.year, published.month) if published else None
        return _month_start(year, month), end
    if kind == "as_of":
        month = _month_number(groups["bm"])
        year = _infer_year(month, _int(groups["by"]), published)
        return (None, _month_end(year, month)) if year else (None, None)
    month = _month_number(groups["am"])
    year = _infer_year(month, _int(groups["ay"]), published)
    if year is None:
        return None, None
    return _month_start(year, month), _month_end(year, month)


def _int(text: str | None) -> int | None:
    return int(text) if text else None


def _code(m: re.Match[str], prefix: str = "") -> str:
    return next(code for code in COUNTRY_ALIASES if m.group(prefix + code))


def _direction(sentence: str) -> Direction:
    """Explicit "from X to Y" first; else "to X"/"from X" plus the other country named."""
    explicit = FROM_TO_RE.search(sentence)
    if explicit:
        return _code(explicit, "a"), _code(explicit, "b")
    to = TO_RE.search(sentence)
    src = FROM_RE.search(sentence)
    dst_code = _code(to) if to else None
    src_code = _code(src) if src else None
    others = {_code(m) for m in COUNTRY_RE.finditer(sentence)}
    if dst_code and not src_code and len(others - {dst_code}) == 1:
        src_code = (others - {dst_code}).pop()
    if src_code and not dst_code and len(others - {src_code}) == 1:
        dst_code = (others - {src_code}).pop()
    return src_code, dst_code


def _merge_direction(own: Direction, inherited: Direction) -> Direction:
    """A sentence's own direction wins; "went to Russia" keeps an inherited "from North Korea"."""
    if not any(own):
        return inherited
    if own[0] is None and own[1] == inherited[1]:
        return inherited
    if own[1] is None and own[0] == inherited[0]:
        return inherited
    return own


def _mask_traps(text: str) -> str:
    """Replace trap numbers by '#' of the same length: offsets stay valid, digits disappear."""
    return TRAP_RE.sub(lambda m: "#" * len(m.group()), text)


def _inherited_context(
    text: str, spans: list[tuple[int, int]], published: date | None
) -> list[tuple[Period, Direction]]:
    """Per sentence: the period and direction last stated before it in the same section.

    Reports state the context once ("From August 2023 to January 2024 ...") and then add
    figures in later sentences ("that tonnage corresponds to ..."); a heading starts afresh.
    """
    period: Period = (None, None)
    direction: Direction = (None, None)
    inherited: list[tuple[Period, Direction]] = []
    for start, end in spans:
        sentence = text[start:end]
        if sentence.lstrip().startswith("#"):
            period, direction = (None, None), (None, None)
        inherited.append((period, direction))
        own_period = _period(sentence, len(sentence), published)
        period = own_period if any(own_period) else period
        direction = _merge_direction(_direction(sentence), direction)
    return inherited


# --- public API ----------------------------------------------------------------------------


def extract_claims(
    text: str, *, report_id: str = "", published: date | None = None
) -> list[dict[str, Any]]:
    """Rule-based claims of ``text`` (a report body); offsets index into ``text``."""
    masked = _mask_traps(text)
    spans = _sentence_spans(text)
    starts = [s for s, _ in spans]
    matches = list(CLAIM_RE.finditer(masked))
    inherited = _inherited_context(text, spans, published) if matches else []
    claims: list[dict[str, Any]] = []
    for m in matches:
        low = _parse_number(m["anum"], m["ascale"])
        high = low
        if m["bnum"]:
            high = _parse_number(m["bnum"], m["bscale"])
            if not m["ascale"] and m["bscale"] and _parse_number(m["anum"], None) <= high:
                low = _parse_number(m["anum"], m["bscale"])
            low, high = min(low, high), max(low, high)
        if high <= 0:
            continue
        unit = (m["unit"] or m["unit_t"]).lower()
        index = bisect_right(starts, m.start()) - 1
        s_start, s_end = spans[index]
        sentence = text[s_start:s_end]
        (period_start, period_end), (direction_from, direction_to) = inherited[index]
        own_period = _period(sentence, m.start() - s_start, published)
        if any(own_period):
            period_start, period_end = own_period
        direction_from, direction_to = _merge_direction(
            _direction(sentence), (direction_from, direction_to)
        )
        claims.append(
            {
                "report_id": report_id,
                "claim_id": f"{report_id}:{m.start()}",
                "metric": UNIT_METRICS[re.sub(r"\s+", " ", unit)],
                "value": float((low + high) / 2),
                "value_low": float(low),
                "value_high": float(high),
                "qualifier": QUALIFIER_WORDS[m["qual"].lower()] if m["qual"] else "exact",
                "period_start": period_start.isoformat() if period_start else None,
                "period_end": period_end.isoformat() if period_end else None,
                "direction_from": direction_from,
                "direction_to": direction_to,
                "char_start": m.start(),
                "char_end": m.end(),
                "sentence": " ".join(sentence.split()),
                "is_curated": False,
            }
        )
    return claims


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


# --- CLI -----------------------------------------------------------------------------------


def _report_paths(path: Path) -> list[Path]:
    return sorted(path.glob("*.md")) if path.is_dir() else [path]


def _format_table(claims: list[dict[str, Any]]) -> str:
    columns = ("claim_id", "metric", "qualifier", "value", "period", "direction", "text")
    rows = [
        (
            c["claim_id"],
            c["metric"],
            c["qualifier"],
            f"{c['value']:,.0f}"
            + (
                f" ({c['value_low']:,.0f}-{c['value_high']:,.0f})"
                if c["value_low"] != c["value_high"]
                else ""
            ),
            f"{c['period_start'] or '?'}..{c['period_end'] or '?'}",
            f"{c['direction_from'] or '?'}->{c['direction_to'] or '?'}",
            ("*" if c["is_curated"] else "") + (c["sentence"] or "")[:60],
        )
        for c in claims
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(columns, *rows, strict=False)]
    lines = [
        "  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True))
        for row in [columns, *rows]
    ]
    return "\n".join([*lines, f"{len(claims)} claims (* = curated)"])


def _run_extract(args: argparse.Namespace) -> int:
    claims: list[dict[str, Any]] = []
    try:
        for path in _report_paths(Path(args.path)):
            claims.extend(read_report(path).claims)
    except ReportError as exc:
        print(f"ledger claims extract: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(claims, indent=2, ensure_ascii=False) if args.json else _format_table(claims))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds ``claims extract PATH [--json]`` to the ``ledger`` CLI."""
    claims = subparsers.add_parser("claims", help="Quantitative claims in report files.")
    sub = claims.add_subparsers(dest="claims_command", required=True)
    extract = sub.add_parser(
        "extract",
        help="Extract claims from a report (.md) or every report in a folder.",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    extract.add_argument("path", type=Path, help="a report .md file or a folder of them")
    extract.add_argument("--json", action="store_true", help="print a JSON array of claims")
    extract.set_defaults(func=_run_extract)
