"""Validation results: chunk results merged into one per expectation, and cut to the summary a
check reports and the audit table keeps (quality/summary.py; the full detail is in Data Docs)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from great_expectations.core import ExpectationValidationResult

from orchestration.quality.gx_batches import columns_of
from orchestration.quality.summary import FailedExpectation

SAMPLE_SIZE = 20  # unexpected values kept per expectation
_COUNT_KEYS = ("element_count", "unexpected_count", "missing_count")


def merge_chunks(parts: list[ExpectationValidationResult]) -> ExpectationValidationResult:
    """Sum the per-chunk counts of one row-wise expectation into a whole-table result."""
    first = parts[0]
    broken = [p for p in parts if exception_message(p) is not None]
    if len(parts) == 1 or broken:
        return (broken or parts)[0]
    result = dict(first.result)
    for key in _COUNT_KEYS:
        if key in result:
            result[key] = sum(p.result.get(key, 0) for p in parts)
    elements, missing = result.get("element_count", 0), result.get("missing_count", 0)
    unexpected = result.get("unexpected_count", 0)
    nonmissing = elements - missing
    pct = {
        "unexpected_percent_total": 100 * unexpected / elements if elements else 0.0,
        "unexpected_percent_nonmissing": 100 * unexpected / nonmissing if nonmissing else 0.0,
        "missing_percent": 100 * missing / elements if elements else 0.0,
    }
    pct["unexpected_percent"] = pct[
        "unexpected_percent_nonmissing" if "missing_count" in result else "unexpected_percent_total"
    ]
    result.update({k: v for k, v in pct.items() if k in result})
    samples = [v for p in parts for v in p.result.get("partial_unexpected_list", [])]
    result["partial_unexpected_list"] = samples[:SAMPLE_SIZE]
    # chunk-local row positions mean nothing for the whole table
    result.pop("partial_unexpected_index_list", None)
    if "partial_unexpected_counts" in result:
        counts: Counter[Any] = Counter()
        for p in parts:
            for item in p.result.get("partial_unexpected_counts", []):
                counts[_hashable(item["value"])] += item["count"]
        result["partial_unexpected_counts"] = [
            {"value": v, "count": n} for v, n in counts.most_common(SAMPLE_SIZE)
        ]
    mostly = first.expectation_config.kwargs.get("mostly")
    success = (
        unexpected == 0 if mostly is None else (nonmissing - unexpected) >= mostly * nonmissing
    )
    return ExpectationValidationResult(
        success=success,
        expectation_config=first.expectation_config,
        result=result,
        meta=first.meta,
        exception_info=first.exception_info,
    )


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def exception_message(res: ExpectationValidationResult) -> str | None:
    """GX reports a metric that could not be computed (e.g. a missing column) as an exception,
    either at the top level or one level down per metric."""
    info = res.exception_info or {}
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    nested = [v for v in info.values() if isinstance(v, dict) and v.get("raised_exception")]
    return str(nested[0].get("exception_message")) if nested else None


def failure(res: ExpectationValidationResult) -> FailedExpectation:
    """What a failed result says, cut to what metadata and the audit table can hold."""
    cfg = res.expectation_config
    r = res.result or {}
    observed = exception_message(res) or r.get("observed_value")
    return FailedExpectation(
        expectation=cfg.type,
        columns=",".join(columns_of(cfg)),
        severity=cfg.meta["severity"],
        unexpected_count=_count(r.get("unexpected_count")),
        element_count=_count(r.get("element_count")),
        # as text, as the check shows them: the summary then unpickles with no numpy or pandas
        sample=tuple(str(v) for v in r.get("partial_unexpected_list", [])),
        observed=None if observed is None else str(observed),
    )


def _count(value: Any) -> int | None:
    return None if value is None else int(value)
