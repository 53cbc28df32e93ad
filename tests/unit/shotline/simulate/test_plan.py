from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest
from pydantic import ValidationError

from schemas import AgoraCallback, checksum, checksum_matches, parse_object_name
from shotline.simulate import FaultRates, Kind, Planner, SimulateSettings, channel_names

NOW = datetime(2026, 11, 24, 23, 59, 58, 123000, tzinfo=UTC)


def _planner(**faults: float) -> Planner:
    return Planner(SimulateSettings(seed=7, faults=FaultRates(**faults), prefix="a/b/c"))


def test_valid_callback_follows_agora_contract_and_checksum() -> None:
    planner = _planner()
    shot = planner.next(NOW)
    callback = AgoraCallback.model_validate(orjson.loads(shot.body))
    name = parse_object_name(callback.object)
    assert shot.kind is Kind.VALID
    assert (name.prefix, name.date, name.type) == ("a/b/c", "20261124", "video")
    assert (name.cname, name.uid) == (callback.channelName, callback.userId)
    assert name.cname == callback.callbackParam.cname
    assert name.utc == callback.event_time == NOW
    assert callback.code == 200
    assert callback.msg == "Supervise complete"
    assert callback.requestId.startswith(name.sid)
    want = checksum(planner.settings.url, 200, callback.object, callback.requestId)
    assert checksum_matches(want, callback.checksum)


def test_channel_names_include_underscores_and_still_parse() -> None:
    names = channel_names(8)
    assert any("__" in n for n in names)
    assert any("_" in n and "__" not in n for n in names)
    planner = Planner(SimulateSettings(channels=8, users=2, seed=1))
    for _ in range(16):
        callback = AgoraCallback.model_validate(orjson.loads(planner.next(NOW).body))
        assert parse_object_name(callback.object).cname == callback.channelName


def test_request_ids_and_objects_are_unique() -> None:
    planner = _planner()
    shots = [planner.next(NOW) for _ in range(2000)]
    assert len({s.request_id for s in shots}) == 2000
    assert len({s.object_name for s in shots}) == 2000


def test_compact_timestamp_is_17_digits_and_means_the_same_instant() -> None:
    shot = _planner(compact_timestamp=1.0).next(NOW)
    data = orjson.loads(shot.body)
    assert shot.compact_timestamp
    assert data["timestamp"] == 20261124235958123
    assert AgoraCallback.model_validate(data).event_time == NOW


def test_unix_ms_is_the_default_timestamp_form() -> None:
    data = orjson.loads(_planner().next(NOW).body)
    assert data["timestamp"] == int(NOW.timestamp() * 1000)


def test_bad_checksum_is_well_formed_but_does_not_match() -> None:
    planner = _planner(bad_checksum=1.0)
    shot = planner.next(NOW)
    callback = AgoraCallback.model_validate(orjson.loads(shot.body))
    want = checksum(planner.settings.url, 200, callback.object, callback.requestId)
    assert shot.kind is Kind.BAD_CHECKSUM
    assert len(callback.checksum) == 32
    assert not checksum_matches(want, callback.checksum)


def test_malformed_bodies_never_validate() -> None:
    planner = _planner(malformed=1.0)
    for _ in range(40):
        shot = planner.next(NOW)
        assert shot.kind is Kind.MALFORMED
        with pytest.raises((orjson.JSONDecodeError, ValidationError)):
            AgoraCallback.model_validate(orjson.loads(shot.body))


def test_fault_mix_follows_the_rates_and_is_reproducible() -> None:
    rates = {"bad_checksum": 0.1, "malformed": 0.1, "missing_object": 0.1, "dropped": 0.1}
    planner = _planner(**rates)
    kinds = Counter(planner.next(NOW).kind for _ in range(4000))
    for kind in (Kind.BAD_CHECKSUM, Kind.MALFORMED, Kind.MISSING_OBJECT, Kind.DROPPED):
        assert 300 < kinds[kind] < 500
    assert 2200 < kinds[Kind.VALID] < 2600
    replay = _planner(**rates)
    again = Counter(replay.next(NOW).kind for _ in range(4000))
    assert again == kinds


def test_duplicate_storms_only_hit_acceptable_screenshots() -> None:
    planner = _planner(duplicate=1.0, bad_checksum=0.5)
    shots = [planner.next(NOW) for _ in range(400)]
    assert all(1 <= s.duplicates <= 3 for s in shots if s.kind.acceptable)
    assert all(s.duplicates == 0 for s in shots if not s.kind.acceptable)


def test_exclusive_fault_rates_above_one_are_refused() -> None:
    with pytest.raises(ValidationError):
        FaultRates(bad_checksum=0.6, dropped=0.6)


def test_interval_sets_the_rate_unless_rate_is_given() -> None:
    assert SimulateSettings(channels=10, users=3, interval_s=5).screenshots_per_s == 6.0
    assert SimulateSettings(rate=250).screenshots_per_s == 250


@pytest.mark.parametrize("prefix", ["a_b", "/a", "a/", "a//b", "x" * 129, "dir-1"])
def test_prefixes_agora_console_refuses_are_refused(prefix: str) -> None:
    with pytest.raises(ValidationError, match="letters and digits"):
        SimulateSettings(prefix=prefix)


def test_an_empty_prefix_puts_the_date_directory_first() -> None:
    shot = Planner(SimulateSettings(prefix="", seed=1)).next(NOW)
    assert shot.object_name.startswith("20261124/")
    assert parse_object_name(shot.object_name).prefix == ""
