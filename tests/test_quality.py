"""GX suites on real DuckDB files: verdicts, exact counts, chunking, Data Docs, blocking checks."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import psutil
import pytest

from orchestration.defs.quality.checks import SUITES, build_gx_check, quality_checks
from orchestration.defs.resources import LedgerResource
from orchestration.paths import EXPECTATIONS_DIR, PROJECT_ROOT, LedgerPaths
from orchestration.quality.gx import validate_table
from orchestration.quality.gx_suites import gx_context, load_suite

ROWS = 60

# A clean fct_shipments with the mart's columns; corruptions below are applied by row number.
SHIPMENTS_SQL = """
create or replace table main.fct_shipments as
select
    'SHP' || lpad(i::varchar, 5, '0') as shipment_id,
    'WB' || lpad(i::varchar, 6, '0') as waybill_no,
    date '2023-08-01' + (i * 3)::int as dispatch_date,
    '986808' as origin_station_code,
    '515202' as destination_station_code,
    '986808-515202' as route_id,
    '481203' as cargo_code,
    true as is_explosive,
    true as is_synthetic,
    case when i % 4 = 0 then null else 'MSCU' || lpad(i::varchar, 7, '0') end as container_no,
    cast(18 + i / 100 as decimal(10, 3)) as gross_cargo_tonnes,
    1 as versions_count
