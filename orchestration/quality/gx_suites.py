"""The GX side of validation: one ephemeral context, the suite files, the Data Docs pages.

Suites live in ``expectations/<suite>.json``, not in a GX project, so the context is built in
memory each process; only validation results and Data Docs are written to disk.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

from orchestration.paths import EXPECTATIONS_DIR
from orchestration.quality.audit import SEVERITIES
from orchestration.quality.offline_docs import make_offline

_GX_SEVERITY = {"error": "critical", "warn": "warning"}
DOCS_SITE = "ledger"
RESULTS_SUBDIR = "results"  # validation results JSON, under the Data Docs folder
# Validations the Data Docs index lists, newest first. The index is rebuilt after every
# validation and reads each result it lists: with no cap, a run's checks grew with the history.
INDEX_LIMIT = 100


@functools.cache
def gx_context(docs_dir: Path | None = None) -> Any:
    """One ephemeral context per process and docs folder: suites live in our JSON files, not in
    a GX project. With a docs folder, validation results are kept on disk beside the HTML so the
    Data Docs index lists past runs (the newest INDEX_LIMIT validations), not only this
    process's; older pages stay where their checks link to them."""
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,  # no phoning home from a pipeline (and no internet here)
    )
    if docs_dir is not None:
        config.stores[config.validation_results_store_name]["store_backend"] = {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(docs_dir / RESULTS_SUBDIR),
        }
        config.data_docs_sites = {
            DOCS_SITE: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "site_index_builder": {
                    "class_name": "DefaultSiteIndexBuilder",
                    "validation_results_limit": INDEX_LIMIT,
                    "view": _view("CachedIndexPageView"),
                },
                "site_section_builders": {"validations": {"view": _view("CachedPageView")}},
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
            }
        }
    context = gx.get_context(mode="ephemeral", project_config=config)
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.data_sources.add_pandas("ledger")
    return context


def load_suite(name: str, expectations_dir: Path = EXPECTATIONS_DIR) -> gx.ExpectationSuite:
    """Read a suite file; every expectation must say in meta whether it blocks (error) or warns."""
    path = expectations_dir / f"{name}.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    for i, exp in enumerate(doc["expectations"]):
        level = exp.get("meta", {}).get("severity")
        if level not in SEVERITIES:
            raise ValueError(
                f"{path}: expectation #{i} ({exp.get('type')}) needs meta.severity in "
                f"{SEVERITIES}, got {level!r}"
            )
        exp["severity"] = _GX_SEVERITY[level]
    suite = gx.ExpectationSuite(**doc)
    keys = Counter(expectation_key(e.configuration) for e in suite.expectations)
    if dupes := [k for k, n in keys.items() if n > 1]:
        raise ValueError(f"{path}: duplicate expectations {dupes}")
    return suite


def expectation_key(config: Any) -> str:
    """GX returns results grouped by domain, not in suite order; match them back by content."""
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    return json.dumps([config.type, kwargs], sort_keys=True, default=str)


def _view(class_name: str) -> dict[str, str]:
    return {"module_name": "orchestration.quality.gx_views", "class_name": class_name}


def write_data_docs(
    context: Any,
    suite: gx.ExpectationSuite,
    results: list[ExpectationValidationResult],
    meta: dict[str, Any],
    docs_dir: Path,
    run_name: str | None,
    asset_name: str,
) -> str:
    """Store the merged result and render it: one Data Docs page per suite per run."""
    run_id = RunIdentifier(run_name=run_name or "adhoc", run_time=datetime.now(UTC))
    context.suites.add_or_update(suite)
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
        run_id=run_id,
        batch_identifier=asset_name,
    )
    passed = sum(r.success for r in results)
    validation = ExpectationSuiteValidationResult(
        success=passed == len(results),
        results=results,
        suite_name=suite.name,
        statistics={
            "evaluated_expectations": len(results),
            "successful_expectations": passed,
            "unsuccessful_expectations": len(results) - passed,
            "success_percent": 100 * passed / len(results) if results else 100.0,
        },
        meta={**meta, "run_id": run_id, "validation_time": run_id.run_time},
    )
    context.validation_results_store.set(key, validation)
    urls = context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=[key])
    page = docs_dir.joinpath("validations", *key.to_tuple()).with_name(f"{asset_name}.html")
    make_offline(docs_dir, [docs_dir / "index.html", page])  # no CDN needed to read them
    return page.as_uri() if page.exists() else urls[DOCS_SITE]
