"""Version store benchmark: per-version DuckDB files (chosen) against DuckLake (SQLite catalog).

Also the shared store (DuckLake on Postgres, orchestration/publish/lake.py) when Debian's
PostgreSQL server is installed (``make setup-scale``): a throwaway server is started for it.

For a shipments-like table of N rows (default 10 M) and a small change (default 1,000 rows
updated, 100 deleted, 100 inserted) it measures, for each store: publish time of the first and
of the changed version, extra disk for the changed version, and diff time. Prints figures and
ratios; ``--json PATH`` also writes them. Run: ``ledger bench versions [--rows N]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from orchestration.duckdb_extensions import load_bundled
from orchestration.local_postgres import bin_dir, local_postgres
from orchestration.paths import LedgerPaths
from orchestration.publish.lake import LakeStore
from orchestration.publish.lake_catalog import LakeSettings
from orchestration.publish.store import VersionStore
from orchestration.sql import attach, connect, quote_ident, sql_literal

TABLE = "fct_shipments"
EXTENSIONS = ("ducklake", "sqlite_scanner")


def make_staging(path: Path, rows: int, changed: int) -> None:
    """A deterministic fct_shipments; with ``changed`` > 0, the small change applied to it
    (inserted rows get new waybill numbers, as real ones do: the natural key stays unique)."""
    path.unlink(missing_ok=True)
    con = connect(path)
    con.execute(
        """create table fct_shipments as
        select 'SH' || lpad(range::varchar, 9, '0') as shipment_id,
            'WB' || (range * 7919 % 100000000)::varchar as waybill_no,
            date '2023-08-01' + (range % 180)::integer as dispatch_date,
            ['DUN', 'VOS'][1 + range % 2] || '-' || ['TIK', 'KOT', 'MOZ'][1 + range % 3]
                as route_id,
            (481200 + range % 40)::varchar as cargo_code,
            round(20 + (range * 37 % 4000) / 100.0, 2) as gross_cargo_tonnes,
            'MSKU' || lpad((range % 9999999)::varchar, 7, '0') as container_no,
            range % 3 <> 0 as is_explosive,
            'manifests/part_' || (range // 1000000)::varchar || '.csv' as source_file,
            range % 1000000 + 1 as source_row,
            sha256((range // 1000000)::varchar) as file_sha256,
            true as is_synthetic
        from range(?)""",
        [rows],
    )
    if changed:
        step = rows // changed
        con.execute(
            "update fct_shipments set gross_cargo_tonnes = gross_cargo_tonnes + 1 "
            "where (source_row - 1) % ? = 0 and source_row < ?",
            [step, rows],
        )
        con.execute("delete from fct_shipments where (source_row - 1) % ? = 1", [step * 10])
        con.execute(
            "insert into fct_shipments select * replace ('NEW' || shipment_id as shipment_id, "
            "'NEW' || waybill_no as waybill_no) "
            "from fct_shipments where (source_row - 1) % ? = 2",
            [step * 10],
        )
    con.close()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def publish_sequence(
    store: Any, staging: Path, rows: int, changed: int, after_first: Callable[[], None]
) -> dict[str, Any]:
    """What both stores are timed on: a first publish, the same inputs again (unchanged), a
    change of ``changed`` rows, the diff of the two versions and a rollback to the first."""
    make_staging(staging, rows, 0)
    t1, first = timed(lambda: store.publish(staging, "r1", {"a": "1"}, "bench", {}))
    t_same, same = timed(lambda: store.publish(staging, "r2", {"a": "1"}, "bench", {}))
    after_first()
    make_staging(staging, rows, changed)
    t2, second = timed(lambda: store.publish(staging, "r3", {"a": "2"}, "bench", {}))
    t_diff, diff = timed(lambda: store.diff(1, 2, table=TABLE))
    t_roll, _ = timed(lambda: store.rollback(1))
    d = diff["tables"][TABLE]
    return {
        "publish_first_s": t1,
        "publish_change_s": t2,
        "publish_unchanged_s": t_same,
        "unchanged_status": same.status,
        "rollback_s": t_roll,
        "diff_s": t_diff,
        "diff": [d["added"], d["removed"], d["changed"]],
        "first": first,
        "second": second,
    }


def bench_files(work: Path, rows: int, changed: int) -> dict[str, Any]:
    paths = LedgerPaths.from_env(work / "files").ensure()
    store = VersionStore(paths)
    result = publish_sequence(store, paths.staging_db, rows, changed, lambda: None)
    first, second = result.pop("first"), result.pop("second")
    version_bytes = store.version_path(second.version).stat().st_size
    parts = paths.versions_dir.glob(f"parts/*/*/{second.version.label}-*.parquet")
    return {
        **result,
        "version_bytes": version_bytes,
        # the version file and the monthly parts it wrote (a scattered change touches them all)
        "extra_disk_for_change_bytes": version_bytes + sum(p.stat().st_size for p in parts),
        "built": second.built,
        "served_file_bytes": paths.serving_db.stat().st_size,
        "first_version": first.version.version_id,
    }


def _ducklake_publish(
    con: duckdb.DuckDBPyConnection, staging: Path, message: str, first: bool
) -> None:
    """One transaction = one snapshot; later versions write only the changed rows."""
    attach(con, staging, "stg", read_only=True)
    con.execute("begin")
    con.execute("call lake.set_commit_message('ledger', ?)", [message])
    if first:
        con.execute(f"create table lake.{TABLE} as select * from stg.{TABLE}")  # noqa: S608
    else:
        con.execute(
            f"""create or replace temp table changed_keys as
            select coalesce(a.shipment_id, b.shipment_id) as shipment_id,
                b.shipment_id is not null as keep
            from (select shipment_id, hash(*columns(*)) as h from lake.{TABLE}) as a
            full outer join (select shipment_id, hash(*columns(*)) as h from stg.{TABLE}) as b
                using (shipment_id)
            where a.h is distinct from b.h"""  # noqa: S608
        )
        con.execute(
            f"delete from lake.{TABLE} where shipment_id in (select shipment_id from changed_keys)"  # noqa: S608
        )
        con.execute(
            f"insert into lake.{TABLE} select * from stg.{TABLE} "  # noqa: S608
            "where shipment_id in (select shipment_id from changed_keys where keep)"
        )
    con.execute("commit")
    con.execute("detach stg")


def bench_ducklake(work: Path, rows: int, changed: int) -> dict[str, Any]:
    root = work / "ducklake"
    root.mkdir(parents=True, exist_ok=True)
    staging, data = root / "staging.duckdb", root / "data"
    con = connect(None)
    load_bundled(con, work / "extensions", *EXTENSIONS)
    catalog = "ducklake:sqlite:" + str(root / "catalog.sqlite")
    con.execute(f"attach {sql_literal(catalog)} as lake (data_path {sql_literal(str(data) + '/')})")
    make_staging(staging, rows, 0)
    t1, _ = timed(lambda: _ducklake_publish(con, staging, "v1", first=True))
    after_first = dir_bytes(root) - staging.stat().st_size
    snap1 = con.execute("select max(snapshot_id) from lake.snapshots()").fetchone()[0]
    # BI still needs a plain DuckDB file (no extension, no catalog): materialize the snapshot
    served = root / "served.duckdb"
    t_serve1, _ = timed(lambda: _materialize(con, served))
    make_staging(staging, rows, changed)
    t2, _ = timed(lambda: _ducklake_publish(con, staging, "v2", first=False))
    snap2 = con.execute("select max(snapshot_id) from lake.snapshots()").fetchone()[0]
    t_serve2, _ = timed(lambda: _materialize(con, served))
    extra = dir_bytes(root) - staging.stat().st_size - served.stat().st_size - after_first
    t_diff, counts = timed(
        lambda: con.execute(
            "select change_type, count(*) from ducklake_table_changes('lake', 'main', ?, ?, ?) "
            "group by all order by all",
            [TABLE, snap1 + 1, snap2],
        ).fetchall()
    )
    t_join, _ = timed(
        lambda: con.execute(
            f"""select count(*) from
            (select shipment_id, hash(*columns(*)) as h from lake.{TABLE} at (version => ?)) as a
            full outer join
            (select shipment_id, hash(*columns(*)) as h from lake.{TABLE} at (version => ?)) as b
            using (shipment_id) where a.h is distinct from b.h""",  # noqa: S608
            [snap1, snap2],
        ).fetchone()
    )
    con.close()
    return {
        "publish_first_s": t1,
        "publish_change_s": t2,
        "serve_first_s": t_serve1,
        "serve_change_s": t_serve2,
        "extra_disk_for_change_bytes": extra,
        "first_version_bytes": after_first,
        "diff_table_changes_s": t_diff,
        "diff_snapshot_join_s": t_join,
        "table_changes": counts,
    }


def bench_lake_postgres(work: Path, rows: int, changed: int) -> dict[str, Any] | None:
    """The shared store as the pipeline uses it: publish (changed rows only), diff, rollback."""
    if bin_dir() is None:
        return None
    import psycopg2  # the scale dependency group, as the store itself

    paths = LedgerPaths.from_env(work / "lake_pg").ensure()
    data = paths.home / "data_files"
    with local_postgres() as server:
        url = server.create_database("bench")
        store = LakeStore(paths, LakeSettings(url, f"{data}/"))

        def catalog_bytes() -> int:
            with psycopg2.connect(url) as pg, pg.cursor() as cur:
                cur.execute("select pg_database_size(current_database())")
                return cur.fetchone()[0]

        sizes: dict[str, int] = {}

        def measure_first() -> None:
            sizes.update(files=dir_bytes(data), catalog=catalog_bytes())

        result = publish_sequence(store, paths.staging_db, rows, changed, measure_first)
        result.pop("first")
        return {
            **result,
            "built": result.pop("second").built,
            "first_version_bytes": sizes["files"],
            "extra_disk_for_change_bytes": dir_bytes(data) - sizes["files"],
            "extra_catalog_for_change_bytes": catalog_bytes() - sizes["catalog"],
        }


def _materialize(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    target.unlink(missing_ok=True)
    attach(con, target, "served", read_only=False)
    con.execute(f"create table served.{quote_ident(TABLE)} as select * from lake.{TABLE}")  # noqa: S608
    con.execute("detach served")


def report(rows: int, changed: int, files: dict[str, Any], lake: dict[str, Any]) -> str:
    mb = 1024 * 1024
    lines = [
        f"version store benchmark: {rows:,} rows, change = {changed:,} updated + "
        f"{changed // 10:,} deleted + {changed // 10:,} inserted",
        f"{'':34}{'duckdb files':>14}{'ducklake':>14}{'ratio f/l':>11}",
    ]

    def row(name: str, f: float, lk: float, unit: str) -> None:
        ratio = f / lk if lk else float("nan")
        lines.append(f"{name:34}{f:>12.2f}{unit:>2}{lk:>12.2f}{unit:>2}{ratio:>11.2f}")

    for name, key in (("first version", "first"), ("small change", "change")):
        lake_total = lake[f"publish_{key}_s"] + lake[f"serve_{key}_s"]
        row(f"publish + serve {name}", files[f"publish_{key}_s"], lake_total, "s")
        served = lake[f"serve_{key}_s"]
        lines.append(f"{'  of which ducklake -> served file':34}{'':14}{served:>12.2f} s")
    row(
        "extra disk for the change",
        files["extra_disk_for_change_bytes"] / mb,
        lake["extra_disk_for_change_bytes"] / mb,
        "MB",
    )
    row("diff v1 -> v2 (keyed join)", files["diff_s"], lake["diff_snapshot_join_s"], "s")
    row("diff via ducklake table_changes", files["diff_s"], lake["diff_table_changes_s"], "s")
    lines.append(
        f"files: unchanged re-publish {files['publish_unchanged_s']:.3f} s "
        f"({files['unchanged_status']}), rollback {files['rollback_s']:.2f} s, "
        f"served file {files['served_file_bytes'] / mb:.0f} MB, diff added/removed/changed "
        f"{files['diff']}"
    )
    lines.append(f"ducklake: table_changes {lake['table_changes']}")
    return "\n".join(lines)


def report_shared(shared: dict[str, Any] | None) -> str:
    if shared is None:
        return "ducklake on postgres: skipped (no PostgreSQL server: make setup-scale)"
    mb = 1024 * 1024
    return (
        f"ducklake on postgres (publish/lake.py): publish first {shared['publish_first_s']:.2f} s, "
        f"small change {shared['publish_change_s']:.2f} s ({shared['built']}), unchanged "
        f"{shared['publish_unchanged_s']:.3f} s ({shared['unchanged_status']}), diff "
        f"{shared['diff_s']:.2f} s {shared['diff']}, rollback {shared['rollback_s']:.2f} s; "
        f"first version {shared['first_version_bytes'] / mb:.0f} MB, the change "
        f"{shared['extra_disk_for_change_bytes'] / mb:.2f} MB of files + "
        f"{shared['extra_catalog_for_change_bytes'] / mb:.2f} MB of catalog"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows (10,000,000)")
    parser.add_argument("--changed", type=int, default=1_000, help="rows updated (1,000)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--workdir", type=Path, help="scratch dir (default: a temp dir)")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench_versions_"))
    duckdb.execute("select ?", [1])  # the first bound parameter imports pandas: not publish time
    try:
        files = bench_files(work, args.rows, args.changed)
        lake = bench_ducklake(work, args.rows, args.changed)
        shared = bench_lake_postgres(work, args.rows, args.changed)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(report(args.rows, args.changed, files, lake))
    print(report_shared(shared))
    if args.json:
        payload = {
            "rows": args.rows,
            "changed": args.changed,
            "files": files,
            "ducklake": lake,
            "ducklake_postgres": shared,
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str))


if __name__ == "__main__":
    main()
