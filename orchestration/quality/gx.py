"""Great Expectations suites (``expectations/<suite>.json``) run against the staging DuckDB.

Why pandas batches and not GX's SQL datasource: with GX 1.24.1 + duckdb-engine every SQL metric
fails with "list index out of range" (duckdb-engine opens a real transaction, GX closes the
connection before ``fetchall`` and the rollback drops the result; StaticPool and
``create_temp_table=False`` do not help; GX also has no DuckDB dialect for regex). So DuckDB
reads only the columns a suite needs (Arrow, no row loop) and GX validates dataframe batches.

Memory stays bounded by ``chunk_rows``: row-wise expectations (not null, ranges, sets, regex,
column pairs) give the same verdict on a table as on its row chunks, so they are streamed in
chunks and their counts summed; uniqueness is checked per hash partition of its key (all copies
of a value land in one partition); anything else (row count) sees the whole table.
"""

from __future__ import annotations

import functools
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import great_expectations as gx
import pandas as pd
import pyarrow as pa
from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.validator.v1_validator import Validator as V1Validator

from orchestration.paths import EXPECTATIONS_DIR
from orchestration.quality.audit import SEVERITIES
from orchestration.quality.offline_docs import make_offline
from orchestration.sql import quote_ident

_GX_SEVERITY = {"error": "critical", "warn": "warning"}
DEFAULT_CHUNK_ROWS = 1_000_000
SAMPLE_SIZE = 20
DOCS_SITE = "ledger"
RESULTS_SUBDIR = "results"  # validation results JSON, under the Data Docs folder

# Verdict on the whole table == verdicts on its row chunks combined: safe to stream.
ROW_WISE = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_match_regex_list",
        "expect_column_value_lengths_to_be_between",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "expect_column_pair_values_to_be_equal",
        "expect_column_pair_values_to_be_in_set",
    }
)
# Strings stay in Arrow buffers: a third less memory and faster hashing/regex than str objects.
_ARROW_DTYPES = {t: pd.ArrowDtype(t) for t in (pa.string(), pa.large_string(), pa.string_view())}
# Decided per value: partitions by a hash of the key keep all copies of a value together.
KEYED = frozenset({"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"})
_COUNT_KEYS = ("element_count", "unexpected_count", "missing_count")


@dataclass(frozen=True)
class FailedExpectation:
    """One failed expectation, small enough to put in Dagster metadata and the audit table."""

    expectation: str
    columns: str
    severity: str
    unexpected_count: int | None
    element_count: int | None
    sample: tuple[Any, ...]
    observed: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "expectation": self.expectation,
            "columns": self.columns,
            "severity": self.severity,
            "unexpected_count": self.unexpected_count,
            "element_count": self.element_count,
            "sample": [str(v) for v in self.sample],
            "observed": self.observed,
        }


@dataclass(frozen=True)
class ValidationSummary:
    """What a check reports and the audit table keeps; the full detail is in Data Docs."""

    table: str
    suite: str
    rows: int
    evaluated: dict[str, int]
    failures: tuple[FailedExpectation, ...]
    batches: int  # GX validations run: more than one when a table is read in chunks
    seconds: float
    data_docs_url: str | None
    rows_validated: int  # rows the row-wise expectations saw (fewer than rows when scoped)

    @property
    def failed(self) -> dict[str, int]:
        counts = Counter(f.severity for f in self.failures)
        return {s: counts.get(s, 0) for s in SEVERITIES}

    @property
    def success(self) -> bool:
        """Only error-level failures make a table unusable; warnings are recorded."""
        return self.failed["error"] == 0

    @property
    def severity(self) -> str | None:
        """Worst failed level: 'error', 'warn', or None when everything passed."""
        return next((s for s in SEVERITIES if self.failed[s]), None)

    def failures_markdown(self) -> str:
        if not self.failures:
            return "All expectations passed."
        lines = [
            "| severity | expectation | columns | unexpected | of | sample / observed |",
            "|---|---|---|---|---|---|",
        ]
        for f in self.failures:
            shown = ", ".join(str(v) for v in f.sample[:5]) or (f.observed or "")
            lines.append(
                f"| {f.severity} | {f.expectation} | {f.columns} | {f.unexpected_count} "
                f"| {f.element_count} | {shown.replace('|', '/')} |"
            )
        return "\n".join(lines)


