"""Periods stated in report text, resolved to (start, end) dates.

Months use month-start / month-end dates; a month without a year is the latest such month up to
the publication date, and periods relative to publication ("since last September", "over the
past three months") are anchored on it.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from orchestration.claims.numbers import (
    MONTH,
    MONTHS,
    SMALL,
    TENS,
    YEAR,
    parse_number,
)

Period = tuple[date | None, date | None]


def _month_year(p: str) -> str:
    """Month with optional year, groups named ``<p>m`` and ``<p>y``."""
    return (
        rf"(?:(?:early|mid|late|the\s+end\s+of)[\s-]+)?(?P<{p}m>{MONTH})"
        rf"(?:\s+(?P<{p}y>{YEAR}))?"
    )


_NUMERAL_MONTHS = rf"(?P<n>\d+|{'|'.join(SMALL[1:] + TENS)})"
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
    (
        "past",  # over the past three months, during the last 12 months, in the past year
        re.compile(
            r"\b(?:over|during|for|in|throughout|within)\s+the\s+(?:past|last|previous)\s+"
            rf"(?:{_NUMERAL_MONTHS}\s+(?P<unit>months?|years?)|(?P<one>month|year))\b",
            re.IGNORECASE,
        ),
    ),
    ("since", re.compile(rf"\bsince\s+(?P<last>last\s+)?{_month_year('a')}", re.IGNORECASE)),
    ("last", re.compile(r"\blast\s+(?P<one>month|year)\b", re.IGNORECASE)),
    ("as_of", re.compile(rf"\b(?:as\s+of|by)\s+{_month_year('b')}", re.IGNORECASE)),
    ("month", re.compile(rf"\b(?:in|during)\s+{_month_year('a')}", re.IGNORECASE)),
    (
        "part",  # first half of 2024, Q3 2023, the third quarter of 2023
        re.compile(
            rf"\b(?:(?P<half>first|second)\s+half|(?P<q>first|second|third|fourth)\s+quarter"
            rf"|q(?P<qn>[1-4]))(?:\s+of)?\s+(?P<y>{YEAR})\b",
            re.IGNORECASE,
        ),
    ),
    ("year", re.compile(rf"\b(?:in|during|throughout)\s+(?P<y>{YEAR})\b", re.IGNORECASE)),
]


def _month_start(year: int, month: int) -> date:
    return date(year, month, 1)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _shift(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _month_number(text: str) -> int:
    return MONTHS[text.lower().rstrip(".")]


def _infer_year(month: int, known: int | None, published: date | None) -> int | None:
    """A month without a year is the latest such month not after the publication month."""
    if known is not None:
        return known
    if published is None:
        return None
    return published.year if month <= published.month else published.year - 1


def find_period(sentence: str, claim_at: int, published: date | None) -> Period:
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
        n = parse_number(groups["n"], None)
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
    if kind in ("past", "last"):
        return _relative(kind, groups, published)
    if kind == "since":
        month = _month_number(groups["am"])
        if groups["last"] and published is not None and not groups["ay"]:
            # "since last September": the latest September before the publication month
            year = published.year if month < published.month else published.year - 1
        else:
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


def _relative(kind: str, groups: dict[str, str | None], published: date | None) -> Period:
    """Periods counted back from the publication date.

    "the past N months" (or years) are the N months ending with the publication month, like
    "within N months" without an anchor; "last month" / "last year" are the calendar month /
    year before the publication.
    """
    if published is None:
        return None, None
    if kind == "last":
        if groups["one"].lower() == "year":
            return date(published.year - 1, 1, 1), date(published.year - 1, 12, 31)
        year, month = _shift(published.year, published.month, -1)
        return _month_start(year, month), _month_end(year, month)
    unit = (groups["unit"] or groups["one"]).lower()
    count = int(parse_number(groups["n"], None)) if groups["n"] else 1
    months = count * (12 if unit.startswith("year") else 1)
    first = _shift(published.year, published.month, -(months - 1))
    return _month_start(*first), _month_end(published.year, published.month)


def _int(text: str | None) -> int | None:
    return int(text) if text else None
