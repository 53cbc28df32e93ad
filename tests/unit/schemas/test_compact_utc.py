"""The 17-digit ``yyyyMMddHHmmssSSS`` parser rejects exactly what ``strptime`` rejected."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas import TimestampError
from schemas.timestamps import parse_compact_utc


def test_compact_time_keeps_its_milliseconds() -> None:
    assert parse_compact_utc("20240229235959999") == datetime(
        2024, 2, 29, 23, 59, 59, 999000, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "text",
    [
        "20230229000000000",  # no 29 February in 2023
        "20240431000000000",  # April has 30 days
        "20241301000000000",  # month 13
        "20240100000000000",  # day 0
        "20240101240000000",  # hour 24
        "20240101006000000",  # minute 60
        "20240101000060000",  # second 60 (strptime's %S took 60/61, datetime refused)
        "00000101000000000",  # year 0
    ],
)
def test_impossible_compact_times_are_rejected(text: str) -> None:
    with pytest.raises(TimestampError, match="is not a valid yyyyMMddHHmmssSSS time"):
        parse_compact_utc(text)


@pytest.mark.parametrize(
    "text",
    [
        "2024010100000000",
        "2024010100000000a",
        "+2024010100000000",
        "\uff12\uff10\uff12\uff14" + "\uff10" * 13,  # fullwidth digits: str.isdigit, not ASCII
    ],
)
def test_compact_times_need_exactly_17_digits(text: str) -> None:
    with pytest.raises(TimestampError, match="expected 17 digits"):
        parse_compact_utc(text)


def test_timestamps_must_be_ascii_digits() -> None:
    from schemas import to_utc

    with pytest.raises(TimestampError, match="ASCII digits"):
        to_utc("١٧٧٢٣٦٦٤٠٠٠٠٠")  # Arabic-Indic digits: int() would take them


def test_unix_milliseconds_convert_exactly_over_the_whole_accepted_range() -> None:
    """``to_utc`` takes the float fast path for ints; it must equal integer arithmetic."""
    import random
    from datetime import timedelta

    from schemas import to_utc
    from schemas.timestamps import _EPOCH, _MAX_MS, _MIN_MS

    rng = random.Random(7)
    values = [
        *range(_MIN_MS, _MIN_MS + 20_000),
        *range(_MAX_MS - 20_000, _MAX_MS),
        *(rng.randrange(_MIN_MS, _MAX_MS) for _ in range(50_000)),
    ]
    wrong = [v for v in values if to_utc(v) != _EPOCH + timedelta(milliseconds=v)]
    assert wrong == []
    assert to_utc(_MAX_MS - 1).microsecond == 999_000
