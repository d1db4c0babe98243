"""Fictional open-source reports and the claims a careful reader takes from them."""

from __future__ import annotations

from datetime import date
from pathlib import Path


def _claim(
    text: str,
    metric: str,
    value: int,
    qualifier: str,
    low: int | None = None,
    high: int | None = None,
    period: tuple[str, date, date] | None = None,
) -> dict:
    """One entry of the answer key: a claim as it appears in a report's text.

    ``period`` (its words, start, end) is given for claims whose period is not the report's:
    the extractor must resolve those words to those dates.
    """
    claim = {
        "text": text,
        "metric": metric,
        "value": value,
        "value_low": value if low is None else low,
        "value_high": value if high is None else high,
        "qualifier": qualifier,
    }
    if period is not None:
        words, start, end = period
        claim |= {
            "period_text": words,
            "period_start": start.isoformat(),
            "period_end": end.isoformat(),
        }
    return claim


# Invented publishers and wording; only the orders of magnitude echo public reporting.
# Paragraphs are single lines so that claims never straddle a line break.
# "claims" are what a careful reader takes from each text (the extractor's answer key);
# "traps" are numbers in the text that are NOT claims.
REPORTS: list[dict] = [
    {
        "file": "synthetic_report_01_rail_ledger_observatory.md",
        "front_matter": {
            "title": "Explosive cargo by rail from two Far East ports (synthetic example)",
            "publisher": "Rail Ledger Observatory (fictional)",
            "published": date(2024, 2, 20),
            "url": "https://example.org/synthetic/rail-ledger-observatory/far-east-ports",
            "language": "en",
            "synthetic": True,
            "claims": [
                {
                    "metric": "explosives_tonnes",
                    "value": 74000,
                    "qualifier": "over",
                    "period_start": date(2023, 8, 1),
                    "period_end": date(2024, 1, 31),
                    "direction_from": "KP",
                    "direction_to": "RU",
                },
                {
                    "metric": "rounds",
                    "value": 1600000,
                    "qualifier": "about",
                    "period_start": date(2023, 8, 1),
                    "period_end": date(2024, 1, 31),
                    "direction_from": "KP",
                    "direction_to": "RU",
                },
            ],
        },
        "paragraphs": [
            "# Explosive cargo by rail from two Far East ports",
            "SYNTHETIC REPORT: written to test the shipment ledger. The publisher, the wording "
            "and the analysis are invented.",
            "Our reading of rail consignment records shows that more than 74,000 metric tons of "
            "cargo declared as explosives left the port stations of Dunai and "
            "Nakhodka-Vostochnaya from August 2023 to January 2024. Most consignments were routed "
            "to depots near the western border, above all Tikhoretskaya and Kotluban.",
            "Taken together with port imagery, the pattern fits a supply line from North Korea "
            "to Russia. At roughly 46 kg per packed round, that tonnage corresponds to about 1.6 "
            "million artillery rounds.",
            "The busiest single day in the records was 14 October 2023. Most crates seem sized "
            "for 152mm ammunition, and October volumes were 30 percent above September (see the "
            "chart on page 12).",
        ],
        "claims": [
            _claim("more than 74,000 metric tons", "explosives_tonnes", 74_000, "over"),
            _claim("about 1.6 million artillery rounds", "rounds", 1_600_000, "about"),
        ],
        "period": "from August 2023 to January 2024",
        "direction": "from North Korea to Russia",
        "traps": ["14 October 2023", "152mm", "30 percent", "page 12", "46 kg"],
    },
    {
        "file": "synthetic_report_02_harbour_lens.md",
        "front_matter": {
            "title": "Port calls between Rajin and Primorye terminals (synthetic example)",
            "publisher": "Harbour Lens Monitor (fictional)",
            "published": date(2024, 2, 8),
            "url": "https://example.org/synthetic/harbour-lens/rajin-port-calls",
            "language": "en",
            "synthetic": True,
            "claims": [
                {
                    "metric": "shipments",
                    "value": 27,
                    "qualifier": "exact",
                    "period_start": date(2023, 8, 1),
                    "period_end": date(2024, 1, 31),
                    "direction_from": "KP",
                    "direction_to": "RU",
                }
            ],
        },
        "paragraphs": [
            "# Port calls between Rajin and Primorye terminals",
            "SYNTHETIC REPORT: the monitor, its imagery and this text are invented for testing.",
            "Starting in August 2023, repeated satellite passes counted 27 shipments within six "
            "months from the North Korean port of Rajin to the Russian terminals at Dunai and "
            "Vostochny. The cargo ships Angara, Lady R, Maia-1 and Maria made the crossings, "
            "usually with their transponders switched off.",
            "The first loaded departure we could confirm was on 9 August 2023. Stacks of "
            "containers were visible on the quay at each call, and the ships went back to Rajin "
            "in ballast after unloading. Crate markings were consistent with 122-mm rounds "
            "(Figure 3).",
            "In October 2023 alone the four ships made at least six trips from Rajin to Russia.",
        ],
        "claims": [
            _claim("27 shipments", "shipments", 27, "exact"),
            _claim(
                "at least six trips",
                "shipments",
                6,
                "over",
                period=("In October 2023", date(2023, 10, 1), date(2023, 10, 31)),
            ),
        ],
        "period": "within six months",
        "direction": "from the North Korean port of Rajin to the Russian terminals",
        "traps": ["9 August 2023", "122-mm", "Figure 3"],
    },
    {
        "file": "synthetic_report_03_ministry_statement.md",
        "front_matter": {
            "title": "Statement on munitions transfers (synthetic example)",
            "publisher": "Ministry of Examples, press office (fictional)",
            "published": date(2024, 6, 14),
            "url": "https://example.org/synthetic/ministry-of-examples/statement-0614",
            "language": "en",
            "synthetic": True,
            "claims": [
                {
                    "metric": "containers",
                    "value": 10000,
                    "qualifier": "about",
                    "period_start": date(2023, 8, 1),
                    "period_end": date(2024, 6, 30),
                    "direction_from": "KP",
                    "direction_to": "RU",
                }
            ],
        },
        "paragraphs": [
            "# Statement on munitions transfers",
            "SYNTHETIC REPORT: this statement and its issuer are fictional test material.",
            "The ministry said at a briefing on 13 June 2024 that, since August, about 10,000 "
            "containers had been shipped from North Korea to Russia. Officials added that the "
            "containers could hold nearly 5 million shells.",
            "The statement gave no breakdown by port or by month.",
            "Since last September, the ministry added, more than 60,000 tonnes of ammunition "
            "had crossed the border by rail.",
        ],
        "claims": [
            _claim("about 10,000 containers", "containers", 10_000, "about"),
            _claim("nearly 5 million shells", "rounds", 5_000_000, "nearly"),
            _claim(
                "more than 60,000 tonnes",
                "explosives_tonnes",
                60_000,
                "over",
                period=("Since last September", date(2023, 9, 1), date(2024, 6, 30)),
            ),
        ],
        "period": "since August",
        "direction": "from North Korea to Russia",
        "traps": ["13 June 2024"],
    },
    {
        "file": "synthetic_report_04_open_numbers.md",
        "front_matter": {
            "title": "How many rounds fit in the declared tonnage? (synthetic example)",
            "publisher": "Open Numbers Institute (fictional)",
            "published": date(2024, 3, 1),
            "url": "https://example.org/synthetic/open-numbers/rounds-per-tonne",
            "language": "en",
            "synthetic": True,
        },
        "paragraphs": [
            "# How many rounds fit in the declared tonnage?",
            "SYNTHETIC REPORT: an invented methods note for testing.",
            "Converting tonnage into rounds depends on the assumed mix. For the flows from North "
            "Korea to Russia between August 2023 and January 2024, other estimates put the total "
            "at 4.8 to 5 million rounds, which would imply a much lighter mix than 152mm shells "
            "alone.",
            "Packaging matters too: in our sample of crates, about 30 percent of the gross mass "
            "was wood and metal rather than ammunition (table on page 7).",
            "## Counting containers",
            "Our own count of loaded flatcars came to about 3,000 containers. That was from "
            "September to December 2023, at the two port stations.",
        ],
        "claims": [
            _claim("4.8 to 5 million rounds", "rounds", 4_900_000, "exact", 4_800_000, 5_000_000),
            _claim(
                "about 3,000 containers",
                "containers",
                3_000,
                "about",
                period=("from September to December 2023", date(2023, 9, 1), date(2023, 12, 31)),
            ),
        ],
        "period": "between August 2023 and January 2024",
        "direction": "from North Korea to Russia",
        "traps": ["152mm", "30 percent", "page 7"],
    },
    {
        "file": "synthetic_report_05_coastal_courier.md",
        "front_matter": {
            "title": "Shells heading the other way? (synthetic example)",
            "publisher": "The Coastal Courier (fictional)",
            "published": date(2024, 1, 15),
            "url": "https://example.org/synthetic/coastal-courier/shells-other-way",
            "language": "en",
            "synthetic": True,
        },
        "paragraphs": [
            "# Shells heading the other way?",
            "SYNTHETIC REPORT: a fictional newspaper item whose direction contradicts the other "
            "sources.",
            "A source quoted by the paper claimed that some 300,000 shells were moving from "
            "Russia to North Korea between September 2023 and December 2023, in exchange for "
            "grain and fuel. The paper printed the claim on page 2 without independent "
            "confirmation.",
        ],
        "claims": [_claim("some 300,000 shells", "rounds", 300_000, "about")],
        "period": "between September 2023 and December 2023",
        "direction": "from Russia to North Korea",
        "traps": ["page 2"],
    },
]


def write_reports(raw_dir: Path) -> dict:
    import yaml

    folder = raw_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    for report in REPORTS:
        front = yaml.safe_dump(report["front_matter"], sort_keys=False, allow_unicode=True)
        body = "\n\n".join(report["paragraphs"])
        (folder / report["file"]).write_text(f"---\n{front}---\n\n{body}\n")
    return {
        "files": [f"reports/{r['file']}" for r in REPORTS],
        "count": len(REPORTS),
        "planted_claims": [
            {
                "report_id": r["file"].removesuffix(".md"),
                "period_text": r["period"],
                "direction_text": r["direction"],
                **claim,
            }
            for r in REPORTS
            for claim in r["claims"]
        ],
        "traps": {r["file"].removesuffix(".md"): r["traps"] for r in REPORTS},
        "conflicting_direction": ["synthetic_report_05_coastal_courier"],
    }
