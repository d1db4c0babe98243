"""Scale: the batched fct_shipments suite on 10 M rows counts every failing row exactly once.

Memory and time at this size are the bench's business (`make bench`, peak_rss_gib); this test
checks only that splitting the table into GX batches loses and doubles nothing.
"""

from pathlib import Path

import duckdb
import pytest

from orchestration.quality.gx import validate_table

ROWS = 10_000_000
BAD_EVERY = 1000  # one container in a thousand breaks ISO 6346


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
    with duckdb.connect(str(db), read_only=True) as con:
        summary = validate_table(con, "fct_shipments", "fct_shipments")
    assert summary.rows == ROWS
    assert summary.batches > 1, "10 M rows must be validated in more than one batch"
    assert [(f.expectation, f.columns, f.unexpected_count) for f in summary.failures] == [
        ("expect_column_values_to_match_regex", "container_no", ROWS // BAD_EVERY)
    ]
