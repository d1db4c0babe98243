"""Fictional open-source reports and the claims a careful reader takes from them.

The report texts are data files in sample_reports/, copied byte for byte; answer_key.yaml
there lists the claims and traps in each, for GENERATED.json.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

SAMPLE_REPORTS = Path(__file__).parent / "sample_reports"


def write_reports(raw_dir: Path) -> dict:
    """Copy the sample reports into ``raw_dir``/reports; return their answer key."""
    key = yaml.safe_load((SAMPLE_REPORTS / "answer_key.yaml").read_text(encoding="utf-8"))
    reports: dict[str, dict] = key["reports"]
    folder = raw_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    for report_id in reports:
        shutil.copyfile(SAMPLE_REPORTS / f"{report_id}.md", folder / f"{report_id}.md")
    return {
        "files": [f"reports/{report_id}.md" for report_id in reports],
        "count": len(reports),
        "planted_claims": [
            {
                "report_id": report_id,
                "period_text": report["period"],
                "direction_text": report["direction"],
                **claim,
            }
            for report_id, report in reports.items()
            for claim in report["claims"]
        ],
        "traps": {report_id: report["traps"] for report_id, report in reports.items()},
        "conflicting_direction": key["conflicting_direction"],
    }
