"""Pipeline benchmark: the full `ledger run` against the polars floor, measured in the same run.

Floor = `pl.scan_csv(manifests).sink_parquet(...)` of the very same file: the least any pipeline
that reads the CSV must do. Prints wall time, peak RSS (whole process tree) and the ratios, and
records them in bench/results/pipeline.json. Targets: ratio <= 4, peak RSS <= 4 GB, and a
sample-data run under 30 s.
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
    return {"wall_s": round(wall, 2), "peak_rss_gib": round(peak / 2**30, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="manifest rows (10 M)")
    parser.add_argument("--workdir", type=Path, help="keep files here (default: a temp dir)")
    parser.add_argument("--skip-sample", action="store_true", help="skip the sample-data run")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    results: dict[str, object] = {"rows": args.rows, "cpus": os.cpu_count()}
    try:
        if not args.skip_sample:
            sample = work / "sample"
            env = ledger_env(sample)
            subprocess.run([*LEDGER, "generate"], env=env, cwd=ROOT, check=True)
            results["sample_run"] = measure([*LEDGER, "run"], env, "sample-data ledger run", work)

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
        results["pipeline"] = measure([*LEDGER, "run"], env, "pipeline: ledger run", work)
        ratio = results["pipeline"]["wall_s"] / results["floor"]["wall_s"]
        results["ratio_wall"] = round(ratio, 2)
        results["targets"] = {
            "ratio<=4": ratio <= 4,
            "peak_rss<=4GiB": results["pipeline"]["peak_rss_gib"] <= 4,
        }
        if "sample_run" in results:
            results["targets"]["sample_run<30s"] = results["sample_run"]["wall_s"] < 30
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)

    print(json.dumps(results, indent=2))
    out = ROOT / "bench" / "results" / "pipeline.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"[bench] recorded in {out.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
