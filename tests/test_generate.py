"""The synthetic data generator: determinism, calibration, and a summary that matches its files.

The files are read back here with plain polars (independently of the ingest code) so a
generator bug cannot hide behind a matching reader bug. Long (~400 lines) because each file
dialect and calibration target the sample promises gets its own short check.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration.cli import main as ledger
from orchestration.generate import generate
from orchestration.generate.dialects import ENGLISH_VARIANT_HEADERS, RUSSIAN_HEADERS
from orchestration.iso6346 import CHAR_VALUES, check_digit, check_digit_expr, is_valid_expr
from orchestration.paths import SEEDS_DIR

EXPLOSIVE_CODES = ["481203", "481218", "481307"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    raw = tmp_path_factory.mktemp("raw")
    return raw, generate(raw, seed=7)


def file_hashes(raw: Path) -> dict[str, str]:
    return {
        p.relative_to(raw).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(raw.rglob("*"))
        if p.is_file()
    }


# ----------------------------------------------------------------------------- ISO 6346


def test_check_digit_known_numbers() -> None:
    # published examples of valid container numbers
    assert check_digit("CSQU305438") == 3
    assert check_digit("MSKU907032") == 3
    assert check_digit("csqu3054383") == 3  # full number, lower case: first 10 chars count
    with pytest.raises(ValueError, match="CSQ1305438"):
        check_digit("CSQ1305438")


def test_check_digit_expr_nulls_malformed_and_validates() -> None:
    df = pl.DataFrame(
        {"c": ["CSQU3054383", " msku9070323 ", "CSQU3054384", "CSQU 305438", "ABC", None]}
    )
    out = df.select(
        check_digit_expr(pl.col("c")).alias("digit"), is_valid_expr(pl.col("c")).alias("ok")
    )
    assert out["digit"].to_list() == [3, 3, 3, None, None, None]
    assert out["ok"].to_list() == [True, True, False, False, False, False]


heads = st.builds(
    lambda owner, category, serial: f"{owner}{category}{serial:06d}",
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3),
    st.sampled_from("UJZ"),
    st.integers(0, 999_999),
)


@settings(deadline=None, max_examples=50)
@given(st.lists(heads, min_size=1, max_size=40))
def test_check_digit_expr_agrees_with_scalar(batch: list[str]) -> None:
    expected = [sum(CHAR_VALUES[c] * 2**i for i, c in enumerate(h)) % 11 % 10 for h in batch]
    assert [check_digit(h) for h in batch] == expected
    df = pl.DataFrame({"head": batch, "digit": expected}).with_columns(
        pl.concat_str("head", pl.col("digit").cast(pl.String)).alias("good"),
        pl.concat_str("head", ((pl.col("digit") + 1) % 10).cast(pl.String)).alias("bad"),
    )
    out = df.select(
        check_digit_expr(pl.col("head")).alias("from_head"),
        check_digit_expr(pl.col("good")).alias("from_full"),
        is_valid_expr(pl.col("good")).alias("good_ok"),
        is_valid_expr(pl.col("bad")).alias("bad_ok"),
    )
    assert out["from_head"].to_list() == out["from_full"].to_list() == expected
    assert out["good_ok"].all() and not out["bad_ok"].any()


# ----------------------------------------------------------------------------- determinism


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path, sample: tuple[Path, dict]) -> None:
    raw, _ = sample
    again = generate(tmp_path / "again", seed=7)
    assert file_hashes(tmp_path / "again") == file_hashes(raw)
    assert again["files"] == sample[1]["files"]
    other = generate(tmp_path / "other", seed=8)
    changed = {k for k, v in other["files"].items() if again["files"][k] != v}
    assert {k for k in changed if k.startswith("manifests/")} == set(other["manifests"]["files"])
    assert 74_200 <= other["manifests"]["current"]["explosive"]["tonnes"] < 74_300


# ----------------------------------------------------------------------------- files read back


def stations() -> pl.DataFrame:
    return pl.read_csv(SEEDS_DIR / "stations.csv", infer_schema=False)


def read_manifests(raw: Path) -> pl.DataFrame:
    """Every manifest row of the sample in canonical form: codes, ISO date, integer kg."""
    m = raw / "manifests"
    f01 = pl.read_csv(next(m.glob("01_*.csv")), infer_schema=False).with_columns(
        pl.col("gross_weight").cast(pl.Int64, strict=False).alias("kg")
    )
    ru_text = next(m.glob("02_*.csv")).read_bytes().decode("cp1251")
    assert ru_text.count("\r\n") == ru_text.count("\n")  # CRLF everywhere
    by_ru = dict(stations().select("station_name_ru", "station_code").iter_rows())
    f02 = (
        pl.read_csv(ru_text.encode(), separator=";", infer_schema=False)
        .rename({v: k for k, v in RUSSIAN_HEADERS.items()})
        .with_columns(
            pl.col("dispatch_date").str.strptime(pl.Date, "%d.%m.%Y", strict=False).cast(pl.String),
            pl.col("origin_station")
            .replace_strict(by_ru, default=None)
            .alias("origin_station_code"),
            pl.col("destination_station")
            .replace_strict(by_ru, default=None)
            .alias("destination_station_code"),
            (pl.col("gross_weight").str.replace(",", ".").cast(pl.Float64, strict=False) * 1000)
            .round()
            .cast(pl.Int64)
            .alias("kg"),
        )
    )
    assert set(f02["weight_unit"]) == {"т"}
    number = pl.col("gross_weight").str.extract(r"^([\d. ]+) ").str.replace_all(" ", "")
    unit = pl.col("gross_weight").str.extract(r" (\w+)$")
    f03 = (
        pl.read_csv(next(m.glob("03_*.tsv")), separator="\t", infer_schema=False)
        .rename({v: k for k, v in ENGLISH_VARIANT_HEADERS.items()})
        .with_columns(
            pl.col("dispatch_date").str.strptime(pl.Date, "%d/%m/%Y", strict=False).cast(pl.String),
            (
                number.cast(pl.Float64, strict=False)
                * pl.when(unit == "t").then(1000).when(unit == "kg").then(1)
            )
            .round()
            .cast(pl.Int64)
            .alias("kg"),
        )
    )
    f04 = pl.read_ndjson(next(m.glob("04_*.jsonl"))).with_columns(
        pl.col("gross_weight").cast(pl.Int64).alias("kg")
    )
    f05 = pl.read_parquet(next(m.glob("05_*.parquet"))).with_columns(
        pl.col("dispatch_date").cast(pl.String),
        (pl.col("gross_weight") * 1000).round().cast(pl.Int64).alias("kg"),
    )
    columns = [
        "waybill_no",
        "dispatch_date",
        "origin_station_code",
        "destination_station_code",
        "cargo_code",
        "container_no",
        "kg",
    ]
    files = sorted(p.relative_to(raw).as_posix() for p in m.iterdir())
    return pl.concat(
        [
            f.select(columns)
            .with_columns(pl.col("kg").cast(pl.Int64))
            .with_row_index("source_row", offset=1)
            .with_columns(pl.lit(name).alias("file"))
            for name, f in zip(files, [f01, f02, f03, f04, f05], strict=True)
        ]
    )


def test_summary_matches_files(sample: tuple[Path, dict]) -> None:
    raw, summary = sample
    rows = read_manifests(raw)
    m = summary["manifests"]
    assert summary["synthetic"] is True
    assert rows.height == m["rows_written"] == 6_014
    per_file = rows.group_by("file").len()
    assert dict(per_file.iter_rows()) == {f: s["rows_written"] for f, s in m["per_file"].items()}
    assert m["rows_written"] == m["rows_accepted"] + m["rows_quarantined"] + m["rows_duplicate"]
    assert m["rows_quarantined"] == 12 and m["rows_duplicate"] == 1 and m["rows_superseded"] == 1
    assert m["quarantined_by_reason"] == {
        "bad_container_check_digit": 2,
        "invalid_weight": 2,
        "missing_required_field": 2,
        "unknown_station": 2,
        "unknown_unit": 2,
        "unparseable_date": 2,
    }
    planted = pl.DataFrame(m["planted"]).with_columns(pl.col("source_row").cast(pl.UInt32))
    flagged = rows.join(planted, on=["file", "source_row"], how="inner", suffix="_p")
    assert flagged.height == len(m["planted"]) == 15
    # each planted fault is visible in the file where the summary says
    by_case = {r["case"]: r for r in flagged.filter(pl.col("reason").is_null()).to_dicts()}
    dup = by_case["exact_duplicate_of_previous_row"]
    prev = rows.filter(
        (pl.col("file") == dup["file"]) & (pl.col("source_row") == dup["source_row"] - 1)
    )
    assert prev.drop("source_row").to_dicts() == [
        {k: dup[k] for k in prev.drop("source_row").columns}
    ]
    old, new = by_case["superseded_by_later_correction"], by_case["correction_latest_wins"]
    assert old["waybill_no"] == new["waybill_no"] and old["file"] < new["file"]
    assert old["kg"] - new["kg"] == 1_500 and old["kg"] == old["gross_kg"]
    bad = flagged.filter(pl.col("reason").is_not_null())
    assert sorted(bad.filter(pl.col("reason") == "bad_container_check_digit")["file"]) == [
        "manifests/01_synthetic_manifests_2023-07_2023-09.csv",
        "manifests/03_synthetic_manifests_2023-11.tsv",
    ]
    assert bad.filter(pl.col("reason") == "invalid_weight")["kg"].sort().to_list() == [-18_550, 0]
    assert bad.filter(pl.col("reason") == "unparseable_date")["dispatch_date"].to_list() == [
        None,
        None,
    ]
    # containers: valid everywhere except where a bad check digit was planted
    invalid = rows.filter(
        pl.col("container_no").is_not_null() & ~is_valid_expr(pl.col("container_no"))
    )
    assert sorted(invalid["waybill_no"]) == sorted(
        bad.filter(pl.col("reason") == "bad_container_check_digit")["waybill_no"]
    )

    # totals over valid current rows only
    current = rows.join(
        planted.filter(pl.col("expected") != "accepted"), on=["file", "source_row"], how="anti"
    )
    assert current.height == 6_000 and current["waybill_no"].is_unique().all()
    explosive = current.filter(pl.col("cargo_code").is_in(EXPLOSIVE_CODES)).with_columns(
        pl.col("dispatch_date").str.slice(0, 7).alias("month"),
        pl.concat_str("origin_station_code", pl.lit("-"), "destination_station_code").alias(
            "route_id"
        ),
    )
    totals = m["current"]["explosive"]
    assert explosive.height == totals["shipments"] == 4_000
    assert explosive["kg"].sum() == round(totals["tonnes"] * 1000) == m["explosive_target_kg"]
    assert explosive["container_no"].n_unique() == totals["containers"] == 4_000
    for key in ("month", "route_id"):
        got = explosive.group_by(key).agg(pl.len(), pl.col("kg").sum()).sort(key)
        expected = totals["by_month" if key == "month" else "by_route"]
        assert {k: (n, kg) for k, n, kg in got.iter_rows()} == {
            k: (v["shipments"], round(v["tonnes"] * 1000)) for k, v in expected.items()
        }
    assert sum(r["shipments"] for r in totals["by_month_route"]) == 4_000


def test_calibration(sample: tuple[Path, dict]) -> None:
    raw, summary = sample
    explosive = summary["manifests"]["current"]["explosive"]
    # "more than 74,000 t" of explosive cargo, all inside Aug 2023 - Jan 2024
    assert 74_200 <= explosive["tonnes"] == explosive["tonnes_in_period"] < 74_300
    assert list(explosive["by_month"]) == [
        "2023-08",
        "2023-09",
        "2023-10",
        "2023-11",
        "2023-12",
        "2024-01",
    ]
    monthly = {k: v["tonnes"] for k, v in explosive["by_month"].items()}
    assert monthly["2023-08"] < monthly["2023-09"] < monthly["2023-10"]  # ramp up
    assert max(monthly, key=monthly.get) == "2023-10"
    origins = {r.split("-")[0] for r in explosive["by_route"]}
    destinations = {r.split("-")[1] for r in explosive["by_route"]}
    assert origins == {"986808", "984700"}
    assert destinations == {"515202", "610402", "582007"}
    mean_t = explosive["tonnes"] / explosive["shipments"]
    assert 17.5 < mean_t < 19.5
    # ordinary freight, some of it leaving the same two ports
    background = summary["manifests"]["current"]["background"]
    assert background["shipments"] == 2_000
    assert any(r.split("-")[0] in origins for r in background["by_route"])


def test_voyages_count_with_the_documented_rule(sample: tuple[Path, dict]) -> None:
    raw, summary = sample
    ports = pl.read_csv(SEEDS_DIR / "ports.csv", infer_schema=False).select(
        "port_code",
        pl.concat_list(pl.col("port_name"), pl.col("aliases").str.split("|")).alias("name"),
    )
    names = dict(ports.explode("name").select("name", "port_code").iter_rows())
    calls = (
        pl.read_csv(raw / "voyages" / "voyages_2023_2024.csv", infer_schema=False)
        .with_columns(
            pl.col("port").replace_strict(names).alias("code"),
            pl.col("laden") == "true",
            pl.col("arrival", "departure").str.to_date(),
        )
        .sort("vessel_name", "arrival")
    )
    nxt = calls.with_columns(
        pl.col("code", "laden", "arrival").shift(-1).over("vessel_name").name.prefix("next_")
    )
    voyages = nxt.filter(
        (pl.col("code") == "KPRJN")
        & pl.col("laden")
        & pl.col("next_code").is_in(["RUDUN", "RUVYP"])
        & pl.col("next_laden")
        & pl.col("next_arrival").is_between(date(2023, 8, 1), date(2024, 1, 31))
    )
    assert voyages.height == summary["voyages"]["voyages"] == 27
    assert dict(voyages.group_by("vessel_name").len().iter_rows()) == {
        "Angara": 9,
        "Lady R": 6,
        "Maia-1": 7,
        "Maria": 5,
    }
    assert calls.height == summary["voyages"]["port_calls"] == 58
    imo = calls.select("imo").unique()["imo"]
    digits = imo.str.split("").list.eval(pl.element().cast(pl.Int64))
    check = digits.list.head(6).list.eval(pl.element() * (7 - pl.int_range(6))).list.sum() % 10
    assert (check == digits.list.last()).all() and (imo.str.len_chars() == 7).all()


def test_reports_are_labelled_and_contain_the_planted_claims(sample: tuple[Path, dict]) -> None:
    raw, summary = sample
    reports = summary["reports"]
    assert reports["count"] == len(list((raw / "reports").glob("*.md"))) == 5
    bodies = {}
    for rel in reports["files"]:
        _, front, body = (raw / rel).read_text().split("---\n", 2)
        meta = yaml.safe_load(front)
        assert meta["synthetic"] is True and "example.org" in meta["url"]
        assert {"title", "publisher", "published", "language"} <= meta.keys()
        assert "SYNTHETIC" in body
        bodies[Path(rel).stem] = body
    for claim in reports["planted_claims"]:
        body = bodies[claim["report_id"]]
        assert claim["text"] in body and claim["period_text"] in body
        assert claim["direction_text"] in body
    for report_id, traps in reports["traps"].items():
        assert all(t in bodies[report_id] for t in traps)
    contrarian = bodies[reports["conflicting_direction"][0]]
    assert "from Russia to North Korea" in contrarian


# ----------------------------------------------------------------------------- scale mode and CLI


def test_scale_mode_exact_rows_and_totals(tmp_path: Path) -> None:
    summary = generate(tmp_path, seed=3, rows=200_000)
    (rel,) = summary["manifests"]["files"]
    lf = pl.scan_csv(tmp_path / rel, infer_schema=False)
    stats = (
        lf.select(
            pl.len().alias("rows"),
            pl.col("waybill_no").n_unique().alias("waybills"),
            is_valid_expr(pl.col("container_no")).sum().alias("valid_containers"),
            pl.col("container_no").count().alias("containers"),
            pl.col("gross_weight")
            .cast(pl.Int64)
            .filter(pl.col("cargo_code").is_in(EXPLOSIVE_CODES))
            .sum()
            .alias("explosive_kg"),
        )
        .collect()
        .row(0, named=True)
    )
    explosive = summary["manifests"]["current"]["explosive"]
    assert stats["rows"] == stats["waybills"] == summary["manifests"]["rows_accepted"] == 200_000
    assert stats["valid_containers"] == stats["containers"]
    assert stats["explosive_kg"] == round(explosive["tonnes"] * 1000)
    assert explosive["shipments"] == 133_333 and summary["manifests"]["rows_quarantined"] == 0
    assert summary["voyages"]["voyages"] == 27 and summary["reports"]["count"] == 5


def test_rerun_replaces_own_files_and_clean_removes_others(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    generate(raw, rows=1_000)
    foreign = raw / "manifests" / "real_upload.csv"
    foreign.write_text("waybill_no\n1\n")
    assert ledger(["generate", "--out", str(raw), "--seed", "7"]) == 0
    manifests = sorted(p.name for p in (raw / "manifests").iterdir())
    assert "synthetic_manifests_scale_1000.csv" not in manifests  # previous output replaced
    assert "real_upload.csv" in manifests and len(manifests) == 6
    assert ledger(["generate", "--out", str(raw), "--clean"]) == 0
    assert not foreign.exists()
    summary = json.loads((raw / "GENERATED.json").read_text())
    assert sorted(summary["files"]) == sorted(file_hashes(raw).keys() - {"GENERATED.json"})


def test_day_mode_adds_one_day_and_leaves_the_rest(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    generate(raw, rows=1_000)
    before = file_hashes(raw)
    assert ledger(["generate", "--out", str(raw), "--day", "2023-11-14", "--rows", "2000"]) == 0
    added = raw / "manifests" / "synthetic_manifests_day_2023-11-14.csv"
    after = file_hashes(raw)
    assert after.pop(added.relative_to(raw).as_posix())
    assert after == before, "every other file is left as it was"
    day = pl.read_csv(added, infer_schema=False)
    scale = pl.read_csv(
        raw / "manifests" / "synthetic_manifests_scale_1000.csv", infer_schema=False
    )
    assert day.height == 2_000 and day["dispatch_date"].unique().to_list() == ["2023-11-14"]
    assert day["waybill_no"].n_unique() == 2_000
    assert not set(day["waybill_no"]) & set(scale["waybill_no"])
    assert not set(day["container_no"].drop_nulls()) & set(scale["container_no"].drop_nulls())
    valid = day.select(is_valid_expr(pl.col("container_no")).sum()).item()
    assert valid == day["container_no"].count()
    with pytest.raises(ValueError, match="must lie in"):
        ledger(["generate", "--out", str(raw), "--day", "2025-01-01"])
