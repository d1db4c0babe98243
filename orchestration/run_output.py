"""What `ledger run` prints by default: one line per stage, one per input file, what changed.

Dagster's DEBUG event lines and dbt's per-test lines (~2,000 on the sample) are left out; the
run's events are still recorded in the Dagster instance (the UI's run page), and ``--verbose``
prints everything.
"""

from __future__ import annotations

import io
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from typing import Any, TextIO

import dagster as dg

STAGES = ("ingest", "build", "audit", "publish")
TOP_REASONS = 3
# dbt's "12 of 435 START test ..." / "12 of 435 PASS ..." lines: a result line ends one node
DBT_PROGRESS = re.compile(r"^\s*(\d+) of (\d+) (?!START)")


def step_stages(defs: dg.Definitions) -> dict[str, str]:
    """Step key (op name) -> stage, from the asset groups: ingest, build (dbt), audit (checks
    on built tables), publish (the version and its evidence report)."""
    repo = defs.get_repository_def()
    graph = defs.resolve_asset_graph()
    stages: dict[str, str] = {}
    for assets_def in {id(a): a for a in repo.assets_defs_by_key.values()}.values():
        groups = {assets_def.group_names_by_key[k] for k in assets_def.keys}
        stage = next((s for s in ("ingest", "publish") if s in groups), "build")
        stages[assets_def.node_def.name] = stage
    for checks_def in repo.asset_checks_defs_by_key.values():
        if checks_def.node_def.name in stages:
            continue
        checked = {graph.get(key.asset_key).group_name for key in checks_def.check_keys}
        stages[checks_def.node_def.name] = "ingest" if checked == {"ingest"} else "audit"
    return stages


@dataclass
class Stage:
    name: str
    started: float
    ended: float = 0.0
    # Time spent in this stage's own steps: build and audit interleave (a GX check runs between
    # two dbt steps), so the span from first to last event would count the other's time too.
    busy: float = 0.0
    step_started: dict[str, float] = field(default_factory=dict)
    steps: int = 0
    materialized: list[str] = field(default_factory=list)
    checks: int = 0
    checks_failed: int = 0
    checks_warned: int = 0
    failed_steps: list[str] = field(default_factory=list)
    metadata: list[dict[str, Any]] = field(default_factory=list)
    check_metadata: list[dict[str, Any]] = field(default_factory=list)


def _values(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: getattr(v, "value", v) for k, v in metadata.items()}


def file_line(outcome: dict[str, Any]) -> str:
    """``  manifests/a.csv: 1770 loaded, 4 quarantined (bad_date 3, unknown_station 1)``."""
    name, status = outcome["file"], outcome["status"]
    if status == "rejected":
        return f"  {name}: rejected, {outcome['message']}"
    if status == "duplicate":
        return f"  {name}: skipped, same content as another file"
    line = f"  {name}: {outcome['accepted']} loaded, {outcome['quarantined']} quarantined"
    reasons = list(outcome["reasons"].items())[:TOP_REASONS]
    if reasons:
        line += " (" + ", ".join(f"{code} {n}" for code, n in reasons) + ")"
    if outcome["duplicates"]:
        line += f", {outcome['duplicates']} exact duplicates dropped"
    return line


def stage_lines(stage: Stage, seconds: float) -> list[str]:
    """The stage's line, then (ingest) one line per file read in this run."""
    outcomes = [o for m in stage.metadata for o in m.get("file_outcomes", [])]
    parts: list[str] = []
    if stage.name == "ingest":
        read = [o for o in outcomes if o["status"] != "unchanged"]
        parts.append(f"{len(read)} files read, {len(outcomes) - len(read)} unchanged")
        parts.append(f"{sum(o['accepted'] for o in read)} rows loaded")
        parts.append(f"{sum(o['quarantined'] for o in read)} quarantined")
    elif stage.name == "build":
        tests = sum(m.get("tests", 0) for m in stage.check_metadata)
        # a monthly table materializes once per partition of the run: count tables
        parts.append(f"{len(set(stage.materialized))} dbt models, seeds and snapshots")
        parts.append(f"{tests} dbt data tests")
    elif stage.name == "publish":
        versions = [f"{m['version_id']} {m['status']}" for m in stage.metadata if "status" in m]
        others = [name for name in stage.materialized if name != "published_version"]
        parts.append(", ".join(versions + others))
    if stage.checks:
        passed = stage.checks - stage.checks_failed - stage.checks_warned
        checks = f"{passed}/{stage.checks} checks passed"
        if stage.checks_warned:
            checks += f", {stage.checks_warned} warned"
        if stage.checks_failed:
            checks += f", {stage.checks_failed} FAILED"
        parts.append(checks)
    if stage.failed_steps:
        parts.append("FAILED: " + ", ".join(stage.failed_steps))
    lines = [f"{stage.name:<9} {'; '.join(parts)} ({seconds:.1f}s)"]
    lines += [file_line(o) for o in outcomes if o["status"] != "unchanged"]
    return lines


