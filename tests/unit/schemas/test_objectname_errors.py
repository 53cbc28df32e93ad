"""Every object-name rejection says exactly why, and names with marker-like channel names or
types keep their fields: the parser is anchored on the *last* markers."""

from __future__ import annotations

import pytest

from schemas import ObjectNameError, parse_object_name

SID = "0" * 32
UTC = "20240101000000001"


def name(stem: str, date: str = "20240101", ext: str = ".jpg") -> str:
    return f"p/{date}/{stem}{ext}"


GOOD_STEM = f"{SID}_ch__uid_s_1__uid_e_video_{UTC}"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("nodir.jpg", "object name has no <yyyymmdd>/ directory"),
        ("", "object name has no <yyyymmdd>/ directory"),
        (name(GOOD_STEM, date="2024010"), "date directory '2024010' is not yyyymmdd"),
        (name(GOOD_STEM, date="202401011"), "date directory '202401011' is not yyyymmdd"),
        (name(GOOD_STEM, date="2024010a"), "date directory '2024010a' is not yyyymmdd"),
        (f"/{GOOD_STEM}.jpg", "date directory '' is not yyyymmdd"),
        (name(GOOD_STEM, ext=".png"), "object name does not end in .jpg"),
        (name(GOOD_STEM, ext=".JPG"), "object name does not end in .jpg"),
        (name(f"{SID}_ch__uid_s_1_uid_e_video_{UTC}"), "object name has no __uid_e_ marker"),
        (name(f"{SID}_ch_uid_s_1__uid_e_video_{UTC}"), "object name has no __uid_s_ marker"),
        (
            name(f"{SID[:-1]}_ch__uid_s_1__uid_e_video_{UTC}"),
            "object name does not start with a 32-hex sid and '_'",
        ),
        (
            name(f"{'g' * 32}_ch__uid_s_1__uid_e_video_{UTC}"),
            "object name does not start with a 32-hex sid and '_'",
        ),
        (
            name(f"{SID[:16]}x{SID[17:]}_ch__uid_s_1__uid_e_video_{UTC}"),
            "object name does not start with a 32-hex sid and '_'",
        ),
        (
            name(f"{SID}-ch__uid_s_1__uid_e_video_{UTC}"),
            "object name does not start with a 32-hex sid and '_'",
        ),
        (name(f"{SID}___uid_s_1__uid_e_video_{UTC}"), "object name has an empty channel name"),
        (name(f"{SID}_ch__uid_s___uid_e_video_{UTC}"), "object name has an empty uid"),
        (
            name(f"{SID}_ch__uid_s_1__uid_e__{UTC}"),
            "file type '' is not a lowercase word such as 'video'",
        ),
        (
            name(f"{SID}_ch__uid_s_1__uid_e_{UTC}"),
            "file type '' is not a lowercase word such as 'video'",
        ),
        (
            name(f"{SID}_ch__uid_s_1__uid_e_Video_{UTC}"),
            "file type 'Video' is not a lowercase word such as 'video'",
        ),
        (
            name(f"{SID}_ch__uid_s_1__uid_e_video_hd_{UTC}"),
            "file type 'video_hd' is not a lowercase word such as 'video'",
        ),
        (
            name(f"{SID}_ch__uid_s_1__uid_e_video_{UTC[:-1]}"),
            "utc part: expected 17 digits yyyyMMddHHmmssSSS, got '2024010100000000'",
        ),
        (
            name(f"{SID}_ch__uid_s_1__uid_e_video_20241301000000001"),
            "utc part: '20241301000000001' is not a valid yyyyMMddHHmmssSSS time",
        ),
    ],
)
def test_each_malformed_object_name_is_rejected_with_its_exact_reason(
    bad: str, message: str
) -> None:
    with pytest.raises(ObjectNameError) as caught:
        parse_object_name(bad)
    assert str(caught.value) == message


def test_the_utc_error_keeps_the_timestamp_error_as_its_cause() -> None:
    with pytest.raises(ObjectNameError) as caught:
        parse_object_name(name(f"{SID}_ch__uid_s_1__uid_e_video_20241301000000001"))
    assert isinstance(caught.value.__cause__, ValueError)


@pytest.mark.parametrize(
    ("cname", "uid"),
    [
        ("a__uid_e_b", "7"),  # an earlier __uid_e_ belongs to the channel name
        ("a__uid_s_b", "7"),  # an earlier __uid_s_ too
        ("a__uid_e_b__uid_s_c", "42"),
        ("x", "u__uid_e_v"),  # the last __uid_e_ is the one before the type
    ],
)
def test_markers_inside_the_channel_name_do_not_shift_the_fields(cname: str, uid: str) -> None:
    parsed = parse_object_name(name(f"{SID}_{cname}__uid_s_{uid}__uid_e_video_{UTC}"))
    assert (parsed.cname, parsed.uid, parsed.type) == (cname, uid, "video")


def test_sid_is_normalised_to_lowercase_hex() -> None:
    parsed = parse_object_name(name(f"{'AB' * 16}_ch__uid_s_1__uid_e_video_{UTC}"))
    assert parsed.sid == "ab" * 16
