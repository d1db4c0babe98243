"""The evidence pages (index.html, reconciliation.html) of one version, from a Jinja2 template.

Jinja2 autoescapes every value (claim sentences and report URLs come from input files), and the
layout lives in templates/ rather than in string building.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from orchestration.evidence.charts import (
    STATUS_COLOURS,
    SYNTHETIC_LABEL,
    claims_chart,
    data_range,
    human,
    monthly_chart,
    routes_chart,
    unplottable_claims,
)
from orchestration.evidence.data import Changes, EvidenceData, load_evidence

METRIC_LABELS = {
    "explosives_tonnes": "explosive cargo, tonnes",
    "rounds": "artillery rounds (mass and container methods)",
    "shipments": "voyages Rajin → RU ports",
    "containers": "containers",
}
ROUNDS_FACT = "rounds, mass method (low – central – high)"

_ENV = Environment(
    loader=PackageLoader("orchestration.evidence", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _number(value: float | None, fmt: str = "{:,.0f}") -> str:
    return "–" if value is None or pd.isna(value) else fmt.format(value)


def _date(value: pd.Timestamp | None) -> str:
    return "…" if value is None or pd.isna(value) else f"{value:%Y-%m-%d}"


def summary_facts(data: EvidenceData) -> dict[str, str]:
    """Headline figures of a version, shown on the page and in the asset metadata."""
    flows = data.flows
    if flows.empty:
        return {"shipments": "0"}
    statuses = data.reconciliation["status"].value_counts().to_dict()
    return {
        "months": f"{flows['month'].min():%b %Y} – {flows['month'].max():%b %Y}",
        "explosive cargo": f"{flows['tonnes'].sum():,.0f} t",
        "explosive shipments": f"{flows['shipments'].sum():,}",
        ROUNDS_FACT: " – ".join(
            human(flows[c].sum()) for c in ("rounds_low", "rounds_central", "rounds_high")
        ),
        "claims": ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "none",
    }


def claim_rows(data: EvidenceData) -> list[dict[str, Any]]:
    """One table row per claim: the sentence and its source beside the verdict."""
    rows = []
    for r in data.reconciliation.to_dict("records"):
        claimed = _number(r["claim_value"])
        low, high = r.get("claim_low"), r.get("claim_high")
        if low is not None and high is not None and pd.notna(low) and low != high:
            claimed = f"{_number(low)}–{_number(high)}"
        qualifier = r.get("qualifier")
        if isinstance(qualifier, str) and qualifier != "exact":
            claimed = f"{qualifier} {claimed}"
        direction = ""
        if isinstance(r.get("direction_from"), str) or isinstance(r.get("direction_to"), str):
            direction = f"{r.get('direction_from') or '?'} → {r.get('direction_to') or '?'}"
        rows.append(
            {
                "ref": r["ref"],
                "claim_id": r["claim_id"],
                "sentence": r["sentence"] if isinstance(r["sentence"], str) else None,
                "publisher": r["publisher"] if isinstance(r["publisher"], str) else None,
                "published": None if pd.isna(r["published"]) else f"{r['published']:%Y-%m-%d}",
                "url": r["url"] if isinstance(r["url"], str) else None,
                "metric": METRIC_LABELS.get(r["metric"], r["metric"]),
                "claimed": claimed,
                "direction": direction,
                "period_start": _date(r["period_start"]),
                "period_end": _date(r["period_end"]),
                "low": _number(r["computed_low"]),
                "central": _number(r["computed_central"]),
                "high": _number(r["computed_high"]),
                "ratio": _number(r["ratio_to_central"], "{:.2f}"),
                "status": r["status"],
                "colour": STATUS_COLOURS.get(r["status"], "#000"),
                "explanation": r["explanation"],
            }
        )
    return rows


def _write_text(path: Path, text: str) -> Path:
    """Write under a temp name and rename: someone browsing never sees half a page."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def render_evidence(
    db_path: Path,
    out_dir: Path,
    version_id: str,
    *,
    dbt_docs_href: str = "../../docs/dbt/index.html",
    gx_docs_href: str = "../../docs/gx/index.html",
    changes: Changes | None = None,
) -> dict[str, Path]:
    """Charts + reconciliation table + index.html for one published version into ``out_dir``."""
    return write_evidence(
        load_evidence(db_path),
        out_dir,
        version_id,
        source_name=db_path.name,
        dbt_docs_href=dbt_docs_href,
        gx_docs_href=gx_docs_href,
        changes=changes,
    )


def write_evidence(
    data: EvidenceData,
    out_dir: Path,
    version_id: str,
    *,
    source_name: str,
    dbt_docs_href: str,
    gx_docs_href: str,
    changes: Changes | None = None,
) -> dict[str, Path]:
    """Links to the docs are relative so the folder works from a file browser or a web server."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "monthly_chart": monthly_chart(data, out_dir / "monthly_flows.png", version_id),
        "claims_chart": claims_chart(data, out_dir / "claims.png", version_id),
        "routes_chart": routes_chart(data, out_dir / "routes.png", version_id),
    }
    context = {
        "version": version_id,
        "synthetic": data.is_synthetic,
        "synthetic_label": SYNTHETIC_LABEL,
        "claims": claim_rows(data),
    }
    template = _ENV.get_template("report.html.j2")
    files["reconciliation"] = _write_text(
        out_dir / "reconciliation.html",
        template.render(
            **context, page="reconciliation", title=f"Claim reconciliation, version {version_id}"
        ),
    )
    months = "no shipments"
    if not data.flows.empty:
        first, last = data_range(data)
        months = f"{first:%b %Y} – {last:%b %Y}"
    files["index"] = _write_text(
        out_dir / "index.html",
        template.render(
            **context,
            page="index",
            title=f"Shipment ledger evidence {version_id}",
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            source_name=source_name,
            facts=summary_facts(data),
            changes=changes,
            quarantine=data.quarantine,
            data_months=months,
            unplotted=unplottable_claims(data),
            dbt_docs_href=dbt_docs_href,
            gx_docs_href=gx_docs_href,
        ),
    )
    return files
