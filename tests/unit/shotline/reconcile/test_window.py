"""The reconciler's pure parts: times, day folders, candidates, the published callback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.utils import parse_timestamp

from schemas import CallbackEnvelope, ProjectConfig, checksum, checksum_matches
from schemas.identity import callback_key
from schemas.wire import decode_envelope
from shotline.errors import TimeSyntaxError
from shotline.reconcile.callbacks import reconciled_envelope, reconciled_request_id
from shotline.reconcile.listing import _timestamp
from shotline.reconcile.window import Skip, TimeRange, classify, day_prefixes, parse_time

NOW = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
KEY = "a/b/20261130/" + "ab" * 16 + "_live_room__uid_s_77__uid_e_video_20261130235900250.jpg"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-2h", NOW - timedelta(hours=2)),
        ("-90s", NOW - timedelta(seconds=90)),
        ("-1.5d", NOW - timedelta(hours=36)),
        ("now", NOW),
        ("2026-11-30T22:00:00Z", datetime(2026, 11, 30, 22, tzinfo=UTC)),
        ("2026-11-30T23:00:00+01:00", datetime(2026, 11, 30, 22, tzinfo=UTC)),
        ("2026-11-30 22:00", datetime(2026, 11, 30, 22, tzinfo=UTC)),  # naive is UTC
    ],
)
def test_times_are_iso_8601_or_relative_to_now(text: str, expected: datetime) -> None:
    assert parse_time(text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "2h", "-2y", "-h", "2026-13-01"])
def test_other_times_are_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(TimeSyntaxError, match="ISO 8601"):
        parse_time(text, NOW)


def test_a_range_across_midnight_lists_both_days_under_the_prefix() -> None:
    window = TimeRange(NOW - timedelta(hours=2), NOW)
    assert day_prefixes("a/b", window) == ["a/b/20261130/", "a/b/20261201/"]
    assert day_prefixes("", window) == ["20261130/", "20261201/"]
    assert day_prefixes("x", TimeRange(NOW - timedelta(hours=2), NOW - timedelta(hours=1))) == [
        "x/20261130/"
    ]
    ends_at_midnight = TimeRange(datetime(2026, 11, 30, 22, tzinfo=UTC), NOW.replace(minute=0))
    assert list(ends_at_midnight.days()) == ["20261130"]  # until is exclusive
    with pytest.raises(TimeSyntaxError):
        TimeRange(NOW, NOW)


def test_candidates_parse_fall_in_the_range_and_are_older_than_the_grace() -> None:
    window = TimeRange(NOW - timedelta(hours=1), NOW)
    old = NOW - timedelta(minutes=20)
    settled = NOW - timedelta(minutes=10)
    assert classify(KEY, old, window, settled) is None
    assert classify("a/b/20261130/readme.txt", old, window, settled) is Skip.NOT_AGORA
    assert classify(KEY, NOW - timedelta(minutes=5), window, settled) is Skip.TOO_RECENT
    early = TimeRange(NOW - timedelta(hours=3), NOW - timedelta(hours=1))
    assert classify(KEY, old, early, settled) is Skip.OUT_OF_RANGE


def test_the_published_callback_is_deterministic_keyed_and_verifiable() -> None:
    project = ProjectConfig(callback_addr="https://hooks.example.com/cb", bucket="shots")
    env = reconciled_envelope("demo", project, "shots", KEY, NOW)
    again = reconciled_envelope("demo", project, "shots", KEY, NOW + timedelta(hours=1))
    cb = env.callback
    assert cb.requestId == again.callback.requestId == reconciled_request_id("shots", KEY)
    assert cb.requestId != reconciled_request_id("other-bucket", KEY)
    assert callback_key(cb.object, cb.requestId) == KEY  # lands where the real one would
    assert (cb.channelName, cb.userId, cb.code) == ("live_room", "77", 200)
    assert cb.event_time == datetime(2026, 11, 30, 23, 59, 0, 250_000, tzinfo=UTC)
    assert env.source == "reconciler"
    # ingest's check would pass it: the checksum follows the project's template
    assert checksum_matches(checksum(project.callback_addr, 200, KEY, cb.requestId), cb.checksum)
    data = env.model_dump_json().encode()
    wire = decode_envelope(data)  # dedupe's fast path takes it
    assert wire is not None
    assert wire.envelope.source == "reconciler"
    assert CallbackEnvelope.model_validate_json(data) == env


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-01T07:00:00.000Z",
        "2026-12-01T07:00:00Z",
        "2026-12-01T07:00:00.123456+00:00",
        "Tue, 01 Dec 2026 07:00:00 GMT",  # not ISO: botocore's own parser decides
    ],
)
def test_the_fast_listing_timestamp_parser_agrees_with_botocore(text: str) -> None:
    assert _timestamp(text) == parse_timestamp(text)
    assert _timestamp(text).utcoffset() == timedelta(0)
