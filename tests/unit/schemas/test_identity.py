"""The screenshot identity (``schemas.identity``): the Kafka key of callbacks.v1."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from schemas import ObjectNameError, parse_object_name
from schemas.identity import callback_key, keyed_by_object

NAME = "a/b/20260301/" + "0f" * 16 + "_room__x__uid_s_42__uid_e_video_20260301120000123.jpg"


def test_an_agora_object_name_is_the_key_and_anything_else_falls_back_to_request_id() -> None:
    assert callback_key(NAME, "req-1") == NAME
    assert callback_key("20260301/" + NAME.rsplit("/", 1)[1], "r") != "r"  # no prefix
    for other in ("flat.jpg", "a/b/c.png", "x/y__uid_e_video_1.jpg", NAME[:-4] + ".png", ""):
        assert callback_key(other, "req-1") == "req-1", other


_text = st.text(max_size=8)


@given(_text, _text, _text, _text, st.sampled_from(["video", "audio", "Video", ""]))
def test_every_name_the_parser_accepts_is_keyed_by_itself(
    prefix: str, cname: str, uid: str, tail: str, kind: str
) -> None:
    # the reconciler keys what parses by its name; ingest must key that name the same way
    stem = f"{'ab' * 16}_{cname}__uid_s_{uid}__uid_e_{kind}_20260301120000123{tail}"
    name = f"{prefix}/20260301/{stem}.jpg"
    try:
        parse_object_name(name)
    except ObjectNameError:
        return
    assert keyed_by_object(name)
