"""What a BI user sees in the published file of the sample run: comments on every table and
column, the headline figure, and the README's sample outputs, run for real."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from orchestration.paths import PROJECT_ROOT

MARKER = "<!-- output: checked by tests/test_published_file.py -->"
LEDGER = Path(sys.executable).with_name("ledger")


@pytest.fixture(scope="module")
def served(pipeline_run: dict) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(pipeline_run["paths"].serving_db), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def sample_home(pipeline_run: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's sample run, copied to a home of this module's own (read by subprocesses)."""
    home = tmp_path_factory.mktemp("readme") / "home"
    shutil.copytree(
        pipeline_run["paths"].home, home, ignore=shutil.ignore_patterns("dagster"), symlinks=True
    )
    return home


def test_every_published_table_and_column_has_a_comment(served) -> None:
    tables = served.execute(
        "select table_name, coalesce(trim(comment), '') from duckdb_tables() "
        "where database_name = current_database() union all "
        "select view_name, coalesce(trim(comment), '') from duckdb_views() "
        "where database_name = current_database() and not internal order by 1"
    ).fetchall()
    assert {"fct_claim_evidence", "fct_voyages", "ledger_versions", "quarantine"} <= {
        t for t, _ in tables
    }
    assert [t for t, comment in tables if not comment] == []
    columns = served.execute(
        "select table_name || '.' || column_name from duckdb_columns() "
        "where database_name = current_database() and coalesce(trim(comment), '') = ''"
    ).fetchall()
    assert columns == []
    assert served.execute(
        "select comment from duckdb_columns() where table_name = 'fct_shipments' "
        "and column_name = 'gross_cargo_tonnes'"
    ).fetchone() == (
        "Declared gross cargo weight in tonnes (the manifest's gross weight - cargo and "
        "packaging, no wagon tare).",
    )


def test_evidence_view_reads_the_tables_of_its_own_file(pipeline_run: dict) -> None:
    """fct_claim_evidence is a view: opened as another catalog (time travel, diff, a BI tool
    attaching several files) it must still read its own version's tables, and its rows are the
    reconciliation's evidence_rows."""
    version_file = sorted(pipeline_run["paths"].versions_dir.glob("v*.duckdb"))[-1]
    con = duckdb.connect()
    con.execute(f"attach '{version_file}' as some_version (read_only)")
    per_claim = con.execute(
        "select r.claim_id, r.evidence_rows, count(e.claim_id) "
        "from some_version.main.fct_claim_reconciliation r "
        "left join some_version.main.fct_claim_evidence e using (claim_id) group by all"
    ).fetchall()
    con.close()
    assert per_claim
    assert [(c, want) for c, want, got in per_claim if want != got] == []
    assert sum(got for _, _, got in per_claim) > 0


def test_served_file_keeps_its_small_tables_in_small_blocks(pipeline_run: dict, served) -> None:
    """The served file (a version file plus the registry) is ~1 MiB, not 11 blocks of 256 KiB:
    a version that adds a day must not cost more than the day's own Parquet parts."""
    from orchestration.publish.files import VERSION_BLOCK_SIZE

    ((block_size, blocks),) = served.execute(
        "select block_size, total_blocks from pragma_database_size()"
    ).fetchall()
    assert block_size == VERSION_BLOCK_SIZE
    assert pipeline_run["paths"].serving_db.stat().st_size <= (blocks + 1) * block_size < 2**21


def test_headline_rounds_are_the_sum_over_the_summable_table(served) -> None:
    """Every rounds claim's central figure is sum(rounds_central) of fct_munitions_equivalent
    over the shipments dispatched in its period, and its evidence rows are those shipments."""
    rounds_claims = served.execute(
        "select claim_id, period_start, period_end, computed_central, evidence_rows "
        "from fct_claim_reconciliation where metric = 'rounds' and computed_central is not null"
    ).fetchall()
    assert rounds_claims
    for claim_id, start, end, central, evidence_rows in rounds_claims:
        summed, shipments = served.execute(
            "select sum(rounds_central), count(*) from fct_munitions_equivalent "
            "where dispatch_date between ? and ?",
            [start, end],
        ).fetchone()
        assert central == pytest.approx(summed, rel=1e-12), claim_id
        assert evidence_rows == shipments, claim_id
        via_evidence = served.execute(
            "select sum(m.rounds_central) from fct_claim_evidence e "
            "join fct_munitions_equivalent m using (waybill_no) where e.claim_id = ?",
            [claim_id],
        ).fetchone()[0]
        assert via_evidence == pytest.approx(central, rel=1e-12), claim_id


def readme_outputs() -> list[tuple[str, str]]:
    """(command, output) of every ``$ ledger ...`` in the README's blocks after MARKER."""
    text = (PROJECT_ROOT / "README.md").read_text()
    blocks = re.findall(re.escape(MARKER) + r"\n```text\n(.*?)```", text, flags=re.S)
    pairs: list[tuple[str, str]] = []
    for block in blocks:
        lines = block.splitlines(keepends=True)
        i = 0
        while i < len(lines):
            assert lines[i].startswith("$ ledger "), f"README block must start a command: {block}"
            command = lines[i][2:].rstrip("\n")
            i += 1
            while not _complete(command):  # a quoted SQL statement goes on over several lines
                command += "\n" + lines[i].rstrip("\n")
                i += 1
            output = []
            while i < len(lines) and not lines[i].startswith("$ "):
                output.append(lines[i])
                i += 1
            pairs.append((command, "".join(output)))
    return pairs


def _complete(command: str) -> bool:
    try:
        shlex.split(command)
    except ValueError:
        return False
    return True


def test_readme_marks_the_outputs_it_shows() -> None:
    commands = [c for c, _ in readme_outputs()]
    assert any("agg_monthly_flows" in c for c in commands)
    assert any("fct_claim_reconciliation" in c for c in commands)
    assert any("from quarantine" in c for c in commands)


@pytest.mark.parametrize(("command", "expected"), readme_outputs(), ids=lambda v: v[:60])
def test_readme_output_is_what_the_command_prints(
    sample_home: Path, command: str, expected: str
) -> None:
    env = {**os.environ, "LEDGER_HOME": str(sample_home)}
    env.pop("LEDGER_SERVING_DB", None)
    argv = shlex.split(command)
    done = subprocess.run(
        [str(LEDGER), *argv[1:]], cwd=sample_home, env=env, capture_output=True, text=True
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == expected
