"""Great Expectations suites (``expectations/<suite>.json``) run against the staging DuckDB.

Why pandas batches and not GX's SQL datasource: with GX 1.24.1 + duckdb-engine every SQL metric
fails with "list index out of range" (duckdb-engine opens a real transaction, GX closes the
connection before ``fetchall`` and the rollback drops the result; StaticPool and
``create_temp_table=False`` do not help; GX also has no DuckDB dialect for regex). So DuckDB
reads only the columns a suite needs (Arrow, no row loop) and GX validates dataframe batches.

Memory stays bounded by a few chunks of ``chunk_rows`` (one per validation lane): row-wise
expectations (not null, ranges, sets, regex, column pairs) give the same verdict on a table as
on its row chunks, so they are streamed in chunks and their counts summed; uniqueness is
checked per hash partition of its key (all copies of a value land in one partition); anything
else (row count) sees the whole table.

This module runs a suite; ``gx_batches`` reads the table, ``gx_summary`` merges the chunk
results and sums them up, ``gx_suites`` holds the GX context, the suite files and Data Docs.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import great_expectations as gx
from great_expectations.core import ExpectationValidationResult
from great_expectations.execution_engine import pandas_execution_engine
from great_expectations.validator.v1_validator import Validator as V1Validator

from orchestration.paths import EXPECTATIONS_DIR
from orchestration.quality.audit import SEVERITIES
from orchestration.quality.gx_batches import frames, plan_groups, table_columns
from orchestration.quality.gx_suites import (
    expectation_key,
    gx_context,
    load_suite,
    write_data_docs,
)
from orchestration.quality.gx_summary import SAMPLE_SIZE, failure, merge_chunks
from orchestration.quality.summary import ValidationSummary

DEFAULT_CHUNK_ROWS = 1_000_000
VALIDATION_LANES = 2

# GX fingerprints every pandas batch under 1 GB (md5 over pandas' hash of every cell), only to
# show it as a batch marker. Over 10 M rows that was half of a suite's time (23 of 50 s on
# fct_shipments), and a fingerprint of one chunk of a table identifies nothing: 0 turns it off.
# GX 1.x has no setting for it; this module constant is the one it reads.
pandas_execution_engine.HASH_THRESHOLD = 0


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
    existing = table_columns(con, schema, name)
    relation = f'"{schema}"."{name}"'
    suite = load_suite(suite_name, expectations_dir)
    rows = con.execute(f"select count(*) from {relation}").fetchone()[0]  # noqa: S608 - quoted identifiers
    scoped, scoped_rows = relation, rows
    if where is not None:
        scoped = f"(select * from {relation} where {where})"  # noqa: S608 - our own condition
        scoped_rows = con.execute(f"select count(*) from {scoped}").fetchone()[0]  # noqa: S608
    context = gx_context(docs_dir)
    asset_name = f"{schema}.{name}"
    # One datasource per lane: a GX datasource holds one execution engine, and the engine one
    # active batch, so two chunks validated at once on one engine would read each other's rows.
    lanes = [
        (
            ThreadPoolExecutor(1, thread_name_prefix=f"gx-{k}"),
            _batch_definition(context, k, asset_name),
        )
        for k in range(VALIDATION_LANES)
    ]

    expectations = list(suite.expectations)
    groups = plan_groups(expectations, existing)
    subs = [[expectations[i] for i in group.indices] for group in groups]
    chunks: list[list[ExpectationValidationResult]] = [[] for _ in expectations]
    batches = 0

    def validate(batch_def: Any, sub: list[Any], frame: Any) -> Any:
        # Batch.validate would load (and fingerprint-hash) the dataframe a second time.
        return V1Validator(
            batch_definition=batch_def,
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE},
        ).validate_expectation_suite(gx.ExpectationSuite(name=suite_name, expectations=sub))

    # Chunks take turns on the lanes while DuckDB reads the next one: most of a chunk's time is
    # Arrow kernels (regex, take, factorize) that release the GIL. At most one chunk waits per
    # lane, so memory stays bounded by chunk_rows. Chunk 0 runs on the "ledger" datasource,
    # whose batch definition the Data Docs page shows.
    pending: deque[tuple[int, Future[Any]]] = deque()
    suite_meta: dict[str, Any] = {}

    def collect() -> None:
        nonlocal suite_meta
        index, future = pending.popleft()
        validated = future.result()
        suite_meta = suite_meta or dict(validated.meta)
        by_key = {expectation_key(r.expectation_config): r for r in validated.results}
        for i, exp in zip(groups[index].indices, subs[index], strict=True):
            chunks[i].append(by_key[expectation_key(exp.configuration)])

    try:
        for index, group in enumerate(groups):
            source, count = (relation, rows) if group.mode == "whole" else (scoped, scoped_rows)
            for frame in frames(con, source, group, count, chunk_rows):
                pool, batch_def = lanes[batches % len(lanes)]
                batches += 1
                pending.append((index, pool.submit(validate, batch_def, subs[index], frame)))
                while len(pending) > len(lanes):
                    collect()
        while pending:
            collect()
    finally:
        for pool, _ in lanes:
            pool.shutdown(cancel_futures=True)
    ordered = [merge_chunks(slot) for slot in chunks]
    summary_kwargs = dict(
        table=asset_name,
        suite=suite_name,
        rows=rows,
        rows_validated=scoped_rows,
        evaluated={s: sum(e.meta["severity"] == s for e in expectations) for s in SEVERITIES},
        failures=tuple(failure(r) for r in ordered if not r.success),
        batches=batches,
    )
    url = None
    if docs_dir is not None:
        url = write_data_docs(context, suite, ordered, suite_meta, docs_dir, run_name, asset_name)
    # Each lane's execution engine keeps its last chunk (~135 MB at 1 M rows of raw manifests)
    # until its next validation: the datasources go, and the next validation adds them again.
    for lane in range(VALIDATION_LANES):
        context.data_sources.delete(_source_name(lane))
    return ValidationSummary(
        **summary_kwargs, seconds=round(time.perf_counter() - started, 3), data_docs_url=url
    )


def _batch_definition(context: Any, lane: int, asset_name: str) -> Any:
    """The whole-dataframe batch definition of ``asset_name`` on lane ``lane``'s datasource."""
    source_name = _source_name(lane)
    try:
        datasource = context.data_sources.get(source_name)
    except KeyError:
        datasource = context.data_sources.add_pandas(source_name)
    try:
        asset = datasource.get_asset(asset_name)
    except LookupError:
        asset = datasource.add_dataframe_asset(asset_name)
    return next(iter(asset.batch_definitions), None) or asset.add_batch_definition_whole_dataframe(
        "whole"
    )


def _source_name(lane: int) -> str:
    return "ledger" if lane == 0 else f"ledger-{lane}"
