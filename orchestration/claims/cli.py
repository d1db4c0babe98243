"""`ledger claims extract PATH [--json]`: the claims of a report, or of every report in a folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from orchestration import claims as claims_package
from orchestration.claims.reports import ReportError, read_report


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
        description=claims_package.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    extract.add_argument("path", type=Path, help="a report .md file or a folder of them")
    extract.add_argument("--json", action="store_true", help="print a JSON array of claims")
    extract.set_defaults(func=_run_extract)
