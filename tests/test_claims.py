"""Rule-based claim extraction: one test per pattern and per trap, file errors, CLI contract.

Long because it is a catalogue: one short test per wording the extractor must read or must
not be fooled by, kept side by side so a new rule is checked against every trap.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestration.claims import (
    CLAIM_FIELDS,
    ReportError,
    extract_claims,
    read_report,
    register,
)
from orchestration.paths import PROJECT_ROOT

PUBLISHED = date(2024, 2, 15)


def only_claim(text: str, published: date | None = PUBLISHED) -> dict:
    claims = extract_claims(text, report_id="r", published=published)
    assert len(claims) == 1, claims
    return claims[0]


@pytest.mark.parametrize(
    ("text", "span", "metric", "value", "low", "high"),
    [
        (
            "They moved 74,000 metric tons by rail.",
            "74,000 metric tons",
            "explosives_tonnes",
            74_000,
            74_000,
            74_000,
        ),
        (
            "They moved 300 000 tonnes.",
            "300 000 tonnes",
            "explosives_tonnes",
            300_000,
            300_000,
            300_000,
        ),
        (
            "They moved 74 thousand tons.",
            "74 thousand tons",
            "explosives_tonnes",
            74_000,
            74_000,
            74_000,
        ),
        ("They moved 74,000 t of cargo.", "74,000 t", "explosives_tonnes", 74_000, 74_000, 74_000),
        (
            "Analysts counted 1.6 million artillery rounds.",
            "1.6 million artillery rounds",
            "rounds",
            1_600_000,
            1_600_000,
            1_600_000,
        ),
        (
            "Officials said five million shells.",
            "five million shells",
            "rounds",
            5_000_000,
            5_000_000,
            5_000_000,
        ),
        (
            "Officials said 1,6 million munitions.",
            "1,6 million munitions",
            "rounds",
            1_600_000,
            1_600_000,
            1_600_000,
        ),
        (
            "Estimates say 4.8 to 5 million shells.",
            "4.8 to 5 million shells",
            "rounds",
            4_900_000,
            4_800_000,
            5_000_000,
        ),
        (
            "Estimates say between 4.8 and 5 million shells.",
            "between 4.8 and 5 million shells",
            "rounds",
            4_900_000,
            4_800_000,
            5_000_000,
        ),
        ("Imagery showed 27 shipments.", "27 shipments", "shipments", 27, 27, 27),
        ("Imagery showed twenty-seven voyages.", "twenty-seven voyages", "shipments", 27, 27, 27),
        (
            "Imagery showed 12 separate deliveries.",
            "12 separate deliveries",
            "shipments",
            12,
            12,
            12,
        ),
        (
            "Ports handled 10,000 containers.",
            "10,000 containers",
            "containers",
            10_000,
            10_000,
            10_000,
        ),
        (
            "Ports handled two dozen shipping containers.",
            "two dozen shipping containers",
            "containers",
            24,
            24,
            24,
        ),
        (
            "Officials said half a million shells.",
            "half a million shells",
            "rounds",
            500_000,
            500_000,
            500_000,
        ),
        ("Officials said 1.5m rounds.", "1.5m rounds", "rounds", 1_500_000, 1_500_000, 1_500_000),
        ("Officials said 1.6mn rounds.", "1.6mn rounds", "rounds", 1_600_000, 1_600_000, 1_600_000),
        ("Ports handled 10k containers.", "10k containers", "containers", 10_000, 10_000, 10_000),
    ],
)
def test_numbers_units_and_ranges(
    text: str, span: str, metric: str, value: float, low: float, high: float
) -> None:
    claim = only_claim(text)
    assert text[claim["char_start"] : claim["char_end"]] == span
    assert (claim["metric"], claim["value"], claim["value_low"], claim["value_high"]) == (
        metric,
        value,
        low,
        high,
    )
    assert claim["qualifier"] == "exact"  # a range's spread is in low/high, not the qualifier


@pytest.mark.parametrize(
    ("phrase", "qualifier"),
    [
        ("more than", "over"),
        ("over", "over"),
        ("at least", "over"),
        ("about", "about"),
        ("around", "about"),
        ("roughly", "about"),
        ("approximately", "about"),
        ("some", "about"),
        ("nearly", "nearly"),
        ("almost", "nearly"),
        ("up to", "up to"),
    ],
)
def test_qualifiers(phrase: str, qualifier: str) -> None:
    text = f"Officials reported {phrase} 74,000 tonnes."
    claim = only_claim(text)
    assert claim["qualifier"] == qualifier
    assert text[claim["char_start"] : claim["char_end"]] == f"{phrase} 74,000 tonnes"


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("From August 2023 to January 2024, 27 shipments left.", "2023-08-01", "2024-01-31"),
        ("Between August 2023 and January 2024, 27 shipments left.", "2023-08-01", "2024-01-31"),
        ("From August to January 2024, 27 shipments left.", "2023-08-01", "2024-01-31"),
        ("Within six months of August 2023, 27 shipments left.", "2023-08-01", "2024-01-31"),
        (
            "Starting in August 2023, 27 shipments left within six months.",
            "2023-08-01",
            "2024-01-31",
        ),
        # no anchor: the six months ending with the publication month (February 2024)
        ("Within six months, 27 shipments left.", "2023-09-01", "2024-02-29"),
        ("Since August 2023, 27 shipments left.", "2023-08-01", "2024-02-29"),
        # month without a year: the latest such month before publication
        ("Since August, 27 shipments left.", "2023-08-01", "2024-02-29"),
        ("As of June 2024, 27 shipments had left.", None, "2024-06-30"),
        ("As of mid-June 2024, 27 shipments had left.", None, "2024-06-30"),
        ("In October 2023, 27 shipments left.", "2023-10-01", "2023-10-31"),
        ("In 2023, 27 shipments left.", "2023-01-01", "2023-12-31"),
        ("In the first half of 2024, 27 shipments left.", "2024-01-01", "2024-06-30"),
        ("In the second half of 2023, 27 shipments left.", "2023-07-01", "2023-12-31"),
        ("In Q3 2023, 27 shipments left.", "2023-07-01", "2023-09-30"),
        ("In the fourth quarter of 2023, 27 shipments left.", "2023-10-01", "2023-12-31"),
        ("27 shipments left.", None, None),
        # relative to the publication date (2024-02-15)
        ("Since last September, 27 shipments left.", "2023-09-01", "2024-02-29"),
        ("Since last February, 27 shipments left.", "2023-02-01", "2024-02-29"),
        ("Over the past three months, 27 shipments left.", "2023-12-01", "2024-02-29"),
        ("During the last 12 months, 27 shipments left.", "2023-03-01", "2024-02-29"),
        ("Within the past year, 27 shipments left.", "2023-03-01", "2024-02-29"),
        ("Over the past month, 27 shipments left.", "2024-02-01", "2024-02-29"),
        ("Last month 27 shipments left.", "2024-01-01", "2024-01-31"),
        ("Last year 27 shipments left.", "2023-01-01", "2023-12-31"),
    ],
)
def test_periods(text: str, start: str | None, end: str | None) -> None:
    claim = only_claim(text)
    assert (claim["period_start"], claim["period_end"]) == (start, end)


def test_context_stated_earlier_in_the_section_carries_over() -> None:
    text = (
        "# Flows\n\nFrom August 2023 to January 2024 cargo moved from North Korea to Russia.\n\n"
        "That is about 1.6 million rounds. In October 2023 alone, 5 shipments went to Russia. "
        "Later 2 deliveries went to North Korea.\n\n# Elsewhere\n\nThey counted 12 voyages."
    )
    rounds, shipments, back, voyages = extract_claims(text, report_id="r", published=PUBLISHED)
    keys = ("period_start", "period_end", "direction_from", "direction_to")
    assert [rounds[k] for k in keys] == ["2023-08-01", "2024-01-31", "KP", "RU"]
    # its own month wins; "went to Russia" agrees with the context, which fills in the origin
    assert [shipments[k] for k in keys] == ["2023-10-01", "2023-10-31", "KP", "RU"]
    # a contradicting destination is not completed from the context
    assert (back["direction_from"], back["direction_to"]) == (None, "KP")
    # a heading starts a new context
    assert [voyages[k] for k in ("period_start", "direction_from")] == [None, None]


@pytest.mark.parametrize(
    "text",
    [
        "Within six months, 27 shipments left.",
        "Over the past three months, 27 shipments left.",
        "Since last September, 27 shipments left.",
        "Last year 27 shipments left.",
    ],
)
def test_relative_period_without_publication_date_is_unknown(text: str) -> None:
    claim = only_claim(text, published=None)
    assert (claim["period_start"], claim["period_end"]) == (None, None)


def test_period_in_the_next_sentence_of_the_paragraph() -> None:
    text = (
        "# A\n\nCrews loaded 3,000 containers. That was between October and December 2023.\n\n"
        "# B\n\nOfficials counted 12 voyages.\n\nThat was in May 2023.\n\n"
        "# C\n\nIn 2022 nothing moved. Analysts saw 40 trips. In March 2023, more.\n\n"
        "# D\n\n- Observers logged 9 sailings.\n- All in May 2023."
    )
    containers, voyages, trips, sailings = extract_claims(text, report_id="r", published=PUBLISHED)
    assert (containers["period_start"], containers["period_end"]) == ("2023-10-01", "2023-12-31")
    # a paragraph break stops it: the next paragraph's period is not this one's
    assert (voyages["period_start"], voyages["period_end"]) == (None, None)
    # a period stated before it in the section wins over the next sentence's
    assert (trips["period_start"], trips["period_end"]) == ("2022-01-01", "2022-12-31")
    # list items are separate statements
    assert (sailings["period_start"], sailings["period_end"]) == (None, None)


@pytest.mark.parametrize(
    ("text", "value", "qualifier"),
    [
        ("They made at least six trips to Russia.", 6, "over"),
        ("Twenty-seven sailings left Rajin.", 27, "exact"),
        ("Analysts counted some forty-two trips.", 42, "about"),
        ("Only one trip was logged.", 1, "exact"),
    ],
)
def test_counts_written_as_words(text: str, value: int, qualifier: str) -> None:
    claim = only_claim(text)
    assert (claim["metric"], claim["value"], claim["qualifier"]) == ("shipments", value, qualifier)


def test_nearest_period_phrase_wins() -> None:
    text = "In 2022 nothing moved, but as of June 2024 some 27 shipments had left."
    assert only_claim(text)["period_end"] == "2024-06-30"


@pytest.mark.parametrize(
    ("text", "direction"),
    [
        ("27 shipments went from North Korea to Russia.", ("KP", "RU")),
        ("27 shipments went from Russia to North Korea.", ("RU", "KP")),
        ("North Korean firms shipped 27 shipments to Russia.", ("KP", "RU")),
        ("Russia received 5 million shells from the DPRK.", ("KP", "RU")),
        ("27 voyages went from Rajin to Vostochny.", ("KP", "RU")),
        ("27 shipments were sent to Russia.", (None, "RU")),
        ("27 voyages between Rajin and Vostochny.", (None, None)),
    ],
)
def test_directions(text: str, direction: tuple[str | None, str | None]) -> None:
    claim = only_claim(text)
    assert (claim["direction_from"], claim["direction_to"]) == direction


@pytest.mark.parametrize(
    "text",
    [
        "In 2023 shipments rose.",  # a year is not a count of shipments
        "On 27 August 2023 shipments rose.",
        "On 2023-08-27 shipments rose, and on 27.08.2023 rounds were counted.",
        "Most were 152mm shells.",  # calibres
        "Most were 152 mm shells and 122-mm rounds.",
        "See page 12 shipments table.",  # page numbers
        "About 30 percent of shipments, 30% of containers, 5 per cent of rounds.",
        "A 5,000-ton vessel docked.",  # adjectival tonnage describes the ship, not cargo
        "Figure 3 shipments by month.",
    ],
)
def test_traps_are_not_claims(text: str) -> None:
    assert extract_claims(text, report_id="r", published=PUBLISHED) == []


def test_trap_does_not_hide_the_real_claim_next_to_it() -> None:
    text = "Some 1.6 million 152mm shells (page 12) moved in 2023."
    claim = only_claim(text)
    assert text[claim["char_start"] : claim["char_end"]] == "Some 1.6 million 152mm shells"
    assert (claim["value"], claim["qualifier"], claim["period_start"]) == (
        1_600_000,
        "about",
        "2023-01-01",
    )


def test_claim_fields_offsets_and_sentence() -> None:
    text = "# Title\n\nFirst line. Then more than 74,000 metric tons\nmoved by rail.\n\nNext."
    [claim] = extract_claims(text, report_id="rep", published=PUBLISHED)
    assert tuple(claim) == CLAIM_FIELDS
    assert claim["claim_id"] == f"rep:{text.index('more')}"
    assert text[claim["char_start"] : claim["char_end"]] == "more than 74,000 metric tons"
    assert claim["sentence"] == "Then more than 74,000 metric tons moved by rail."
    assert claim["is_curated"] is False


REPORT = """---
title: Rail flows (synthetic)
publisher: Example Monitor
published: 2024-02-15
url: https://example.org/r1
language: en
synthetic: true
include: ../../../etc/passwd
claims:
  - metric: explosives_tonnes
    value: 74000
    qualifier: over
  - metric: rounds
    value: 3000000
    qualifier: about
    period_end: 2024-06-30
