"""Where everything lives, derived from one env var so tests and BI can point elsewhere."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"


@dataclass(frozen=True)
class LedgerPaths:
    """All file locations under one home (``LEDGER_HOME``, default: the project root)."""

    home: Path

    @classmethod
    def from_env(cls, home: str | os.PathLike[str] | None = None) -> LedgerPaths:
        return cls(Path(home or os.environ.get("LEDGER_HOME") or PROJECT_ROOT).resolve())

    @property
    def raw_dir(self) -> Path:
        return self.home / "data" / "raw"

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "data" / "warehouse"

    @property
    def staging_db(self) -> Path:
        """Working database: ingest and dbt write here, never the served file."""
        return self.warehouse_dir / "staging.duckdb"

    @property
    def serving_db(self) -> Path:
        """The one file BI tools open: always a complete published version."""
        return Path(os.environ.get("LEDGER_SERVING_DB") or self.warehouse_dir / "ledger.duckdb")

    @property
    def versions_dir(self) -> Path:
        return self.warehouse_dir / "versions"

    @property
    def docs_dir(self) -> Path:
        return self.warehouse_dir / "docs"

    @property
    def reports_dir(self) -> Path:
        return self.warehouse_dir / "reports"

    @property
    def dbt_target_dir(self) -> Path:
        return self.warehouse_dir / "dbt_target"

    def ensure(self) -> LedgerPaths:
        for d in (self.raw_dir, self.warehouse_dir, self.versions_dir, self.docs_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self
