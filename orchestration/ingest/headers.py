"""Header names: the variants senders write for each canonical column, and their matching.

Real manifests name the same column many ways (English, Russian, abbreviations, stray
punctuation); matching works on a normalised form so only the words have to agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# Header variants seen in real manifests, compared after ``normalise_header``.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "waybill_no": ("waybill", "waybill number", "waybill nr", "номер накладной", "накладная"),
    "dispatch_date": (
        "date",
        "dispatch",
        "dispatched",
        "shipment date",
        "date of dispatch",
        "дата отправления",
        "дата отправки",
        "дата",
    ),
    "origin_station_code": (
        "origin code",
        "from code",
        "origin esr",
        "код станции отправления",
        "код ст отправления",
    ),
    "origin_station": (
        "origin",
        "from",
        "from station",
        "origin station name",
        "станция отправления",
    ),
    "destination_station_code": (
        "destination code",
        "dest code",
        "to code",
        "destination esr",
        "код станции назначения",
        "код ст назначения",
    ),
    "destination_station": (
        "destination",
        "dest",
        "to",
        "to station",
        "destination station name",
        "станция назначения",
    ),
    "shipper": ("sender", "consignor", "грузоотправитель", "отправитель"),
    "consignee": ("receiver", "recipient", "грузополучатель", "получатель"),
    "cargo_code": ("cargo code", "etsng", "etsng code", "commodity code", "код груза", "код етснг"),
    "cargo_description": (
        "cargo",
        "commodity",
        "description",
        "cargo name",
        "наименование груза",
        "груз",
    ),
    "hazard_class": ("hazard", "dangerous goods class", "un class", "класс опасности"),
    "wagon_no": ("wagon", "wagon number", "car", "car no", "номер вагона", "вагон"),
    "container_no": ("container", "container number", "номер контейнера", "контейнер"),
    "gross_weight": (
        "weight",
        "gross weight",
        "gross",
        "weight gross",
        "вес брутто",
        "вес",
        "масса брутто",
        "масса",
    ),
    "weight_unit": ("unit", "weight unit", "uom", "единица измерения", "ед изм", "единица"),
    "packages": ("pieces", "packages count", "pkgs", "количество мест", "мест", "места"),
    "vessel_name": ("vessel", "ship", "ship name", "судно", "название судна"),
    "imo": ("imo number", "imo no", "номер imo"),
    "port": ("port name", "port of call", "порт"),
    "arrival": ("arrived", "arrival date", "eta", "прибытие", "дата прибытия"),
    "departure": ("departed", "departure date", "etd", "отход", "дата отхода"),
    "laden": ("loaded", "is laden", "гружёный", "груженый"),
}


def normalise_header(name: str) -> str:
    """Case, BOM, punctuation and spacing differ between senders; the words do not."""
    cleaned = name.replace("\ufeff", "").strip().strip('"').lower().replace("ё", "е")
    return re.sub(r"[\s_\-.,:/()]+", " ", cleaned).strip()


def _alias_index(canonical: Sequence[str]) -> dict[str, str]:
    index = {normalise_header(c): c for c in canonical}
    for column in canonical:
        for alias in HEADER_ALIASES.get(column, ()):
            index.setdefault(normalise_header(alias), column)
    return index


def map_headers(
    headers: Sequence[str], canonical: Sequence[str]
) -> tuple[dict[str, str], list[str]]:
    """Header -> canonical column for known headers, plus the headers kept aside as extras.

    The first header mapping to a canonical column wins; a second one is reported as extra.
    Headers with no name (trailing separators) are neither.
    """
    index = _alias_index(canonical)
    mapped: dict[str, str] = {}
    unmapped: list[str] = []
    for header in headers:
        target = index.get(normalise_header(header))
        if target is not None and target not in mapped.values():
            mapped[header] = target
        elif normalise_header(header) and not header.startswith("__unnamed"):
            unmapped.append(header)
    return mapped, unmapped


def missing_required(present: Iterable[str], required: Sequence[tuple[str, ...]]) -> list[str]:
    """The required groups none of whose columns is present, each as 'a or b'."""
    have = set(present)
    return [" or ".join(group) for group in required if not have.intersection(group)]
