"""Property: whatever mess a manifest file holds, every data row is accounted for exactly once."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.defs.resources import LedgerResource
from orchestration.ingest.loader import ingest_source
from orchestration.ingest.registry import conservation_problems
from orchestration.ingest.table_source import MANIFESTS
from orchestration.iso6346 import check_digit

CONTAINER = f"MSCU123456{check_digit('MSCU123456')}"
ROW_REASONS = {
    "unparseable_date",
    "date_out_of_range",
    "unknown_unit",
    "invalid_weight",
    "bad_container_check_digit",
    "unknown_station",
    "station_code_name_conflict",
    "missing_required_field",
    "malformed_row",
    "encoding_error",
}
HEADERS = {
    "waybill_no": ["waybill_no", "Waybill", "Номер накладной"],
    "dispatch_date": ["dispatch_date", "DATE", "Дата отправления"],
    "origin_station_code": ["origin_station_code", "Origin Code"],
    "origin_station": ["origin_station", "Станция отправления"],
    "destination_station": ["destination_station", "Destination"],
    "cargo_code": ["cargo_code", "Код груза"],
    "gross_weight": ["gross_weight", "Вес брутто", "weight"],
    "weight_unit": ["weight_unit", "Unit"],
    "container_no": ["container_no", "Container"],
    "shipper": ["shipper", "Грузоотправитель"],
}
VALUES = {
    "waybill_no": ["W1", "W2", "", " W3 "],
    "dispatch_date": [
        "2023-08-01",
        "01.08.2023",
        "15/09/2023",
        "2023-13-01",
        "x",
        "1999-01-01",
        "",
    ],
    "origin_station_code": ["986808", "", "999999"],
    "origin_station": ["Дунай", "Dunai", "", "Atlantis"],
    "destination_station": ["Тихорецк", "Kotluban", "", "Атлантида"],
    "cargo_code": ["481203", ""],
    "gross_weight": [
        "18500",
        "18,5",
        "18.5 t",
        "18 500 kg",
        "0",
        "-5",
        "abc",
        "18.5 cwt",
        "1e9",
        "",
    ],
    "weight_unit": ["kg", "t", "т", "lb", ""],
    "container_no": [CONTAINER, CONTAINER[:-1] + "0", "", "XYZ"],
    "shipper": ["a,b", 'quote "x"', "line\nbreak", "semi;colon", "pipe|", "tab\there", "Ёж", ""],
}
COLUMNS = list(VALUES)


@st.composite
def messy_file(draw: st.DrawFn) -> tuple[bytes, int, set[int]]:
    """A CSV in a random dialect (aliases, encodings, BOM, CRLF, ragged and invalid rows), the
    number of data records in it (blank lines are layout, not records) and the row numbers of
    the records with the wrong number of fields."""
    separator = draw(st.sampled_from([",", ";", "\t", "|"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1251"]))
    header = [draw(st.sampled_from(HEADERS[c])) for c in COLUMNS]
    rows = draw(
        st.lists(
            st.tuples(
                st.tuples(*(st.sampled_from(VALUES[c]) for c in COLUMNS)),
                st.sampled_from(["ok", "ok", "ok", "extra", "short", "blank", "repeat"]),
                st.integers(min_value=1, max_value=len(COLUMNS) - 1),
            ),
            min_size=1,
            max_size=40,
        )
    )
    out = io.StringIO()
    writer = csv.writer(
        out, delimiter=separator, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))
    )
    writer.writerow(header)
    previous: list[str] = list(rows[0][0])
    records, ragged = 0, set()
    for number, (values, shape, kept) in enumerate(rows, start=1):
        record = list(values)
        if shape == "extra":
            record += ["surplus", "fields"]
        elif shape == "short":
            record = record[:kept]
        elif shape == "blank":
            record = [""] * len(COLUMNS)
        elif shape == "repeat":
            record = previous
        writer.writerow(record)
        records += any(v.strip() for v in record)
        if len(record) != len(COLUMNS) and any(v.strip() for v in record):
            ragged.add(number)
        previous = record
    data = out.getvalue().encode(encoding)
    if encoding == "utf-8" and draw(st.booleans()):
        data = data.replace("Ёж".encode(), b"\xff\xfe", 1)  # invalid UTF-8 in one row
    return data, records, ragged


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messy_file())
def test_random_mess_conserves_rows_and_explains_every_quarantined_row(
    case: tuple[bytes, int, set[int]],
) -> None:
    data, records, ragged = case
    with tempfile.TemporaryDirectory() as home:
        ledger = LedgerResource(home=home)
        name = "manifests/mess 'x'; ü.csv"
        target = Path(home) / "data" / "raw" / name
        target.parent.mkdir(parents=True)
        target.write_bytes(data)

        (outcome,) = ingest_source(ledger, MANIFESTS, log=lambda _: None, warn=lambda _: None)

        with duckdb.connect(str(ledger.paths.staging_db)) as con:
            assert conservation_problems(con, "manifests", "raw.manifests") == []
            stored = con.execute("select count(*) from raw.manifests").fetchone()[0]
            quarantine = con.execute(
                "select source_row, reason_code, message from raw.quarantine"
                " where source_row is not null"
            ).fetchall()
    if records == 0:
        assert (outcome.status, outcome.reason_code) == ("rejected", "header_only")
        return
    assert outcome.status == "loaded"
    assert (
        outcome.rows_read
        == records
        == (outcome.rows_accepted + outcome.rows_quarantined + outcome.rows_duplicate)
    )
    assert (stored, len(quarantine)) == (outcome.rows_accepted, outcome.rows_quarantined)
    for source_row, reason, message in quarantine:
        assert reason in ROW_REASONS
        assert message.startswith(f"{name} row {source_row}")
    # Too few or too many fields is malformed_row unless the bytes are bad (checked first).
    shape = {row: reason for row, reason, _ in quarantine if row in ragged}
    assert set(shape) == ragged
    assert set(shape.values()) <= {"malformed_row", "encoding_error"}
    assert {row for row, reason, _ in quarantine if reason == "malformed_row"} <= ragged


INNER_QUOTES = ['5" shells', 'Shells 5"', 'a"b']  # quotes that do not open a field
OPENING_QUOTES = ['"x', '"x"y', '"a,b"', '""', '"q"']


@st.composite
def quote_mess(draw: st.DrawFn) -> tuple[str, int, bool]:
    """A CSV written by hand (no csv module): fields with stray, unclosed and proper quotes.

    Returns the text, the number of data lines and whether any field starts with a quote.
    """
    tokens = draw(st.sampled_from([INNER_QUOTES, INNER_QUOTES + OPENING_QUOTES]))
    lines = [",".join(COLUMNS)]
    for _ in range(draw(st.integers(min_value=1, max_value=25))):
        values = [draw(st.sampled_from(VALUES[c][:1])) for c in COLUMNS]
        values[COLUMNS.index("shipper")] = draw(st.sampled_from(tokens))
        if draw(st.booleans()):
            values[COLUMNS.index("waybill_no")] = draw(st.sampled_from(tokens))
        lines.append(",".join(values))
    return "\n".join(lines) + "\n", len(lines) - 1, tokens != INNER_QUOTES


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(quote_mess())
def test_any_quote_mess_loads_conserves_rows_and_never_rejects_the_file(
    case: tuple[str, int, bool],
) -> None:
    text, lines, opening = case
    with tempfile.TemporaryDirectory() as home:
        ledger = LedgerResource(home=home)
        target = Path(home) / "data" / "raw" / "manifests" / "quotes.csv"
        target.parent.mkdir(parents=True)
        target.write_text(text)

        (outcome,) = ingest_source(ledger, MANIFESTS, log=lambda _: None, warn=lambda _: None)

        with duckdb.connect(str(ledger.paths.staging_db)) as con:
            assert conservation_problems(con, "manifests", "raw.manifests") == []
            reasons = [
                r for (r,) in con.execute("select reason_code from raw.quarantine").fetchall()
            ]
            shippers = [s for (s,) in con.execute("select shipper from raw.manifests").fetchall()]
    assert outcome.status == "loaded"
    assert set(reasons) <= ROW_REASONS
    # A record can only swallow lines (a quoted line break), never split one.
    assert 1 <= outcome.rows_read <= lines
    if not opening:  # quotes inside fields are characters: every line is one record, as typed
        assert outcome.rows_read == lines
        assert "malformed_row" not in reasons
        assert set(shippers) <= set(INNER_QUOTES)
