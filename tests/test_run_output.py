"""What `ledger run` prints by default: a stage line each, a line per file read, what changed."""

from __future__ import annotations

import io
import re

import pytest
from dagster import AssetKey

from orchestration.cli import build_parser
from orchestration.defs.dbt.assets import (
    ledger_dbt_assets,
    monthly_dbt_assets,
    reference_dbt_assets,
)
from orchestration.defs.ingest.assets import ingest_checks
from orchestration.defs.quality.checks import SUITES, quality_checks
from orchestration.publish.store import VersionStore
from orchestration.run_output import TOP_REASONS, DbtProgress, change_lines, file_line
from tests.conftest import SHORTENED_MANIFEST, file_counts

MAX_LINES = 30
# row conservation and files readable for each source, and the GX suites on raw tables
INGEST_CHECKS = len(ingest_checks) + sum(key.parts[0] == "raw" for key in SUITES)
MANIFESTS = AssetKey(["raw", "manifests"])
MANIFEST_CHECKS = sum(c.asset_key == MANIFESTS for d in ingest_checks for c in d.check_keys) + (
    MANIFESTS in SUITES
)
SECONDS = r"\(\d+\.\ds\)"


def na(value: int | None) -> str:
    """How the run output shows a changed count: n/a for a table diffed without a key."""
    return "n/a" if value is None else str(value)


def assert_file_lines(lines: list[str], expected: dict[str, tuple[int, int, set[str]]]) -> None:
    file_lines = [line for line in lines if line.startswith("  ") and ": " in line]
    assert len(file_lines) == len(expected)
    for line in file_lines:
        name, rest = line.strip().split(": ", 1)
        accepted, quarantined, reasons = expected[name]
        assert rest.startswith(f"{accepted} loaded, {quarantined} quarantined"), line
        shown = re.findall(r"(\w+) \d+", rest.split("(", 1)[1]) if "(" in rest else []
        assert set(shown) <= reasons and len(shown) == min(TOP_REASONS, len(reasons)), line


@pytest.mark.slow
def test_first_run_prints_stages_files_and_where_the_result_is(sample_cli_runs: dict) -> None:
    paths, run = sample_cli_runs["paths"], sample_cli_runs["runs"][0]
    assert "\x1b[" not in run.stdout + run.stderr, "no colour codes into a pipe"
    lines = run.stdout.splitlines()
    assert len(lines) <= MAX_LINES, run.stdout
    files = sorted(f"{p.parent.name}/{p.name}" for p in paths.raw_dir.glob("*/*.*"))
    stage_lines = [line for line in lines if not line.startswith(" ")]
    loaded = sample_cli_runs["loaded_first"]
    accepted, quarantined = (sum(counts[i] for counts in loaded.values()) for i in (0, 1))
    assert re.fullmatch(
        rf"ingest    {len(files)} files read, 0 unchanged; {accepted} rows loaded; "
        rf"{quarantined} quarantined; "
        rf"{INGEST_CHECKS}/{INGEST_CHECKS} checks passed {SECONDS}",
        stage_lines[0],
    )
    dbt = (reference_dbt_assets, monthly_dbt_assets, ledger_dbt_assets)
    dbt_nodes = sum(len(a.keys) for a in dbt)
    dbt_checks = sum(len(a.check_keys) for a in dbt)
    assert re.fullmatch(
        rf"build     {dbt_nodes} dbt models, seeds and snapshots; \d{{3}} dbt data tests; "
        rf"{dbt_checks}/{dbt_checks} checks passed {SECONDS}",
        stage_lines[1],
    )
    gx_marts = len(quality_checks) - sum(key.parts[0] == "raw" for key in SUITES)
    assert re.fullmatch(rf"audit     {gx_marts}/{gx_marts} checks passed {SECONDS}", stage_lines[2])
    assert re.fullmatch(rf"publish   v0001 published, evidence_report {SECONDS}", stage_lines[3])
    assert stage_lines[4:] == [
        f"v0001 published: served at {paths.serving_db}",
        "changes: first version, nothing to compare with",
        "next:",
    ]
    assert lines[-3:] == [
        '  ledger query "select * from agg_monthly_flows"',
        "  ledger show v0001",
        "  ledger ui                 (the run's events)",
    ]
    assert_file_lines(lines[1 : 1 + len(files)], sample_cli_runs["loaded_first"])


