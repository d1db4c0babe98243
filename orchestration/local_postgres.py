"""A throwaway PostgreSQL server on a loopback port, for the scale tests and `make bench-scale`.

The shared-infrastructure settings (``LEDGER_PG_URL``) expect a server someone else runs; this
starts Debian's ``postgresql`` binaries in a temporary folder so those settings can be tried,
tested and measured on one machine. PostgreSQL refuses to run as root, so as root the server
runs as the ``postgres`` user the Debian package creates.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "postgres"


@dataclass(frozen=True)
class LocalPostgres:
    data_dir: Path
    port: int
    user: str = "ledger"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        _run_as_server_user(
            [_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d"]
            + ["postgres", "-v", "ON_ERROR_STOP=1", "-c", f'create database "{name}"']
        )
        return self.url(name)


def bin_dir() -> Path | None:
    """Debian installs the server under /usr/lib/postgresql/<major>/bin; the newest wins."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=_major)
    return found[-1].parent if found else None


def _major(path: Path) -> int:
    name = path.parent.parent.name
    return int(name) if name.isdigit() else 0


def _bin(name: str) -> str:
    where = bin_dir()
    if where is None:
        raise FileNotFoundError(
            "PostgreSQL server binaries not found under /usr/lib/postgresql: "
            "run `make setup-scale` (installs Debian's postgresql package)"
        )
    return str(where / name)


def _as_root() -> bool:
    return os.geteuid() == 0


def _run_as_server_user(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    if _as_root():
        cmd = ["runuser", "-u", SERVER_USER, "--", *cmd]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def local_postgres(max_connections: int = 100) -> Iterator[LocalPostgres]:
    """Trust auth on 127.0.0.1 only, no Unix socket; stopped and deleted on exit."""
    # Not under pytest's basetemp: that folder is 0700 and root's, out of reach of `postgres`.
    root = Path(tempfile.mkdtemp(prefix="ledger-pg-"))
    data = root / "data"
    data.mkdir()
    if _as_root():
        shutil.chown(root, SERVER_USER)
        shutil.chown(data, SERVER_USER)
    server = LocalPostgres(data_dir=data, port=_free_port())
    try:
        _run_as_server_user(
            [_bin("initdb"), "-D", str(data), "-U", server.user, "--auth=trust", "-E", "UTF8"]
            + ["--no-sync"]
        )
        options = (
            f"-h 127.0.0.1 -p {server.port} -k '' -c fsync=off -c max_connections={max_connections}"
        )
        _run_as_server_user(
            [_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "server.log")]
            + ["-w", "start"]
        )
        try:
            yield server
        finally:
            _run_as_server_user([_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
    finally:
        shutil.rmtree(root, ignore_errors=True)