@functools.cache
def gx_context(docs_dir: Path | None = None) -> Any:
    """One ephemeral context per process and docs folder: suites live in our JSON files, not in
    a GX project. With a docs folder, validation results are kept on disk beside the HTML so the
    Data Docs index lists every past run, not only this process's."""
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,  # no phoning home from a pipeline (and no internet here)
    )
    if docs_dir is not None:
        config.stores[config.validation_results_store_name]["store_backend"] = {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(docs_dir / RESULTS_SUBDIR),
        }
        config.data_docs_sites = {
            DOCS_SITE: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
            }
        }
    context = gx.get_context(mode="ephemeral", project_config=config)
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.data_sources.add_pandas("ledger")
    return context


def load_suite(name: str, expectations_dir: Path = EXPECTATIONS_DIR) -> gx.ExpectationSuite:
    """Read a suite file; every expectation must say in meta whether it blocks (error) or warns."""
    path = expectations_dir / f"{name}.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    for i, exp in enumerate(doc["expectations"]):
        level = exp.get("meta", {}).get("severity")
        if level not in SEVERITIES:
            raise ValueError(
                f"{path}: expectation #{i} ({exp.get('type')}) needs meta.severity in "
                f"{SEVERITIES}, got {level!r}"
            )
        exp["severity"] = _GX_SEVERITY[level]
    suite = gx.ExpectationSuite(**doc)
    keys = Counter(_key(e.configuration) for e in suite.expectations)
    if dupes := [k for k, n in keys.items() if n > 1]:
        raise ValueError(f"{path}: duplicate expectations {dupes}")
    return suite


def _columns_of(config: Any) -> list[str]:
    kwargs = config.kwargs
    found = [kwargs.get(k) for k in ("column", "column_A", "column_B")]
    return [c for c in found if c] + list(kwargs.get("column_list") or [])


def _table_columns(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> dict[str, str]:
    """Column name -> DuckDB type; a missing table is an error that names the database file."""
    cols = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = current_database() and table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [schema, name],
    ).fetchall()
    if not cols:
        db = con.execute(
            "select path from duckdb_databases() where database_name = current_database()"
        ).fetchone()
        raise LookupError(f"table {schema}.{name} not found in {db[0] if db else 'memory'}")
    return dict(cols)


def _select_expr(column: str, duckdb_type: str) -> str:
    """Cast in DuckDB so pandas gets int64/float64/datetime64[ns]: the only dtypes GX checks
    vectorised (anything else falls back to a Python call per row). Dates are clamped into the
    datetime64[ns] span; a clamped value is still far outside any range a suite accepts."""
    quoted = quote_ident(column)
    kind = duckdb_type.split("(")[0].upper()
    if kind in {"DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP WITH TIME ZONE"}:
        return (
            f"cast(least(greatest(cast({quoted} as timestamp), timestamp '1678-01-01'), "
            f"timestamp '2261-12-31') as timestamp_ns) as {quoted}"
        )
    if kind in {"TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT", "UINTEGER"}:
        return f"cast({quoted} as bigint) as {quoted}"
    if kind in {"DECIMAL", "FLOAT", "REAL", "HUGEINT", "UBIGINT", "UHUGEINT"}:
        return f"cast({quoted} as double) as {quoted}"
    return quoted


@dataclass(frozen=True)
class _Group:
    """Expectations validated together over the same columns and the same way of reading them."""

    mode: str  # stream | partition | whole
    indices: tuple[int, ...]
    columns: dict[str, str]


def _plan(expectations: list[Any], existing: dict[str, str]) -> list[_Group]:
    groups: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    for i, exp in enumerate(expectations):
        cols = tuple(sorted(c for c in _columns_of(exp.configuration) if c in existing))
        if exp.expectation_type in ROW_WISE:
            key: tuple[str, tuple[str, ...]] = ("stream", ())
        elif exp.expectation_type in KEYED and cols:
            key = ("partition", cols)
        else:
            key = ("whole", ())
        groups.setdefault(key, []).append(i)
    return [
        _Group(
            mode,
            tuple(indices),
            {
                c: t
                for c, t in existing.items()
                if any(c in _columns_of(expectations[i].configuration) for i in indices)
            },
        )
        for (mode, _), indices in groups.items()
    ]


