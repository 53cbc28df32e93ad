"""Normalising a callback: object name parsed, UTC event time, consistency flags."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from processors.dedupe.logic import normalise
from schemas import ScreenshotRecord
from tests.callbacks_factory import envelope


def test_consistent_callback_gets_all_flags_true_and_utc_event_time() -> None:
    record = normalise(envelope(5), tolerance_ms=1000)
    assert record.request_id == "req-5"
    assert record.event_time == datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)
    assert record.object is not None
    assert record.object.cname == "room_1"
    assert record.object_error is None
    assert record.consistency.consistent
    assert record.consistency.time_skew_ms == 0


def test_object_name_disagreeing_with_fields_is_flagged_not_rejected() -> None:
    env = envelope(1)
    callback = env.callback.model_copy(
        update={"channelName": "other", "userId": "7", "timestamp": env.callback.timestamp + 5000}
    )
    record = normalise(env.model_copy(update={"callback": callback}), tolerance_ms=1000)
    flags = record.consistency
    assert (flags.channel_matches, flags.uid_matches, flags.time_matches) == (False, False, False)
    assert flags.time_skew_ms == -5000
    assert not flags.consistent


def test_unparsable_object_name_gives_null_object_and_the_reason() -> None:
    env = envelope(2)
    callback = env.callback.model_copy(update={"object": "not/an-agora-name.png"})
    record = normalise(env.model_copy(update={"callback": callback}), tolerance_ms=1000)
    assert record.object is None
    assert record.object_error is not None
    assert "yyyymmdd" in record.object_error
    assert record.consistency.channel_matches is None


def test_screenshot_record_round_trips_through_json_with_the_callback_as_received() -> None:
    record = normalise(envelope(3), tolerance_ms=1000)
    again = ScreenshotRecord.model_validate_json(record.model_dump_json())
    assert again == record
    assert again.callback.as_received()["requestId"] == "req-3"


def test_normalised_object_name_equals_the_public_parser() -> None:
    from schemas import parse_object_name

    env = envelope(3)
    record = normalise(env, tolerance_ms=1000)
    assert record.object == parse_object_name(env.callback.object)


def test_unparsable_object_name_leaves_every_flag_unknown() -> None:
    env = envelope(2)
    callback = env.callback.model_copy(update={"object": "no-directory.jpg"})
    record = normalise(env.model_copy(update={"callback": callback}), tolerance_ms=1000)
    assert record.object is None
    assert record.object_error == "object name has no <yyyymmdd>/ directory"
    flags = record.consistency
    assert (flags.channel_matches, flags.uid_matches, flags.time_matches) == (None, None, None)
    assert not flags.consistent


def with_timestamp(i: int, timestamp: int | str, **changes: str) -> ScreenshotRecord:
    env = envelope(i)
    callback = env.callback.model_copy(update={"timestamp": timestamp, **changes})
    return normalise(env.model_copy(update={"callback": callback}), tolerance_ms=1000)


def test_a_readable_timestamp_is_the_time_and_says_so() -> None:
    record = normalise(envelope(5), tolerance_ms=1000)
    assert record.time_source == "timestamp"
    assert record.model_dump(mode="json")["time_source"] == "timestamp"


@pytest.mark.parametrize("timestamp", [99999999999999998, 20261399000000000, "20260230120000000"])
def test_an_unreadable_timestamp_takes_the_object_names_time(timestamp: int | str) -> None:
    record = with_timestamp(5, timestamp)
    assert record.event_time == datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)  # the name's <utc>
    assert record.time_source == "object"
    flags = record.consistency
    assert (flags.channel_matches, flags.uid_matches) == (True, True)
    assert (flags.time_matches, flags.time_skew_ms) == (None, None)  # nothing stated to compare
    assert not flags.consistent
    assert record.callback.timestamp == timestamp  # the callback stays as received


def test_an_unreadable_timestamp_without_an_object_time_takes_the_receive_time() -> None:
    env = envelope(6)
    received = datetime(2026, 3, 1, 12, 0, 9, 123_456, tzinfo=UTC)
    callback = env.callback.model_copy(
        update={"timestamp": "00000000000000000", "object": "flat.jpg"}
    )
    record = normalise(
        env.model_copy(update={"callback": callback, "received_at": received}), tolerance_ms=1000
    )
    assert record.event_time == datetime(2026, 3, 1, 12, 0, 9, 123_000, tzinfo=UTC)  # whole ms
    assert record.received_at == received
    assert record.time_source == "received"
    assert record.consistency.channel_matches is None


def test_a_record_written_before_time_source_existed_still_validates() -> None:
    data = normalise(envelope(3), tolerance_ms=1000).model_dump(mode="json")
    del data["time_source"]
    assert ScreenshotRecord.model_validate(data).time_source == "timestamp"
