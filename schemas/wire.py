"""A compiled (msgspec) twin of ``CallbackEnvelope`` for hot paths, never more lenient.

``decode_envelope(data)`` decodes ingest's records about five times faster than the
pydantic model validates them. It returns a ``WireRecord`` only when the model would accept
the same bytes with the same values, and ``None`` otherwise; the caller then validates with
the model, which decides and says why. So the twin changes speed, never outcomes:

* a field the model does not declare (a sender's extra, which the model keeps) → ``None``;
* ``received_at`` with more than 6 fractional digits (msgspec rounds, pydantic truncates)
  → ``None``;
* a ``timestamp`` that is neither Unix milliseconds nor a real 17-digit time → ``None`` (the
  model refuses the first; it accepts 17 digits that are not a time, and dedupe then takes
  the time from the object name or the receive time);
* whatever msgspec refuses → ``None``, even where the model is laxer (a date-only
  ``received_at``, a datetime given as Unix seconds).

The structs declare the models' fields in the models' order (checked at import), so
encoding a ``WireCallback`` with msgspec gives the bytes the model's JSON has. The
equivalence is tested input by input in ``tests/unit/schemas/test_wire.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, NamedTuple, TypeVar

import msgspec
from msgspec import Meta, Struct
from pydantic import BaseModel

from schemas.callback import AgoraCallback, CallbackParam, TimeSource
from schemas.enriched import EnrichedScreenshot, S3ObjectFacts
from schemas.envelope import CallbackEnvelope, ChecksumStatus, Source
from schemas.errors import TimestampError
from schemas.objectname import ObjectName
from schemas.screenshot import Consistency, ScreenshotRecord
from schemas.timestamps import stated_time, to_utc

__all__ = [
    "WireCallback",
    "WireEnriched",
    "WireEnvelope",
    "WireRecord",
    "WireS3Facts",
    "WireScreenshot",
    "decode_callback",
    "decode_enriched",
    "decode_envelope",
    "decode_screenshot",
    "encode",
]

_NonEmpty = Annotated[str, Meta(min_length=1, max_length=4096)]


class WireParam(Struct, kw_only=True, frozen=True, gc=False, forbid_unknown_fields=True):
    cname: str = ""


# Deliberately the field lists of ``AgoraCallback`` and ``CallbackEnvelope`` again: the
# msgspec twin decodes the common case about five times faster; tests/unit/schemas/test_wire.py
# holds the twins to the same values and bytes.
class WireCallback(Struct, kw_only=True, frozen=True, gc=False, forbid_unknown_fields=True):
    """``AgoraCallback`` without extras (its timestamp check is ``decode_envelope``'s)."""

    requestId: _NonEmpty
    callbackParam: WireParam = WireParam()
    callbackData: str = ""
    checksum: Annotated[str, Meta(max_length=128)]
    object: _NonEmpty
    code: int
    msg: str = ""
    channelName: str
    userId: str
    timestamp: int | Annotated[str, Meta(pattern=r"^\d{1,20}$")]


class WireEnvelope(Struct, kw_only=True, frozen=True, gc=False, forbid_unknown_fields=True):
    """``CallbackEnvelope`` with ``received_at`` still text (``WireRecord`` has it parsed)."""

    schema_version: Literal[1] = 1
    project: str
    received_at: str
    checksum_status: ChecksumStatus
    callback: WireCallback
    source: Source = "agora"


class WireRecord(NamedTuple):
    envelope: WireEnvelope
    received_at: datetime
    event_time: datetime  # the callback's timestamp in UTC


def _same_fields(*pairs: tuple[type[Struct], type[BaseModel]]) -> None:
    """Each twin declares its model's fields in the model's order (at import)."""
    for twin, model in pairs:
        if twin.__struct_fields__ != tuple(model.model_fields):
            raise RuntimeError(f"schemas.wire.{twin.__name__} is out of date with {model.__name__}")


_same_fields(
    (WireParam, CallbackParam), (WireCallback, AgoraCallback), (WireEnvelope, CallbackEnvelope)
)

_decode = msgspec.json.Decoder(WireEnvelope).decode
_new_record = tuple.__new__  # WireRecord(...) without NamedTuple's Python-level __new__
_to_datetime = msgspec.convert
encode = msgspec.json.Encoder().encode
"""JSON of plain values, datetimes and wire structs, byte for byte what pydantic's
``to_json`` gives for the same values with the models in place of the structs."""


def decode_envelope(data: bytes) -> WireRecord | None:
    """``data`` decoded, or ``None`` if only the pydantic model can decide it (see above)."""
    try:
        envelope = _decode(data)
        text = envelope.received_at
        if text[19:20] == "." and text[26:27].isdigit():
            return None  # a 7th fractional digit: pydantic truncates where msgspec rounds
        received_at = _to_datetime(text, datetime)
        event_time = to_utc(envelope.callback.timestamp)
    except (msgspec.DecodeError, msgspec.ValidationError, TimestampError, UnicodeDecodeError):
        return None  # UnicodeDecodeError: msgspec's for a string that is not UTF-8
    return _new_record(WireRecord, (envelope, received_at, event_time))


_decode_callback = msgspec.json.Decoder(WireCallback).decode


def decode_callback(data: bytes) -> WireCallback | None:
    """An Agora callback body decoded for ingest, or ``None`` where only ``AgoraCallback``
    can decide it: the same promise as ``decode_envelope``. The model's own timestamp
    check runs here too (``stated_time``). A body with extra fields, a float where an
    integer goes (``200.0``, which ingest reads as ``200`` before the model sees it) or any
    value msgspec refuses is the model's. Where a key repeats, both keep the last value
    (msgspec also checks the earlier ones, so it may decline where the model accepts)."""
    try:
        callback = _decode_callback(data)
        stated_time(callback.timestamp)  # TimestampError: the model refuses it too
    except (msgspec.DecodeError, msgspec.ValidationError, TimestampError, UnicodeDecodeError):
        return None
    return callback


# The records dedupe and enrich publish, for the consumers' hot paths (enrich, moderate):
# the same promise as ``decode_envelope`` — a struct only where the model accepts the bytes
# with the same values, else ``None``. Datetime fields are declared ``str`` and checked and
# parsed after decoding (msgspec rounds a 7th fractional digit where pydantic truncates);
# ``decode_*`` put the parsed datetimes in their place, so encoding the struct with
# ``encode`` gives the bytes the model's JSON has.
# Deliberately the models' field lists again, as above; ``_same_fields`` holds them equal.


class WireObjectName(Struct, kw_only=True, frozen=True, gc=False, forbid_unknown_fields=True):
    """``ObjectName``; ``utc`` holds a ``datetime`` once decoded."""

    prefix: str
    date: str
    sid: str
    cname: str
    uid: str
    type: str
    utc: str


class WireConsistency(Struct, kw_only=True, frozen=True, gc=False, forbid_unknown_fields=True):
    channel_matches: bool | None
    uid_matches: bool | None
    time_matches: bool | None
    time_skew_ms: int | None


class WireScreenshot(Struct, kw_only=True, frozen=True, gc=False, forbid_unknown_fields=True):
    """``ScreenshotRecord``; ``received_at`` and ``event_time`` hold ``datetime``s once
    decoded."""

    schema_version: Literal[1] = 1
    project: str
    request_id: str
    received_at: str
    event_time: str
    object: WireObjectName | None
    object_error: str | None
    consistency: WireConsistency
    checksum_status: ChecksumStatus
    callback: WireCallback
    source: Source = "agora"
    time_source: TimeSource = "timestamp"


class WireS3Facts(Struct, kw_only=True, frozen=True, gc=False, forbid_unknown_fields=True):
    """``S3ObjectFacts``; ``last_modified`` holds a ``datetime`` once decoded."""

    bucket: str
    key: str
    size: Annotated[int, Meta(ge=0)]
    etag: str
    content_type: str | None
    last_modified: str
    version_id: str | None = None
    source: Literal["event", "head"]


class WireEnriched(WireScreenshot, kw_only=True, frozen=True, gc=False):
    """``EnrichedScreenshot``."""

    s3: WireS3Facts | None


_same_fields(
    (WireObjectName, ObjectName),
    (WireConsistency, Consistency),
    (WireScreenshot, ScreenshotRecord),
    (WireS3Facts, S3ObjectFacts),
    (WireEnriched, EnrichedScreenshot),
)

_decode_screenshot = msgspec.json.Decoder(WireScreenshot).decode
_decode_enriched = msgspec.json.Decoder(WireEnriched).decode
_replace = msgspec.structs.replace
_S = TypeVar("_S", WireScreenshot, WireEnriched)


def _datetime(text: str) -> datetime:
    """``text`` as pydantic reads it, or ``ValueError`` where only the model can say."""
    if text[19:20] == "." and text[26:27].isdigit():
        raise ValueError("a 7th fractional digit: pydantic truncates where msgspec rounds")
    return _to_datetime(text, datetime)


def _vouched(record: _S) -> _S:
    """``record`` with its datetimes parsed, or ``ValueError``/msgspec's errors when only the
    model can decide it (``AgoraCallback``'s timestamp rule included)."""
    stated_time(record.callback.timestamp)  # TimestampError: the model refuses it too
    name = record.object
    if name is not None:
        name = _replace(name, utc=_datetime(name.utc))
    return _replace(
        record,
        received_at=_datetime(record.received_at),
        event_time=_datetime(record.event_time),
        object=name,
    )


def decode_screenshot(data: bytes) -> WireScreenshot | None:
    """A ``shotline.screenshots.v1`` record, or ``None`` if only ``ScreenshotRecord`` can
    decide it."""
    try:
        return _vouched(_decode_screenshot(data))
    except (msgspec.DecodeError, msgspec.ValidationError, TimestampError, ValueError):
        return None


def decode_enriched(data: bytes) -> WireEnriched | None:
    """A ``shotline.screenshots.enriched.v1`` record, or ``None`` if only
    ``EnrichedScreenshot`` can decide it."""
    try:
        record = _vouched(_decode_enriched(data))
        facts = record.s3
        if facts is not None:
            record = _replace(
                record, s3=_replace(facts, last_modified=_datetime(facts.last_modified))
            )
        return record
    except (msgspec.DecodeError, msgspec.ValidationError, TimestampError, ValueError):
        return None
