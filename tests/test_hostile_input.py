"""Hostile input: odd file names stay data, junk is rejected by name, a huge field stays bounded.

Complements test_ingest.py (reason codes, dialects, duplicates by sha256, a 20 MB field) with
what it leaves open: names that look like SQL or paths, exact rejection messages, header-only
files in every format, and the peak memory of a file with one absurdly long field. Long because
the cases are many and each is a few lines; they share the helpers at the top.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from orchestration.defs.resources import LedgerResource
from orchestration.ingest.loader import ingest_source
from orchestration.ingest.readers import delimited, encoding, long_lines
from orchestration.ingest.table_source import MANIFESTS
from orchestration.paths import PROJECT_ROOT, LedgerPaths
from tests.test_ingest import HEADER, query, row, write

CANONICAL = HEADER.split(",")
# Runs one ingest in a fresh process so its peak RSS is the ingest's alone. VmHWM, not
# ru_maxrss: Linux carries ru_maxrss across fork+exec, so a child of a big pytest process would
# report the parent's peak; VmHWM belongs to this process image only.
INGEST_ONE = """
import json, re, sys
from pathlib import Path
from orchestration.ingest.loader import ingest_source
from orchestration.ingest.table_source import MANIFESTS
from orchestration.defs.resources import LedgerResource

