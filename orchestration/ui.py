"""`ledger ui`: Dagster's dev server (webserver, daemon, code servers) that one SIGTERM stops.

The server runs in its own session, so a SIGTERM (or Ctrl-C) sent to the `ledger ui` process
group reaches only `ledger ui`, which asks the server to shut down the way Ctrl-C does in
``dagster dev``: webserver and daemon shut down and exit, in order, instead of every process
getting the signal at once (a code server could then be restarted by its parent while the rest
went down). The code servers it leaves running are then stopped too.

The server is started with ``dev_command_impl``, the implementation behind ``dagster dev``,
rather than the ``dagster dev`` command, which Dagster marks superseded (it prints a
SupersessionWarning and points to ``dg dev``, a separate package that is not installed here).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from types import FrameType

import psutil

from orchestration.paths import PROJECT_ROOT

SHUTDOWN_TIMEOUT_S = 60.0  # dagster dev itself waits up to ~30 s for the webserver and daemon
LEFTOVER_TIMEOUT_S = 15.0
DEFINITIONS_MODULE = "orchestration.definitions"


class _Stop(Exception):
    """SIGTERM received: stop the server."""


def _raise_stop(_signum: int, _frame: FrameType | None) -> None:
    raise _Stop


def serve(host: str, port: int, dagster_home: str) -> int:
    """Run the server until it exits, or until SIGTERM / Ctrl-C, then stop all of it.

    ``dagster_home`` is passed on explicitly: without DAGSTER_HOME, ``dagster dev`` makes a
    throwaway instance, which shows none of ``ledger run``'s runs and ignores its dagster.yaml.
    """
    server = subprocess.Popen(
        [sys.executable, "-m", "orchestration.ui", host, str(port)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DAGSTER_HOME": dagster_home},
        start_new_session=True,
    )
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    try:
        return server.wait()
    except (_Stop, KeyboardInterrupt):
        stop(server)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def stop(server: subprocess.Popen) -> None:
    """Ctrl-C for the server; then the code servers it leaves behind (they would otherwise wait
    ~45 s for their heartbeat to time out) get SIGTERM, and whatever still runs is killed."""
    try:
        processes = [psutil.Process(server.pid), *psutil.Process(server.pid).children(True)]
    except psutil.NoSuchProcess:
        return
    server.send_signal(signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.wait(timeout=SHUTDOWN_TIMEOUT_S)
    for signum in (signal.SIGTERM, signal.SIGKILL):
        alive = [p for p in processes if _running(p)]
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.send_signal(signum)
        psutil.wait_procs(alive, timeout=LEFTOVER_TIMEOUT_S)
    server.wait()


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def run_server(host: str, port: int) -> None:
    """The server process: what ``dagster dev -m orchestration.definitions`` runs."""
    from dagster._cli.dev import dev_command_impl
    from dagster_shared.cli import WorkspaceOpts

    # Started from a shell's background job, SIGINT arrives ignored, and so would `ledger ui`'s
    # Ctrl-C for the server (dagster dev also maps SIGTERM to the SIGINT handler).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    dev_command_impl(
        code_server_log_level="warning",
        log_level="info",
        log_format="colored",
        port=str(port),
        host=host,
        use_legacy_code_server_behavior=False,
        shutdown_pipe=None,
        verbose=False,
        workspace_opts=WorkspaceOpts(module_name=[DEFINITIONS_MODULE]),
    )


if __name__ == "__main__":
    run_server(sys.argv[1], int(sys.argv[2]))