---
Between August 2023 and January 2024, more than 74,000 metric tons moved from North Korea to Russia.
"""


def write(tmp_path: Path, text: str, name: str = "r1.md") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def test_read_report_merges_curated_claims(tmp_path: Path) -> None:
    report = read_report(write(tmp_path, REPORT.replace("\n", "\r\n")))
    assert report.report_id == "r1"
    assert report.front_matter["published"] == "2024-02-15"
    assert report.front_matter["synthetic"] is True
    assert "include" not in report.front_matter
    assert report.ignored_keys == ["include"]
    assert report.body.startswith("Between August 2023")
    extracted, curated_only = report.claims
    assert extracted["claim_id"] == "r1:38"
    assert report.body[38:66] == "more than 74,000 metric tons"
    assert (extracted["is_curated"], extracted["direction_from"], extracted["period_end"]) == (
        True,
        "KP",
        "2024-01-31",
    )
    assert curated_only == {
        "report_id": "r1",
        "claim_id": "r1:c2",
        "metric": "rounds",
        "value": 3_000_000.0,
        "value_low": 3_000_000.0,
        "value_high": 3_000_000.0,
        "qualifier": "about",
        "period_start": None,
        "period_end": "2024-06-30",
        "direction_from": None,
        "direction_to": None,
        "char_start": None,
        "char_end": None,
        "sentence": None,
        "is_curated": True,
    }


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("no front matter here", "no YAML front matter"),
        ("---\ntitle: [unclosed\n---\nbody", "front matter is not valid YAML"),
        ("---\n- a\n- b\n---\nbody", "front matter must be a mapping"),
        ("---\npublished: someday\n---\nbody", "published: not an ISO date"),
        ("---\nsynthetic: maybe\n---\nbody", "synthetic must be true or false"),
        ("---\nclaims:\n  - metric: tanks\n    value: 3\n---\nbody", "claims[1]: metric 'tanks'"),
        ("---\nclaims:\n  - metric: rounds\n    value: lots\n---\nbody", "field value is not"),
        ("---\nclaims: {metric: rounds}\n---\nbody", "claims must be a list"),
    ],
)
def test_bad_reports_raise_with_file_and_reason(tmp_path: Path, text: str, reason: str) -> None:
    with pytest.raises(ReportError, match=r"^bad\.md: .*" + reason.replace("[", r"\[")):
        read_report(write(tmp_path, text, "bad.md"))


def test_non_utf8_report_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "cp.md"
    path.write_bytes("---\ntitle: Отчёт\n---\n".encode("cp1251"))
    with pytest.raises(ReportError, match=r"^cp\.md: not UTF-8"):
        read_report(path)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    parser = argparse.ArgumentParser(prog="ledger")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    return capsys.readouterr().out


def test_cli_json_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, REPORT)
    claims = json.loads(run_cli(["claims", "extract", str(path), "--json"], capsys))
    assert claims == read_report(path).claims
    assert [tuple(c) for c in claims] == [CLAIM_FIELDS, CLAIM_FIELDS]


def test_cli_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_cli(["claims", "extract", str(write(tmp_path, REPORT))], capsys)
    assert "r1:38" in out and "74,000" in out and "KP->RU" in out
    assert out.strip().endswith("2 claims (* = curated)")


@pytest.mark.skipif(
    not (PROJECT_ROOT / "orchestration" / "cli.py").exists(), reason="lead's cli.py not there yet"
)
def test_ledger_cli_subprocess(tmp_path: Path) -> None:
    path = write(tmp_path, REPORT)
    out = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "claims", "extract", str(path), "--json"],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert json.loads(out) == read_report(path).claims


def test_cli_reports_bad_file_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="ledger")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["claims", "extract", str(write(tmp_path, "plain text", "x.md"))])
    assert args.func(args) == 1
    assert capsys.readouterr().err == (
        "ledger claims extract: x.md: no YAML front matter (the file must start with '---')\n"
    )


def test_generated_sample_reports_match_the_generators_answer_key(tmp_path: Path) -> None:
    from orchestration.generate import generate

    summary = generate(tmp_path / "raw")["reports"]
    claims = {
        report: read_report(tmp_path / "raw" / f"reports/{report}.md")
        for report in summary["traps"]
    }
    found = sorted(
        (c["report_id"], r.body[c["char_start"] : c["char_end"]], c["metric"], c["value"],
         c["qualifier"])
        for r in claims.values()
        for c in r.claims
    )  # fmt: skip
    expected = sorted(
        (p["report_id"], p["text"], p["metric"], p["value"], p["qualifier"])
        for p in summary["planted_claims"]
    )
    assert found == expected
    # claims whose period is not the report's: the words resolve to the answer key's dates
    periods = {
        (c["report_id"], r.body[c["char_start"] : c["char_end"]]): (
            c["period_start"],
            c["period_end"],
        )
        for r in claims.values()
        for c in r.claims
    }
    own = [p for p in summary["planted_claims"] if "period_start" in p]
    assert len(own) == 3
    for p in own:
        assert periods[p["report_id"], p["text"]] == (p["period_start"], p["period_end"]), p

    for report_id, traps in summary["traps"].items():
        report = claims[report_id]
        spans = [report.body[c["char_start"] : c["char_end"]] for c in report.claims]
        assert not [t for t in traps for span in spans if t in span], report_id
    [conflicting] = summary["conflicting_direction"]
    assert {(c["direction_from"], c["direction_to"]) for c in claims[conflicting].claims} == {
        ("RU", "KP")
    }


@given(
    n=st.integers(min_value=1, max_value=999_999_999),
    separator=st.sampled_from([",", " ", "\u202f"]),
    unit=st.sampled_from(["tonnes", "shells", "voyages", "containers"]),
)
def test_any_separated_integer_parses_exactly(n: int, separator: str, unit: str) -> None:
    figure = f"{n:,}".replace(",", separator)
    claim = only_claim(f"Officials cited {figure} {unit} in the note.")
    assert claim["value"] == n
    assert claim["char_end"] - claim["char_start"] == len(f"{figure} {unit}")


CLAIM_PIECES = {
    "more than 74,000 metric tons": "explosives_tonnes",
    "about 1.6 million artillery rounds": "rounds",
    "27 shipments": "shipments",
    "nearly 5 million shells": "rounds",
    "4.8 to 5 million rounds": "rounds",
    "up to 10,000 containers": "containers",
}
TRAP_PIECES = ["on 14 October 2023", "152mm guns", "122-mm tubes", "page 12", "30 percent",
               "in 2023", "from August 2023 to January 2024", "46 kg", "Figure 3",
               "[4]"]  # fmt: skip


@given(st.lists(st.sampled_from([*CLAIM_PIECES, *TRAP_PIECES]), max_size=12), st.randoms())
def test_claims_and_traps_mixed_in_any_order(pieces: list[str], rnd: random.Random) -> None:
    words = ["Officials", "said", "that", "and", "the"]
    text = " ".join(f"{p} {rnd.choice(words)}" for p in pieces) + "."
    claims = extract_claims(text, report_id="r", published=PUBLISHED)
    assert sorted(c["metric"] for c in claims) == sorted(
        CLAIM_PIECES[p] for p in pieces if p in CLAIM_PIECES
    )
    for claim in claims:
        assert text[claim["char_start"] : claim["char_end"]] in CLAIM_PIECES
