"""The pieces the shared-infrastructure path stands on: a real server, reached by DuckDB offline."""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.duckdb_extensions import load_bundled
from orchestration.local_postgres import LocalPostgres
from orchestration.sql import sql_literal


def test_duckdb_reaches_postgres_with_the_bundled_extension(
    postgres: LocalPostgres, tmp_path: Path
) -> None:
    url = postgres.create_database("roundtrip")
    con = duckdb.connect()
    load_bundled(con, tmp_path / "ext", "postgres_scanner")
    con.execute(f"attach {sql_literal(url)} as pg (type postgres)")
    con.execute("create table pg.public.t as select range as n from range(1000)")
    con.execute("detach pg")
    con.execute(f"attach {sql_literal(url)} as pg (type postgres, read_only)")
    assert con.execute("select count(*), sum(n) from pg.public.t").fetchone() == (1000, 499500)