from range(?) t(i)
"""


def _shipments_db(path: Path, *corruptions: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute(SHIPMENTS_SQL, [ROWS])
        for sql in corruptions:
            con.execute(sql)
    return path


def _validate(db: Path, **kwargs: object):
    with duckdb.connect(str(db), read_only=True) as con:
        return validate_table(con, "fct_shipments", "fct_shipments", **kwargs)


CORRUPT = (
    # three containers that break ISO 6346, one null key, one duplicated waybill (2 rows)
    "update fct_shipments set container_no = 'MSC' || lpad(shipment_id[4:], 7, '0') "
    "where shipment_id in ('SHP00001', 'SHP00002', 'SHP00003')",
    "update fct_shipments set shipment_id = null where waybill_no = 'WB000010'",
    "update fct_shipments set waybill_no = 'WB000020' where waybill_no = 'WB000021'",
)


def test_clean_table_passes(tmp_path: Path) -> None:
    summary = _validate(_shipments_db(tmp_path / "s.duckdb"))
    assert summary.failures == ()
    assert summary.success is True
    assert summary.severity is None
    assert summary.rows == ROWS
    assert summary.evaluated == {"error": 18, "warn": 2}
    assert summary.failed == {"error": 0, "warn": 0}


def test_corrupted_table_fails_with_exact_counts(tmp_path: Path) -> None:
    summary = _validate(_shipments_db(tmp_path / "s.duckdb", *CORRUPT))
    assert summary.success is False
    assert summary.severity == "error"
    got = {(f.expectation, f.columns): (f.severity, f.unexpected_count) for f in summary.failures}
    assert got == {
        ("expect_column_values_to_match_regex", "container_no"): ("error", 3),
        ("expect_column_values_to_not_be_null", "shipment_id"): ("error", 1),
        ("expect_column_values_to_be_unique", "waybill_no"): ("error", 2),
    }
    regex = next(f for f in summary.failures if f.columns == "container_no")
    assert sorted(regex.sample) == ["MSC0000001", "MSC0000002", "MSC0000003"]
    assert regex.element_count == ROWS


def test_a_scoped_validation_sees_only_its_rows_but_counts_the_whole_table(tmp_path: Path) -> None:
    """What changed is validated row by row; table-level expectations still see everything."""
    db = _shipments_db(tmp_path / "s.duckdb", *CORRUPT)
    summary = _validate(db, where="shipment_id >= 'SHP00030'")  # the corrupt rows lie before
    assert (summary.rows, summary.rows_validated) == (ROWS, 30)
    assert summary.failures == ()
    inside = _validate(db, where="shipment_id < 'SHP00004'", chunk_rows=2)
    assert [(f.columns, f.unexpected_count) for f in inside.failures] == [("container_no", 3)]
    empty = _validate(db, where="false")
    assert (empty.rows_validated, empty.failures) == (0, ())


def test_chunked_validation_matches_whole_table(tmp_path: Path) -> None:
    db = _shipments_db(tmp_path / "s.duckdb", *CORRUPT)
    whole = _validate(db)
    chunked = _validate(db, chunk_rows=13)
    # ceil(60 / 13) = 5 row chunks + 5 hash partitions for each of the 2 unique keys + 1 row count
    assert chunked.batches == 16
    assert whole.batches == 4
    assert [f.as_dict() | {"sample": sorted(f.sample)} for f in chunked.failures] == [
        f.as_dict() | {"sample": sorted(f.sample)} for f in whole.failures
    ]


# The study-period rule tolerates 15% of rows outside it (background freight): 12 of 60 warn.
WARN_ONLY = (
    "update fct_shipments set dispatch_date = date '2022-05-01' where shipment_id <= 'SHP00012'"
)


def test_warn_only_failure_is_a_warning(tmp_path: Path) -> None:
    # 2022 is plausible (error range 2000..2100) but outside the study period (warn).
    db = _shipments_db(
        tmp_path / "s.duckdb",
        "update fct_shipments set dispatch_date = date '2022-05-01' where shipment_id < 'SHP00012'",
    )
    summary = _validate(db)
    assert summary.success is True
    assert summary.severity == "warn"
    assert [(f.expectation, f.severity, f.unexpected_count) for f in summary.failures] == [
        ("expect_column_values_to_be_between", "warn", 12)
    ]


def test_a_few_rows_outside_the_study_period_pass(tmp_path: Path) -> None:
    db = _shipments_db(
        tmp_path / "s.duckdb",
        "update fct_shipments set dispatch_date = date '2022-05-01' where shipment_id < 'SHP00005'",
    )
    assert _validate(db).failures == ()


def test_implausible_date_is_an_error(tmp_path: Path) -> None:
    # Year 1023 is outside datetime64[ns]: it is clamped, and still caught by the 2000..2100 rule.
    db = _shipments_db(
        tmp_path / "s.duckdb",
        "update fct_shipments set dispatch_date = date '1023-08-01' where shipment_id = 'SHP00007'",
    )
    failed = {(f.severity, f.unexpected_count) for f in _validate(db).failures}
    assert failed == {("error", 1)}


@pytest.mark.parametrize("chunk_rows", [1000, 7])
def test_missing_column_and_table_are_reported(tmp_path: Path, chunk_rows: int) -> None:
    db = _shipments_db(tmp_path / "s.duckdb", "alter table fct_shipments drop column route_id")
    summary = _validate(db, chunk_rows=chunk_rows)
    assert [(f.expectation, f.columns) for f in summary.failures] == [
        ("expect_column_values_to_not_be_null", "route_id"),
        ("expect_column_values_to_match_regex", "route_id"),
    ]
    assert all('column "route_id"' in f.observed for f in summary.failures)
    with duckdb.connect(str(db), read_only=True) as con, pytest.raises(LookupError, match="nope"):
        validate_table(con, "main.nope", "fct_shipments")


def test_data_docs_page_written_and_index_keeps_history(tmp_path: Path) -> None:
    db = _shipments_db(tmp_path / "s.duckdb", *CORRUPT)
    docs = tmp_path / "docs"
    first = _validate(db, docs_dir=docs, run_name="run-41")
    gx_context.cache_clear()  # as if the next run were a new process
    summary = _validate(db, docs_dir=docs, run_name="run-42")
    page = Path(summary.data_docs_url.removeprefix("file://"))
    assert page.is_relative_to(docs / "validations" / "fct_shipments" / "run-42")
    html = page.read_text()
    assert "container_no" in html and "MSC0000001" in html
    index = (docs / "index.html").read_text()
    assert "run-41" in index and "run-42" in index
    assert first.data_docs_url != summary.data_docs_url
    # no per-chunk fingerprint: hashing every cell cost half of a 10 M-row suite
    (result,) = (docs / "results" / "fct_shipments" / "run-42").rglob("*.json")
    markers = json.loads(result.read_text())["meta"]["batch_markers"]
    assert "ge_load_time" in markers and "pandas_data_fingerprint" not in markers


def test_data_docs_templates_compile_once_per_machine(tmp_path: Path) -> None:
    """The site's page and index views keep jinja's compiled templates in its per-user cache
    folder (under TMPDIR), so the next page, run or process parses no template again."""
    db = _shipments_db(tmp_path / "s.duckdb", *CORRUPT)
    temp = tmp_path / "tmp"
    temp.mkdir()
    script = (
        "import sys, duckdb; from pathlib import Path;"
        " from orchestration.quality.gx import validate_table;"
        " con = duckdb.connect(sys.argv[1], read_only=True);"
        " validate_table(con, 'fct_shipments', 'fct_shipments', docs_dir=Path(sys.argv[2]),"
        " run_name='run-1')"
    )
    env = {**os.environ, "TMPDIR": str(temp), "PYTHONPATH": str(PROJECT_ROOT)}
    subprocess.run(
        [sys.executable, "-c", script, str(db), str(tmp_path / "docs")], env=env, check=True
    )
    (cache,) = temp.glob("_jinja2-cache-*")
    compiled = sorted(cache.glob("__jinja2_*.cache"))
    # page.j2, index_page.j2 and the components and sections they include
    assert len(compiled) >= 5, compiled
    assert (tmp_path / "docs" / "index.html").is_file()


def test_data_docs_need_no_network(tmp_path: Path) -> None:
    """Every script, stylesheet and image the pages load is a local file next to them."""
    db = _shipments_db(tmp_path / "s.duckdb", *CORRUPT)
    docs = tmp_path / "docs"
    _validate(db, docs_dir=docs, run_name="run-41")
    gx_context.cache_clear()
    _validate(db, docs_dir=docs, run_name="run-42")
    pages = sorted(docs.rglob("*.html"))
    assert len(pages) == 3  # the index and one page per run
    for page in pages:
        html = page.read_text()
        loads = re.findall(r'<(?:script|link|img)\b[^>]*?\b(?:src|href)="([^"]+)"', html)
        assert [u for u in loads if re.match(r"https?://", u)] == [], page
        assert len(loads) >= 5, page
        for url in loads:
            assert (page.parent / url).resolve().is_file(), (page, url)
    css = (docs / "static/vendor/font-awesome/css/all.min.css").read_text()
    fonts = set(re.findall(r"url\(([^)]+\.woff2)\)", css))
    assert fonts and all((docs / "static/vendor/font-awesome/css" / f).is_file() for f in fonts)


def test_data_docs_index_lists_the_runs_offline(tmp_path: Path) -> None:
    """A real browser without network draws the index's results table (one row per run)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed")
    db = _shipments_db(tmp_path / "s.duckdb", *CORRUPT)
    docs = tmp_path / "docs"
    for run in ("run-41", "run-42"):
        gx_context.cache_clear()
        _validate(db, docs_dir=docs, run_name=run)
    dom = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=5000",
            "--proxy-server=127.0.0.1:9",
            "--dump-dom",
            (docs / "index.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout  # fmt: skip (the dead proxy makes sure nothing comes from a network)
    body = dom.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r'<tr [^>]*data-href="([^"]+)"', body)
    assert [r.split("/")[2] for r in rows] == ["run-42", "run-41"]  # newest first, as GX sorts
    assert all((docs / r).is_file() for r in rows)