outcomes = ingest_source(LedgerResource(home=sys.argv[1]), MANIFESTS, log=print, warn=print)
status = Path("/proc/self/status").read_text()
peak_mb = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) / 1024
summary = [[o.status, o.rows_read, o.rows_accepted, o.rows_quarantined] for o in outcomes]
print(json.dumps({"peak_mb": peak_mb, "outcomes": summary}))
"""


def ingest(paths: LedgerPaths) -> dict[str, tuple]:
    outcomes = ingest_source(LedgerResource(home=str(paths.home)), MANIFESTS, print, print)
    return {
        o.source_file: (
            o.status,
            o.reason_code,
            o.rows_read,
            o.rows_accepted,
            o.rows_quarantined,
            o.rows_duplicate,
        )
        for o in outcomes
    }


def test_file_names_with_quotes_semicolons_dots_and_unicode_are_data(
    ledger_home: LedgerPaths,
) -> None:
    names = [
        'manifests/it\'s "q"; drop table raw.manifests; --.csv',
        "manifests/etc..%2F..%2Fpasswd.csv",
        "manifests/x..y .. z.csv",
        "manifests/sub dir/Вагон №1 – 北京 ü.csv",
        "manifests/') or 1=1; select * from raw.quarantine --.csv",
    ]
    for i, name in enumerate(names):
        bad = row(f"Q{i}", dispatch_date="31.02.2023")  # one unparseable date per file
        write(ledger_home, name, f"{HEADER}\n{row(f'W{i}')}\n{bad}\n{row(f'W{i}')}\n")
    # a leading dot hides a file (editor and OS droppings), whatever follows it
    write(ledger_home, "manifests/../manifests/..hidden.csv", f"{HEADER}\n{row('H1')}\n")

    outcomes = ingest(ledger_home)

    assert outcomes == dict.fromkeys(names, ("loaded", None, 3, 1, 1, 1))
    assert query(
        ledger_home, "select source_file, waybill_no, source_row from raw.manifests order by 2"
    ) == [(name, f"W{i}", 1) for i, name in enumerate(names)]
    assert query(
        ledger_home,
        "select source_file, source_row, field, reason_code from raw.quarantine order by 1",
    ) == sorted((name, 2, "dispatch_date", "unparseable_date") for name in names)
    messages = [m for (m,) in query(ledger_home, "select message from raw.quarantine")]
    assert sorted(m.split(": ", 1)[0] for m in messages) == sorted(
        f"{name} row 2, field 'dispatch_date'" for name in names
    )
    assert query(ledger_home, "select count(*) from raw.file_registry") == [(5,)]


def test_junk_and_damaged_files_are_rejected_with_a_message_naming_the_file(
    ledger_home: LedgerPaths, tmp_path: Path
) -> None:
    whole = tmp_path / "whole.parquet"
    pl.DataFrame({c: [f"{c}-{i}" for i in range(20_000)] for c in CANONICAL}).write_parquet(
        whole, compression="uncompressed"
    )
    data = whole.read_bytes()
    write(ledger_home, "manifests/junk; 'x'.jsonl", bytes(range(256)) * 40)
    write(ledger_home, "manifests/noise.parquet", os.urandom(5000))
    write(ledger_home, "manifests/truncated.parquet", data[: len(data) // 2])
    # footer intact, data pages overwritten: fails only while the rows are read
    middle = len(data) // 2
    write(
        ledger_home,
        "manifests/torn.parquet",
        data[:100] + b"\xff" * (middle - 100) + data[middle:],
    )
    write(ledger_home, "manifests/ok.csv", f"{HEADER}\n{row('W1')}\n")

    outcomes = ingest(ledger_home)

    rejected = ("rejected", "unreadable_file", 0, 0, 0, 0)
    assert outcomes == {
        "manifests/junk; 'x'.jsonl": rejected,
        "manifests/noise.parquet": rejected,
        "manifests/ok.csv": ("loaded", None, 1, 1, 0, 0),
        "manifests/torn.parquet": rejected,
        "manifests/truncated.parquet": rejected,
    }
    messages = dict(
        query(
            ledger_home,
            "select source_file, message from raw.quarantine where source_row is null",
        )
    )
    not_parquet = (
        "not a readable parquet file"
        " (parquet: File out of specification: The file must end with PAR1)"
    )
    junk = "manifests/junk; 'x'.jsonl"
    assert messages == {
        junk: f"{junk}: binary content (NUL bytes), not text",
        "manifests/noise.parquet": f"manifests/noise.parquet: {not_parquet}",
        "manifests/truncated.parquet": f"manifests/truncated.parquet: {not_parquet}",
        "manifests/torn.parquet": messages["manifests/torn.parquet"],
    }
    assert messages["manifests/torn.parquet"].startswith("manifests/torn.parquet: cannot be read (")
    assert query(ledger_home, "select waybill_no from raw.manifests") == [("W1",)]


def test_header_only_files_in_every_format_are_rejected_listing_the_header(
    ledger_home: LedgerPaths,
) -> None:
    write(ledger_home, "manifests/bom_crlf.csv", f"\ufeff{HEADER}\r\n\r\n")
    write(ledger_home, "manifests/tab.tsv", HEADER.replace(",", "\t"))
    pl.DataFrame({c: pl.Series([], dtype=pl.String) for c in CANONICAL}).write_parquet(
        ledger_home.raw_dir / "manifests" / "zero_rows.parquet"
    )

    outcomes = ingest(ledger_home)

    assert set(outcomes.values()) == {("rejected", "header_only", 0, 0, 0, 0)}
    assert len(outcomes) == 3
    messages = query(ledger_home, "select source_file, message from raw.file_registry order by 1")
    header = str(CANONICAL)[:79] + "…"  # at most 80 characters of a file are quoted
    assert messages == [
        (name, f"{name}: a header but no data rows ({header})") for name in sorted(outcomes)
    ]


def test_missing_required_columns_message_lists_found_and_expected(
    ledger_home: LedgerPaths,
) -> None:
    write(
        ledger_home, "manifests/few.csv", "Номер накладной;dispatch_date;weight;colour\nX;1;2;3\n"
    )

    assert ingest(ledger_home) == {
        "manifests/few.csv": ("rejected", "missing_required_columns", 0, 0, 0, 0)
    }
    assert query(ledger_home, "select message from raw.file_registry") == [
        (
            "manifests/few.csv: missing required columns ['origin_station_code or"
            " origin_station', 'destination_station_code or destination_station',"
            " 'cargo_code']; found columns ['Номер накладной', 'dispatch_date', 'weight',"
            f" 'colour']; expected {CANONICAL} (or a known alias)",
        )
    ]


def test_same_hostile_content_under_two_odd_names_is_ingested_once(
    ledger_home: LedgerPaths,
) -> None:
    content = f"{HEADER}\n{row('W1')}\n{row('W2', gross_weight='heavy')}\n"
    write(ledger_home, "manifests/a; b.csv", content)
    write(ledger_home, "manifests/sub/a; b..csv", content)

    assert ingest(ledger_home) == {
        "manifests/a; b.csv": ("loaded", None, 2, 1, 1, 0),
        "manifests/sub/a; b..csv": ("duplicate", None, 0, 0, 0, 0),
    }
    assert query(ledger_home, "select count(*) from raw.manifests") == [(1,)]
    assert query(ledger_home, "select source_file, reason_code from raw.quarantine") == [
        ("manifests/a; b.csv", "invalid_weight")
    ]


@pytest.mark.parametrize("size", [100_000_000, 300_000_000])
def test_one_absurdly_long_field_is_quarantined_with_bounded_memory(
    ledger_home: LedgerPaths, size: int
) -> None:
    path = ledger_home.raw_dir / "manifests" / "huge field.csv"
    path.parent.mkdir(parents=True)
    with path.open("w") as fh:
        fh.write(f"{HEADER}\n{row('W1')}\n")
        # Written in pieces: a huge string here would inflate the child's inherited peak RSS.
        head, tail = row("W2", cargo_description="<huge>").split("<huge>")
        fh.write(f'{head}"')
        for _ in range(size // 10_000_000):
            fh.write("ab" * 5_000_000)
        fh.write(f'"{tail}\n{row("W3", gross_weight="-1")}\n')

    done = subprocess.run(
        [sys.executable, "-c", INGEST_ONE, str(ledger_home.home)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["outcomes"] == [["loaded", 3, 1, 2]]
    assert report["peak_mb"] < 600
    print(f"peak RSS {report['peak_mb']:.0f} MB for a {size / 1e6:.0f} MB field")
    with duckdb.connect(str(ledger_home.staging_db), read_only=True) as con:
        assert con.execute(
            "select waybill_no, length(cargo_description) from raw.manifests order by 1"
        ).fetchall() == [("W1", 10)]
        assert con.execute(
            "select source_row, reason_code, field, length(raw_record) from raw.quarantine"
            " order by 1"
        ).fetchall() == [
            (2, "malformed_row", None, 200),
            (3, "invalid_weight", "gross_weight", 411),
        ]


def test_a_line_over_the_limit_is_quarantined_as_malformed_by_its_line_number(
    ledger_home: LedgerPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEDGER_MAX_LINE_BYTES", raising=False)
    field = "ab" * 1_500_000
    long_row = row("W3", cargo_description=field)
    rows = [row("W1"), row("W2"), long_row, row("W4"), row("W5", gross_weight="-1")]
    path = ledger_home.raw_dir / "manifests" / "long line.csv"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join([HEADER, *rows]) + "\n")

    assert ingest(ledger_home) == {"manifests/long line.csv": ("loaded", None, 5, 3, 2, 0)}
    with duckdb.connect(str(ledger_home.staging_db), read_only=True) as con:
        assert con.execute(
            "select waybill_no, source_row from raw.manifests order by 1"
        ).fetchall() == [
            ("W1", 1),
            ("W2", 2),
            ("W4", 4),
        ]
        quarantined = con.execute(
            "select source_row, reason_code, field, message, raw_record from raw.quarantine"
            " order by source_row"
        ).fetchall()
    size = len(long_row) + 1
    assert quarantined == [
        (
            3,
            "malformed_row",
            None,
            f"manifests/long line.csv: physical line 4 (data row 3) is {size} bytes, longer than"
            f" the limit of {1 << 20} bytes (LEDGER_MAX_LINE_BYTES); with quoted line breaks"
            " the row number may differ",
            long_row.encode()[:200].decode(),
        ),
        (5, "invalid_weight", "gross_weight", quarantined[1][3], quarantined[1][4]),
    ]


@pytest.mark.parametrize("chunk", [1, 3, 7, 64])
def test_long_lines_are_found_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(long_lines, "TRANSCODE_CHUNK", chunk)
    lines = [b"h", b"", b"x" * 9, b"ab", b"y" * 10, b"\r", b"z" * 12]  # last: no line feed
    path = tmp_path / "lines.csv"
    path.write_bytes(b"\n".join(lines))

    found = long_lines.find_long_lines(path, limit=9)

    assert found.tolist() == [[3, 3, 13], [5, 16, 27], [7, 29, 41]]


def test_a_long_line_in_a_cp1251_file_is_quarantined_after_transcoding(
    ledger_home: LedgerPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_MAX_LINE_BYTES", "1000")
    long_row = row("W2", shipper="Ж" * 600)  # 1200 bytes once in UTF-8, 600 in cp1251
    text = "\n".join([HEADER, row("W1", shipper="Жд"), long_row, row("W3")]) + "\n"
    path = ledger_home.raw_dir / "manifests" / "legacy.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(text.encode("cp1251"))

    assert ingest(ledger_home) == {"manifests/legacy.csv": ("loaded", None, 3, 2, 1, 0)}
    with duckdb.connect(str(ledger_home.staging_db), read_only=True) as con:
        assert con.execute(
            "select waybill_no, shipper from raw.manifests order by 1"
        ).fetchall() == [
            ("W1", "Жд"),
            ("W3", row("W3").split(",")[CANONICAL.index("shipper")]),
        ]
        assert con.execute(
            "select source_row, reason_code, raw_record from raw.quarantine"
        ).fetchall() == [(2, "malformed_row", long_row.encode()[:200].decode(errors="replace"))]


def test_rows_with_too_few_fields_are_malformed_and_named_by_row(
    ledger_home: LedgerPaths,
) -> None:
    fields = row("W2").split(",")
    quoted = row("W3", cargo_description='"Shells, 152mm\n""HE"""')  # separators inside quotes
    lines = [HEADER, row("W1"), ",".join(fields[:3]), quoted, "", "W5", row("W6")]
    write(ledger_home, "manifests/short.csv", "\n".join(lines))  # no final line feed
    # A header ending in separators: rows may leave the unnamed trailing columns off.
    write(ledger_home, "manifests/trailing.csv", f"{HEADER},,\n{row('T1')}\n{row('T2')},,\n")

    assert ingest(ledger_home) == {
        "manifests/short.csv": ("loaded", None, 5, 3, 2, 0),
        "manifests/trailing.csv": ("loaded", None, 2, 2, 0, 0),
    }
    assert query(ledger_home, "select waybill_no, source_row from raw.manifests order by 1") == [
        ("T1", 1),
        ("T2", 2),
        ("W1", 1),
        ("W3", 3),
        ("W6", 6),
    ]
    assert query(
        ledger_home,
        "select source_row, reason_code, field, message from raw.quarantine order by 1",
    ) == [
        (
            2,
            "malformed_row",
            None,
            "manifests/short.csv row 2: 3 field(s) where the header has 16",
        ),
        (
            5,
            "malformed_row",
            None,
            "manifests/short.csv row 5: 1 field(s) where the header has 16",
        ),
    ]


