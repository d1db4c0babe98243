"""Figures in report text: numerals and number words, qualifiers, units, and the traps
(dates, calibres, page numbers, percentages) masked before any figure is matched."""

from __future__ import annotations

import calendar
import re
from decimal import Decimal

SMALL = [
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
TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
WORD_VALUES: dict[str, int] = {w: i for i, w in enumerate(SMALL)} | {
    w: 20 + 10 * i for i, w in enumerate(TENS)
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
    rf"(?:(?:{'|'.join(TENS)})(?:[- ](?:{'|'.join(SMALL[1:10])}))?"
    rf"|{'|'.join(sorted(SMALL, key=len, reverse=True))}"
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
    "trips": "shipments",
    "trip": "shipments",
    "sailings": "shipments",
    "sailing": "shipments",
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

MONTHS = {
    name: i
    for i in range(1, 13)
    for name in (calendar.month_name[i].lower(), calendar.month_abbr[i].lower())
} | {"sept": 9}
MONTH = rf"(?:{'|'.join(sorted(MONTHS, key=len, reverse=True))})\.?"
YEAR = r"(?:19|20)\d{2}"
TRAP_RE = re.compile(
    "|".join(
        [
            r"\b\d{4}-\d{2}-\d{2}\b",  # ISO date
            r"\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b",  # 27.08.2023, 27/08/2023
            rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{MONTH}(?:,?\s+{YEAR})?\b",  # 27 August 2023
            rf"\b{MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+{YEAR}\b",  # August 27, 2023
            rf"\b{MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)\b",  # August 27th
            rf"\b{MONTH}\s+{YEAR}\b",  # August 2023
            rf"\b(?:in|by|since|during|until|early|late|mid|end\s+of)[\s-]+{YEAR}\b",
            rf"\b(?:from|between)\s+{YEAR}\s+(?:to|and)\s+{YEAR}\b",
            rf"\b{YEAR}\s*[-–—/]\s*(?:{YEAR}|\d{{2}})\b",  # 2023-24, 2023–2024
            r"\b\d+(?:[.,]\d+)?\s*-?\s*(?:mm|millimet(?:er|re)s?|cm|in\.?|inch)\b",  # calibres
            r"\b(?:pages?|pp?\.|no\.|nos\.|fig\.|figure|table|section|chapter)\s*\d+"
            r"(?:\s*[-–]\s*\d+)?",
            r"\[\d+\]",  # footnote markers
            r"\b\d+(?:[.,]\d+)?\s*(?:%|percent\b|per\s+cent\b|pct\b)",
        ]
    ),
    re.IGNORECASE,
)


def parse_number(num: str, scale: str | None) -> Decimal:
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


def mask_traps(text: str) -> str:
    """Replace trap numbers by '#' of the same length: offsets stay valid, digits disappear."""
    return TRAP_RE.sub(lambda m: "#" * len(m.group()), text)
