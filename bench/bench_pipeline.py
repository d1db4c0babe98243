"""Pipeline benchmark: what a run costs at 10 M rows and on the sample, measured in one go.

In the same run, on generated data: the polars floor (``scan_csv -> sink_parquet`` of the very
same CSV: the least any pipeline that reads it must do); a full ``ledger run`` of 10 M manifest
rows; one more day (~55 k rows) added to that state; a re-run with nothing changed; ``ledger
versions``; and a fresh sample-data run. Prints six ``name=value`` lines (and the details as
JSON, with the disk the one-day version added against the size of the data it changed) and
records them in bench/results/pipeline.json. Targets: full_ratio <= 20,
peak_rss_gib <= 3, incremental_share <= 0.10, sample_run_s <= 25, unchanged_run_s <= 10,
cli_versions_s <= 1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from orchestration.paths import LedgerPaths
from orchestration.publish.parts import files_read_by
from orchestration.run_output import STAGES

ROOT = Path(__file__).resolve().parent.parent
LEDGER = [sys.executable, "-m", "orchestration.cli"]
FLOOR = (
    "import polars as pl, sys; "
    "pl.scan_csv(sys.argv[1], infer_schema=False).sink_parquet(sys.argv[2])"
)


def ledger_env(home: Path) -> dict[str, str]:
    """A separate home per case; DAGSTER_HOME follows it (the CLI derives it when unset)."""
    env = {**os.environ, "LEDGER_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    return env


def measure(cmd: list[str], env: dict[str, str], label: str, work: Path) -> dict[str, float]:
    """Wall time and peak RSS summed over the process tree, sampled every 50 ms."""
    print(f"[bench] {label}: {' '.join(cmd[:4])} ...", file=sys.stderr, flush=True)
    log = work / f"{label.split(':')[0].replace(' ', '_')}.log"
    start = time.perf_counter()
    # Output goes to a file: a pipe nobody reads fills up and stalls the run.
    with log.open("wb") as out:
        proc = psutil.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        peak = 0
        while proc.poll() is None:
            try:
                tree = [proc, *proc.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.05)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(log.read_text(errors="replace")[-4000:])
        raise SystemExit(f"[bench] {label} failed with exit code {proc.returncode} (log: {log})")
    print(f"[bench] {label}: {wall:.1f} s, peak RSS {peak / 2**30:.2f} GiB", file=sys.stderr)
    # where the time went: the run's own one-line summary per stage (ingest, build, audit, ...)
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith(STAGES):
            print(f"[bench]   {line}", file=sys.stderr)
    return {"wall_s": round(wall, 2), "peak_rss_gib": round(peak / 2**30, 3)}


def version_files(home: Path) -> dict[Path, int]:
    """Every file of the versions folder (version files, Parquet parts) and its size."""
    folder = LedgerPaths.from_env(home).versions_dir
    return {p: p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def disk_added(home: Path, before: dict[Path, int]) -> dict[str, float]:
    """What the latest version added to the disk, against the data it changed: the parts of the
    previous version it does not read (months written anew) and the parts it added beside the
    previous version's files of a month (rows appended to it)."""
    paths = LedgerPaths.from_env(home)
    after = version_files(home)
    added = sum(size for p, size in after.items() if p not in before)
    latest = sorted(paths.versions_dir.glob("v*.duckdb"))[-2:]
    old, new = (files_read_by(p) for p in latest)
    replaced = sum(before.get(Path(f), 0) for f in old - new)
    rewritten = {Path(f).parent for f in old - new}
    appended = sum(after[Path(f)] for f in new - old if Path(f).parent not in rewritten)
    figures = {
        "added_mib": round(added / 2**20, 1),
        "changed_mib": round((replaced + appended) / 2**20, 1),
        "appended_mib": round(appended / 2**20, 1),
        "ratio": round(added / max(replaced + appended, 1), 2),
        "all_versions_mib": round(sum(after.values()) / 2**20, 1),
    }
    print(f"[bench] disk added by the one-day version: {figures}", file=sys.stderr)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="manifest rows (10 M)")
    parser.add_argument("--day-rows", type=int, default=55_000, help="rows of the added day")
    parser.add_argument("--workdir", type=Path, help="keep files here (default: a temp dir)")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    results: dict[str, object] = {"rows": args.rows, "day_rows": args.day_rows}
    results["cpus"] = os.cpu_count()
    try:
        big = work / "big"
        env = ledger_env(big)
        t0 = time.perf_counter()
        subprocess.run(
            [*LEDGER, "generate", "--rows", str(args.rows)], env=env, cwd=ROOT, check=True
        )
        results["generate_s"] = round(time.perf_counter() - t0, 1)
        csvs = sorted((big / "data" / "raw" / "manifests").glob("*.csv"), key=os.path.getsize)
        manifest = csvs[-1]
        results["csv_gib"] = round(manifest.stat().st_size / 2**30, 3)

        floor_cmd = [sys.executable, "-c", FLOOR, str(manifest), str(work / "floor.parquet")]
        results["floor"] = measure(floor_cmd, env, "floor: polars scan_csv -> sink_parquet", work)
        results["full_run"] = measure([*LEDGER, "run"], env, "full: ledger run", work)

        day = [*LEDGER, "generate", "--day", "2023-11-14", "--rows", str(args.day_rows)]
        subprocess.run(day, env=env, cwd=ROOT, check=True)
        before = version_files(big)
        results["one_day_run"] = measure([*LEDGER, "run"], env, "one day: ledger run", work)
        results["one_day_disk"] = disk_added(big, before)
        results["unchanged_run"] = measure([*LEDGER, "run"], env, "unchanged: ledger run", work)
        results["cli_versions"] = measure([*LEDGER, "versions"], env, "cli: ledger versions", work)

        sample = work / "sample"
        env = ledger_env(sample)
        subprocess.run([*LEDGER, "generate"], env=env, cwd=ROOT, check=True)
        results["sample_run"] = measure([*LEDGER, "run"], env, "sample: ledger run", work)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)

    full = results["full_run"]["wall_s"]
    figures = {
        "full_ratio": round(full / results["floor"]["wall_s"], 2),
        "peak_rss_gib": results["full_run"]["peak_rss_gib"],
        "incremental_share": round(results["one_day_run"]["wall_s"] / full, 3),
        "sample_run_s": results["sample_run"]["wall_s"],
        "unchanged_run_s": results["unchanged_run"]["wall_s"],
        "cli_versions_s": results["cli_versions"]["wall_s"],
    }
    print(json.dumps(results, indent=2), file=sys.stderr)
    for name, value in figures.items():
        print(f"{name}={value}")
    out = ROOT / "bench" / "results" / "pipeline.json"
    out.write_text(json.dumps({**figures, "details": results}, indent=2) + "\n")
    print(f"[bench] recorded in {out.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
