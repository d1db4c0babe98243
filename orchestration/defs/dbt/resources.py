"""The dbt project and the dbt resource every dbt step runs through."""

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject

# Not re-exported by dagster_dbt: the selection dagster-dbt's own `cli` derives from the step
# (its assets, checks and partitions), so an in-process command selects exactly the same nodes.
from dagster_dbt.asset_utils import (
    DbtCliInvocationPartialParams,
    extract_runtime_selection_from_args,
    get_updated_cli_invocation_params_for_context,
)

from orchestration.dbt_in_process import DbtRun, invoke, manifest, project_mtime
from orchestration.paths import DBT_PROJECT_DIR

# For ad-hoc `cli` commands: the venv's dbt, even when the venv is not on PATH.
DBT_EXECUTABLE = shutil.which("dbt") or str(Path(sys.executable).with_name("dbt"))


class LedgerDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt resource; the ledger's steps run their commands in their own process
    (``invoke``), on a project parsed once per process (orchestration/dbt_in_process.py).

    ``cli``, a ``dbt`` process per command, stays for ad-hoc use: each costs ~3.5 s of start-up
    and manifest load that ``invoke`` pays once.
    """

    def invoke(
        self,
        args: Sequence[str],
        *,
        context: dg.AssetExecutionContext | None = None,
        target_path: Path | None = None,
    ) -> tuple[DbtRun, DbtCliInvocationPartialParams]:
        """Run ``args`` for the step's selection (when given a context) and return the run
        with the manifest and translator its events convert with."""
        cleaned, selects, excludes = extract_runtime_selection_from_args(args)
        params = get_updated_cli_invocation_params_for_context(
            context=context,
            manifest={},
            dagster_dbt_translator=DagsterDbtTranslator(),  # the step's own, with a context
            runtime_selects=selects,
            runtime_excludes=excludes,
        )
        if params.indirect_selection:
            cleaned = [*cleaned, "--indirect-selection", params.indirect_selection]
        project_dir = Path(
            params.dbt_project.project_dir if params.dbt_project else self.project_dir
        )
        target = target_path or project_dir / self._get_unique_target_path(context=context)
        return invoke([*cleaned, *params.selection_args], project_dir, target), params


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, target_path=Path("target"))
# The dbt assets load target/manifest.json at import: parse when it is missing or older than a
# project file (a fresh clone, an edited model); an unchanged project costs an mtime walk.
# dagster-dbt's `prepare_if_dev()` would parse under `dagster dev` only, with the `dbt` on PATH.
if (
    not dbt_project.manifest_path.exists()
    or dbt_project.manifest_path.stat().st_mtime < project_mtime(DBT_PROJECT_DIR)
):
    manifest(DBT_PROJECT_DIR)
