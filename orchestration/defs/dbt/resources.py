"""The dbt project and the dbt CLI resource every dbt step runs through."""

import importlib.metadata
import os
import shutil
import sys
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from packaging.version import Version

from orchestration.paths import DBT_PROJECT_DIR, LedgerPaths

# The venv's dbt, even when the venv is not on PATH (`.venv/bin/ledger run`, IDEs, CI).
DBT_EXECUTABLE = shutil.which("dbt") or str(Path(sys.executable).with_name("dbt"))


class LedgerDbtCliResource(DbtCliResource):
    """dagster-dbt's CLI resource without two start-up costs it pays on every command.

    dagster-dbt 0.29 has no public setting for either (the engine detection came with
    dagster-io/dagster#31337); these private overrides are the one place we reach inside it.
    """

    @cached_property
    def _cli_version(self) -> Version:
        """dbt-core is installed in this venv (pinned in uv.lock): read its version from there.

        dagster-dbt otherwise starts ``dbt --version`` in a subprocess before the first command
        of every run, only to learn that it is dbt-core and not Fusion: 3 s a run.
        """
        return Version(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        """No in-process dbt adapter: only ``fetch_row_counts`` and ``fetch_column_metadata``
        use it, and the ledger reads column types from DuckDB itself (``metadata.py``).

        dagster-dbt builds one before every command (profile, project, the 541 macros): 3 s
        each, four times in a first run (three builds and the docs), twice in a one-day run.
        """
        return None


# Every invocation (this parse, builds, docs) passes the same vars: dbt re-parses the whole
# project (~8 s) when they differ from the last parse's. `changed_only` scopes tests to what an
# incremental build rebuilt (macros/incremental.sql) and does nothing under --full-refresh.
DBT_VARS = ["--vars", "{changed_only: true}"]


def _manifest_is_stale(project: DbtProject) -> bool:
    """Cheap: an mtime walk of the project, no dbt."""
    manifest = project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "seeds", "macros", "snapshots", "tests"):
        sources.extend((DBT_PROJECT_DIR / folder).rglob("*"))
    return any(p.is_file() and p.stat().st_mtime > built for p in sources)


def _parse(project: DbtProject) -> None:
    # Parse with the same profile env as the runs, or dbt discards its partial-parse
    # cache (~10 s). dagster-dbt's CLI resource takes no env: it passes os.environ on.
    os.environ.setdefault("LEDGER_STAGING_DB", str(LedgerPaths.from_env().staging_db))
    LedgerDbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE).cli(
        ["parse", "--quiet", *DBT_VARS], target_path=project.target_path
    ).wait()


def keep_parse_cache(step_target: Path) -> None:
    """Make a step's partial-parse file the one the next dbt step starts from.

    dagster-dbt copies ``target/partial_parse.msgpack`` into each step's own target folder and
    never back. dbt discards it when the profile (the staging path, so the home) or the
    ``--vars`` differ from when it was written, which the import-time parse cannot match: each
    of a run's dbt steps then parsed the whole project again (~10 s idle, ~40 s loaded).
    """
    fresh = step_target / PARTIAL_PARSE_FILE
    if not fresh.exists():
        return
    shared = dbt_project.project_dir / dbt_project.target_path / PARTIAL_PARSE_FILE
    scratch = shared.with_name(f".{PARTIAL_PARSE_FILE}.{os.getpid()}")
    shutil.copyfile(fresh, scratch)
    os.replace(scratch, shared)  # atomic: a concurrent step copies the old or the new file


PARTIAL_PARSE_FILE = "partial_parse.msgpack"
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, target_path=Path("target"))
# dagster-dbt's `prepare_if_dev()` parses under `dagster dev` only, and its preparer runs the
# `dbt` on PATH (absent when the venv is not activated, and DbtProject takes no preparer of
# ours in 0.29). A fresh clone, `ledger run` and the tests need a manifest too: parse when it
# is missing or older than a project file; an unchanged project costs an mtime walk.
if dbt_project.preparer.using_dagster_dev() or _manifest_is_stale(dbt_project):
    _parse(dbt_project)
