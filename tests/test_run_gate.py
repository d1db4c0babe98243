"""Work only when something changed: the fingerprint gate of `ledger run`, the sensor and the
schedule; read-only commands that load no pipeline; one executor for every launch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import dagster as dg
import pytest

from orchestration.code_version import code_version
from orchestration.definitions import defs
from orchestration.defs.jobs import daily_ledger, raw_files_sensor
from orchestration.defs.resources import LedgerResource
from orchestration.inputs import fingerprint_of, input_hashes, unhashed_bytes
from orchestration.paths import PROJECT_ROOT, LedgerPaths
from orchestration.publish.store import VersionStore
from tests.test_versions import BASE, stage

HEAVY = ("dagster", "dbt", "great_expectations", "matplotlib")


@pytest.fixture
def published(ledger_home: LedgerPaths) -> LedgerPaths:
    """One raw file, published as v0001 with the fingerprint a real run would record."""
    manifest = ledger_home.raw_dir / "manifests" / "a.csv"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text("waybill_no\n1\n")
    stage(ledger_home, BASE)
    VersionStore(ledger_home).publish(
        ledger_home.staging_db, "run-1", input_hashes(ledger_home), code_version(), {"failed": 0}
    )
    return ledger_home


def run_cli(home: LedgerPaths, *args: str) -> subprocess.CompletedProcess[str]:
    """`ledger ARGS` in a fresh interpreter that reports which heavy packages it imported."""
    probe = (
        "import sys, json\n"
        "from orchestration.cli import main\n"
        f"code = main({list(args)!r})\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "LEDGER_HOME": str(home.home)}
    env.pop("DAGSTER_HOME", None)
    return subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )


def imported(result: subprocess.CompletedProcess[str]) -> list[str]:
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [
        ("versions",),
        ("versions", "--events"),
        ("show", "v1"),
        ("query", "select count(*) from fct_shipments"),
        ("query", "--version", "v1", "select 1"),
        ("diff", "v1", "v1"),
        ("docs",),
    ],
)
def test_read_only_commands_load_no_pipeline(published: LedgerPaths, args: tuple[str]) -> None:
    result = run_cli(published, *args)
    assert result.returncode == 0, result.stderr
    assert imported(result) == []


def test_an_unchanged_run_stops_before_any_work(published: LedgerPaths) -> None:
    result = run_cli(published, "run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "v0001 unchanged: inputs and code are those of v0001; served at "
    )
    assert "nothing to do" in result.stderr
    assert imported(result) == [], "no Dagster, dbt or GX loaded: no dbt build, no GX"
    events = VersionStore(published).events()
    assert [e["kind"] for e in events] == ["publish", "unchanged"]


def test_a_run_without_input_stops_before_loading_the_pipeline(ledger_home: LedgerPaths) -> None:
    result = run_cli(ledger_home, "run")
    assert result.returncode == 2
    assert result.stderr.startswith(f"ledger run: no input files in {ledger_home.raw_dir}/")
    assert imported(result) == []


def test_a_stray_file_is_named_and_the_run_goes_on(published: LedgerPaths) -> None:
    (published.raw_dir / "manifest.csv").write_text("waybill_no\n3\n")
    result = run_cli(published, "run")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == (
        "WARNING data/raw/manifest.csv is not read: put manifests in data/raw/manifests/, "
        "voyages in data/raw/voyages/, reports in data/raw/reports/"
    )
    assert result.stdout.startswith("v0001 unchanged: "), "a file that is not read is no change"


def test_a_rejected_file_is_a_change(published: LedgerPaths) -> None:
    """A new file counts whatever ingest will make of it: its rejection must be published."""
    (published.raw_dir / "manifests" / "junk.csv").write_bytes(b"\x00\x01binary")
    fingerprint = fingerprint_of(input_hashes(published), code_version())
    assert VersionStore(published).record_if_unchanged(fingerprint) is None


def test_unchanged_after_rollback_names_the_served_version(published: LedgerPaths) -> None:
    store = VersionStore(published)
    (published.raw_dir / "manifests" / "b.csv").write_text("waybill_no\n2\n")
    stage(published, {**BASE, "s99": 9.0})
    store.publish(published.staging_db, "run-2", input_hashes(published), code_version(), {})
    store.rollback("v1")
    result = run_cli(published, "run")
    assert result.stdout.startswith(
        "v0002 unchanged: inputs and code are those of v0002; v0001 is served (rolled back)"
    )


def test_sensor_and_schedule_skip_what_is_already_published(published: LedgerPaths) -> None:
    """`make ui` right after `make run`: an empty cursor must not mean a new run."""
    ledger = LedgerResource(home=str(published.home))
    sensed = raw_files_sensor(dg.build_sensor_context(cursor=None, resources={"ledger": ledger}))
    assert not sensed.run_requests
    assert "already v0001" in sensed.skip_reason.skip_message
    scheduled = daily_ledger(dg.build_schedule_context(resources={"ledger": ledger}))
    assert isinstance(scheduled, dg.SkipReason)
    assert "already v0001" in scheduled.skip_message

    (published.raw_dir / "manifests" / "b.csv").write_text("waybill_no\n2\n")
    sensed = raw_files_sensor(dg.build_sensor_context(cursor=None, resources={"ledger": ledger}))
    assert len(sensed.run_requests) == 1
    scheduled = daily_ledger(dg.build_schedule_context(resources={"ledger": ledger}))
    assert isinstance(scheduled, dg.RunRequest)


def test_every_launch_runs_in_process() -> None:
    """`ledger run`, the UI's "Materialize all" and backfills: one process, like the CLI."""
    assert defs.resolve_job_def("ledger_job").executor_def is dg.in_process_executor
    assert defs.resolve_job_def("ingest_job").executor_def is dg.in_process_executor
    assert defs.get_implicit_global_asset_job_def().executor_def is dg.in_process_executor


