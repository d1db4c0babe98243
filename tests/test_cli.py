"""`ledger` command-line behaviour that needs no pipeline: input checks of `run`, help texts."""

from __future__ import annotations

import re
import shlex

import duckdb
import pytest

from orchestration.cli import build_parser, main
from orchestration.paths import PROJECT_ROOT, LedgerPaths
from orchestration.publish.registry import parse_version_id

WHERE = (
    "put manifests in data/raw/manifests/, voyages in data/raw/voyages/, "
    "reports in data/raw/reports/"
)


def no_input(raw: str) -> str:
    return (
        f"ledger run: no input files in {raw}/{{manifests,voyages,reports}}. Generate the "
        "synthetic sample with 'ledger generate', or drop manifests (csv/tsv/jsonl/parquet) in "
        f"{raw}/manifests, voyage CSVs in {raw}/voyages and reports (.md) in {raw}/reports.\n"
    )


def test_run_without_input_says_how_to_get_some(
    ledger_home: LedgerPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    (ledger_home.raw_dir / "manifests").mkdir()  # an empty folder is no input either
    assert main(["run"]) == 2
    assert capsys.readouterr() == ("", no_input(str(ledger_home.raw_dir)))


def test_run_warns_about_files_it_does_not_read(
    ledger_home: LedgerPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = ledger_home.raw_dir
    (raw / "manifest.csv").write_text("waybill_no\n1\n")
    (raw / "manifest").mkdir()
    (raw / "manifest" / "jan.csv").write_text("waybill_no\n1\n")
    (raw / "GENERATED.json").write_text("{}")  # the generator's summary: not an input
    (raw / ".DS_Store").write_bytes(b"\0")
    (raw / ".git").mkdir()
    (raw / ".git" / "HEAD").write_text("ref")
    assert main(["run"]) == 2
    assert capsys.readouterr().err == (
        f"WARNING data/raw/manifest.csv is not read: {WHERE}\n"
        f"WARNING data/raw/manifest/jan.csv is not read: {WHERE}\n" + no_input(str(raw))
    )


def test_many_unread_files_are_summed_up(
    ledger_home: LedgerPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    old = ledger_home.raw_dir / "old"
    old.mkdir()
    for n in range(25):
        (old / f"{n:02d}.csv").write_text("x\n")
    assert main(["run"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"WARNING data/raw/old/00.csv is not read: {WHERE}"
    assert lines[19] == f"WARNING data/raw/old/19.csv is not read: {WHERE}"
    assert lines[20] == "WARNING and 5 more files outside those folders are not read"
    assert lines[21].startswith("ledger run: no input files in ")


def test_docs_help_says_what_and_where(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["docs", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    description = out.split("\n\n")[1]
    assert " ".join(description.split()) == (
        "Print where the docs that `ledger run` builds are, and whether they exist yet: dbt "
        "docs (every model and column, lineage, exposures) in data/warehouse/docs/dbt/"
        "index.html, GX Data Docs (validation results of every suite) in data/warehouse/docs/"
        "gx/index.html, and the evidence report of each published version in data/warehouse/"
        "reports/<version>/index.html (all under $LEDGER_HOME). With --serve, serve them "
        "over HTTP on 127.0.0.1 only, until Ctrl-C: a landing page at http://127.0.0.1:8080/ "
        "links the dbt docs, the GX Data Docs and each version's report; nothing else of "
        "data/warehouse/ is served (--port to change 8080; 0 picks a free port)."
    )
    assert "  --serve      serve them on http://127.0.0.1:PORT/ (localhost)" in out


def readme_commands() -> list[str]:
    """Every `ledger ...` command the README shows: inline code and lines of its code blocks."""
    text = (PROJECT_ROOT / "README.md").read_text()
    commands = re.findall(r"`(ledger [^`]*)`", text)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(?:\$ |\.venv/bin/)(ledger .*)", line)
        if not m:
            continue
        command = m.group(1)
        for more in lines[i + 1 :]:  # a quoted SQL statement may go on over several lines
            try:
                shlex.split(command, comments=True)
                break
            except ValueError:
                command += "\n" + more
        commands.append(command)
    return commands


def test_readme_commands_run_as_written() -> None:
    """Copied literally, every README command parses: real versions and numbers, no N or V."""
    commands = readme_commands()
    assert "ledger gc --keep 5" in commands
    assert any(c.startswith("ledger query --version v0001 ") for c in commands)
    parser = build_parser()
    for command in commands:
        argv = shlex.split(command, comments=True)[1:]
        placeholders = [a for a in argv if re.fullmatch(r"[A-Z][A-Z0-9_.]*|v?N+", a)]
        assert not placeholders, f"{command!r} has placeholders {placeholders}"
        try:
            args = parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"README command does not parse: {command!r}")
        for name in ("version", "v1", "v2"):
            if isinstance(getattr(args, name, None), str):
                parse_version_id(getattr(args, name))
        if args.command == "query":
            assert duckdb.extract_statements(args.sql), command
