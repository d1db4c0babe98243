"""Two `ledger run` at once on one home: the second refuses at once, naming the first."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

from orchestration.paths import PROJECT_ROOT, LedgerPaths
from orchestration.publish.store import VersionStore
from tests.test_crash_safety import assert_served_is, ledger
from tests.test_crash_safety import home as home  # the fixture: a fresh LEDGER_HOME and env

DEADLINE_S = 600


@pytest.mark.slow
def test_a_second_run_refuses_at_once_and_the_first_publishes_a_whole_version(
    home: tuple[LedgerPaths, dict[str, str]],  # noqa: F811 - the fixture imported above
) -> None:
    paths, env = home
    assert ledger(env, "generate").returncode == 0
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli", "run"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    deadline = time.monotonic() + DEADLINE_S
    while all(run.poll() is None for run in runs):
        assert time.monotonic() < deadline, "neither run ended"
        time.sleep(0.05)
    loser = next(run for run in runs if run.poll() is not None)
    winner = next(run for run in runs if run is not loser)
    assert winner.poll() is None  # the refusal came while the first run was working
    out, err = loser.communicate()
    assert (loser.returncode, out) == (3, "")
    refusal = re.fullmatch(
        rf"ledger run: another run is in progress \(pid {winner.pid}, run ([0-9a-f-]{{36}}), "
        r"started (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) by ledger run\); this one is not started\n",
        err,
    )
    assert refusal, err

    out, err = winner.communicate(timeout=DEADLINE_S)
    assert winner.returncode == 0, err[-3000:]
    assert f"v0001 published: served at {paths.serving_db}" in out.splitlines()
    assert f", {refusal[1]}: success\n" in err, "the build run is the one the lock names"
    store = VersionStore(paths)
    assert [(v.version_id, v.status, v.run_id) for v in store.versions()] == [
        (1, "published", refusal[1])
    ]
    assert_served_is(paths, store.latest())
    assert (paths.warehouse_dir / "run.lock").read_text() == ""  # released, nobody named