@pytest.mark.parametrize("chunk_rows", [1000, 13])
def test_mostly_is_judged_on_the_whole_table(tmp_path: Path, chunk_rows: int) -> None:
    # 45 non-null containers, 3 broken: 93.3 % match, so mostly=0.9 passes and 0.95 fails.
    db = _shipments_db(tmp_path / "s.duckdb", CORRUPT[0])
    for mostly in (0.9, 0.95):
        doc = {
            "name": "mostly",
            "expectations": [
                {
                    "type": "expect_column_values_to_match_regex",
                    "kwargs": {
                        "column": "container_no",
                        "regex": r"^[A-Z]{3}[UJZ]\d{7}$",
                        "mostly": mostly,
                    },
                    "meta": {"severity": "warn"},
                }
            ],
        }
        (tmp_path / "mostly.json").write_text(json.dumps(doc))
        with duckdb.connect(str(db), read_only=True) as con:
            summary = validate_table(
                con, "fct_shipments", "mostly", chunk_rows=chunk_rows, expectations_dir=tmp_path
            )
        assert summary.failed == {"error": 0, "warn": int(mostly == 0.95)}
        assert summary.evaluated == {"error": 0, "warn": 1}


def test_every_suite_loads_and_every_expectation_has_a_severity() -> None:
    names = sorted(p.stem for p in EXPECTATIONS_DIR.glob("*.json"))
    assert names == sorted(suite for _, suite in SUITES.values())
    for name in names:
        suite = load_suite(name)
        assert {e.meta["severity"] for e in suite.expectations} <= {"error", "warn"}
        assert suite.expectations[0].expectation_type == "expect_table_row_count_to_be_between"
    assert len(quality_checks) == len(SUITES)


