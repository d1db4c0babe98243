"""dbt commands in this process, through dbt's programmatic API, on a project parsed once.

dagster-dbt's ``DbtCliResource.cli`` starts a ``dbt`` process per command, and each pays
Python start-up, dbt's imports and a manifest load: ~3.5 s a command, four in a first run
(three builds and the docs), and a whole re-parse (~4.5 s) in a new ledger home. Here the
project is parsed once per process and the commands reuse that manifest, as dbt documents
(docs.getdbt.com/reference/programmatic-invocations, "Reusing objects"). The parsed manifest is
also pickled beside dbt's partial-parse cache, stamped with the project's newest mtime and the
dbt versions: the next process unpickles it (~0.2 s) where even a partial parse took ~1.7 s.

dbt is imported on first use only: the read-only CLI and the definitions import never pay it.
"""

from __future__ import annotations

import copyreg
import dataclasses
import importlib.metadata
import json
import os
import pickle
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbt.contracts.graph.manifest import Manifest

# Every command passes the same vars: dbt re-parses the whole project when they differ from the
# parse's. `changed_only` scopes tests to what an incremental build rebuilt
# (macros/incremental.sql) and does nothing under --full-refresh.
DBT_VARS = ["--vars", "{changed_only: true}"]
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
SAVED_MANIFEST = "manifest.pickle"
# Profile settings that differ between ledger homes but not in what a parse produces (the
# database is named after the file, `staging`, in every home). dbt keys its partial-parse cache
# on the rendered profile, so the parse leaves them unset: one cache serves every home.
PROFILE_ENV = ("LEDGER_STAGING_DB", "LEDGER_DUCKDB_MEMORY_LIMIT")
PROJECT_FOLDERS = ("models", "seeds", "macros", "snapshots", "tests")


@dataclass
class DbtRun:
    """One finished dbt command: its structured-log events of level info and above (as dbt's
    JSON log writes them) and the target folder holding its artifacts."""

    target_path: Path
    success: bool
    events: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def artifact(self, name: str) -> dict[str, Any]:
        return json.loads((self.target_path / name).read_bytes())


def project_mtime(project_dir: Path) -> float:
    """Newest modification time of the files a parse reads: an mtime walk, no dbt."""
    sources = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    for folder in PROJECT_FOLDERS:
        sources.extend((project_dir / folder).rglob("*"))
    return max(p.stat().st_mtime for p in sources if p.is_file())


_parsed: dict[Path, tuple[float, Manifest]] = {}


def manifest(project_dir: Path) -> Manifest:
    """The parsed project, parsed again only when one of its files changed."""
    newest = project_mtime(project_dir)
    cached = _parsed.get(project_dir)
    if cached is None or cached[0] != newest:
        saved = _saved_manifest(project_dir, _stamp(newest))
        _parsed[project_dir] = (newest, saved or parse(project_dir, newest))
    return _parsed[project_dir][1]


def _stamp(newest: float) -> list[Any]:
    """What a saved manifest must have been parsed from: the project files as of ``newest``,
    the same vars, dbt and adapter versions (its macros are in the manifest) and Python."""
    versions = [importlib.metadata.version(p) for p in ("dbt-core", "dbt-duckdb")]
    return [newest, DBT_VARS, versions, list(sys.version_info[:2]), "fields by name"]


def _saved_manifest(project_dir: Path, stamp: list[Any]) -> Manifest | None:
    """The manifest a previous process pickled, if it was parsed from what is here now and the
    manifest.json of that parse, which the dbt assets load, is still there."""
    if not (project_dir / "target" / "manifest.json").exists():
        return None
    try:
        with (project_dir / "target" / SAVED_MANIFEST).open("rb") as fh:
            if pickle.load(fh) != stamp:  # our own file, written by parse()
                return None
            return pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError):
        return None  # none yet, or written by other code: parse


def parse(project_dir: Path, newest: float | None = None) -> Manifest:
    """``dbt parse`` into ``target/`` (manifest.json, which the dbt assets load, the
    partial-parse cache, and the pickled manifest when ``newest``, the project's mtime before
    the parse, is given), each file replaced atomically: a concurrent process reads the old
    file or the new one, never half of one."""
    from dbt.cli.main import dbtRunner

    shared = project_dir / "target"
    shared.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dbt-parse-", dir=shared) as scratch:
        if (shared / PARTIAL_PARSE_FILE).exists():
            shutil.copyfile(shared / PARTIAL_PARSE_FILE, Path(scratch) / PARTIAL_PARSE_FILE)
        with _profile_env_unset():
            args = ["parse", *DBT_VARS, *_common_args(project_dir, Path(scratch))]
            result = dbtRunner().invoke(args)
            if result.success and _lost_snapshots(project_dir, result.result):
                # dbt-core#10903: a partial parse can drop snapshots declared in YAML (seen here
                # after an edit of a generic test their YAML uses); the dbt assets then met
                # snapshot events with no node (KeyError). A full parse has them all.
                (Path(scratch) / PARTIAL_PARSE_FILE).unlink(missing_ok=True)
                result = dbtRunner().invoke(args)
        if not result.success:
            raise RuntimeError(f"dbt parse of {project_dir} failed: {result.exception}")
        if newest is not None:
            with (Path(scratch) / SAVED_MANIFEST).open("wb") as fh:
                _dump_manifest(_stamp(newest), result.result, fh)
        for name in ("manifest.json", PARTIAL_PARSE_FILE, SAVED_MANIFEST):
            if (Path(scratch) / name).exists():
                os.replace(Path(scratch) / name, shared / name)
    return result.result


