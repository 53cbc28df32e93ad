"""The document's ``timestamp`` schema against the callback model: exact for strings and
numbers alike (a value is in the schema if and only if ingest accepts it), so a bare
schemathesis run has nothing left to be taught."""

from __future__ import annotations

import random
import re

import pytest
from pydantic import ValidationError

from ingest.openapi import TIMESTAMP_PATTERN, openapi_document
from schemas import AgoraCallback
from schemas.timestamps import _MAX_MS, _MIN_MS

BODY = {
    "requestId": "r",
    "checksum": "",
    "object": "o",
    "code": 200,
    "channelName": "",
    "userId": "",
}
PATTERN = re.compile(TIMESTAMP_PATTERN)


def accepted(value: object) -> bool:
    try:
        AgoraCallback.model_validate({**BODY, "timestamp": value})
    except ValidationError:
        return False
    return True


def candidate_strings() -> list[str]:
    rng = random.Random(17)
    edges = [
        "0" * zeros + str(n + delta)
        for n in (_MIN_MS, _MAX_MS)
        for delta in range(-2, 3)
        for zeros in range(10)
    ]
    digits = ["".join(rng.choices("0123456789", k=rng.randint(1, 22))) for _ in range(20_000)]
    times = [
        f"{rng.randint(0, 9999):04d}{rng.randint(0, 13):02d}{rng.randint(0, 32):02d}"
        f"{rng.choice([0, 23, 24]):02d}{rng.choice([0, 59, 60]):02d}{rng.choice([0, 59, 60]):02d}"
        f"{rng.randint(0, 999):03d}"
        for _ in range(20_000)
    ]
    leap_days = [f"{year:04d}0229000000000" for year in range(0, 2500)]
    return [*edges, *digits, *times, *leap_days, "", "1e12", "946684800000\n", "٩" * 13]


def test_a_string_timestamp_matches_the_pattern_exactly_when_ingest_accepts_it() -> None:
    wrong = [s for s in candidate_strings() if bool(PATTERN.fullmatch(s)) != accepted(s)]
    assert wrong == []


NUMBERS = [
    _MIN_MS,
    _MIN_MS - 1,
    _MAX_MS - 1,
    _MAX_MS,
    0,
    -1,
    10**15 - 1,
    10**16 - 1,  # 16 digits
    10**16,  # the smallest 17-digit number (not a real time: year 1000, month 00)
    20190611073246070,  # the docs' own example
    20191311073246070,  # month 13: accepted, its time comes from elsewhere
    20190230000000000,  # 30 February
    99999999999999998,  # found by schemathesis (ST202) when it was refused
    10**17 - 1,
    10**17,  # 18 digits
    2**63,
]


def numeric_branches() -> list[dict[str, int]]:
    document = openapi_document(1024)
    timestamp = document["components"]["schemas"]["AgoraCallback"]["properties"]["timestamp"]
    return [b for b in timestamp["anyOf"] if b["type"] == "integer"]


@pytest.mark.parametrize("value", NUMBERS)
def test_a_numeric_timestamp_is_in_the_schema_exactly_when_ingest_accepts_it(value: int) -> None:
    in_schema = any(b["minimum"] <= value <= b["maximum"] for b in numeric_branches())
    assert accepted(value) is in_schema


def test_random_numbers_are_in_the_schema_exactly_when_ingest_accepts_them() -> None:
    rng = random.Random(170)
    values = [rng.randint(0, 10 ** rng.randint(1, 20)) for _ in range(5_000)]
    branches = numeric_branches()
    wrong = [
        v
        for v in values
        if accepted(v) is not any(b["minimum"] <= v <= b["maximum"] for b in branches)
    ]
    assert wrong == []


def test_the_document_names_no_rule_it_leaves_unstated() -> None:
    """The 422 the document lists is the schema's and the freshness window's, nothing else."""
    responses = openapi_document(1024)["paths"]["/v1/callbacks/{key}"]["post"]["responses"]
    assert responses["422"]["description"] == (
        "Schema violation, or the screenshot time outside the freshness window (when one is "
        "configured)."
    )
