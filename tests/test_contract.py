"""The raw contract (orchestration/ingest/contract.py) and the files that restate it in other
tools' formats: the dbt sources and the raw GX suites must name the same columns."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from orchestration.ingest.contract import (
    DDL,
    FILE_COLUMNS,
    contract_columns,
    payload_columns,
)
from orchestration.ingest.headers import HEADER_ALIASES
from orchestration.ingest.lookups import Lookups
from orchestration.ingest.parsing import manifest_plan, voyage_plan
from orchestration.paths import EXPECTATIONS_DIR, PROJECT_ROOT
from orchestration.sql import DEFAULT_MEMORY_LIMIT
from orchestration.staging import STORAGE_VERSION

SOURCES_YML = PROJECT_ROOT / "dbt_project" / "models" / "staging" / "raw" / "_sources.yml"
RAW_SUITES = sorted(EXPECTATIONS_DIR.glob("raw_*.json"))


def _names(table: str) -> list[str]:
    return [name for name, _, _ in contract_columns()[table]]


def test_dbt_sources_list_the_contract_columns_in_order() -> None:
    (source,) = yaml.safe_load(SOURCES_YML.read_text(encoding="utf-8"))["sources"]
    tables = {t["name"]: [c["name"] for c in t["columns"]] for t in source["tables"]}
    assert source["schema"] == "raw"
    assert sorted(tables) == sorted(DDL)
    assert {t: cols for t, cols in tables.items() if cols != _names(t)} == {}


def _columns_named(expectation: dict) -> list[str]:
    kwargs = expectation["kwargs"]
    named = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
    return named + list(kwargs.get("column_list", []))


@pytest.mark.parametrize("suite", RAW_SUITES, ids=lambda p: p.stem)
def test_raw_suites_name_contract_columns_and_leave_not_null_to_the_ddl(suite: Path) -> None:
    """The raw tables refuse nulls in required columns themselves (NOT NULL): a suite that
    checked them again would scan millions of rows for a rule that cannot fail."""
    table = suite.stem.removeprefix("raw_")
    assert table in DDL, f"{suite.name} validates raw.{table}, which the contract lacks"
    expectations = json.loads(suite.read_text(encoding="utf-8"))["expectations"]
    named = {c for e in expectations for c in _columns_named(e)}
    assert named - set(_names(table)) == set()

    checked = {
        e["kwargs"]["column"]
        for e in expectations
        if e["type"] == "expect_column_values_to_not_be_null"
    }
    not_null = {name for name, _, nullable in contract_columns()[table] if not nullable}
    assert checked & not_null == set(), "a suite re-checks a NOT NULL the DDL enforces"
    assert checked - not_null == set(), "a suite expects non-null where the DDL allows null"


def test_header_aliases_name_canonical_columns() -> None:
    canonical = {c for columns in FILE_COLUMNS.values() for c in columns.names}
    assert set(HEADER_ALIASES) <= canonical


def test_parse_plans_fill_the_contract_columns_in_order() -> None:
    for table, plan in (("manifests", manifest_plan), ("voyages", voyage_plan)):
        output = plan(Lookups.from_seeds(), date(2024, 1, 1)).output
        assert [e.meta.output_name() for e in output] == list(payload_columns(table))


def test_dbt_profile_caps_duckdb_memory_like_the_python_side() -> None:
    """One default for DuckDB's memory cap: dbt gets no more than ingest and publish."""
    profile = (PROJECT_ROOT / "dbt_project" / "profiles.yml").read_text(encoding="utf-8")
    defaults = re.findall(r"env_var\('LEDGER_DUCKDB_MEMORY_LIMIT', '([^']+)'\)", profile)
    assert defaults == [DEFAULT_MEMORY_LIMIT]


def test_dbt_creates_staging_in_the_same_storage_format_as_ingest() -> None:
    profile = (PROJECT_ROOT / "dbt_project" / "profiles.yml").read_text(encoding="utf-8")
    assert re.findall(r"storage_compatibility_version: (\S+)", profile) == [STORAGE_VERSION]