@pytest.mark.parametrize("chunk", [1, 3, 7, 64])
def test_short_records_are_counted_outside_quotes_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(delimited, "TRANSCODE_CHUNK", chunk)
    clean = tmp_path / "short.csv"
    clean.write_bytes(b'\xef\xbb\xbf"a",b,c\n1,"x,\n""y",3\n1,2\n\n"q",,\r\n7')  # 7: no LF
    stray = tmp_path / "stray.csv"
    stray.write_bytes(b'a,b,c\n1,5" x,3\n')

    scan = delimited.scan_records(clean, ",", 3)

    assert scan.short.rows() == [(2, 2), (3, 1), (5, 1)]  # the blank record 3 is dropped later
    assert scan.quotes_clean
    assert not delimited.scan_records(stray, ",", 3).quotes_clean


def test_stray_quotes_are_characters_and_broken_quoting_quarantines_one_row(
    ledger_home: LedgerPaths,
) -> None:
    lines = [
        HEADER,
        row("W1", shipper='5" shells'),  # a quote inside an unquoted field
        row("W2", shipper='Shells 5"'),
        row("W3", cargo_description='"Shells, 152mm"'),  # a quoted separator still works
        row("W4", shipper='"x"y'),  # closed, then more text: unreadable
        # Would swallow the rest of the file. (Had a later field ended in a stray quote, the
        # two would pair up into one field, as in any CSV reader.)
        row("W5", shipper='"never closed'),
        row("W6"),
    ]
    write(ledger_home, "manifests/quotes.csv", "\r\n".join(lines) + "\r\n")

    (outcome,) = ingest_source(LedgerResource(home=str(ledger_home.home)), MANIFESTS, print, print)

    counts = (outcome.rows_read, outcome.rows_accepted, outcome.rows_quarantined)
    assert (outcome.status, counts) == ("loaded", (6, 4, 2))
    assert outcome.details["quoting"] == "stray quotes read as characters"
    assert query(
        ledger_home,
        "select source_row, shipper, cargo_description from raw.manifests order by 1",
    ) == [
        (1, '5" shells', "Ammunition"),
        (2, 'Shells 5"', "Ammunition"),
        (3, "Shipper", "Shells, 152mm"),
        (6, "Shipper", "Ammunition"),
    ]
    advice = (
        "; a field that starts with a quote must end with one followed by the separator or"
        ' the end of the line, and a quote inside it is written twice ("")'
    )
    assert query(
        ledger_home,
        "select source_row, reason_code, message, raw_record from raw.quarantine order by 1",
    ) == [
        (
            4,
            "malformed_row",
            f"manifests/quotes.csv row 4: broken quoting, line 5: ',' expected after '\"'{advice}",
            lines[4],
        ),
        (
            5,
            "malformed_row",
            "manifests/quotes.csv row 5: broken quoting, line 6: a quote opens a field and is"
            f" never closed{advice}",
            lines[5],
        ),
    ]


