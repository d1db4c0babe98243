"""DuckDB extensions from the PyPI wheels that ship their signed binaries: no download at run time.

DuckDB's own ``INSTALL ducklake`` fetches from extensions.duckdb.org, which an offline host
cannot reach; the ``duckdb-extension-<name>`` packages carry the same binaries for the pinned
DuckDB, and ``INSTALL '<path>'`` copies one into the extension directory.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import duckdb

from orchestration.sql import sql_literal


def bundled_binary(name: str) -> Path:
    """The ``.duckdb_extension`` file inside package ``duckdb_extension_<name>``."""
    module = importlib.import_module(f"duckdb_extension_{name}")
    [binary] = Path(module.__file__).parent.glob(f"extensions/*/{name}.duckdb_extension")
    return binary


def load_bundled(con: duckdb.DuckDBPyConnection, ext_dir: Path, *names: str) -> None:
    """Install (into ``ext_dir``) and load each extension from its wheel."""
    ext_dir.mkdir(parents=True, exist_ok=True)
    con.execute(f"set extension_directory = {sql_literal(str(ext_dir))}")
    for name in names:
        con.execute(f"install {sql_literal(str(bundled_binary(name)))}")
        con.execute(f"load {name}")
