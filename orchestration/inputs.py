"""The raw input files and the run fingerprint that says whether a run has anything to do.

Import-light (no Dagster, dbt or GX): ``ledger run`` decides "unchanged" with it before it
loads the pipeline, and the sensor and schedule use it to request runs only on a change.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from orchestration.paths import LedgerPaths
from orchestration.sql import sha256_file

SOURCES = ("manifests", "voyages", "reports")
HASH_CACHE = "input_hashes.json"
# Written by `ledger generate` next to the input folders: what was planted, not an input.
NOT_INPUTS = frozenset({"GENERATED.json"})


def current_files(raw_dir: Path, source: str) -> list[tuple[str, Path]]:
    """(name relative to data/raw, path) of every visible file of one source, in name order."""
    folder = raw_dir / source
    if not folder.is_dir():
        return []
    files = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]
    return sorted((p.relative_to(raw_dir).as_posix(), p) for p in files)


def unread_files(raw_dir: Path) -> list[str]:
    """Files under data/raw that no source reads (top level, unknown subfolders), in name order.

    Ingest only looks inside data/raw/{manifests,voyages,reports}; a manifest dropped one level
    up would otherwise be ignored without a word. Hidden files and folders are left out.
    """
    found: list[str] = []
    for folder, dirs, names in os.walk(raw_dir):
        here = Path(folder).relative_to(raw_dir)
        dirs[:] = [
            d for d in dirs if not d.startswith(".") and not (here == Path() and d in SOURCES)
        ]
        for name in names:
            rel = (here / name).as_posix()
            if not name.startswith(".") and rel not in NOT_INPUTS:
                found.append(rel)
    return sorted(found)


def input_hashes(paths: LedgerPaths) -> dict[str, str]:
    """sha256 of every input file, keyed like the file registry (``manifests/x.csv``).

    Hashes are cached by size, mtime and inode in the warehouse, so an unchanged 2 GB file
    costs a stat, not a read. A file rewritten in place changes its mtime.
    """
    cache_path = paths.warehouse_dir / HASH_CACHE
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    hashes: dict[str, str] = {}
    fresh: dict[str, list] = {}
    for source in SOURCES:
        for name, path in current_files(paths.raw_dir, source):
            st = path.stat()
            stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
            known = cache.get(name)
            sha = known[1] if known and known[0] == stamp else sha256_file(path)
            hashes[name] = sha
            fresh[name] = [stamp, sha]
    if fresh != cache and cache_path.parent.is_dir():
        tmp = cache_path.with_name(f".{HASH_CACHE}.{os.getpid()}")
        tmp.write_text(json.dumps(fresh))
        os.replace(tmp, cache_path)
    return hashes


def fingerprint_of(hashes: Mapping[str, str], code: str) -> str:
    """What a published version is a function of: every input file's content and the code."""
    payload = json.dumps({"inputs": dict(sorted(hashes.items())), "code": code})
    return hashlib.sha256(payload.encode()).hexdigest()