def test_a_long_json_line_is_quarantined_and_the_other_lines_load(
    ledger_home: LedgerPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_MAX_LINE_BYTES", "1000")
    base = dict(zip(CANONICAL, row("J1").split(","), strict=True))
    lines = [
        json.dumps({**base, "waybill_no": "J1", "cargo_description": "x" * 2000}),
        json.dumps({**base, "waybill_no": "J2"}),
        json.dumps({**base, "waybill_no": "J3"}),
    ]
    write(ledger_home, "manifests/long.jsonl", "\n".join(lines) + "\n")

    assert ingest(ledger_home) == {"manifests/long.jsonl": ("loaded", None, 3, 2, 1, 0)}
    assert query(ledger_home, "select waybill_no from raw.manifests order by 1") == [
        ("J2",),
        ("J3",),
    ]
    assert query(ledger_home, "select source_row, reason_code, message from raw.quarantine") == [
        (
            1,
            "malformed_row",
            f"manifests/long.jsonl: line 1 is {len(lines[0]) + 1} bytes, longer than the limit"
            " of 1000 bytes (LEDGER_MAX_LINE_BYTES)",
        )
    ]


def _ascii_rows(count: int) -> str:
    return "".join(f"{row(f'A{i}')}\n" for i in range(count))


def test_a_stray_byte_after_the_first_megabyte_is_an_encoding_error_row(
    ledger_home: LedgerPaths,
) -> None:
    clean = _ascii_rows(12_000)  # > 1 MB before the bad byte
    assert len(clean) > encoding.SAMPLE_BYTES
    bad = row("BAD", shipper="Sh\udcffpper").encode("utf-8", "surrogateescape")
    write(ledger_home, "manifests/stray.csv", f"{HEADER}\n{clean}".encode() + bad + b"\n")

    assert ingest(ledger_home) == {"manifests/stray.csv": ("loaded", None, 12_001, 12_000, 1, 0)}
    assert query(ledger_home, "select source_row, reason_code from raw.quarantine") == [
        (12_001, "encoding_error")
    ]


def test_cyrillic_legacy_text_after_the_first_megabyte_is_read_as_cp1251(
    ledger_home: LedgerPaths,
) -> None:
    legacy = row("RU", shipper="Грузоотправитель").encode("cp1251")
    write(ledger_home, "manifests/late.csv", f"{HEADER}\n{_ascii_rows(12_000)}".encode() + legacy)

    assert ingest(ledger_home) == {"manifests/late.csv": ("loaded", None, 12_001, 12_001, 0, 0)}
    assert query(ledger_home, "select shipper from raw.manifests where waybill_no = 'RU'") == [
        ("Грузоотправитель",)
    ]


def test_one_stray_high_byte_in_an_ascii_file_is_not_a_legacy_encoding(tmp_path: Path) -> None:
    path = tmp_path / "stray.csv"
    path.write_bytes(f"{HEADER}\n{row('W1')}\n".encode() + b"W2,\xff\n")
    legacy = tmp_path / "legacy.csv"
    legacy.write_bytes(f"{HEADER}\n".encode() + row("W1", shipper="Жд").encode("cp1251"))

    assert encoding.detect_encoding(path) == ("utf-8", True)
    assert encoding.detect_encoding(legacy) == ("cp1251", True)
    clean = tmp_path / "clean.csv"
    clean.write_text(f"{HEADER}\n{row('W1', shipper='Жд')}\n", encoding="utf-8")
    assert encoding.detect_encoding(clean) == ("utf-8", False)


def test_a_quote_never_closed_stops_at_the_line_limit_and_reading_resumes(
    ledger_home: LedgerPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_MAX_LINE_BYTES", "1000")  # the csv field size limit too
    rows = [row("W0", shipper='"never closed'), *(row(f"W{i}") for i in range(1, 51))]
    write(ledger_home, "manifests/open quote.csv", "\n".join([HEADER, *rows]) + "\n")

    assert ingest(ledger_home) == {"manifests/open quote.csv": ("loaded", None, 51, 50, 1, 0)}
    assert query(ledger_home, "select source_row, reason_code from raw.quarantine") == [
        (1, "malformed_row")
    ]
    assert query(ledger_home, "select min(source_row), max(source_row) from raw.manifests") == [
        (2, 51)
    ]


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("unclosed.csv", row("W1", shipper='"never closed')),
        ("long.csv", row("W1", cargo_description="x" * 2000)),
        ("long.jsonl", json.dumps({"waybill_no": "W1", "cargo_description": "x" * 2000})),
    ],
)
def test_a_file_whose_only_row_is_quarantined_before_parsing_still_loads(
    ledger_home: LedgerPaths, monkeypatch: pytest.MonkeyPatch, name: str, line: str
) -> None:
    monkeypatch.setenv("LEDGER_MAX_LINE_BYTES", "1000")
    header = "" if name.endswith(".jsonl") else f"{HEADER}\n"
    write(ledger_home, f"manifests/{name}", f"{header}{line}\n")

    assert ingest(ledger_home) == {f"manifests/{name}": ("loaded", None, 1, 0, 1, 0)}
    assert query(ledger_home, "select source_row, reason_code from raw.quarantine") == [
        (1, "malformed_row")
    ]