def _lost_snapshots(project_dir: Path, parsed: Manifest) -> bool:
    """Whether a snapshot declared in the project's snapshot YAML is in neither the parsed
    nodes nor the disabled ones."""
    import yaml

    declared = {
        snapshot["name"]
        for path in (project_dir / "snapshots").glob("*.yml")
        for snapshot in (yaml.safe_load(path.read_text()) or {}).get("snapshots") or []
    }
    found = {n.name for n in parsed.nodes.values() if n.resource_type == "snapshot"}
    found |= {n.name for nodes in parsed.disabled.values() for n in nodes}
    return not declared <= found


def _dump_manifest(stamp: list[Any], parsed: Manifest, fh: Any) -> None:
    """The stamp, then the manifest by its public fields' names. dbt's own
    ``Manifest.__reduce_ex__`` passes the fields by position and, in dbt 1.11, misses one
    (``fixtures``): every later field, the lookups among them, lands in the wrong place and
    ``ref()`` fails. Unpickled here, the lookups are rebuilt on first use, as after a parse."""
    from dbt.contracts.graph.manifest import Manifest

    def by_name(m: Manifest) -> tuple[Any, ...]:
        fields = dataclasses.fields(m)
        public = {f.name: getattr(m, f.name) for f in fields if f.init and f.name[0] != "_"}
        return _manifest_from_fields, (public,)

    pickler = pickle.Pickler(fh, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, Manifest: by_name}
    pickler.dump(stamp)
    pickler.clear_memo()  # read back by two separate loads
    pickler.dump(parsed)


def _manifest_from_fields(fields: dict[str, Any]) -> Manifest:
    from dbt.contracts.graph.manifest import Manifest

    return Manifest(**fields)


def invoke(args: Sequence[str], project_dir: Path, target_path: Path) -> DbtRun:
    """Run one dbt command on the parsed project; dbt's log goes to ``target_path/dbt.log``.

    Each event's line goes to stdout, as dagster-dbt prints them: the step's captured output
    reads like dbt's console (``ledger run`` turns it into a progress line).
    """
    from dbt.artifacts.schemas.run import RunExecutionResult
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import msg_to_dict

    run = DbtRun(target_path, success=False)

    def collect(message: Any) -> None:
        # debug events (one per SQL statement and more: most of them) stay in dbt.log; made
        # into dicts here they cost ~0.1 s a build. The node results dagster-dbt reads are info.
        if message.info.level not in ("info", "warn", "error"):
            return
        event = msg_to_dict(message)
        run.events.append(event)
        if event["info"]["level"] == "error":
            run.errors.append(event["info"]["msg"])
        sys.stdout.write(event["info"]["msg"] + "\n")

    parsed = manifest(project_dir)
    # `docs generate --no-compile` reads the manifest from the target folder
    if args and args[0] == "docs":
        target_path.mkdir(parents=True, exist_ok=True)
        parsed.write(str(target_path / "manifest.json"))
    runner = dbtRunner(manifest=parsed, callbacks=[collect])
    with _released_database():
        # dbt would write the 2 MB manifest.json after every command (~0.3 s each, the same
        # parse as target/manifest.json): only the run results are written, below
        result = runner.invoke([*args, "--no-write-json", *_common_args(project_dir, target_path)])
    if isinstance(result.result, RunExecutionResult):  # build, run, test
        result.result.write(str(target_path / "run_results.json"))
    if result.exception is not None:
        run.errors.append(str(result.exception))
    run.success = result.success and not run.errors
    return run


def _common_args(project_dir: Path, target_path: Path) -> list[str]:
    return [
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target-path",
        str(target_path),
        "--log-path",
        str(target_path),
        "--quiet",  # the console; the callbacks and dbt.log still get every event
        "--no-send-anonymous-usage-stats",
    ]


@contextmanager
def _profile_env_unset() -> Iterator[None]:
    saved = {name: os.environ.pop(name) for name in PROFILE_ENV if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


@contextmanager
def _released_database() -> Iterator[None]:
    """dbt-duckdb keeps the database file open after a command (``keep_open``), which would
    stop this process from opening it read-only or with other settings: close it after each
    command, as dbt-duckdb's maintainers advise for programmatic runs (dbt-duckdb#616)."""
    try:
        yield
    finally:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        # close_all_connections only drops the environment; its DuckDB connection, held in a
        # reference cycle, stayed open until a garbage collection, and the next open of the
        # file in this process was refused ("different configuration") if none had run yet
        env = DuckDBConnectionManager._ENV  # noqa: SLF001 - dbt-duckdb has no public handle
        if env is not None:
            env.close()
        DuckDBConnectionManager.close_all_connections()
