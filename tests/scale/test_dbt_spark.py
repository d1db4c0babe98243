"""The dbt project on Spark (dbt-spark, local pyspark) builds the marts DuckDB builds, exactly.

One Spark build of the sample the `pipeline_run` fixture ingested and built on DuckDB: its raw
tables go to Spark as Parquet (orchestration/spark.py), `dbt build --target spark` runs in this
process, and every mart must then have DuckDB's columns, types and totals.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator

import duckdb
import pytest

pytest.importorskip("pyspark", reason="the scale dependency group (make setup-scale)")

from orchestration.defs.dbt.resources import dbt_project  # noqa: E402
from orchestration.spark import SparkBuild, build_on_spark  # noqa: E402

MARTS = "main"
Query = Callable[[str], list[tuple]]

# DuckDB's and Spark's names for the same kind of column. DuckDB sums BIGINTs into a HUGEINT
# (fct_claim_reconciliation.evidence_rows), Spark into a bigint: both are whole numbers.
DUCKDB_KINDS = {
    "BIGINT": "integer",
    "INTEGER": "integer",
    "HUGEINT": "integer",
    "DOUBLE": "float",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "VARCHAR": "string",
}
SPARK_KINDS = {
    "bigint": "integer",
    "int": "integer",
    "double": "float",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
    "string": "string",
}


def float_total(values: list[float | None]) -> float:
    """The exact sum (math.fsum: no rounding error, no dependence on row order) of a column,
    rounded to 10 significant digits.

    The engines add a group's doubles in different orders (Spark per partition, then merged),
    so a sum inside a mart, and what is computed from one (the blended factors of
    fct_munitions_equivalent), may differ in its last bits: measured on the sample, the column
    totals differ by 1e-16 to 1e-15 relative. Rounding the total once, not each value, keeps
    the chance that the two land on either side of a rounding boundary near that size
    divided by 1e-10, while any real difference (a wrong factor, a lost row) shows.
    """
    return float(f"{math.fsum(v for v in values if v is not None):.10g}")


def mart_totals(query: Query, table: str, columns: list[tuple[str, str]]) -> dict[str, object]:
    """Row count, then per column: sum (integers), float_total (doubles), count of true
    (booleans), min and max (dates, timestamps), non-null and distinct counts (text)."""
    selected = [("rows", "count(*)")]
    for name, kind in columns:
        if kind == "integer":
            selected.append((f"{name}:sum", f"sum({name})"))
        elif kind == "boolean":
            selected.append((f"{name}:true", f"sum(case when {name} then 1 else 0 end)"))
        elif kind in ("date", "timestamp"):
            selected.append((f"{name}:min", f"cast(min({name}) as string)"))
            selected.append((f"{name}:max", f"cast(max({name}) as string)"))
        elif kind == "string":
            selected.append((f"{name}:count", f"count({name})"))
            selected.append((f"{name}:distinct", f"count(distinct {name})"))
    relation = f"{MARTS}.{table}"  # names from DuckDB's catalog
    values = query(f"select {', '.join(sql for _, sql in selected)} from {relation}")[0]  # noqa: S608
    totals: dict[str, object] = dict(zip((label for label, _ in selected), values, strict=True))
    floats = [name for name, kind in columns if kind == "float"]
    if floats:
        rows = query(f"select {', '.join(floats)} from {relation}")  # noqa: S608
        for i, name in enumerate(floats):
            totals[f"{name}:total"] = float_total([row[i] for row in rows])
    return totals


@pytest.fixture(scope="module")
def spark_build(pipeline_run: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The sample's raw tables built on Spark once (a minute or more: JVM, metastore, dbt)."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    home = tmp_path_factory.mktemp("spark")
    mp = pytest.MonkeyPatch()
    mp.setenv("LEDGER_SPARK_DIR", str(home))  # build_on_spark sets it for dbt's profile
    build = build_on_spark(pipeline_run["paths"].staging_db, home)
    spark = SparkSession.builder.getOrCreate()  # the session dbt started in this process
    yield {"build": build, "spark": spark, "staging_db": pipeline_run["paths"].staging_db}
    gateway = SparkContext._gateway
    spark.stop()
    # stop() leaves the JVM running until Python exits: closing its stdin ends it (pyspark's
    # gateway exits on EOF), so the rest of the session gets its memory back
    if gateway is not None:
        gateway.shutdown()
        gateway.proc.stdin.close()
        gateway.proc.wait(timeout=60)
        SparkContext._gateway = SparkContext._jvm = None
    mp.undo()


@pytest.fixture(scope="module")
def duckdb_marts(spark_build: dict) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(spark_build["staging_db"]), read_only=True)
    yield con
    con.close()


def duckdb_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in con.execute(
        "select table_name, column_name, data_type from information_schema.columns"
        " where table_schema = ? order by table_name, ordinal_position",
        [MARTS],
    ).fetchall():
        tables.setdefault(table, []).append((column, DUCKDB_KINDS[data_type]))
    return tables


def test_spark_builds_every_model_and_unit_test(spark_build: dict) -> None:
    build: SparkBuild = spark_build["build"]
    failed = {
        node: status
        for node, status in build.statuses.items()
        if status not in ("success", "pass", "no-op")
    }
    assert build.success and not failed, failed
    # data tests are left out on Spark (they check the data the DuckDB build checks); the
    # unit tests run, as they check the engine's arithmetic and formatting
    assert not [n for n in build.statuses if n.startswith("test.")]
    unit_tests = json.loads(dbt_project.manifest_path.read_text())["unit_tests"]
    assert {n for n in build.statuses if n.startswith("unit_test.")} == set(unit_tests)
    assert build.raw_rows["manifests"] > 5000


def test_marts_have_duckdbs_columns_and_types(
    spark_build: dict, duckdb_marts: duckdb.DuckDBPyConnection
) -> None:
    spark = spark_build["spark"]
    expected = duckdb_columns(duckdb_marts)
    on_spark = {
        row.tableName: [
            (field.name, SPARK_KINDS[field.dataType.simpleString()])
            for field in spark.table(f"{MARTS}.{row.tableName}").schema.fields
        ]
        for row in spark.sql(f"show tables in {MARTS}").collect()
    }
    assert on_spark == expected


def test_mart_totals_equal_duckdbs_exactly(
    spark_build: dict, duckdb_marts: duckdb.DuckDBPyConnection
) -> None:
    spark = spark_build["spark"]

    def on_spark(sql: str) -> list[tuple]:
        return [tuple(row) for row in spark.sql(sql).collect()]

    def on_duckdb(sql: str) -> list[tuple]:
        return duckdb_marts.execute(sql).fetchall()

    tables = duckdb_columns(duckdb_marts)
    assert {"fct_shipments", "fct_munitions_equivalent", "agg_monthly_flows"} <= set(tables)
    for table, columns in tables.items():
        expected = mart_totals(on_duckdb, table, columns)
        assert expected["rows"] > 0, table
        assert mart_totals(on_spark, table, columns) == expected, table


def test_claim_verdicts_and_explanations_are_the_same_text(
    spark_build: dict, duckdb_marts: duckdb.DuckDBPyConnection
) -> None:
    """The sentences exercise the formatting macros (thousands separators, percentages)."""
    sql = (
        "select claim_id, status, explanation from main.fct_claim_reconciliation order by claim_id"
    )
    spark_rows = [tuple(row) for row in spark_build["spark"].sql(sql).collect()]
    assert spark_rows == duckdb_marts.execute(sql).fetchall()
