"""What the dbt asset pages and check pages show: published table names, column types, and
which dbt tests each model's ``dbt_tests`` check runs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import dagster as dg
import duckdb

# The published file (ledger.duckdb) attaches as catalog "ledger"; its tables are the marts.
PUBLISHED_CATALOG = "ledger"
PUBLISHED_SCHEMA = "main"


def published_table_name(props: Mapping[str, Any]) -> str | None:
    """``ledger.main.<table>`` for a model the publish step copies (a mart), else None.

    Publish copies the tables and views of schema main; the other schemas stay in staging.
    """
    if props["resource_type"] != "model" or props.get("schema") != PUBLISHED_SCHEMA:
        return None
    return f"{PUBLISHED_CATALOG}.{PUBLISHED_SCHEMA}.{props.get('alias') or props['name']}"


def readable_test_name(test: Mapping[str, Any]) -> str:
    """``unique(shipment_id)`` rather than ``unique_fct_shipments_shipment_id``; a
    ``column_rules`` test lists the columns it checks."""
    generic = test.get("test_metadata") or {}
    if not generic:
        return test["name"]
    kwargs = generic.get("kwargs", {})
    if generic["name"] == "column_rules":
        return f"column_rules({', '.join(kwargs.get('rules', {}))})"
    column = test.get("column_name") or kwargs.get("column_name")
    return f"{generic['name']}({column})" if column else generic["name"]


def test_name(unique_id: str) -> str:
    """A dbt test's name from its unique id (``test.<project>.<name>.<hash>``): the key the
    check lists, the failure message and the failing rows share."""
    return unique_id.split(".")[2]


def failing_rows(
    con: duckdb.DuckDBPyConnection, run_results: Mapping[str, Any], limit: int = 3
) -> dict[str, str]:
    """What each failing dbt test found: its query run again for the first ``limit`` rows, by
    test name. A ``column_rules`` test's rows name the columns whose rule broke
    (``failed_column=rows_read, failing_rows=1``): one test per model, each rule still named."""
    found = {}
    for result in run_results.get("results", []):
        if result["status"] != "fail" or not result.get("compiled_code"):
            continue
        name = test_name(result["unique_id"])
        try:
            cursor = con.execute(f"select * from ({result['compiled_code']}\n) limit {limit}")  # noqa: S608 - dbt's compiled test
            columns = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        except duckdb.Error as exc:
            found[name] = f"(not shown: {str(exc).splitlines()[0]})"
            continue
        found[name] = "; ".join(
            ", ".join(f"{c}={v}" for c, v in zip(columns, row, strict=True)) for row in rows
        )
    return found


def tests_by_asset(
    manifest: Mapping[str, Any], asset_key_of_test: Callable[[str], dg.AssetKey | None]
) -> dict[dg.AssetKey, list[str]]:
    """Readable labels of the dbt data tests attached to each asset, sorted."""
    found: dict[dg.AssetKey, list[str]] = defaultdict(list)
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] == "test" and (key := asset_key_of_test(unique_id)):
            found[key].append(readable_test_name(node))
    return {key: sorted(labels) for key, labels in found.items()}


def dbt_tests_description(asset: str, tests: list[str]) -> str:
    return (
        f"Protects {asset}: every dbt data test declared on it passes ({len(tests)} tests: "
        f"{', '.join(tests)}). The result lists each test with its status and failing rows; a "
        "failing error-level test blocks publish (severity warn: listed, does not block)."
    )


def column_types(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], dict[str, str]]:
    """(schema, relation) -> {column: DuckDB type} for everything dbt built."""
    types: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for schema, table, column, data_type in con.execute(
        "select table_schema, table_name, column_name, data_type from information_schema.columns"
        " where table_catalog = current_database() order by ordinal_position"
    ).fetchall():
        types[(schema, table)][column] = data_type
    return types


def typed_schema(
    declared: dg.TableSchema | None, types: Mapping[str, str]
) -> dg.TableSchema | None:
    """The columns as built, typed, with the descriptions the dbt YAML gives them."""
    if not types:
        return declared
    described = {c.name: c for c in declared.columns} if declared else {}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=name,
                type=data_type,
                description=described[name].description if name in described else None,
                tags=described[name].tags if name in described else {},
            )
            for name, data_type in types.items()
        ]
    )


def with_column_types(
    events: Iterable[Any],
    assets_def: dg.AssetsDefinition,
    manifest: Mapping[str, Any],
    types: Mapping[tuple[str, str], Mapping[str, str]],
) -> Iterator[Any]:
    """Each model's materialization with ``dagster/column_schema`` typed from the database.

    dbt YAML declares no data types (the SQL decides them): the asset page would show ``?``.
    """
    for event in events:
        if isinstance(event, dg.Output):
            key = assets_def.keys_by_output_name[event.output_name]
            spec = assets_def.specs_by_key[key]
            node = manifest["nodes"].get(spec.metadata.get("dagster_dbt/unique_id"), {})
            schema = typed_schema(
                spec.metadata.get("dagster/column_schema"),
                types.get((node.get("schema"), node.get("alias") or node.get("name")), {}),
            )
            if schema is not None:
                event = event.with_metadata({**event.metadata, "dagster/column_schema": schema})
        yield event