@pytest.fixture
def lock_holder(ledger_home: LedgerPaths) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the run lock as run `first-run` until its stdin closes."""
    hold = (
        "import sys; from orchestration.paths import LedgerPaths; "
        "from orchestration.run_lock import acquire; "
        "acquire(LedgerPaths.from_env(), 'first-run', 'test'); print('held', flush=True); "
        "sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    assert holder.stdout.readline() == "held\n"
    yield holder
    if holder.stdin and not holder.stdin.closed:
        holder.stdin.close()
    holder.wait()


def test_a_dagster_launched_run_is_refused_before_any_step_while_another_runs(
    ledger_home: LedgerPaths, lock_holder: subprocess.Popen[str]
) -> None:
    """A UI, sensor or schedule launch while `ledger run` works fails at once, naming it."""
    result = defs.resolve_job_def("ingest_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not result.success
    assert [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_START] == []
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    assert "another run is in progress" in str(failure.event_specific_data)
    assert "run first-run" in str(failure.event_specific_data)
    assert "this run did nothing" in str(failure.event_specific_data)
    assert not (ledger_home.staging_db).exists()


def test_on_a_shared_instance_a_run_waits_for_the_lock_instead_of_being_refused(
    ledger_home: LedgerPaths, lock_holder: subprocess.Popen[str]
) -> None:
    """With LEDGER_PG_URL several runs are in flight by design: the second one waits its turn
    (told who holds the lock), where `ledger run` is refused at once."""
    from orchestration.run_lock import RunInProgress, acquire, release

    with pytest.raises(RunInProgress, match="run first-run"):
        acquire(ledger_home, "refused-run", "test")
    waited: list[str] = []

    def on_wait(message: str) -> None:
        waited.append(message)
        assert lock_holder.stdin is not None
        lock_holder.stdin.close()  # the holder ends, and the kernel drops its lock

    assert acquire(ledger_home, "second-run", "test", on_wait=on_wait)
    release(ledger_home)
    assert lock_holder.wait() == 0
    assert len(waited) == 1 and "run first-run" in waited[0], waited


def test_new_input_bytes_are_what_the_hash_cache_has_not_seen(ledger_home: LedgerPaths) -> None:
    """`ledger run` starts the GX worker first thing only when the run reads little new input:
    the measure is the files whose hashes are not cached yet, new or rewritten."""
    folder = ledger_home.raw_dir / "manifests"
    folder.mkdir(parents=True, exist_ok=True)
    first, second = folder / "a.csv", folder / "b.csv"
    first.write_text("waybill_no\n1\n")
    second.write_text("waybill_no\n2\n3\n")
    assert unhashed_bytes(ledger_home) == first.stat().st_size + second.stat().st_size
    input_hashes(ledger_home)  # what every run and sensor tick does: the hashes are cached
    assert unhashed_bytes(ledger_home) == 0
    second.write_text("waybill_no\n2\n3\n4\n")
    assert unhashed_bytes(ledger_home) == second.stat().st_size
