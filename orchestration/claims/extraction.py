"""Claims found by rules in a report body: figure, unit, qualifier, period and direction."""

from __future__ import annotations

import re
from bisect import bisect_right
from datetime import date
from typing import Any

from orchestration.claims.numbers import (
    CLAIM_RE,
    QUALIFIER_WORDS,
    UNIT_METRICS,
    mask_traps,
    parse_number,
)
from orchestration.claims.periods import Period, find_period

Direction = tuple[str | None, str | None]

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


def _sentence_spans(body: str) -> list[tuple[int, int]]:
    starts = [0] + [m.end() for m in SENTENCE_BREAK_RE.finditer(body)]
    ends = [m.start() for m in SENTENCE_BREAK_RE.finditer(body)] + [len(body)]
    return list(zip(starts, ends, strict=True))


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


_LIST_OR_HEADING_RE = re.compile(r"[ \t]*(?:[-*+]\s|#|\d+\.\s|>)")


def _same_paragraph(text: str, spans: list[tuple[int, int]], i: int) -> bool:
    """Sentences i and i + 1 share a paragraph: no blank line, list item or heading between."""
    gap = text[spans[i][1] : spans[i + 1][0]]
    following = text[spans[i + 1][0] : spans[i + 1][1]]
    return re.search(r"\n[ \t]*\n", gap) is None and not _LIST_OR_HEADING_RE.match(following)


def _inherited_context(
    text: str, spans: list[tuple[int, int]], published: date | None
) -> list[tuple[Period, Direction]]:
    """Per sentence: the period and direction its context gives, when it states none itself.

    Reports state the context once ("From August 2023 to January 2024 ...") and then add
    figures in later sentences ("that tonnage corresponds to ..."); a heading starts afresh.
    A sentence with no period of its own or from earlier in the section takes the one the next
    sentence of the same paragraph states ("Crews loaded 3,000 containers. That was in October
    2023.").
    """
    period: Period = (None, None)
    direction: Direction = (None, None)
    inherited: list[tuple[Period, Direction]] = []
    own: list[Period] = []
    for start, end in spans:
        sentence = text[start:end]
        if sentence.lstrip().startswith("#"):
            period, direction = (None, None), (None, None)
        inherited.append((period, direction))
        own.append(find_period(sentence, len(sentence), published))
        period = own[-1] if any(own[-1]) else period
        direction = _merge_direction(_direction(sentence), direction)
    for i in range(len(spans) - 1):
        if any(own[i]) or any(inherited[i][0]) or not _same_paragraph(text, spans, i):
            continue
        start, end = spans[i + 1]
        following = find_period(text[start:end], 0, published)
        if any(following):
            inherited[i] = (following, inherited[i][1])
    return inherited


def extract_claims(
    text: str, *, report_id: str = "", published: date | None = None
) -> list[dict[str, Any]]:
    """Rule-based claims of ``text`` (a report body); offsets index into ``text``."""
    masked = mask_traps(text)
    spans = _sentence_spans(text)
    starts = [s for s, _ in spans]
    matches = list(CLAIM_RE.finditer(masked))
    inherited = _inherited_context(text, spans, published) if matches else []
    claims: list[dict[str, Any]] = []
    for m in matches:
        low = parse_number(m["anum"], m["ascale"])
        high = low
        if m["bnum"]:
            high = parse_number(m["bnum"], m["bscale"])
            if not m["ascale"] and m["bscale"] and parse_number(m["anum"], None) <= high:
                low = parse_number(m["anum"], m["bscale"])
            low, high = min(low, high), max(low, high)
        if high <= 0:
            continue
        unit = (m["unit"] or m["unit_t"]).lower()
        index = bisect_right(starts, m.start()) - 1
        s_start, s_end = spans[index]
        sentence = text[s_start:s_end]
        (period_start, period_end), (direction_from, direction_to) = inherited[index]
        own_period = find_period(sentence, m.start() - s_start, published)
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
