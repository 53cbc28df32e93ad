"""The document's ``timestamp`` schema against the callback model: the string form is exact
(a string matches the pattern if and only if ingest accepts it), the numeric forms differ only
where the document says so, and the fuzzing hook rewrites only what the schema admits."""

from __future__ import annotations

import random
import re

import pytest
from pydantic import ValidationError

from ingest.openapi import TIMESTAMP_PATTERN, openapi_document
from schemas import AgoraCallback
from schemas.timestamps import _MAX_MS, _MIN_MS
from tests.schemathesis_hooks import (
    COMPACT_NUMBER_MAX,
    COMPACT_NUMBER_MIN,
    as_ingest_reads_it,
    real_compact_time,
)

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


@pytest.mark.parametrize(
    ("value", "in_schema", "is_accepted"),
    [
        (_MIN_MS, True, True),
        (_MIN_MS - 1, False, False),
        (_MAX_MS - 1, True, True),
        (_MAX_MS, False, False),
        (20190611073246070, True, True),  # the docs' own example
        (COMPACT_NUMBER_MIN, True, True),  # 1000-01-01
        (COMPACT_NUMBER_MAX, True, True),  # 9999-12-31 23:59:59.999
        (99999999999999998, False, False),  # found by schemathesis (ST202): now outside
        (20191311073246070, True, False),  # month 13: the documented 422
    ],
)
def test_numeric_timestamps_differ_from_the_schema_only_where_the_document_says(
    value: int, in_schema: bool, is_accepted: bool
) -> None:
    branches = openapi_document(1024)["components"]["schemas"]["AgoraCallback"]["properties"][
        "timestamp"
    ]["anyOf"]
    numeric = [b for b in branches if b["type"] == "integer"]
    assert any(b["minimum"] <= value <= b["maximum"] for b in numeric) is in_schema
    assert accepted(value) is is_accepted


@pytest.mark.parametrize("value", [20191311073246070, 99991299995999999, 10000100000000000 + 1])
def test_the_hook_folds_a_compact_number_into_a_real_time_of_the_same_year(value: int) -> None:
    folded = real_compact_time(value)
    assert accepted(folded)
    assert str(folded)[:4] == str(value)[:4]
    assert str(folded)[14:] == str(value)[14:]


def test_the_hook_rewrites_only_values_the_schema_admits() -> None:
    assert as_ingest_reads_it({"timestamp": 20191311073246070})["timestamp"] != 20191311073246070
    assert as_ingest_reads_it({"timestamp": 1652693284123.0, "code": 200.0}) == {
        "timestamp": 1652693284123,
        "code": 200,
    }
    untouched = {"timestamp": COMPACT_NUMBER_MAX + 1, "code": 1.5}
    assert as_ingest_reads_it(untouched) == untouched
    assert as_ingest_reads_it({"timestamp": "20191311073246070"})["timestamp"] == (
        "20191311073246070"
    )
