"""`ledger versions|show|diff|rollback|query|gc`: inspect and manage published versions.

Every command reads the SQLite registry (safe while a run publishes) and opens DuckDB files
read-only, except rollback and gc, which take the same lock as a publish. The read-only ones
create no file or folder, so they work on read-only storage and never create a mistyped home;
the one exception: ``query`` locked out by a read-write session on the served file serves a
fresh copy of it, as a run would (guard.py), where the warehouse is writable. ``query
--version`` and ``diff`` read version files, which are never copied: they name the holder.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sqlite3
import sys
from collections.abc import Callable
from typing import Any

import duckdb

from orchestration.paths import LedgerPaths
from orchestration.publish.registry import Version, VersionError, label
from orchestration.publish.store import Store, VersionStore, open_store
from orchestration.storage import StorageError, require_home

LONG_TEXT = 40  # a changed value longer than this is not printed by `ledger diff`
LOCKED_OUT = "Conflicting lock is held"  # DuckDB: another process has the file read-write


def _store() -> Store:
    paths = LedgerPaths.from_env()
    require_home(paths)
    return open_store(paths)


def _print_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, default=str))


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    """Plain aligned columns, the same in a terminal and a pipe.

    Compared with Rich (installed with Dagster): ``rich.table`` adds ~70 ms to every command's
    start-up (measured on a loaded machine; the read commands aim at well under 1 s) and wraps
    its tables to the terminal width (80 columns in a pipe), which cuts the long run ids and
    paths of ``ledger versions`` and breaks ``| grep``/``| column`` use. Six lines do it here.
    """
    cells = [[("" if c is None else str(c)) for c in row] for row in [headers, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cmd_versions(args: argparse.Namespace) -> int:
    if args.events:
        return _print_events(_store(), args.json)
    versions = _store().versions()
    if args.json:
        _print_json([v.as_dict() for v in versions])
        return 0
    if not versions:
        print("no versions published yet (run `ledger run`)")
        return 0
    rows = [
        [
            ("* " if v.is_served else "  ") + v.label,
            v.status,
            v.created_at[:19],
            _short_code(v.code_version),
            len(v.input_hashes),
            sum(v.row_counts.values()),
            f"{v.validation.get('passed', 0)}/{v.validation.get('warned', 0)}"
            f"/{v.validation.get('failed', 0)}",
            v.run_id,
        ]
        for v in versions
    ]
    headers = ["version", "status", "created_at", "code", "inputs", "rows", "ok/warn/fail", "run"]
    print(_table(headers, rows))
    print("\n* = served (data/warehouse/ledger.duckdb)")
    return 0


def _print_events(store: Store, as_json: bool) -> int:
    events = store.events()
    if as_json:
        _print_json(events)
        return 0
    rows = [
        [e["at"][:19], e["kind"], label(e["version_id"]) if e["version_id"] else "", e["run_id"]]
        + [e["detail"]]
        for e in events
    ]
    print(_table(["at", "event", "version", "run", "detail"], rows))
    return 0


def _short_code(code: str) -> str:
    """``<sha>-dirty.<hash>`` would be cut to the sha alone; keep the dirty marker visible."""
    head, _, dirty = code.partition("-dirty.")
    return f"{head[:8]}-dirty.{dirty[:6]}" if dirty else head[:12]


def cmd_show(args: argparse.Namespace) -> int:
    version = _store().get(args.version)
    if args.json:
        _print_json(version.as_dict())
        return 0
    _print_version(version)
    return 0


def _print_version(v: Version) -> None:
    print(f"version      {v.label}{'  (served)' if v.is_served else ''}")
    for name in ("status", "run_id", "created_at", "code_version", "fingerprint", "message"):
        print(f"{name:12} {getattr(v, name) or ''}")
    # the disk the version added: its file and the Parquet parts it wrote (a lake: no file)
    size = "" if v.file_bytes is None else f" ({v.file_bytes:,} bytes with the parts it wrote)"
    print(f"file         {v.file_name}{size}")
    val = v.validation
    print(
        f"validation   {val.get('checks', 0)} checks: {val.get('passed', 0)} passed, "
        f"{val.get('warned', 0)} warned, {val.get('failed', 0)} failed"
    )
    for url in val.get("data_docs", []):
        print(f"  data docs  {url}")
    print("row counts")
    for table, rows in sorted(v.row_counts.items()):
        print(f"  {table:32} {rows:>12,}")
    print(f"inputs ({len(v.input_hashes)} files)")
    for name, sha in sorted(v.input_hashes.items()):
        print(f"  {sha}  {name}")


def cmd_diff(args: argparse.Namespace) -> int:
    result = _store().diff(args.v1, args.v2, table=args.table, sample=args.sample)
    if args.json:
        _print_json(result)
        return 0
    print(f"diff {label(result['from_version'])} -> {label(result['to_version'])}")
    rows = []
    for name, d in result["tables"].items():
        schema = [f"+{c}" for c in d.get("columns_added", [])]
        schema += [f"-{c}" for c in d.get("columns_removed", [])]
        schema += [f"~{c}" for c in d.get("columns_retyped", [])]
        rows.append(
            [
                name,
                d["status"],
                ",".join(d["key"]) if d["key"] else "(whole row)",
                d["added"],
                d["removed"],
                "n/a" if d["changed"] is None else d["changed"],
                " ".join(schema),
            ]
        )
    print(_table(["table", "status", "key", "added", "removed", "changed", "columns"], rows))
    for name, d in result["tables"].items():
        samples = d.get("sample_keys", {})
        for change in ("added", "removed"):
            if samples.get(change):
                print(f"  {name} {change}: {', '.join(map(_key_text, samples[change]))}")
        for key, values in zip(
            samples.get("changed", []), d.get("sample_changes", []), strict=True
        ):
            what = ", ".join(f"{c} {_change(old, new)}" for c, (old, new) in values.items())
            print(f"  {name} changed: {_key_text(key)}: {what}")
    return 0


def readable(value: Any) -> str:
    """A value as a reader writes it: ISO dates, numbers to 2 decimals, null."""
    if value is None:
        return "null"
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def _change(old: Any, new: Any) -> str:
    """``old -> new``; numbers that look equal at 2 decimals get 12 significant digits, and a
    long text is only said to differ (``--json`` has it whole), so the line stays readable."""
    before, after = readable(old), readable(new)
    if max(len(before), len(after)) > LONG_TEXT:
        return "(text changed)"
    if before == after and isinstance(old, float) and isinstance(new, float):
        before, after = f"{old:.12g}", f"{new:.12g}"
    return f"{before} -> {after}"


def _key_text(key: Any) -> str:
    """A sample key: the value itself, or ``name=value`` pairs for a composite key."""
    if isinstance(key, dict):
        return " ".join(f"{name}={readable(value)}" for name, value in key.items())
    return readable(key)


def cmd_rollback(args: argparse.Namespace) -> int:
    store = _store()
    version, before = store.rollback(args.version)
    if before == version.version_id:
        print(f"{version.label} is already served at {store.serving}; nothing to do")
        return 0
    was = label(before) if before is not None else "nothing"
    print(f"serving {version.label} (was {was}) at {store.serving}")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    columns, rows = _store().query(args.sql, args.version)
    if args.json:
        _print_json([dict(zip(columns, r, strict=True)) for r in rows])
    else:
        print(_table(columns, [list(r) for r in rows]))
        print(f"({len(rows)} rows)")
    return 0


def cmd_gc(args: argparse.Namespace) -> int:
    from orchestration.dagster_runs import keep_runs, prune_runs
    from orchestration.instance import dagster_instance  # Dagster only here, not for reads

    try:  # before deleting anything
        keep = keep_runs()
    except ValueError as exc:
        raise VersionError(str(exc)) from None
    store = _store()
    deleted = store.gc(args.keep)
    if deleted:
        print(f"deleted {len(deleted)} version files: {', '.join(map(label, deleted))}")
    else:
        print("nothing to delete")
    runs = prune_runs(dagster_instance(store.paths), keep)
    print(f"deleted {len(runs)} old runs from the Dagster run history (keeping {keep})")
    return 0


Command = Callable[[argparse.Namespace], int]


def _guard(func: Command) -> Command:
    """Turn store, storage and SQL errors into a one-line message and exit code 2, not a
    traceback (sqlite3: e.g. a rollback on a registry file someone made read-only)."""

    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (VersionError, StorageError, duckdb.Error, sqlite3.Error) as exc:
            print(f"ledger {args.command}: {one_line(exc)}", file=sys.stderr)
            return 2

    return run


def _freeing_readers(func: Command) -> Command:
    """A read locked out by a read-write session (DBeaver's default) frees readers at once and
    runs once more, rather than fail until the next run or sensor tick does it (guard.py).

    Each finding is one ``WARNING`` line on stderr, as in ``ledger run``'s output; when
    readers cannot be freed, :meth:`VersionStore.free_readers` says why and whose session it is.
    """

    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except duckdb.IOException as exc:
            if LOCKED_OUT not in str(exc):
                raise
            store = _store()
            findings = store.free_readers() if isinstance(store, VersionStore) else []
            if not findings:
                raise
            for finding in findings:
                print(f"WARNING {finding.message}", file=sys.stderr)
            return func(args)

    return run


def one_line(exc: Exception) -> str:
    """DuckDB's message on one line: the error, its hints, and the SQL line it points at.

    DuckDB adds a blank line, ``LINE n: <sql>`` and a caret line under it; the caret means
    nothing once the lines are joined, so the SQL context goes in parentheses instead.
    """
    parts, where = [], ""
    for line in str(exc).splitlines():
        text = line.strip()
        if not text or set(text) == {"^"}:
            continue
        if text.startswith("LINE ") and ":" in text:
            where = f" ({text})"
        else:
            parts.append(text)
    return " ".join(parts) + where


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the version commands to the `ledger` CLI."""
    p = subparsers.add_parser(
        "versions",
        help="list published versions (the registry)",
        description="List every published version, oldest first: id, status (published, or "
        "deleted by gc), creation time, code version, number of input files, total rows, "
        "validation passed/warned/failed and run id. The served one is marked with *. "
        "With --events: the log of publishes, unchanged runs, rollbacks, gc and recoveries.",
    )
    p.add_argument("--events", action="store_true", help="show the event log instead")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_guard(cmd_versions))

    p = subparsers.add_parser(
        "show",
        help="details of one version",
        description="Registry row of one version: run id, code version, fingerprint, "
        "sha256 of every input file, row counts per table, validation summary and Data Docs "
        "links.",
        epilog="example: ledger show v0003",
    )
    p.add_argument("version", help="version id, e.g. v0003 or 3")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_guard(cmd_show))

    p = subparsers.add_parser(
        "diff",
        help="row-level differences between two versions",
        description="Per table: rows added, removed and changed from V1 to V2, with sample keys "
        "and, for a changed row, the old and new value of each column that changed. "
        "Rows are matched on the table's natural key (fct_shipments: waybill_no, ...); a table "
        "without a unique key is compared as whole rows (then 'changed' is n/a: a change shows "
        "as one removed plus one added row). Columns are listed when added (+), removed (-) "
        "or retyped (~); only columns of the same type are compared, doubles to 12 "
        "significant digits (parallel sums differ in the last bits from run to run).",
        epilog="example: ledger diff v0001 v0002 --table fct_shipments",
    )
    p.add_argument("v1", help="older version id")
    p.add_argument("v2", help="newer version id")
    p.add_argument("--table", help="only this table")
    p.add_argument("--sample", type=int, default=5, help="sample keys per change kind (5)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_guard(_freeing_readers(cmd_diff)))

    p = subparsers.add_parser(
        "rollback",
        help="serve an earlier version again",
        description="Make data/warehouse/ledger.duckdb serve version V again (atomic swap: "
        "open BI connections keep reading what they opened). History is kept: the rollback is "
        "recorded as an event, and the next run that changes inputs or code publishes a new "
        "version as usual. A run on unchanged inputs leaves the rollback in place. Rolling "
        "back to the version already served does nothing and records nothing.",
        epilog="example: ledger rollback v0002",
    )
    p.add_argument("version", help="version id to serve")
    p.set_defaults(func=_guard(cmd_rollback))

    p = subparsers.add_parser(
        "query",
        help="read-only SQL against the served or any kept version",
        description="Run one SQL statement read-only. Without --version it reads the served "
        "file; with --version it reads that version's immutable file (time travel). Every "
        "version holds the mart tables of schema main; the served file also has "
        "ledger_versions.",
        epilog='example: ledger query --version v0001 "select count(*) from fct_shipments"',
    )
    p.add_argument("sql", help="the SQL statement")
    p.add_argument("--version", help="version id (default: the served version)")
    p.add_argument("--json", action="store_true", help="rows as JSON objects")
    p.set_defaults(func=_guard(_freeing_readers(cmd_query)))

    p = subparsers.add_parser(
        "gc",
        help="delete old version files (retention)",
        description="Keep the newest N published versions and delete the files of older ones, "
        "with their evidence reports and GX Data Docs pages; the served version is never "
        "deleted. Registry rows stay (status 'deleted') so history remains auditable. Also "
        "deletes finished Dagster runs beyond the newest $LEDGER_KEEP_RUNS (default 100) "
        "with their event logs.",
        epilog="example: ledger gc --keep 5",
    )
    p.add_argument("--keep", type=int, required=True, help="how many newest versions to keep")
    p.set_defaults(func=_guard(cmd_gc))
