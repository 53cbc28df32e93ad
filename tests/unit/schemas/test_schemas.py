"""The Agora callback contract: object names, timestamps, checksum, the callback model."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from schemas import (
    AgoraCallback,
    ObjectNameError,
    ProjectConfig,
    TimestampError,
    Topics,
    checksum,
    checksum_matches,
    compact_utc,
    parse_object_name,
    to_utc,
)

SEED_OBJECT = (
    "test/20201216/38f8e3cfdc474cd56fc1ceba380d7e1a_httpClient463224"
    "__uid_s_91__uid_e_video_20200413081128672.jpg"
)


def seed_callback(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "requestId": "38f8e3cfdcXXXXXXXXX1ceba380d7e1a_1652693284_b5813fe2ae4fa5cdfe5abd8fef82526f",
        "callbackParam": {"cname": "httpClient463224"},
        "callbackData": "",
        "checksum": "75ee988XXXXXXc2ad4ec2aef58f178fd8",
        "object": SEED_OBJECT,
        "code": 200,
        "msg": "Supervise complete",
        "channelName": "httpClient463224",
        "userId": "91",
        "timestamp": 20190611073246070,
    }
    body.update(changes)
    return body


def test_seed_object_name_parses_into_its_fields() -> None:
    name = parse_object_name(SEED_OBJECT)
    assert name.prefix == "test"
    assert name.date == "20201216"
    assert name.sid == "38f8e3cfdc474cd56fc1ceba380d7e1a"
    assert name.cname == "httpClient463224"
    assert name.uid == "91"
    assert name.type == "video"
    assert name.utc == datetime(2020, 4, 13, 8, 11, 28, 672000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cname", "uid"),
    [("room_a", "7"), ("a__b__c", "123"), ("_lead_", "9"), ("x_uid_s_y", "42"), ("ch", "abc_d")],
)
def test_channel_names_with_underscores_keep_every_field(cname: str, uid: str) -> None:
    obj = f"p/20240101/{'ab' * 16}_{cname}__uid_s_{uid}__uid_e_video_20240101000000001.jpg"
    name = parse_object_name(obj)
    assert (name.cname, name.uid, name.sid) == (cname, uid, "ab" * 16)


@pytest.mark.parametrize(
    ("prefix", "expected"), [("", ""), ("a", "a"), ("a/b/c", "a/b/c"), ("d1/d2", "d1/d2")]
)
def test_prefix_may_be_empty_or_several_segments(prefix: str, expected: str) -> None:
    head = f"{prefix}/" if prefix else ""
    obj = f"{head}20240101/{'0' * 32}_ch__uid_s_1__uid_e_video_20240101000000001.jpg"
    assert parse_object_name(obj).prefix == expected


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "nodir.jpg",
        f"p/2024010/{'0' * 32}_ch__uid_s_1__uid_e_video_20240101000000001.jpg",
        f"p/20240101/{'0' * 31}_ch__uid_s_1__uid_e_video_20240101000000001.jpg",
        f"p/20240101/{'g' * 32}_ch__uid_s_1__uid_e_video_20240101000000001.jpg",
        f"p/20240101/{'0' * 32}_ch__uid_s_1__uid_e_video_2024010100000000.jpg",
        f"p/20240101/{'0' * 32}_ch__uid_s_1__uid_e_video_20241301000000001.jpg",
        f"p/20240101/{'0' * 32}_ch__uid_s_1__uid_e_video_20240101000000001.png",
        f"p/20240101/{'0' * 32}_ch_uid_s_1__uid_e_video_20240101000000001.jpg",
        f"p/20240101/{'0' * 32}_ch__uid_s_1_uid_e_video_20240101000000001.jpg",
        f"p/20240101/{'0' * 32}___uid_s_1__uid_e_video_20240101000000001.jpg",
        f"p/20240101/{'0' * 32}_ch__uid_s___uid_e_video_20240101000000001.jpg",
    ],
)
def test_malformed_object_names_are_rejected_with_a_reason(bad: str) -> None:
    with pytest.raises(ObjectNameError, match=r"\w"):
        parse_object_name(bad)


def test_seed_example_timestamp_is_the_17_digit_form() -> None:
    assert to_utc(20190611073246070) == datetime(2019, 6, 11, 7, 32, 46, 70000, tzinfo=UTC)


def test_unix_milliseconds_are_accepted() -> None:
    assert to_utc(1652693284123) == datetime(2022, 5, 16, 9, 28, 4, 123000, tzinfo=UTC)
    assert to_utc("1652693284123") == to_utc(1652693284123)


def test_both_timestamp_forms_name_the_same_instant() -> None:
    instant = datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=UTC)
    millis = int(instant.timestamp() * 1000)
    assert to_utc(int(compact_utc(instant))) == to_utc(millis) == instant


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (1652693284, "Unix seconds"),
        (-5, "negative"),
        (True, "boolean"),
        (20191311073246070, "not a valid"),
        (123, "neither"),
        ("12ab", "digits"),
        (1.5, "integer"),
    ],
)
def test_other_timestamps_are_rejected_clearly(value: object, reason: str) -> None:
    with pytest.raises(TimestampError, match=reason):
        to_utc(value)  # type: ignore[arg-type]


def test_default_checksum_is_md5_of_the_four_fields_concatenated() -> None:
    import hashlib

    addr = "https://hooks.example.com/v1/callbacks/demo"
    expected = hashlib.md5(f"{addr}200{SEED_OBJECT}rid-1".encode()).hexdigest()
    assert checksum(addr, 200, SEED_OBJECT, "rid-1") == expected
    assert expected == expected.lower()


def test_checksum_compare_ignores_case_and_rejects_other_digests() -> None:
    digest = checksum("a", 200, "o", "r")
    assert checksum_matches(digest, digest.upper())
    assert not checksum_matches(digest, checksum("a", 200, "o", "r2"))
    assert not checksum_matches(digest, "")


def test_checksum_template_is_configurable_and_validated() -> None:
    template = "{requestId}|{object}|{code}|{callbackAddr}"
    assert checksum("a", 200, "o", "r", template) != checksum("a", 200, "o", "r")
    ProjectConfig(callback_addr="https://x", checksum_template=template)
    with pytest.raises(ValidationError, match="unknown fields"):
        ProjectConfig(callback_addr="https://x", checksum_template="{secret}")


def test_seed_example_validates_and_keeps_extras() -> None:
    cb = AgoraCallback.model_validate(seed_callback(extraField=1))
    assert cb.event_time == datetime(2019, 6, 11, 7, 32, 46, 70000, tzinfo=UTC)
    assert cb.as_received()["extraField"] == 1
    assert cb.as_received()["callbackParam"] == {"cname": "httpClient463224"}


@pytest.mark.parametrize(
    "change",
    [
        {"code": "200"},
        {"requestId": ""},
        {"timestamp": 1652693284},
        {"timestamp": 1.5},
        {"userId": 91},
        {"object": None},
        {"callbackParam": "x"},
    ],
)
def test_schema_violations_are_rejected(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        AgoraCallback.model_validate(seed_callback(**change))


def test_missing_fields_are_rejected() -> None:
    body = seed_callback()
    del body["checksum"]
    with pytest.raises(ValidationError, match="checksum"):
        AgoraCallback.model_validate(body)


def test_topic_names_carry_the_prefix_and_usage_is_compacted() -> None:
    topics = Topics(prefix="acme.")
    assert topics.callbacks == "acme.shotline.callbacks.v1"
    specs = {spec.name: spec for spec in topics.specs()}
    assert specs["acme.shotline.usage.v1"].config["cleanup.policy"] == "compact"
    assert all(name.startswith("acme.shotline.") for name in specs)
