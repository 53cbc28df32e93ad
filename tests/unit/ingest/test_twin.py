"""Ingest's verify with the msgspec twin (``schemas.wire.decode_callback``) gives exactly what
it gives with the pydantic model alone: the same answers, the same records, byte for byte.

Every body is verified twice at the same instant with the same ``traceparent``: as shipped,
and with the twin switched off (``ingest.callbacks._twin`` declining everything), so the
model judges it. Where the twin vouches for a body, the model must accept it with the same
values. Inputs: a table of edge cases and random mutations of every field.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ingest.callbacks as callbacks
from ingest.callbacks import Accepted, CallbackVerifier, Rejection
from schemas import AgoraCallback, ChecksumMode, ProjectConfig
from schemas.wire import WireCallback, decode_callback
from tests.strategies import json_values
from tests.unit.ingest.conftest import ADDR, KEY, callback_body

NOW = datetime(2019, 6, 11, 7, 33, 0, tzinfo=UTC)
TRACE = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
VERIFIERS = {
    mode: CallbackVerifier(KEY, ProjectConfig(callback_addr=ADDR, checksum=mode), "t", None)
    for mode in ChecksumMode
}
FRESH = CallbackVerifier(KEY, ProjectConfig(callback_addr=ADDR), "t", 3600.0)
_DELETE = object()


def body(**changes: Any) -> bytes:
    data = callback_body()
    for name, value in changes.items():
        if value is _DELETE:
            data.pop(name, None)
        else:
            data[name] = value
    # the standard library's encoder: it writes integers orjson refuses (the body is then 400)
    return json.dumps(data, separators=(",", ":")).encode()


def both(verifier: CallbackVerifier, data: bytes) -> Accepted | Rejection:
    """``data`` verified with and without the twin; the two results must be equal."""
    fast = verifier.verify(data, TRACE, NOW)
    twin, callbacks._twin = callbacks._twin, lambda _: None
    try:
        slow = verifier.verify(data, TRACE, NOW)
    finally:
        callbacks._twin = twin
    assert type(fast) is type(slow)
    assert fast == slow
    return fast


def vouched(data: bytes) -> WireCallback | None:
    """What the twin made of ``data``; where it vouched, the model agrees on every value."""
    wire = decode_callback(data)
    if wire is not None:
        model = AgoraCallback.model_validate(orjson.loads(data))  # raises if more lenient
        assert model.model_extra == {}
        for name in AgoraCallback.model_fields:
            value = getattr(wire, name)
            if name == "callbackParam":
                value = {"cname": value.cname}
                assert model.callbackParam.model_dump() == value
            else:
                assert getattr(model, name) == value, name
    return wire


def test_what_agora_sends_takes_the_twin() -> None:
    for data in (
        body(),
        body(timestamp="20190611073246070"),  # the docs' 17-digit form, quoted
        body(timestamp=1560238366070),  # Unix milliseconds
        body(callbackData=_DELETE, msg=_DELETE, callbackParam=_DELETE),
    ):
        assert vouched(data) is not None, data
        for verifier in VERIFIERS.values():
            assert isinstance(both(verifier, data), Accepted)


BOTH_ACCEPT = [
    {"timestamp": 20261399000000000},  # 17 digits, not a time: accepted, time from the object
    {"timestamp": "99999999999999998"},
    {"object": "flat.jpg"},
    {"requestId": "r" * 4096},
    {"requestId": "\U0001f642" * 4096},  # lengths count code points in both
    {"code": -1},
    {"code": 2**64 - 1},
    {"channelName": "", "userId": ""},
    {"callbackParam": {}},
    {"msg": 'quoted " </> \u2028 \x7f \x00'},
]


@pytest.mark.parametrize("changes", BOTH_ACCEPT)
def test_forms_both_accept(changes: dict[str, Any]) -> None:
    data = body(**changes)
    assert vouched(data) is not None
    for verifier in VERIFIERS.values():
        both(verifier, data)


DECLINED = [
    {"extraField": {"nested": [1, 2.5, None]}},  # extras: only the model keeps them
    {"callbackParam": {"cname": "x", "more": 1}},
    {"callbackParam": None},
    {"timestamp": 1560238366},  # Unix seconds
    {"timestamp": True},
    {"timestamp": 1560238366070.0},
    {"timestamp": "1560238366070\n"},
    {"timestamp": "\u0661" * 13},  # Arabic-Indic digits
    {"timestamp": "1" * 21},
    {"code": 200.0},
    {"code": True},
    {"code": "200"},
    {"requestId": ""},
    {"requestId": "r" * 4097},
    {"requestId": None},
    {"checksum": "c" * 129},
    {"object": _DELETE},
    {"userId": 91},
]


@pytest.mark.parametrize("changes", DECLINED)
def test_forms_the_twin_leaves_to_the_model(changes: dict[str, Any]) -> None:
    data = body(**changes)
    assert vouched(data) is None
    for verifier in VERIFIERS.values():
        both(verifier, data)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"null",
        b"[]",
        b"{",
        b'{"requestId": "\\ud800"}',
        body(requestId="SURROGATE").replace(b"SURROGATE", b"\\ud800"),
        body(userId="NOT_UTF8").replace(b"NOT_UTF8", b"\xff\xfe"),
        # duplicate keys: both take the last (msgspec checks the first as well)
        body().replace(b'"code":200', b'"code":500,"code":200'),
        body().replace(b'"code":200', b'"code":"x","code":200'),
        body().replace(b'"userId":"91"', b'"userId":"1","userId":"91"'),
        body(timestamp=1560238366070),  # stale for a one-hour freshness window
    ],
)
def test_malformed_odd_or_stale_bodies(data: bytes) -> None:
    vouched(data)
    for verifier in (*VERIFIERS.values(), FRESH):
        both(verifier, data)


_fields = st.sampled_from([*callback_body(), "extra"])
_special = st.sampled_from(
    [
        _DELETE,
        "20190611073246070",
        "1560238366070",
        1560238366070,
        20190611073246070,
        2**63,
        2**64 - 1,
        -(2**63),
        {"cname": 5},
        {"cname": "c"},
        {},
        "",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_fields, json_values | _special, min_size=1, max_size=3))
def test_random_mutations_never_split_the_twin_from_the_model(changes: dict[str, Any]) -> None:
    data = body(**changes)
    vouched(data)
    for verifier in (*VERIFIERS.values(), FRESH):
        both(verifier, data)
