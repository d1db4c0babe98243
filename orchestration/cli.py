"""`ledger`: run the pipeline, generate sample data, inspect and roll back published versions.

argparse, not Typer/Click: measured on this 2-core machine, `import typer` takes ~136 ms (click
~66 ms) against ~5 ms for argparse, out of the 1 s the read-only commands have; the help texts,
subcommands and exit codes the tests pin are all argparse gives, and the tables are one plain
formatter (publish/commands.py) whose output the README quotes and the tests compare byte for
byte, which Rich's terminal-width layout would not keep stable.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import uuid
from collections.abc import Sequence
from datetime import date
from functools import partial
from pathlib import Path

from orchestration.claims import register as register_claims
from orchestration.code_version import code_version
from orchestration.inputs import (
    SOURCES,
    current_files,
    fingerprint_of,
    input_hashes,
    unhashed_bytes,
    unread_files,
)
from orchestration.instance import dagster_home, dagster_instance
from orchestration.paths import PROJECT_ROOT, LedgerPaths
from orchestration.publish.commands import register as register_versions
from orchestration.publish.registry import label
from orchestration.publish.store import open_store
from orchestration.run_lock import RunInProgress, run_lock
from orchestration.storage import StorageError, prepare_run

# Only what the chosen command needs is imported: Dagster, dbt, GX and matplotlib cost ~10 s,
# so they load inside `ledger run` / `ledger ui`, never for `versions`, `query`, `diff`, ...

EPILOG = """
paths: everything lives under $LEDGER_HOME (default: the project folder): inputs in data/raw/,
the served database in data/warehouse/ledger.duckdb, docs in data/warehouse/docs/.

examples:
  ledger generate                 write the synthetic sample data into data/raw/
  ledger run                      ingest, build, audit and publish a new version
  ledger versions                 list published versions
  ledger diff v0001 v0002         what changed between two versions
  ledger query "select * from agg_monthly_flows"