class StageReporter(logging.Handler):
    """Receives the run's Dagster events (as a Dagster logger) and prints each stage's line once
    the run is past it; ``finish`` prints the rest.

    dbt runs in several steps with the GX checks of the tables they built in between, so the
    run goes back and forth between build and audit: their lines wait for publish (or the end).
    """

    def __init__(
        self,
        stages: dict[str, str],
        out: TextIO,
        clock: Callable[[], float],
        before_print: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(logging.DEBUG)
        self.stages, self.out, self.clock = stages, out, clock
        self.before_print = before_print
        self.open: dict[str, Stage] = {}
        self.lines: list[str] = []

    def _enter(self, name: str) -> Stage:
        now = self.clock()
        if name not in ("build", "audit"):
            self._print_open(before=name)
        stage = self.open.setdefault(name, Stage(name, now))
        stage.ended = now
        return stage

    def _print_open(self, before: str | None = None) -> None:
        """Print (in stage order) the open stages that come before ``before`` (None: all)."""
        limit = STAGES.index(before) if before else len(STAGES)
        for name in STAGES[:limit]:
            stage = self.open.pop(name, None)
            if stage is not None:
                self._print(stage)

    def _print(self, stage: Stage) -> None:
        self.before_print()
        for line in stage_lines(stage, stage.busy or stage.ended - stage.started):
            self.lines.append(line)
            print(line, file=self.out, flush=True)

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None or event.step_key is None:
            return
        stage = self._enter(self.stages.get(event.step_key, "build"))
        kind, data = event.event_type_value, event.event_specific_data
        if kind == "STEP_START":
            stage.steps += 1
            stage.step_started[event.step_key] = stage.ended
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            stage.busy += stage.ended - stage.step_started.pop(event.step_key, stage.ended)
        if kind == "STEP_FAILURE":
            stage.failed_steps.append(event.step_key)
        elif kind == "ASSET_MATERIALIZATION":
            stage.materialized.append(data.materialization.asset_key.to_user_string())
            stage.metadata.append(_values(data.materialization.metadata))
        elif kind == "ASSET_CHECK_EVALUATION":
            stage.checks += 1
            stage.check_metadata.append(_values(data.metadata))
            if not data.passed and data.severity == dg.AssetCheckSeverity.WARN:
                stage.checks_warned += 1
            elif not data.passed:
                stage.checks_failed += 1

    def finish(self) -> None:
        self._print_open()


def reporter_logger(reporter: StageReporter) -> dg.LoggerDefinition:
    """A Dagster logger that hands every event of the run to ``reporter``."""

    @dg.logger(description="`ledger run` stage lines")
    def ledger_stages(_init_context: dg.InitLoggerContext) -> logging.Logger:
        log = logging.getLogger("ledger.run.stages")
        log.handlers = [reporter]
        log.setLevel(logging.DEBUG)
        log.propagate = False
        return log

    return ledger_stages


class DbtProgress(io.TextIOBase):
    """Swallows the dbt lines the dbt steps echo (one per node and test); on a terminal,
    shows ``dbt build 123/435`` on one rewritten line instead."""

    def __init__(self, out: TextIO, interactive: bool) -> None:
        self.out, self.interactive, self.shown = out, interactive, False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self.interactive:
            for line in text.splitlines():
                if match := DBT_PROGRESS.match(line):
                    self.out.write(f"\r  dbt build {match.group(1)}/{match.group(2)}")
                    self.out.flush()
                    self.shown = True
        return len(text)

    def clear(self) -> None:
        """Erase the progress line before the next real line is printed."""
        if self.shown:
            self.out.write("\r\x1b[2K")
            self.out.flush()
            self.shown = False


def change_lines(diff: dict[str, Any] | None) -> list[str]:
    """``changes since v0001: fct_shipments +2 -0 ~0`` lines, from published_version's diff."""
    if diff is None:
        return ["changes: first version, nothing to compare with"]
    previous, tables = f"v{diff['from_version']:04d}", diff["tables"]
    if "error" in tables:
        return [f"changes since {previous}: unknown ({tables['error']})"]
    if not tables:
        return [f"changes since {previous}: no table changed"]
    lines = [f"changes since {previous} (rows added / removed / changed):"]
    width = max(len(name) for name in tables)
    for name, d in sorted(tables.items()):
        changed = "n/a" if d["changed"] is None else d["changed"]  # a table without a key
        lines.append(f"  {name:<{width}}  +{d['added']} -{d['removed']} ~{changed}")
    return lines


def next_commands(version: str, previous: int | None) -> list[str]:
    lines = ["next:", '  ledger query "select * from agg_monthly_flows"']
    if previous is not None:
        lines.append(f"  ledger diff v{previous:04d} {version}")
    lines += [f"  ledger show {version}", "  ledger ui                 (the run's events)"]
    return lines


def outcome_lines(result: dg.ExecuteInProcessResult) -> list[str]:
    """Where the result is, what changed, what to try next (from published_version)."""
    lines: list[str] = []
    for mat in result.asset_materializations_for_node("published_version"):
        meta = _values(mat.metadata)
        version, status = meta["version_id"], meta["status"]
        lines.append(f"{version} {status}: served at {meta['served_path']}")
        if status == "unchanged":
            continue
        diff = meta.get("diff_vs_previous")
        lines += change_lines(diff)
        lines += next_commands(version, diff["from_version"] if diff else None)
    return lines


def tty(stream: TextIO) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


def run_quietly(
    job: dg.JobDefinition,
    *,
    stages: dict[str, str],
    out: TextIO = sys.stdout,
    **execute: Any,
) -> dg.ExecuteInProcessResult:
    """Execute ``job`` (``execute``: the arguments of ``execute_in_process``) printing only
    stage lines, and dbt progress on a terminal."""
    progress = DbtProgress(out, interactive=tty(out))
    reporter = StageReporter(stages, out, time.monotonic, before_print=progress.clear)
    quiet = job.with_logger_defs({"ledger_stages": reporter_logger(reporter)})
    with redirect_stdout(progress):
        result = quiet.execute_in_process(
            run_config={"loggers": {"ledger_stages": {}}}, raise_on_error=False, **execute
        )
    progress.clear()
    reporter.finish()
    return result


def print_lines(lines: Iterable[str], out: TextIO = sys.stdout) -> None:
    for line in lines:
        print(line, file=out)
