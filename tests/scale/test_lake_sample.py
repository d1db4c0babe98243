"""The sample pipeline's staging published to DuckLake on Postgres: the same figures as the files.

``pipeline_run`` (tests/conftest.py) builds, audits and publishes the sample once per session
into the default store; the same staging database then goes into a lake, and every table and
view must hold exactly the rows of the published version file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.local_postgres import LocalPostgres
from orchestration.publish.files import column_types, main_tables, main_views
from orchestration.publish.lake_catalog import CATALOG_ENV, DATA_PATH_ENV, open_lake
from orchestration.publish.store import VersionStore, open_store
from orchestration.sql import attach, quote_ident


def test_the_sample_publishes_the_same_tables_on_the_lake(
    pipeline_run: dict, postgres: LocalPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = pipeline_run["paths"]
    version = VersionStore(paths).latest()
    monkeypatch.setenv(CATALOG_ENV, postgres.create_database("sample"))
    monkeypatch.setenv(DATA_PATH_ENV, str(tmp_path / "lake"))
    lake = open_store(paths)
    result = lake.publish(
        paths.staging_db,
        version.run_id,
        version.input_hashes,
        version.code_version,
        version.validation,
    )
    assert result.status == "published"
    assert result.version.row_counts == version.row_counts
    assert result.version.unique_keys == version.unique_keys
    assert result.version.fingerprint == version.fingerprint

    con = open_lake(lake.settings)
    try:
        attach(con, VersionStore(paths).version_path(version), "files", read_only=True)
        tables = main_tables(con, "files")
        assert main_tables(con, "lake") == tables
        assert set(main_views(con, "lake")) == set(main_views(con, "files"))
        for name in [*tables, *main_views(con, "files")]:
            assert column_types(con, "lake", name) == column_types(con, "files", name), name
            ident = quote_ident(name)
            for a, b in (("lake", "files"), ("files", "lake")):
                only = con.execute(
                    f"select count(*) from (select * from {a}.main.{ident} "  # noqa: S608
                    f"except all select * from {b}.main.{ident})"
                ).fetchone()[0]
                assert only == 0, f"{name}: {only} rows only in {a}"
    finally:
        con.close()
