"""What a validation found, in plain Python: a check's process reads it without importing Great
Expectations or pandas (GX validates in a worker process, quality/gx_worker.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from orchestration.quality.audit import SEVERITIES


@dataclass(frozen=True)
class FailedExpectation:
    """One failed expectation, small enough to put in Dagster metadata and the audit table."""

    expectation: str
    columns: str
    severity: str
    unexpected_count: int | None
    element_count: int | None
    sample: tuple[str, ...]
    observed: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "expectation": self.expectation,
            "columns": self.columns,
            "severity": self.severity,
            "unexpected_count": self.unexpected_count,
            "element_count": self.element_count,
            "sample": list(self.sample),
            "observed": self.observed,
        }


@dataclass(frozen=True)
class ValidationSummary:
    """What a check reports and the audit table keeps; the full detail is in Data Docs."""

    table: str
    suite: str
    rows: int
    evaluated: dict[str, int]
    failures: tuple[FailedExpectation, ...]
    batches: int  # GX validations run: more than one when a table is read in chunks
    seconds: float
    data_docs_url: str | None
    rows_validated: int  # rows the row-wise expectations saw (fewer than rows when scoped)

    @property
    def failed(self) -> dict[str, int]:
        counts = Counter(f.severity for f in self.failures)
        return {s: counts.get(s, 0) for s in SEVERITIES}

    @property
    def success(self) -> bool:
        """Only error-level failures make a table unusable; warnings are recorded."""
        return self.failed["error"] == 0

    @property
    def severity(self) -> str | None:
        """Worst failed level: 'error', 'warn', or None when everything passed."""
        return next((s for s in SEVERITIES if self.failed[s]), None)

    def failures_markdown(self) -> str:
        if not self.failures:
            return "All expectations passed."
        lines = [
            "| severity | expectation | columns | unexpected | of | sample / observed |",
            "|---|---|---|---|---|---|",
        ]
        for f in self.failures:
            shown = ", ".join(f.sample[:5]) or (f.observed or "")
            lines.append(
                f"| {f.severity} | {f.expectation} | {f.columns} | {f.unexpected_count} "
                f"| {f.element_count} | {shown.replace('|', '/')} |"
            )
        return "\n".join(lines)