def _frames(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    group: _Group,
    rows: int,
    chunk_rows: int,
) -> Iterator[pd.DataFrame]:
    """Yield the group's columns as dataframes of at most ~chunk_rows rows (at least one frame,
    maybe empty, so every expectation runs)."""
    quoted = [quote_ident(c) for c in group.columns]
    select = ", ".join(_select_expr(c, t) for c, t in group.columns.items())
    # a row count needs rows, not columns
    query = f"select {select or 'true as _row'} from {relation}"  # noqa: S608 - quoted identifiers
    parts = -(-rows // chunk_rows)
    if group.mode == "partition" and parts > 1:
        # Copies of a key always share a partition, so per-partition duplicate counts add up.
        for part in range(parts):
            # ubigint parameters: an integer literal makes DuckDB compute in hugeint, 25x slower
            sql = f"{query} where hash({', '.join(quoted)}) % ?::ubigint = ?::ubigint"
            yield _arrow_to_pandas(con.execute(sql, [parts, part]).to_arrow_table())
        return
    if group.mode != "stream":
        yield _arrow_to_pandas(con.execute(query).to_arrow_table())
        return
    reader = con.execute(query).fetch_record_batch(chunk_rows)
    empty = True
    for batch in reader:
        empty = False
        yield _arrow_to_pandas(batch)
    if empty:
        yield _arrow_to_pandas(reader.schema.empty_table())


def _arrow_to_pandas(data: pa.Table | pa.RecordBatch) -> pd.DataFrame:
    return data.to_pandas(types_mapper=_ARROW_DTYPES.get)


def _merge(parts: list[ExpectationValidationResult]) -> ExpectationValidationResult:
    """Sum the per-chunk counts of one row-wise expectation into a whole-table result."""
    first = parts[0]
    broken = [p for p in parts if _exception_message(p) is not None]
    if len(parts) == 1 or broken:
        return (broken or parts)[0]
    result = dict(first.result)
    for key in _COUNT_KEYS:
        if key in result:
            result[key] = sum(p.result.get(key, 0) for p in parts)
    elements, missing = result.get("element_count", 0), result.get("missing_count", 0)
    unexpected = result.get("unexpected_count", 0)
    nonmissing = elements - missing
    pct = {
        "unexpected_percent_total": 100 * unexpected / elements if elements else 0.0,
        "unexpected_percent_nonmissing": 100 * unexpected / nonmissing if nonmissing else 0.0,
        "missing_percent": 100 * missing / elements if elements else 0.0,
    }
    pct["unexpected_percent"] = pct[
        "unexpected_percent_nonmissing" if "missing_count" in result else "unexpected_percent_total"
    ]
    result.update({k: v for k, v in pct.items() if k in result})
    samples = [v for p in parts for v in p.result.get("partial_unexpected_list", [])]
    result["partial_unexpected_list"] = samples[:SAMPLE_SIZE]
    # chunk-local row positions mean nothing for the whole table
    result.pop("partial_unexpected_index_list", None)
    if "partial_unexpected_counts" in result:
        counts: Counter[Any] = Counter()
        for p in parts:
            for item in p.result.get("partial_unexpected_counts", []):
                counts[_hashable(item["value"])] += item["count"]
        result["partial_unexpected_counts"] = [
            {"value": v, "count": n} for v, n in counts.most_common(SAMPLE_SIZE)
        ]
    mostly = first.expectation_config.kwargs.get("mostly")
    success = (
        unexpected == 0 if mostly is None else (nonmissing - unexpected) >= mostly * nonmissing
    )
    return ExpectationValidationResult(
        success=success,
        expectation_config=first.expectation_config,
        result=result,
        meta=first.meta,
        exception_info=first.exception_info,
    )


def _key(config: Any) -> str:
    """GX returns results grouped by domain, not in suite order; match them back by content."""
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    return json.dumps([config.type, kwargs], sort_keys=True, default=str)


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _exception_message(res: ExpectationValidationResult) -> str | None:
    """GX reports a metric that could not be computed (e.g. a missing column) as an exception,
    either at the top level or one level down per metric."""
    info = res.exception_info or {}
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    nested = [v for v in info.values() if isinstance(v, dict) and v.get("raised_exception")]
    return str(nested[0].get("exception_message")) if nested else None


def _failure(res: ExpectationValidationResult) -> FailedExpectation:
    cfg = res.expectation_config
    r = res.result or {}
    observed = _exception_message(res) or r.get("observed_value")
    return FailedExpectation(
        expectation=cfg.type,
        columns=",".join(_columns_of(cfg)),
        severity=cfg.meta["severity"],
        unexpected_count=r.get("unexpected_count"),
        element_count=r.get("element_count"),
        sample=tuple(r.get("partial_unexpected_list", [])),
        observed=None if observed is None else str(observed),
    )


def validate_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    suite_name: str,
    *,
    docs_dir: Path | None = None,
    run_name: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    expectations_dir: Path = EXPECTATIONS_DIR,
    where: str | None = None,
) -> ValidationSummary:
    """Validate ``table`` ('schema.name' or a main-schema name) against one suite file.

    With ``where`` (a SQL condition), row-wise and key expectations see only the rows it selects
    (what changed since the last validation); table-level ones (row count) the whole table.

    Columns the suite names but the table lacks are not an error here: GX reports each affected
    expectation as failed with "column does not exist", which is what a reviewer needs to see.
    """
    started = time.perf_counter()
    schema, _, name = table.rpartition(".")
    schema = schema or "main"
    existing = _table_columns(con, schema, name)
    relation = f'"{schema}"."{name}"'
    suite = load_suite(suite_name, expectations_dir)
    rows = con.execute(f"select count(*) from {relation}").fetchone()[0]  # noqa: S608 - quoted identifiers
    scoped, scoped_rows = relation, rows
    if where is not None:
        scoped = f"(select * from {relation} where {where})"  # noqa: S608 - our own condition
        scoped_rows = con.execute(f"select count(*) from {scoped}").fetchone()[0]  # noqa: S608
    context = gx_context(docs_dir)
    datasource = context.data_sources.get("ledger")
    asset_name = f"{schema}.{name}"
    try:
        asset = datasource.get_asset(asset_name)
    except LookupError:
        asset = datasource.add_dataframe_asset(asset_name)
    batch_def = next(
        iter(asset.batch_definitions), None
    ) or asset.add_batch_definition_whole_dataframe("whole")

    expectations = list(suite.expectations)
    results: dict[int, ExpectationValidationResult] = {}
    batches = 0
    suite_meta: dict[str, Any] = {}
    for group in _plan(expectations, existing):
        sub = [expectations[i] for i in group.indices]
        parts: list[list[ExpectationValidationResult]] = [[] for _ in sub]
        whole = group.mode == "whole"
        source, count = (relation, rows) if whole else (scoped, scoped_rows)
        for frame in _frames(con, source, group, count, chunk_rows):
            batches += 1
            # Batch.validate would load (and fingerprint-hash) the dataframe a second time.
            validated = V1Validator(
                batch_definition=batch_def,
                batch_parameters={"dataframe": frame},
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE},
            ).validate_expectation_suite(gx.ExpectationSuite(name=suite_name, expectations=sub))
            suite_meta = suite_meta or dict(validated.meta)
            by_key = {_key(r.expectation_config): r for r in validated.results}
            for slot, exp in zip(parts, sub, strict=True):
                slot.append(by_key[_key(exp.configuration)])
        for i, slot in zip(group.indices, parts, strict=True):
            results[i] = _merge(slot)

    ordered = [results[i] for i in range(len(expectations))]
    summary_kwargs = dict(
        table=asset_name,
        suite=suite_name,
        rows=rows,
        rows_validated=scoped_rows,
        evaluated={s: sum(e.meta["severity"] == s for e in expectations) for s in SEVERITIES},
        failures=tuple(_failure(r) for r in ordered if not r.success),
        batches=batches,
    )
    url = None
    if docs_dir is not None:
        url = _write_data_docs(context, suite, ordered, suite_meta, docs_dir, run_name, asset_name)
    return ValidationSummary(
        **summary_kwargs, seconds=round(time.perf_counter() - started, 3), data_docs_url=url
    )


