"""``to_utc`` and ``compact_utc`` at their edges: the accepted millisecond range is half-open
([2000-01-01, 2200-01-01)) on both the int fast path and the string path, and every rejection
says exactly what was wrong."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from schemas import TimestampError, UnreadableTimestampError, compact_utc, stated_time, to_utc
from schemas.timestamps import _MAX_MS, _MIN_MS

NEITHER = "nor 17-digit yyyyMMddHHmmssSSS"


@pytest.mark.parametrize("value", [_MIN_MS, str(_MIN_MS)])
def test_the_first_accepted_millisecond_is_2000_01_01(value: int | str) -> None:
    assert to_utc(value) == datetime(2000, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("value", [_MAX_MS - 1, str(_MAX_MS - 1)])
def test_the_last_accepted_millisecond_is_just_before_2200(value: int | str) -> None:
    assert to_utc(value) == datetime(2200, 1, 1, tzinfo=UTC) - timedelta(milliseconds=1)


@pytest.mark.parametrize(
    "value", [_MAX_MS, str(_MAX_MS), _MIN_MS - 1, str(_MIN_MS - 1), 0, "0", "000"]
)
def test_milliseconds_outside_2000_to_2200_are_rejected_with_the_rule(value: int | str) -> None:
    with pytest.raises(TimestampError) as caught:
        to_utc(value)
    assert str(caught.value) == (
        f"timestamp {value} is neither Unix milliseconds (2000..2200) {NEITHER}"
    )


@pytest.mark.parametrize("value", [1652693284, "1652693284"])
def test_ten_digits_get_the_unix_seconds_hint(value: int | str) -> None:
    with pytest.raises(TimestampError) as caught:
        to_utc(value)
    assert str(caught.value) == (
        f"timestamp 1652693284 is neither Unix milliseconds (2000..2200) {NEITHER}"
        " (looks like Unix seconds)"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "timestamp must be an integer, not a boolean"),
        (False, "timestamp must be an integer, not a boolean"),
        (-1, "timestamp must not be negative"),
        (-_MIN_MS, "timestamp must not be negative"),
        (1.5, "timestamp must be an integer, got float"),
        (None, "timestamp must be an integer, got NoneType"),
        ("12ab", "timestamp '12ab' is not a string of ASCII digits"),
        ("", "timestamp '' is not a string of ASCII digits"),
        ("-5", "timestamp '-5' is not a string of ASCII digits"),
        (20191311073246070, "'20191311073246070' is not a valid yyyyMMddHHmmssSSS time"),
    ],
)
def test_other_timestamps_are_rejected_with_their_exact_reason(value: object, message: str) -> None:
    with pytest.raises(TimestampError) as caught:
        to_utc(value)  # type: ignore[arg-type]
    assert str(caught.value) == message


@pytest.fixture
def host_in_india(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone is UTC+05:30 (a POSIX TZ rule: no tz database needed)."""
    monkeypatch.setenv("TZ", "IST-5:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("host_in_india")
def test_compact_utc_is_utc_whatever_the_host_time_zone() -> None:
    assert datetime(2024, 1, 1, tzinfo=UTC).astimezone().utcoffset() == timedelta(hours=5.5)
    ist = timezone(timedelta(hours=5, minutes=30))
    assert compact_utc(datetime(2024, 1, 1, 5, 30, 0, 123456, tzinfo=ist)) == "20240101000000123"
    assert compact_utc(datetime(2024, 1, 1, tzinfo=UTC)) == "20240101000000000"


@pytest.mark.parametrize(
    "value",
    [20191311073246070, "20191311073246070", 99999999999999998, "00000000000000000", 10**16],
)
def test_17_digits_that_are_not_a_time_state_none_and_to_utc_says_why(value: int | str) -> None:
    assert stated_time(value) is None
    with pytest.raises(UnreadableTimestampError) as caught:
        to_utc(value)
    assert str(caught.value) == f"{str(value)!r} is not a valid yyyyMMddHHmmssSSS time"
    assert isinstance(caught.value, TimestampError)


@pytest.mark.parametrize(
    "value", [_MIN_MS, str(_MAX_MS - 1), 20190611073246070, "20190611073246070", "00946684800000"]
)
def test_a_readable_timestamp_states_what_to_utc_gives(value: int | str) -> None:
    assert stated_time(value) == to_utc(value)
    assert stated_time(value) is not None


@pytest.mark.parametrize("value", [_MAX_MS, 1652693284, True, -1, 1.0, "1e12", "٩" * 17, 10**17])
def test_stated_time_refuses_what_to_utc_refuses(value: object) -> None:
    with pytest.raises(TimestampError) as caught:
        stated_time(value)  # type: ignore[arg-type]
    assert not isinstance(caught.value, UnreadableTimestampError)
