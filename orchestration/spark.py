"""dbt on Spark: the same models built by a local Spark session from the same raw data.

Ingest writes the raw tables into the staging DuckDB only. Rather than a second ingest, DuckDB
exports them to Parquet and Spark reads those files as tables of a `raw` database, so the dbt
sources resolve unchanged (`raw.manifests`, ...). dbt runs in this process (dbt-spark's
`session` method): the Spark session it starts from the profile's `spark` target is reused by
every statement of the build, and stays for whoever reads the result in this process.

`python -m orchestration.spark` (`make spark-build`) builds the ledger home's staging data.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from orchestration.ingest.contract import DDL, RAW_SCHEMA
from orchestration.paths import DBT_PROJECT_DIR, LedgerPaths
from orchestration.sql import connect, quote_ident, sql_literal

if TYPE_CHECKING:
    from dbt.cli.main import dbtRunnerResult

RAW_TABLES: tuple[str, ...] = tuple(DDL)
# The data tests are left out on Spark: they check the data the DuckDB build checks (the scale
# test asserts the marts equal); they pass on Spark but make the build ~3.5x longer (410 queries).
# Unit tests run.
BUILD_ARGS: tuple[str, ...] = ("--exclude", "resource_type:test")


@dataclass(frozen=True)
class SparkBuild:
    """What a build on Spark did: dbt's verdict, each node's status and where the seconds went
    (the export to Parquet; starting Spark and registering the raw tables; the dbt build)."""

    success: bool
    statuses: dict[str, str]
    raw_rows: dict[str, int]
    export_s: float
    register_s: float
    build_s: float


def spark_dir(paths: LedgerPaths) -> Path:
    """Metastore, warehouse and raw Parquet of the `spark` target (profiles.yml reads the same)."""
    return Path(os.environ.get("LEDGER_SPARK_DIR") or paths.warehouse_dir / "spark").resolve()


def export_raw(staging_db: Path, raw_dir: Path) -> dict[str, int]:
    """Every raw table as one Parquet file in a folder of its own (a Spark table's location).

    Returns the row counts. The files are replaced whole: Spark reads what ingest last wrote.
    """
    counts: dict[str, int] = {}
    with connect(staging_db, read_only=True) as con:
        for table in RAW_TABLES:
            folder = raw_dir / table
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            source = f"{quote_ident(RAW_SCHEMA)}.{quote_ident(table)}"
            target = sql_literal(str(folder / "part-0.parquet"))
            con.execute(f"copy {source} to {target} (format parquet)")
            count = f"select count(*) from {source}"  # noqa: S608 - quoted identifiers
            counts[table] = con.execute(count).fetchone()[0]
    return counts


def dbt_spark(args: list[str], home: Path) -> dbtRunnerResult:
    """One dbt command on the `spark` target, in this process (so one Spark session serves all).

    Target folder and logs go under ``home``: the DuckDB build's manifest stays untouched.
    """
    from dbt.cli.main import dbtRunner

    os.environ["LEDGER_SPARK_DIR"] = str(home)  # the profile's spark target reads it
    result = dbtRunner().invoke(
        [
            *args,
            "--target",
            "spark",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(home / "dbt_target"),
            "--log-path",
            str(home / "logs"),
        ]
    )
    if result.exception is not None:
        raise result.exception
    return result


def build_on_spark(
    staging_db: Path, home: Path, dbt_args: tuple[str, ...] = BUILD_ARGS
) -> SparkBuild:
    """Export the raw tables, register them in Spark's `raw` database, `dbt build` on Spark."""
    started = time.perf_counter()
    raw_rows = export_raw(staging_db, home / "raw")
    exported = time.perf_counter()
    location = {"location": str(home / "raw"), "tables": list(RAW_TABLES)}
    registered = dbt_spark(
        ["run-operation", "register_raw_tables", "--args", json.dumps(location)], home
    )
    if not registered.success:
        raise RuntimeError(f"registering the raw Parquet tables in Spark failed (logs: {home})")
    registered_at = time.perf_counter()
    build = dbt_spark(["build", *dbt_args], home)
    statuses = {r.node.unique_id: str(r.status) for r in build.result.results}
    return SparkBuild(
        build.success,
        statuses,
        raw_rows,
        export_s=exported - started,
        register_s=registered_at - exported,
        build_s=time.perf_counter() - registered_at,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.spark",
        description="Build the dbt project on local Spark from the staging database's raw tables.",
    )
    # any other argument goes to `dbt build` instead of BUILD_ARGS (--select ..., --exclude ...)
    _, dbt_args = parser.parse_known_args(argv)
    paths = LedgerPaths.from_env()
    if not paths.staging_db.exists():
        parser.error(f"{paths.staging_db} does not exist: run `ledger run` first")
    build = build_on_spark(paths.staging_db, spark_dir(paths), tuple(dbt_args) or BUILD_ARGS)
    counts = ", ".join(f"{t} {n:,}" for t, n in build.raw_rows.items())
    print(f"raw to Parquet: {build.export_s:.1f} s ({counts})")
    print(f"Spark started, raw tables registered: {build.register_s:.1f} s")
    print(f"dbt build --target spark: {build.build_s:.1f} s, {len(build.statuses)} nodes")
    return 0 if build.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
