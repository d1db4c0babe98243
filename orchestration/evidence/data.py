"""What the evidence report shows, read from one published version (and its predecessor).

Everything comes from the published DuckDB file, read-only in one short session, so the report
always matches a version BI users can query; the changes since the previous version come from
the version store's own diff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from orchestration.publish.registry import VERSIONS_TABLE, label, parse_version_id
from orchestration.publish.store import Store, change_summary
from orchestration.sql import table_exists, transaction

RECONCILIATION_COLUMNS = [
    "claim_id",
    "report_id",
    "metric",
    "claim_value",
    "period_start",
    "period_end",
    "computed_low",
    "computed_central",
    "computed_high",
    "ratio_to_central",
    "status",
    "explanation",
]
# shown when the reconciliation model provides them
OPTIONAL_COLUMNS = ["qualifier", "claim_low", "claim_high", "direction_from", "direction_to"]
# where each claim comes from: the sentence, and the report's publisher, date and address
SOURCE_COLUMNS = ["sentence", "publisher", "published", "url"]


@dataclass(frozen=True)
class EvidenceData:
    """The slices of a version the evidence needs, read in one short read-only session."""

    flows: pd.DataFrame
    reconciliation: pd.DataFrame
    stations: pd.DataFrame
    is_synthetic: bool
    served_version: str | None  # from the file's own registry table, when it has one
    quarantine: dict[str, int] = field(default_factory=dict)  # rows by reason_code


@dataclass(frozen=True)
class Changes:
    """Rows added / removed / changed per table since the previous published version."""

    previous: str
    tables: dict[str, dict[str, Any]]
    error: str | None = None


def _served_version(con: duckdb.DuckDBPyConnection) -> str | None:
    """Read in the same session as the data, so a swap in between cannot mislabel the charts."""
    if not table_exists(con, "main", VERSIONS_TABLE):
        return None
    row = con.execute(
        f"select version_id from main.{VERSIONS_TABLE} "  # noqa: S608 - constant table name
        "order by is_served desc, version_id desc limit 1"
    ).fetchone()
    return label(row[0]) if row else None


def _reconciliation(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Claims vs data, each with its sentence and source (fct_claims, dim_reports)."""
    present = {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'main' and table_name = 'fct_claim_reconciliation'"
        ).fetchall()
    }
    columns = [f"r.{c}" for c in RECONCILIATION_COLUMNS + OPTIONAL_COLUMNS if c in present]
    return con.sql(
        f"select {', '.join(columns)}, c.sentence, c.publisher, c.published, d.url "  # noqa: S608
        "from main.fct_claim_reconciliation r "
        "left join main.fct_claims c using (claim_id) "
        "left join main.dim_reports d on d.report_id = r.report_id "
        "order by r.metric, r.period_end nulls last, r.claim_id"
    ).df()


def load_evidence(db_path: Path) -> EvidenceData:
    """One short read-only session: BI readers and the next publish's swap are never blocked."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return read_evidence(con)
    finally:
        con.close()


def read_evidence(con: duckdb.DuckDBPyConnection) -> EvidenceData:
    """The evidence of the version ``con`` reads: the served file, or the lake's latest snapshot
    (``open_served``); one transaction, so a publish in between cannot mix two versions."""
    with transaction(con):
        version = _served_version(con)
        flows = con.sql(
            "select month, route_id, route_name, origin_station_code, destination_station_code, "
            "explosive_tonnes as tonnes, shipments, rounds_low, rounds_central, rounds_high "
            "from main.agg_monthly_flows order by month, route_id"
        ).df()
        reconciliation = _reconciliation(con)
        stations = con.sql(
            "select station_code, station_name, latitude, longitude, role from main.dim_stations"
        ).df()
        synthetic = con.sql(
            "select coalesce(bool_or(is_synthetic), false) from main.agg_monthly_flows"
        ).fetchone()[0]
        quarantine = (
            dict(
                con.execute(
                    "select reason_code, count(*) from main.quarantine "
                    "group by reason_code order by count(*) desc, reason_code"
                ).fetchall()
            )
            if table_exists(con, "main", "quarantine")
            else {}
        )
    flows["month"] = pd.to_datetime(flows["month"])
    for column in ("period_start", "period_end", "published"):
        reconciliation[column] = pd.to_datetime(reconciliation[column])
    # a short reference shared by the chart markers and the table rows
    reconciliation.insert(0, "ref", [f"#{i}" for i in range(1, len(reconciliation) + 1)])
    return EvidenceData(flows, reconciliation, stations, bool(synthetic), version, quarantine)


def changes_since_previous(store: Store, version: str) -> Changes | None:
    """The diff against the newest earlier published version; None for the first one."""
    current = parse_version_id(version)
    earlier = [
        v.version_id for v in store.versions() if v.version_id < current and v.status == "published"
    ]
    if not earlier:
        return None
    return changes_from_summary(label(max(earlier)), change_summary(store, max(earlier), current))


def changes_from_summary(previous: str, summary: dict[str, Any]) -> Changes:
    """``change_summary``'s result (from here or the publish step) as the report shows it."""
    if "error" in summary:
        return Changes(previous, {}, error=summary["error"])
    return Changes(previous, summary)
