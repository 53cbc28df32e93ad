"""The event feed's msgspec twin of ``S3EventDocument`` reads every document as the model
does, or gives way to the model: for each input, ``object_events`` equals the model's
reading (``ObjectEvent.of`` of each record, or None when the model refuses it)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from processors.enrich.logic import ObjectEvent
from processors.enrich.s3wire import _object_key, decode_events, object_events
from schemas.s3event import S3EventDocument
from tests.screenshots_factory import s3_event

KEY = "shots/20260528/0001_room 1__uid_s_42__uid_e_video_20260528202640000.jpg"


def by_model(data: bytes) -> list[ObjectEvent] | None:
    try:
        return [
            ObjectEvent.of(event) for event in S3EventDocument.model_validate_json(data).records
        ]
    except ValidationError:
        return None


def document(**changes: Any) -> bytes:
    """A one-record AWS document with ``changes`` to its record, its ``s3.object`` (keys
    starting ``object.``) or the document (``doc.``); None values drop the field."""
    doc = orjson.loads(s3_event("b1", KEY, 12, '"e1"', "0A"))
    record, obj = doc["Records"][0], doc["Records"][0]["s3"]["object"]
    for name, value in changes.items():
        where, _, field = name.rpartition(".")
        target = {"": record, "object": obj, "doc": doc}[where]
        if value is None:
            target.pop(field, None)
        else:
            target[field] = value
    return orjson.dumps(doc)


# (document, whether the twin reads it itself)
CASES: list[tuple[bytes, bool]] = [
    (s3_event("b1", KEY, 12, '"e1"', "0A"), True),
    (s3_event("b1", KEY, 0, "", None), True),
    (document(**{"object.contentType": "image/jpeg", "object.versionId": "v1"}), True),
    (document(**{"object.key": quote(KEY, safe="/")}), True),  # AWS leaves / alone
    (document(**{"object.key": quote_plus("a+b %2F/é?.jpg")}), True),
    (document(**{"object.key": "a%2f%2Fb+c%20d%E9"}), True),  # lowercase, +, latin-1
    (document(**{"object.key": "%%2F%2"}), True),
    (document(eventName="s3:ObjectRemoved:Delete"), True),
    (document(eventName="ObjectRestore:Post", userIdentity={"x": [1, 2.5, None]}), True),
    (document(eventTime="2026-05-28T20:26:40.123+02:00"), True),
    (document(eventTime="2026-05-28 20:26:40Z"), True),
    (document(eventTime="2026-05-28T20:26:40"), True),  # naive: both read local time
    (document(**{"doc.Records": []}), True),
    (b'{"Service":"Amazon S3","Event":"s3:TestEvent"}', True),  # no records
    (document(eventSource=None, eventVersion=None), True),
    (document(eventTime="2026-05-28T20:26:40.1234567Z"), False),  # msgspec would round
    (document(eventTime="2026-05-28"), False),
    (document(eventTime=1_780_000_000), False),
    (document(eventTime="2026-05-28T20:26:40,5Z"), False),
    (document(eventTime="2026-05-28T25:26:40Z"), False),
    (document(**{"object.size": "12"}), False),
    (document(**{"object.size": 12.0}), False),
    (document(**{"object.size": -1}), False),
    (document(**{"object.size": None}), True),  # default 0
    (document(**{"object.etag": "by-name"}), False),  # populate_by_name
    (document(**{"object.version_id": None, "object.content_type": "x"}), False),
    (document(event_time="2026-05-28T20:26:40Z", eventTime=None), False),
    (document(event_name="ObjectCreated:Put"), False),
    (document(event_source=1), False),
    (document(eventSource=1), False),
    (document(eventName=None), False),
    (document(s3={"bucket": {"name": "b"}}), False),
    (document(**{"object.key": None}), False),
    (b'{"Records": null}', False),
    (b"[]", False),
    (b"", False),
    (b'{"Records": []} x', False),
    (s3_event("b1", KEY, 1, "e").replace(b'"b1"', b'"b\\ud800"'), False),
    (s3_event("b1", KEY, 1, "e").replace(b'"b1"', b'"b\xff"'), False),
    (s3_event("b1", KEY, 1, "e").replace(b'"eTag"', b'"e\\u0074ag"'), False),  # "etag"
    (s3_event("b1", KEY, 1, "e").replace(b'"size":1', b'"size":1,"size":7'), True),
]


@pytest.mark.parametrize(("data", "twin_reads"), CASES)
def test_the_twin_reads_a_document_as_the_model_does_or_gives_way(
    data: bytes, twin_reads: bool
) -> None:
    assert object_events(data) == by_model(data)
    assert (decode_events(data) is not None) is twin_reads


def test_invalid_documents_are_none_and_valid_ones_keep_their_order() -> None:
    doc = json.loads(s3_event("b1", "k1", 1, "e1"))
    doc["Records"].append(json.loads(s3_event("b1", "k2", 2, "e2"))["Records"][0])
    events = object_events(json.dumps(doc).encode())
    assert events is not None
    assert [(e.key, e.size, e.etag, e.created) for e in events] == [
        ("k1", 1, "e1", True),
        ("k2", 2, "e2", True),
    ]
    assert object_events(b'{"Records":[{"eventName":"x"}]}') is None


@given(st.text(alphabet="%2Ff+ /aé€0", max_size=12))
def test_object_keys_are_unquote_plus_of_the_key(quoted: str) -> None:
    assert _object_key(quoted) == unquote_plus(quoted)
    assert _object_key(quote_plus(quoted)) == quoted
