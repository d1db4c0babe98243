"""Scale: the fct_shipments suite on 10 M rows stays inside a memory budget.

Runs the validation in a child process so its peak RSS is measured alone (ru_maxrss of children).
"""

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

ROWS = 10_000_000
BAD_EVERY = 1000  # one container in a thousand breaks ISO 6346

CHILD = """
import json, sys, duckdb
from orchestration.quality.gx import validate_table
with duckdb.connect(sys.argv[1], read_only=True) as con:
    con.execute("set enable_progress_bar = false")
    s = validate_table(con, "fct_shipments", "fct_shipments")
print(json.dumps({"seconds": s.seconds, "batches": s.batches, "rows": s.rows,
                  "failures": [f.as_dict() for f in s.failures]}))
"""


@pytest.mark.slow
def test_fct_shipments_suite_on_10m_rows(tmp_path: Path) -> None:
    db = tmp_path / "big.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(
            """
            create table fct_shipments as
            select
                'SHP' || i as shipment_id,
                'WB' || i as waybill_no,
                date '2023-08-01' + (i % 180)::int as dispatch_date,
                '986808' as origin_station_code,
                '515202' as destination_station_code,
                '986808-515202' as route_id,
                '481203' as cargo_code,
                i % 3 = 0 as is_explosive,
                true as is_synthetic,
                case when i % ? = 7 then 'BAD' || i else 'MSCU' || lpad(i::varchar, 7, '0') end
                    as container_no,
                18.0 + (i % 1000) / 1000 as gross_cargo_tonnes,
                1 as versions_count
            from range(?) t(i)
            """,
            [BAD_EVERY, ROWS],
        )
    started = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(db)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
    out = json.loads(child.stdout.strip().splitlines()[-1])
    print(
        f"\n10M rows x fct_shipments: validate {out['seconds']:.1f} s, process {wall:.1f} s, "
        f"{cpu:.1f} s CPU, {out['batches']} GX batches, peak RSS {peak_mb:.0f} MB"
    )
    assert out["rows"] == ROWS
    assert [(f["expectation"], f["columns"], f["unexpected_count"]) for f in out["failures"]] == [
        ("expect_column_values_to_match_regex", "container_no", ROWS // BAD_EVERY)
    ]
    assert peak_mb < 2048
