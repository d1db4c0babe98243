"""Which code built a version: half of the run fingerprint (the input files are the other half).

Import-light (git through subprocess): ``ledger run`` asks it before loading the pipeline.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import subprocess

from orchestration.paths import PROJECT_ROOT

CODE_PATHS = ("orchestration", "dbt_project", "expectations", "pyproject.toml", "uv.lock")


def code_version() -> str:
    """Git HEAD, plus a hash of uncommitted code changes so edits count; else the package version.

    Only code paths count: files a run writes (logs, GX "uncommitted") must not change it.
    """
    try:
        head = _git("rev-parse", "HEAD").strip()
        changes = _git("status", "--porcelain", "--untracked-files=all", "--", *CODE_PATHS)
    except (OSError, subprocess.CalledProcessError):
        return importlib.metadata.version("shipment-ledger")
    changed = sorted(line for line in changes.splitlines() if "/uncommitted/" not in line)
    if not changed:
        return head
    digest = hashlib.sha256(_git("diff", "HEAD", "--binary", "--", *CODE_PATHS).encode())
    for line in changed:
        digest.update(line.encode())
        path = PROJECT_ROOT / line[3:]
        if line.startswith("??") and path.is_file():
            digest.update(path.read_bytes())
    return f"{head}-dirty.{digest.hexdigest()[:12]}"


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, check=True
    ).stdout
