"""Scale benchmark: a backfill of the months as 1, 2 and 4 parallel runs on Postgres storage,
against the default in-process backfill of the same months, measured in one go.

On generated data (``ledger generate --rows N``) in one home: a first ``ledger run`` builds the
state every case starts from; the baseline is ``ledger run --months FIRST:LAST`` on the default
SQLite instance (one run, in process); each parallel case rebuilds the same months as one run
per month, ``workers`` at a time (``orchestration.parallel.backfill``), with Dagster's storage
in a fresh database of a throwaway PostgreSQL server. Prints ``parallel_speedup_2`` and
``parallel_speedup_4`` (baseline seconds / seconds with that many workers: above 1 is faster
than the default) and records the details in bench/results/scale.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
from bench_pipeline import LEDGER, ROOT, ledger_env, measure

from orchestration.instance import with_driver
from orchestration.local_postgres import local_postgres

WORKERS = (4, 2, 1)  # widest first: on a loaded machine a cut-short run still has the speedups
BACKFILL = (
    "import sys; from orchestration.parallel import backfill; "
    "runs = backfill(sys.argv[1].split(','), int(sys.argv[2])); "
    "sys.exit(0 if all(r.success for r in runs) else 1)"
)


def version_store_env(catalog_url: str, data_path: Path) -> dict[str, str]:
    """The parallel cases publish to DuckLake with its catalog on the same Postgres server
    (README, "Versions on a shared catalog"), as a shared deployment would."""
    return {"LEDGER_LAKE_CATALOG_URL": catalog_url, "LEDGER_LAKE_DATA_PATH": str(data_path)}


def months_served(home: Path) -> list[str]:
    """Dispatch months of the served shipments: the partitions the backfill covers."""
    served = home / "data" / "warehouse" / "ledger.duckdb"
    with duckdb.connect(str(served), read_only=True) as con:
        rows = con.execute(
            "select distinct strftime(dispatch_date, '%Y-%m') from fct_shipments order by 1"
        ).fetchall()
    return [r[0] for r in rows]


OUT = ROOT / "bench" / "results" / "scale.json"


def record(results: dict[str, object]) -> dict[str, float]:
    """The figures of the cases measured so far, written with the details to scale.json.

    parallel_speedup_N: the default run's seconds / N workers' seconds (above 1: faster);
    scaling_N: 1 worker's seconds / N workers' seconds (what adding workers buys)."""
    seconds = {n: results[f"workers_{n}"]["wall_s"] for n in WORKERS if f"workers_{n}" in results}
    base = results["baseline"]["wall_s"]
    figures = {"baseline_s": base, **{f"workers_{n}_s": s for n, s in sorted(seconds.items())}}
    for n in (2, 4):
        if n in seconds:
            figures[f"parallel_speedup_{n}"] = round(base / seconds[n], 2)
            if 1 in seconds:
                figures[f"scaling_{n}"] = round(seconds[1] / seconds[n], 2)
    OUT.write_text(json.dumps({**figures, "details": results}, indent=2) + "\n")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000, help="manifest rows (50 k)")
    parser.add_argument(
        "--months", type=int, help="backfill the first N months with data (default: all)"
    )
    parser.add_argument("--workdir", type=Path, help="keep files here (default: a temp dir)")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="ledger-bench-scale-"))
    home = work / "home"
    env = ledger_env(home)
    results: dict[str, object] = {"rows": args.rows}
    try:
        subprocess.run(
            [*LEDGER, "generate", "--rows", str(args.rows)], env=env, cwd=ROOT, check=True
        )
        results["first_run"] = measure([*LEDGER, "run"], env, "first: ledger run", work)
        months = months_served(home)[: args.months]
        results["months"] = months
        span = f"{months[0]}:{months[-1]}"
        results["baseline"] = measure(
            [*LEDGER, "run", "--months", span], env, "baseline: ledger run --months", work
        )
        with local_postgres() as server:
            results["version_store"] = "DuckLake, catalog on the same Postgres"
            print(f"[bench] version store: {results['version_store']}", file=sys.stderr)
            for n in WORKERS:
                database = server.create_database(f"bench_{n}_workers")
                pg_env = {
                    **env,
                    "LEDGER_PG_URL": with_driver(database),
                    "DAGSTER_HOME": str(work / f"dagster-{n}-workers"),
                    **version_store_env(database, work / f"lake-{n}-workers"),
                }
                cmd = [sys.executable, "-c", BACKFILL, ",".join(months), str(n)]
                results[f"workers_{n}"] = measure(cmd, pg_env, f"parallel {n}: backfill", work)
                record(results)  # so far: a run cut short keeps what it measured
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)

    figures = record(results)
    print(json.dumps(results, indent=2), file=sys.stderr)
    print(f"version_store={results['version_store']}")
    for name, value in figures.items():
        print(f"{name}={value}")
    print(f"[bench] recorded in {OUT.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
