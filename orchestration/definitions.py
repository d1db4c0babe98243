"""The one Definitions object: everything defined under ``orchestration/defs`` (assets, checks,
jobs, schedule, sensors, resources), loaded by Dagster's defs-folder loader."""

from __future__ import annotations

import dagster as dg

import orchestration.defs
from orchestration.paths import PROJECT_ROOT

defs = dg.load_defs(orchestration.defs, project_root=PROJECT_ROOT)
