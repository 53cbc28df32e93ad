"""The event feed's reading of ``shotline.s3events.v1`` records: ``object_events(data)``.

A compiled (msgspec) twin of ``S3EventDocument`` decodes the common document about three
times faster than the model validates it, and the object key is decoded without
``unquote_plus`` where that gives the same text. The twin never decides alone what the
model would decide otherwise: it gives way to the model (which then accepts or refuses the
document) for anything it does not read exactly as the model does:

* whatever msgspec refuses, even where the model is laxer (a size given as ``"12"`` or
  ``12.0``, an ``eventTime`` as Unix seconds, a date alone, a ``,`` before the fraction);
* an ``eventTime`` with more than 6 fractional digits (msgspec rounds, pydantic truncates);
* a field spelled by its Python name (``event_time``, ``etag``, ...): the models read those
  too (``populate_by_name``).

Unknown fields are ignored by both, as stores add their own. The equivalence is tested
document by document in ``tests/unit/processors/enrich/test_s3wire.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import unquote_plus

import msgspec
from msgspec import UNSET, Meta, Struct, field
from pydantic import ValidationError

from processors.enrich.logic import ObjectEvent
from schemas.s3event import S3EventDocument

__all__ = ["decode_events", "object_events"]

_validate = S3EventDocument.__pydantic_validator__.validate_json


class _Bucket(Struct, frozen=True, gc=False):
    name: str


class _Object(Struct, kw_only=True, frozen=True, gc=False):
    key: str
    size: Annotated[int, Meta(ge=0)] = 0
    etag: str | None = field(default=None, name="eTag")
    version_id: str | None = field(default=None, name="versionId")
    sequencer: str | None = None
    content_type: str | None = field(default=None, name="contentType")
    # S3EventObject's fields by their Python names (the model reads them): UNSET or give way
    by_name_etag: Any = field(default=UNSET, name="etag")
    by_name_version_id: Any = field(default=UNSET, name="version_id")
    by_name_content_type: Any = field(default=UNSET, name="content_type")


class _Entity(Struct, frozen=True, gc=False):
    bucket: _Bucket
    object: _Object


class _Event(Struct, kw_only=True, frozen=True, gc=False):
    event_name: str = field(name="eventName")
    event_time: str = field(name="eventTime")
    event_source: str = field(default="aws:s3", name="eventSource")
    s3: _Entity
    # S3Event's fields by their Python names
    by_name_event_name: Any = field(default=UNSET, name="event_name")
    by_name_event_time: Any = field(default=UNSET, name="event_time")
    by_name_event_source: Any = field(default=UNSET, name="event_source")


class _Document(Struct, frozen=True, gc=False):
    records: list[_Event] = field(default_factory=list, name="Records")


_decode = msgspec.json.Decoder(_Document).decode
_to_datetime = msgspec.convert
_new_event = tuple.__new__  # ObjectEvent(...) without NamedTuple's Python-level __new__


def _object_key(quoted: str) -> str:
    """``unquote_plus(quoted)``, without it when only ``%2F`` escapes (``/``) occur, as in
    keys encoded with ``quote_plus``: the same text."""
    if "+" not in quoted:
        plain = quoted.replace("%2F", "/") if "%" in quoted else quoted
        if "%" not in plain:
            return plain
    return unquote_plus(quoted)


def _event(record: _Event) -> ObjectEvent | None:
    """``record`` read, or None when only the model can read it (msgspec's ``convert``
    raises for a time it does not take)."""
    if (
        record.by_name_event_name is not UNSET
        or record.by_name_event_time is not UNSET
        or record.by_name_event_source is not UNSET
    ):
        return None
    obj = record.s3.object
    if (
        obj.by_name_etag is not UNSET
        or obj.by_name_version_id is not UNSET
        or obj.by_name_content_type is not UNSET
    ):
        return None
    text = record.event_time
    if text[19:20] == "." and text[26:27].isdigit():
        return None  # a 7th fractional digit: pydantic truncates where msgspec rounds
    at: datetime = _to_datetime(text, datetime)
    return _new_event(
        ObjectEvent,
        (
            record.event_name,
            record.s3.bucket.name,
            _object_key(obj.key),
            obj.size,
            (obj.etag or "").strip('"'),
            obj.content_type,
            at.astimezone(UTC),
            obj.version_id,
            obj.sequencer,
        ),
    )


def decode_events(data: bytes) -> list[ObjectEvent] | None:
    """The twin's reading of ``data``, or None where only the model can decide it."""
    events: list[ObjectEvent] = []
    try:
        for record in _decode(data).records:
            event = _event(record)
            if event is None:
                return None
            events.append(event)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return None
    return events


def object_events(data: bytes) -> list[ObjectEvent] | None:
    """The event records of one ``S3EventDocument`` (in order), or None when the model
    refuses the document."""
    events = decode_events(data)
    if events is not None:
        return events
    try:
        document = _validate(data)
    except ValidationError:
        return None
    return [ObjectEvent.of(event) for event in document.records]