"""


def unchanged_version(paths: LedgerPaths) -> str | None:
    """Before loading the pipeline: are inputs and code those of the latest version?"""
    store = open_store(paths)
    fingerprint = fingerprint_of(input_hashes(paths), code_version())
    version = store.record_if_unchanged(fingerprint)
    if version is None:
        return None
    for finding in store.free_published_files():
        print(f"WARNING {finding.message}", file=sys.stderr)
    served = store.served_version_id()
    where = f"served at {store.serving}"
    if served != version.version_id:
        where = f"{label(served)} is served (rolled back)" if served else "nothing is served"
    return f"{version.label} unchanged: inputs and code are those of {version.label}; {where}"


MAX_UNREAD_WARNINGS = 20
# Above this much new input, the GX worker starts once the files are read (ingest assets), not
# with the run: while polars streams a big file (~2 GB resident for 2 GB of CSV), an idle
# worker's ~0.35 GB would lift the run's peak memory, and its import is then a small part of
# the run anyway.
EARLY_GX_MAX_BYTES = 256 * 2**20


def check_inputs(paths: LedgerPaths) -> str | None:
    """Warn about files ingest will not read; say what to do when there is no input at all.

    Without any input the pipeline would only fail, several steps deep, in Dagster tracebacks.
    """
    raw = paths.raw_dir.relative_to(paths.home).as_posix()
    where = (
        f"put manifests in {raw}/manifests/, voyages in {raw}/voyages/, reports in {raw}/reports/"
    )
    unread = unread_files(paths.raw_dir)
    for name in unread[:MAX_UNREAD_WARNINGS]:
        print(f"WARNING {raw}/{name} is not read: {where}", file=sys.stderr)
    if len(unread) > MAX_UNREAD_WARNINGS:
        more = len(unread) - MAX_UNREAD_WARNINGS
        print(f"WARNING and {more} more files outside those folders are not read", file=sys.stderr)
    if any(current_files(paths.raw_dir, source) for source in SOURCES):
        return None
    d = paths.raw_dir
    return (
        f"ledger run: no input files in {d}/{{{','.join(SOURCES)}}}. Generate the synthetic "
        "sample with 'ledger generate', or drop manifests (csv/tsv/jsonl/parquet) in "
        f"{d}/manifests, voyage CSVs in {d}/voyages and reports (.md) in {d}/reports."
    )


def cmd_run(args: argparse.Namespace) -> int:
    paths = LedgerPaths.from_env()
    try:  # before any work: read-only storage is one line, not a traceback from publish
        prepare_run(paths)
    except StorageError as exc:
        print(f"ledger run: {exc}", file=sys.stderr)
        return 2
    if problem := check_inputs(paths):
        print(problem, file=sys.stderr)
        return 2
    run_id = str(uuid.uuid4())
    try:
        with run_lock(paths, run_id, "ledger run"):
            return _run(args, paths, run_id)
    except RunInProgress as exc:
        print(f"ledger run: {exc}; this one is not started", file=sys.stderr)
        return 3


def _run(args: argparse.Namespace, paths: LedgerPaths, run_id: str) -> int:
    """`ledger run` with the run lock held."""
    big_read = unhashed_bytes(paths) > EARLY_GX_MAX_BYTES  # before the hashes are cached
    if not (args.force or args.months) and (message := unchanged_version(paths)):
        print(message)
        print("nothing to do (use --force to build and audit anyway)", file=sys.stderr)
        return 0
    # dbt colours only on a terminal: escape codes must not reach a log file or a pipe
    os.environ.setdefault("DBT_USE_COLORS", "true" if sys.stdout.isatty() else "false")
    if not big_read:  # GX imports in its process while this one imports Dagster and dbt
        from orchestration.quality import gx_worker

        gx_worker.start()
    from dagster import AssetCheckSeverity, JsonMetadataValue

    from orchestration.dagster_runs import fail_dead_runs, keep_runs, prune_runs
    from orchestration.definitions import defs  # heavy: dbt and its manifest, Dagster
    from orchestration.launch import parse_months, run_in_process
    from orchestration.run_output import outcome_lines, print_lines, run_quietly, step_stages

    instance = dagster_instance(paths)
    for dead in fail_dead_runs(instance):
        print(f"WARNING run {dead} was killed: marked failed in the run history", file=sys.stderr)
    print(f"ledger run: inputs {paths.raw_dir}, staging {paths.staging_db}", file=sys.stderr)
    try:
        months = parse_months(args.months) if args.months else None
    except ValueError as exc:
        print(f"ledger run: {exc}", file=sys.stderr)
        return 2
    stages = None if args.verbose else step_stages(defs)
    results = run_in_process(
        defs,
        instance,
        code_version(),
        lambda m: print(m, file=sys.stderr),
        months,
        run_id,
        execute=None if stages is None else partial(run_quietly, stages=stages),
        read_all=args.force,
    )
    prune_runs(instance, keep_runs())
    for result in results:
        for check in result.get_asset_check_evaluations():
            if not check.passed and check.severity == AssetCheckSeverity.WARN:
                for file in check.metadata.get("rejected", JsonMetadataValue([])).value:
                    print(f"WARNING file rejected: {file['message']}", file=sys.stderr)
        for event in result.get_step_failure_events():
            error = event.step_failure_data.error
            message = error.message.strip() if error else ""
            print(f"FAILED {event.step_key}: {message}", file=sys.stderr)
        for mat in result.asset_materializations_for_node("published_version"):
            meta = {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
            for message in meta.get("read_write_clients", []):
                print(f"WARNING {message}", file=sys.stderr)
    print_lines(outcome_lines(results[-1]))
    ok = all(r.success for r in results)
    runs = ", ".join(r.run_id for r in results)
    print(f"runs {runs}: {'success' if ok else 'FAILED'}", file=sys.stderr)
    return 0 if ok else 1


def cmd_docs(args: argparse.Namespace) -> int:
    paths = LedgerPaths.from_env()
    docs = {
        "dbt docs": paths.docs_dir / "dbt" / "index.html",
        "GX Data Docs": paths.docs_dir / "gx" / "index.html",
        "evidence reports": paths.reports_dir,
    }
    for name, path in docs.items():
        print(f"{name:17} {path}{'' if path.exists() else '  (not built yet: run `ledger run`)'}")
    if args.serve:
        from orchestration.docs_server import make_server

        server = make_server(paths, args.port)
        host, port = server.server_address[:2]
        print(f"serving the docs on http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from orchestration.dagster_runs import fail_dead_runs
    from orchestration.ui import serve

    paths = LedgerPaths.from_env().ensure()
    home = dagster_home(paths)
    for dead in fail_dead_runs(dagster_instance(paths)):
        print(f"WARNING run {dead} was killed: marked failed in the run history", file=sys.stderr)
    return serve(args.host, args.port, home)


def cmd_bench(args: argparse.Namespace) -> int:
    script = PROJECT_ROOT / "bench" / f"bench_{args.which}.py"
    return subprocess.call([sys.executable, str(script), *args.rest])


def _generate(args: argparse.Namespace) -> int:
    from orchestration.generate import cmd_generate  # numpy + polars: only when generating

    return cmd_generate(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ledger",
        description="Shipment ledger: versioned, validated datasets from rail/port manifests "
        "and open-source reports (bundled data is synthetic).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="ingest, build, audit and publish (the main job)",
        description="Run ledger_job once: ingest the sources of data/raw with a changed file, "
        "dbt build into the staging database, audit with GX + dbt tests, and publish a new "
        "version only if the audit passes. When the "
        "input files (by sha256) and the code are those of the latest version it says so and "
        "stops before any work. Exit code 1 when the run failed (the served version is "
        "unchanged); 2 when it cannot write where it must (read-only storage), before any "
        "work; 3 when another run of the same home is in progress (named in the message: "
        "pid, run id, start time), before any work.",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="ingest every source, build and audit even when inputs and code are unchanged "
        "(publishes nothing new)",
    )
    run.add_argument(
        "--months",
        metavar="YYYY-MM[:YYYY-MM]",
        help="rebuild and re-validate every waybill of these dispatch months (one month or an "
        "inclusive range), like a backfill in the Dagster UI; implies --force. By default a run "
        "rebuilds only the waybills whose manifest rows changed.",
    )
    run.add_argument(
        "--verbose",
        action="store_true",
        help="print the full Dagster and dbt logs instead of one line per stage",
    )
    run.set_defaults(func=cmd_run)

    ui = sub.add_parser(
        "ui",
        help="the Dagster UI: asset graph, checks, runs, schedule and sensor",
        description="Start Dagster's dev server (webserver, daemon) on the ledger's definitions, "
        "with the same Dagster instance as `ledger run` ($DAGSTER_HOME, default "
        "data/warehouse/dagster), so the runs made from the command line show up. The daily "
        "schedule and the raw-file sensor run while it is up. Ctrl-C or one SIGTERM stops all "
        "of it.",
    )
    ui.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    ui.add_argument("--port", type=int, default=3000, help="port (default 3000)")
    ui.set_defaults(func=cmd_ui)

    docs = sub.add_parser(
        "docs",
        help="where the dbt docs, GX Data Docs and reports are",
        description="Print where the docs that `ledger run` builds are, and whether they exist "
        "yet: dbt docs (every model and column, lineage, exposures) in "
        "data/warehouse/docs/dbt/index.html, GX Data Docs (validation results of every suite) "
        "in data/warehouse/docs/gx/index.html, and the evidence report of each published "
        "version in data/warehouse/reports/<version>/index.html (all under $LEDGER_HOME). "
        "With --serve, serve them over HTTP on 127.0.0.1 only, until Ctrl-C: a landing page "
        "at http://127.0.0.1:8080/ links the dbt docs, the GX Data Docs and each version's "
        "report; nothing else of data/warehouse/ is served (--port to change 8080; 0 picks a "
        "free port).",
        epilog="example: ledger docs --serve --port 8081",
    )
    docs.add_argument(
        "--serve", action="store_true", help="serve them on http://127.0.0.1:PORT/ (localhost)"
    )
    docs.add_argument("--port", type=int, default=8080, help="port for --serve (default 8080)")
    docs.set_defaults(func=cmd_docs)

    bench = sub.add_parser("bench", help="run a benchmark script from bench/")
    bench.add_argument("which", choices=["pipeline", "versions", "scale"], help="which benchmark")
    bench.add_argument("rest", nargs=argparse.REMAINDER, help="arguments for the script")
    bench.set_defaults(func=cmd_bench)

    gen = sub.add_parser(
        "generate",
        help="write the SYNTHETIC sample data into data/raw/",
        description="Write deterministic SYNTHETIC inputs: rail manifests (five files in "
        "different dialects with planted errors, a duplicate and a corrected re-send), "
        "vessel port calls and five fictional reports, plus GENERATED.json describing what "
        "was planted and the totals the pipeline should publish. With --rows N, write one "
        "clean manifest CSV of N rows instead (for benchmarks; constant memory). With --day D, "
        "add one clean manifest file of --rows rows (default 55,000) dispatched on day D and "
        "leave every other file alone (a daily delivery on top of a large state).",
    )
    gen.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        default=None,
        help="raw data folder (default: data/raw under $LEDGER_HOME or the project)",
    )
    gen.add_argument(
        "--seed",
        metavar="N",
        type=int,
        default=7,
        help="random seed (default 7): same seed, same bytes",
    )
    gen.add_argument(
        "--rows",
        metavar="N",
        type=int,
        default=None,
        help="scale mode: write one clean manifest CSV of N rows (e.g. 10000000) "
        "instead of the messy sample",
    )
    gen.add_argument(
        "--day",
        metavar="YYYY-MM-DD",
        type=date.fromisoformat,
        default=None,
        help="add one day of manifests (2023-08-01..2024-01-31) to what is there",
    )
    gen.add_argument(
        "--clean",
        action="store_true",
        help="first delete every file in manifests/, voyages/ and reports/ under --out",
    )
    gen.set_defaults(func=_generate)

    register_claims(sub)
    register_versions(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # `ledger show v1 | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def entry() -> None:
    """The `ledger` command: ``main``, then an exit without Python's full garbage collections.

    While it tears modules down at exit, Python collects the whole heap several times; after
    a run (Dagster, dbt and GX loaded: ~700,000 objects) that took 4-9 s of a one-day run,
    once all the output was written. Frozen objects are left out of those collections; atexit
    handlers and finalizers still run, and the memory goes back with the process.
    """
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry()