@pytest.mark.slow
def test_a_run_after_a_full_build_does_not_parse_the_dbt_project_again(
    sample_cli_runs: dict,
) -> None:
    """Full and incremental builds pass dbt the same vars, so each dbt step of the second run
    starts from the first run's parse (a whole parse is ~8 s per step)."""
    notes = sample_cli_runs["second_parse_notes"]
    # the monthly step and the rest: the seeds' step is left out, the code being the same
    assert sorted(n.split("-")[0] for n in notes) == ["ledger_dbt_assets", "monthly_dbt_assets"]
    assert not any("Unable to do partial parsing" in line for n in notes.values() for line in n)


@pytest.mark.slow
def test_second_run_prints_the_file_it_read_and_what_changed(sample_cli_runs: dict) -> None:
    paths, run = sample_cli_runs["paths"], sample_cli_runs["runs"][1]
    assert "\x1b[" not in run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) <= MAX_LINES, run.stdout
    # only the manifests changed: the voyages and reports are not read again, nor checked
    unchanged = len(list((paths.raw_dir / "manifests").iterdir())) - 1
    assert re.fullmatch(
        rf"ingest    1 files read, {unchanged} unchanged; \d+ rows loaded; \d+ quarantined; "
        rf"{MANIFEST_CHECKS}/{MANIFEST_CHECKS} checks passed {SECONDS}",
        lines[0],
    )
    assert "ledger run: ingest manifests; no change in voyages, reports" in run.stderr
    reread = file_counts(paths)[SHORTENED_MANIFEST]
    assert reread[0] < sample_cli_runs["loaded_first"][SHORTENED_MANIFEST][0]
    assert_file_lines(lines[1:2], {SHORTENED_MANIFEST: reread})

    diff = VersionStore(paths).diff(1, 2)["tables"]
    changed = {
        name: d for name, d in diff.items() if any(d[k] for k in ("added", "removed", "changed"))
    }
    assert changed["fct_shipments"]["removed"] > 0
    width = max(map(len, changed))
    start = lines.index(f"v0002 published: served at {paths.serving_db}")
    assert lines[start + 1 :] == [
        "changes since v0001 (rows added / removed / changed):",
        *(
            f"  {name:<{width}}  +{d['added']} -{d['removed']} ~{na(d['changed'])}"
            for name, d in sorted(changed.items())
        ),
        "next:",
        '  ledger query "select * from agg_monthly_flows"',
        "  ledger diff v0001 v0002",
        "  ledger show v0002",
        "  ledger ui                 (the run's events)",
    ]


def test_a_file_line_names_counts_and_top_reasons() -> None:
    outcome = {
        "file": "manifests/a.csv",
        "status": "loaded",
        "accepted": 10,
        "quarantined": 7,
        "duplicates": 1,
        "reasons": {"unknown_station": 4, "invalid_weight": 2, "bad_date": 1, "other": 0},
        "message": None,
    }
    assert file_line(outcome) == (
        "  manifests/a.csv: 10 loaded, 7 quarantined "
        "(unknown_station 4, invalid_weight 2, bad_date 1), 1 exact duplicates dropped"
    )
    rejected = {**outcome, "status": "rejected", "message": "manifests/a.csv: empty file"}
    assert file_line(rejected) == "  manifests/a.csv: rejected, manifests/a.csv: empty file"


def test_change_lines() -> None:
    assert change_lines(None) == ["changes: first version, nothing to compare with"]
    assert change_lines({"from_version": 3, "tables": {}}) == [
        "changes since v0003: no table changed"
    ]
    tables = {
        "quarantine": {"added": 1, "removed": 3, "changed": None},
        "agg_monthly_flows": {"added": 0, "removed": 0, "changed": 2},
    }
    assert change_lines({"from_version": 3, "tables": tables}) == [
        "changes since v0003 (rows added / removed / changed):",
        "  agg_monthly_flows  +0 -0 ~2",
        "  quarantine         +1 -3 ~n/a",
    ]


def test_verbose_is_an_option_of_run() -> None:
    args = build_parser().parse_args(["run", "--verbose"])
    assert args.verbose and not build_parser().parse_args(["run"]).verbose


def test_dbt_progress_shows_on_a_terminal_only() -> None:
    echoed = "1 of 435 START sql view model staging.stg_raw__voyages\n12 of 435 PASS not_null_x\n"
    terminal = io.StringIO()
    progress = DbtProgress(terminal, interactive=True)
    progress.write(echoed)
    progress.clear()
    assert terminal.getvalue() == "\r  dbt build 12/435\r\x1b[2K"
    piped = io.StringIO()
    DbtProgress(piped, interactive=False).write(echoed)
    assert piped.getvalue() == ""
