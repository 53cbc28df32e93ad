"""``schemas.wire`` is never more lenient than the pydantic model and never says otherwise.

For every input: either ``decode_envelope`` declines (``None``: the model decides), or the
model accepts the same bytes and the values — and the dedupe output JSON built from them —
are identical. Inputs: what ingest and other senders really produce, a table of edge cases,
and random mutations of every field.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic_core import to_json

from processors.dedupe.logic import record_fields
from schemas import CallbackEnvelope
from schemas.wire import WireRecord, decode_envelope, encode
from tests.callbacks_factory import envelope
from tests.strategies import json_values

_validate = CallbackEnvelope.__pydantic_validator__.validate_json


def base() -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads(
        envelope(3, cname="Zimmer_ß_🙂", uid="ü-7").model_dump_json()
    )
    return body


def check(data: bytes) -> WireRecord | None:
    """The invariant for one input; returns what the twin made of it."""
    wire = decode_envelope(data)
    if wire is None:
        return None
    try:
        model = _validate(data)
    except ValidationError as exc:  # pragma: no cover - this is the failure being tested for
        pytest.fail(f"the twin accepted what the model refuses: {data!r}: {exc}")
    assert wire.received_at == model.received_at
    assert wire.received_at.utcoffset() == model.received_at.utcoffset()
    assert wire.event_time == model.callback.event_time
    env = wire.envelope
    fast = encode(
        record_fields(
            env.project,
            wire.received_at,
            env.checksum_status,
            env.callback,
            wire.event_time,
            2000,
            env.source,
        )
    )
    slow = to_json(
        record_fields(
            model.project,
            model.received_at,
            model.checksum_status,
            model.callback,
            model.callback.event_time,
            2000,
            model.source,
        )
    )
    assert fast == slow, data
    return wire


def variant(**changes: Any) -> bytes:
    body = base()
    callback = dict(body["callback"])
    for key, value in changes.items():
        target = callback if key.startswith("cb_") else body
        name = key.removeprefix("cb_")
        if value is _DELETE:
            target.pop(name, None)
        else:
            target[name] = value
    body["callback"] = callback
    # the standard library's encoder: integers beyond 64 bits too
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


_DELETE = object()


def test_the_records_ingest_and_the_models_write_take_the_fast_path() -> None:
    model_json = envelope(1).model_dump_json().encode()
    ingest_json = variant(received_at="2026-03-01T12:00:01.250000+00:00")  # orjson's form
    in_sender_order = orjson.dumps({"callback": base()["callback"], **base()})
    defaults_missing = variant(cb_callbackData=_DELETE, cb_msg=_DELETE, cb_callbackParam=_DELETE)
    for data in (model_json, ingest_json, in_sender_order, defaults_missing):
        assert check(data) is not None, data


ACCEPTED_BY_BOTH = [
    {"cb_timestamp": "20260301120011000"},  # the docs' 17-digit form, quoted
    {"cb_timestamp": 20260301120011250},  # and as a number, as the docs' example has it
    {"cb_timestamp": "1772366411000"},  # quoted Unix milliseconds
    {"received_at": "2026-03-01T13:00:11.123456+01:00"},
    {"received_at": "2026-03-01T12:00:11Z"},
    {"received_at": "2026-03-01T12:00:11.5Z"},
    {"received_at": "2026-03-01T12:00:11-00:00"},
    {"received_at": "2026-03-01 12:00:11z"},
    {"received_at": "2026-03-01T12:00:11"},  # naive stays naive in both
    {"checksum_status": "mismatch", "project": 'tenant "quoted" </> \u2028 \x7f \x00'},
    {"cb_object": "a/b/20260301/" + "f" * 32 + "_x__uid_s_1__uid_e_video_20261399000000000.jpg"},
    {"cb_object": "flat.jpg"},
    {"cb_requestId": "r" * 4096},
    {"cb_requestId": "\U0001f642" * 4096},  # lengths count code points in both
    {"cb_checksum": ""},
    {"cb_code": -1},
    {"cb_channelName": "", "cb_userId": ""},
    {"source": "reconciler"},  # shotline reconcile's envelopes
    {"source": "agora"},
]


@pytest.mark.parametrize("changes", ACCEPTED_BY_BOTH)
def test_forms_both_accept_give_the_same_values_and_output(changes: dict[str, Any]) -> None:
    assert check(variant(**changes)) is not None


DECLINED = [
    {"cb_extraField": {"nested": [1, 2.5, None]}},  # extras: only the model keeps them
    {"cb_callbackParam": {"cname": "x", "more": 1}},
    {"unknown": 1},
    {"received_at": "2026-03-01T12:00:11.1234567Z"},  # msgspec would round, pydantic truncates
    {"received_at": "2026-03-01"},  # the model takes these; the twin leaves them to it
    {"received_at": 1772366411},
    {"received_at": "2026-03-01T12:00:11,5Z"},
    {"cb_timestamp": 1772366411},  # Unix seconds
    {"cb_timestamp": True},
    {"cb_timestamp": 1772366411000.0},
    {"cb_timestamp": "1772366411000\n"},
    {"cb_timestamp": "\u0661" * 13},  # Arabic-Indic digits
    {"cb_timestamp": 10**30},
    {"cb_timestamp": 20261399000000000},  # 17 digits, not a time: the model accepts it
    {"cb_timestamp": "99999999999999998"},  # and takes the time from elsewhere
    {"cb_code": 200.0},
    {"cb_code": True},
    {"cb_code": "200"},
    {"cb_requestId": ""},
    {"cb_requestId": "r" * 4097},
    {"cb_requestId": None},
    {"cb_checksum": "c" * 129},
    {"cb_object": _DELETE},
    {"checksum_status": "OK"},
    {"schema_version": 2},
    {"schema_version": True},
    {"project": 7},
    {"source": "simulator"},
    {"source": None},
]


@pytest.mark.parametrize("changes", DECLINED)
def test_forms_the_twin_declines_are_left_to_the_model(changes: dict[str, Any]) -> None:
    assert check(variant(**changes)) is None


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"null",
        b"[]",
        b"{",
        b'{"project": "p"}',
        b'{"requestId": "\\ud800"}',
        # a lone surrogate in a field the twin decodes
        variant(cb_requestId="SURROGATE").replace(b"SURROGATE", b"\\ud800"),
        # bytes that are not UTF-8 in a string: the model says why
        variant(project="NOT_UTF8").replace(b"NOT_UTF8", b"\xff\xfe"),
        # duplicate keys: both take the last
        variant().replace(b'"project":"p1"', b'"project":"a","project":"p1"'),
    ],
)
def test_malformed_or_odd_json(data: bytes) -> None:
    check(data)


_fields = st.sampled_from(
    [
        "schema_version",
        "project",
        "received_at",
        "checksum_status",
        "callback",
        "source",
        *(f"cb_{name}" for name in base()["callback"]),
        "cb_callbackParam",
    ]
)
_special = st.sampled_from(
    [
        _DELETE,
        "20260301120011000",
        "1772366411000",
        "2026-03-01T12:00:11.123456+05:30",
        "2026-03-01T12:00:11.1234561Z",
        "9999-12-31T23:59:59.999999Z",
        "0001-01-01T00:00:00+01:00",
        2**63,
        -(2**63) - 1,
        {"cname": 5},
        {},
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_fields, json_values | _special, min_size=1, max_size=3))
def test_random_mutations_never_split_the_twin_from_the_model(changes: dict[str, Any]) -> None:
    check(variant(**changes))


@pytest.mark.parametrize("timestamp", [20261399000000000, "99999999999999998"])
def test_the_model_decides_a_17_digit_timestamp_that_is_not_a_time(timestamp: object) -> None:
    data = variant(cb_timestamp=timestamp)
    assert decode_envelope(data) is None
    assert _validate(data).callback.stated_time is None