def _write_data_docs(
    context: Any,
    suite: gx.ExpectationSuite,
    results: list[ExpectationValidationResult],
    meta: dict[str, Any],
    docs_dir: Path,
    run_name: str | None,
    asset_name: str,
) -> str:
    """Store the merged result and render it: one Data Docs page per suite per run."""
    run_id = RunIdentifier(run_name=run_name or "adhoc", run_time=datetime.now(UTC))
    context.suites.add_or_update(suite)
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
        run_id=run_id,
        batch_identifier=asset_name,
    )
    passed = sum(r.success for r in results)
    validation = ExpectationSuiteValidationResult(
        success=passed == len(results),
        results=results,
        suite_name=suite.name,
        statistics={
            "evaluated_expectations": len(results),
            "successful_expectations": passed,
            "unsuccessful_expectations": len(results) - passed,
            "success_percent": 100 * passed / len(results) if results else 100.0,
        },
        meta={**meta, "run_id": run_id, "validation_time": run_id.run_time},
    )
    context.validation_results_store.set(key, validation)
    urls = context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=[key])
    page = docs_dir.joinpath("validations", *key.to_tuple()).with_name(f"{asset_name}.html")
    make_offline(docs_dir, [docs_dir / "index.html", page])  # no CDN needed to read them
    return page.as_uri() if page.exists() else urls[DOCS_SITE]