def test_suite_without_severity_is_rejected(tmp_path: Path) -> None:
    doc = {
        "name": "x",
        "expectations": [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}, "meta": {}}
        ],
    }
    (tmp_path / "x.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"x.json: expectation #0 .* meta.severity"):
        load_suite("x", tmp_path)


def _pipeline(corruptions: tuple[str, ...]) -> list:
    @dg.asset(key="fct_shipments")
    def shipments(ledger: LedgerResource) -> None:
        with ledger.staging() as con:
            con.execute(SHIPMENTS_SQL, [ROWS])
            for sql in corruptions:
                con.execute(sql)

    @dg.asset(deps=["fct_shipments"])
    def downstream() -> None:
        pass

    check = build_gx_check(dg.AssetKey(["fct_shipments"]), "main.fct_shipments", "fct_shipments")
    return [shipments, downstream, check]


@pytest.mark.parametrize(
    ("corruptions", "passed", "severity", "downstream_ran"),
    [
        ((), True, dg.AssetCheckSeverity.WARN, True),
        (CORRUPT, False, dg.AssetCheckSeverity.ERROR, False),
        (
            (WARN_ONLY,),
            False,
            dg.AssetCheckSeverity.WARN,
            True,
        ),
    ],
    ids=["clean", "error-blocks", "warn-passes-through"],
)
def test_blocking_check_in_dagster(
    tmp_path: Path,
    corruptions: tuple[str, ...],
    passed: bool,
    severity: dg.AssetCheckSeverity,
    downstream_ran: bool,
) -> None:
    ledger = LedgerResource(home=str(tmp_path))
    result = dg.materialize(
        _pipeline(corruptions), resources={"ledger": ledger}, raise_on_error=False
    )
    [evaluation] = result.get_asset_check_evaluations()
    assert (evaluation.passed, evaluation.severity) == (passed, severity)
    assert bool(result.asset_materializations_for_node("downstream")) is downstream_ran
    meta = evaluation.metadata
    assert meta["rows"].value == ROWS
    with duckdb.connect(str(ledger.paths.staging_db), read_only=True) as con:
        audit = con.execute(
            "select run_id, check_name, asset, severity, success, evaluated, failed "
            "from audit.validation_results order by severity"
        ).fetchall()
    errors = 0 if passed or severity == dg.AssetCheckSeverity.WARN else 3
    warns = 1 if (not passed and severity == dg.AssetCheckSeverity.WARN) else 0
    assert audit == [
        (result.run_id, "gx_fct_shipments", "fct_shipments", "error", errors == 0, 18, errors),
        (result.run_id, "gx_fct_shipments", "fct_shipments", "warn", warns == 0, 2, warns),
    ]
    assert meta["failed_error"].value == errors
    assert Path(meta["data_docs"].value.removeprefix("file://")).exists()


def test_check_that_cannot_run_leaves_a_failed_audit_row(tmp_path: Path) -> None:
    ledger = LedgerResource(home=str(tmp_path))
    # The upstream "forgets" the table: drop it after building it.
    assets = _pipeline(("drop table fct_shipments",))
    result = dg.materialize(assets, resources={"ledger": ledger}, raise_on_error=False)
    assert not result.success
    assert result.asset_materializations_for_node("downstream") == []
    with duckdb.connect(str(ledger.paths.staging_db), read_only=True) as con:
        audit = con.execute(
            "select run_id, check_name, severity, success, failed, details "
            "from audit.validation_results"
        ).fetchall()
    assert audit == [
        (
            result.run_id,
            "gx_fct_shipments",
            "error",
            False,
            1,
            json.dumps(
                {
                    "exception": f"LookupError: table main.fct_shipments not found in "
                    f"{ledger.paths.staging_db}"
                }
            ),
        )
    ]


EXITING_WORKER = """
import multiprocessing, os
from concurrent.futures import ProcessPoolExecutor


def task():
    from orchestration.quality import gx_worker

    return gx_worker.start().submit(os.getpid).result()  # the worker's pid, once it is up


if __name__ == "__main__":
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        print(pool.submit(task).result())
"""


def test_a_process_that_started_the_gx_worker_in_a_process_pool_exits(tmp_path: Path) -> None:
    """A backfill runs each month in a process of a pool (parallel.py): when it exits,
    multiprocessing joins its children before the executors' exit hook could stop the GX
    worker, which then waited for work for ever and the backfill never returned. The timeout
    only tells a deadlock from an exit that takes seconds."""
    probe = tmp_path / "probe.py"
    probe.write_text(EXITING_WORKER)
    result = subprocess.run(
        [sys.executable, str(probe)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert not psutil.pid_exists(int(result.stdout)), "the GX worker outlived its run"


def test_gx_validates_in_a_worker_process(tmp_path: Path) -> None:
    """GX (9-11 s to import) loads in one worker process per run process: the run gets the same
    verdict as an in-process validation and never imports great_expectations or pandas, and a
    worker that died (killed, out of memory) fails its check and is replaced for the next."""
    paths = LedgerPaths.from_env(tmp_path)
    _shipments_db(paths.staging_db, *CORRUPT)
    probe = (
        "import json, multiprocessing, sys\n"
        "from concurrent.futures.process import BrokenProcessPool\n"
        "from orchestration.paths import LedgerPaths\n"
        "from orchestration.quality import gx_worker\n"
        "paths = LedgerPaths.from_env(sys.argv[1])\n"
        "assert gx_worker.start() is gx_worker.start()\n"
        "first = gx_worker.validate(paths, 'fct_shipments', 'fct_shipments')\n"
        "assert not {'great_expectations', 'pandas'} & set(sys.modules), 'imported in the run'\n"
        "for worker in multiprocessing.active_children():\n"
        "    worker.kill()\n"
        "try:\n"
        "    gx_worker.validate(paths, 'fct_shipments', 'fct_shipments')\n"
        "    raise SystemExit('a dead worker went unnoticed')\n"
        "except BrokenProcessPool:\n"
        "    pass\n"
        "again = gx_worker.validate(paths, 'fct_shipments', 'fct_shipments')\n"
        "print(json.dumps([[f.as_dict() for f in s.failures] for s in (first, again)]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    in_process = [f.as_dict() for f in _validate(paths.staging_db).failures]
    assert in_process  # the corrupted table fails: the comparison below means something
    assert json.loads(result.stdout) == [in_process, in_process]
