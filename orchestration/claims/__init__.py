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
- Figures may be numerals or number words ("at least six trips", "twenty-seven sailings");
  trips and sailings count as shipments (voyages).
- Period and direction come from the claim's sentence (the nearest period phrase wins); a
  sentence without one inherits the last one stated earlier in the same section (text between
  Markdown headings), else takes the period of the next sentence of its paragraph ("... 3,000
  containers. That was from September to December 2023."). Month periods use month-start /
  month-end dates; a month without a year is the latest such month up to the publication date.
- "within N months" runs N months from a stated anchor month ("within six months of August
  2023" -> 2023-08-01..2024-01-31), else the N months ending with the publication month;
  "since M" ends with the publication month ("since last September": the latest September
  before the publication month); "as of M" sets only the end.
- Relative to the publication date: "over / during / in the past (last) N months" (or years)
  are the N months ending with the publication month; "last month" and "last year" are the
  calendar month and year before it. Without a publication date they stay unknown.
- A curated claim equal to an extracted one (same metric, value equal to its value, low or
  high) marks it curated and only fills the fields the text left empty; otherwise it is added
  with claim_id ``<report_id>:c<n>`` (n = 1-based position in the front matter) and no offsets.
"""

from orchestration.claims.cli import register
from orchestration.claims.extraction import extract_claims
from orchestration.claims.reports import (
    CLAIM_FIELDS,
    FRONT_MATTER_KEYS,
    METRICS,
    QUALIFIERS,
    ParsedReport,
    ReportError,
    merge_curated,
    parse_report_text,
    read_report,
)

__all__ = [
    "CLAIM_FIELDS",
    "FRONT_MATTER_KEYS",
    "METRICS",
    "QUALIFIERS",
    "ParsedReport",
    "ReportError",
    "extract_claims",
    "merge_curated",
    "parse_report_text",
    "read_report",
    "register",
]
