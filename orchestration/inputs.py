"""The raw input files and the run fingerprint that says whether a run has anything to do.

Import-light (no Dagster, dbt or GX): ``ledger run`` decides "unchanged" with it before it
loads the pipeline, and the sensor and schedule use it to request runs only on a change.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from orchestration.paths import LedgerPaths
from orchestration.sql import sha256_file

SOURCES = ("manifests", "voyages", "reports")
HASH_CACHE = "input_hashes.json"
LINK_OUTSIDE_RAW = "link_outside_raw"  # reason code of a file whose link leaves data/raw
# Written by `ledger generate` next to the input folders: what was planted, not an input.
NOT_INPUTS = frozenset({"GENERATED.json"})


def current_files(raw_dir: Path, source: str) -> list[tuple[str, Path]]:
    """(name relative to data/raw, path) of every visible file of one source, in name order.

    A symbolic link that leaves data/raw is listed whatever it points to (file, folder,
    nothing) without touching its target: ingest rejects it by name, so it is seen, not
    followed. Links inside data/raw are ordinary files.
    """
    folder = raw_dir / source
    if not folder.is_dir():
        return []
    root = raw_dir.resolve()
    files = [
        p
        for p in folder.rglob("*")
        if not p.name.startswith(".") and (leaves_raw(p, root) or p.is_file())
    ]
    return sorted((p.relative_to(raw_dir).as_posix(), p) for p in files)


def leaves_raw(path: Path, raw_root: Path) -> bool:
    """True when ``path`` resolves (through any link on the way) outside ``raw_root``.

    ``raw_root`` is data/raw already resolved, so a data/raw that is itself a link (a mounted
    volume) still counts as inside.
    """
    return not path.resolve().is_relative_to(raw_root)


def file_digest(raw_dir: Path, path: Path) -> str:
    """sha256 of the file's bytes; for a link leaving data/raw, of where it points.

    The target of such a link is never opened: its content must not reach any table, and
    even its hash would let anyone confirm a guess of a short secret.
    """
    target = path.resolve()
    if not target.is_relative_to(raw_dir.resolve()):
        return hashlib.sha256(f"{LINK_OUTSIDE_RAW}:{target}".encode()).hexdigest()
    return sha256_file(path)


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


def unhashed_bytes(paths: LedgerPaths) -> int:
    """Bytes of the input files new or changed since their hashes were cached (a stat each):
    about what the next ingest reads."""
    try:
        cache = json.loads((paths.warehouse_dir / HASH_CACHE).read_text())
    except (OSError, ValueError):
        cache = {}
    root, total = paths.raw_dir.resolve(), 0
    for source in SOURCES:
        for name, path in current_files(paths.raw_dir, source):
            if leaves_raw(path, root):
                continue
            st = path.stat()
            known = cache.get(name)
            if not known or known[0] != [st.st_size, st.st_mtime_ns, st.st_ino]:
                total += st.st_size
    return total


def input_hashes(paths: LedgerPaths, sources: Sequence[str] = SOURCES) -> dict[str, str]:
    """sha256 of every input file of ``sources``, keyed like the file registry
    (``manifests/x.csv``).

    Hashes are cached by size, mtime and inode in the warehouse, so an unchanged 2 GB file
    costs a stat, not a read (5.6 s), in the run gate, the sensor and ingest alike. A file
    rewritten in place changes its mtime.
    """
    cache_path = paths.warehouse_dir / HASH_CACHE
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    hashes: dict[str, str] = {}
    fresh: dict[str, list] = {n: e for n, e in cache.items() if n.split("/")[0] not in sources}
    root = paths.raw_dir.resolve()
    for source in sources:
        for name, path in current_files(paths.raw_dir, source):
            if leaves_raw(path, root):  # never stat or read the target
                hashes[name] = file_digest(paths.raw_dir, path)
                continue
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
