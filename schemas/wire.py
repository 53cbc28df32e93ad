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
from typing import Annotated, Literal, NamedTuple

import msgspec
from msgspec import Meta, Struct

from schemas.callback import AgoraCallback, CallbackParam
from schemas.envelope import CallbackEnvelope, ChecksumStatus, Source
from schemas.errors import TimestampError
from schemas.timestamps import to_utc

__all__ = ["WireCallback", "WireEnvelope", "WireRecord", "decode_envelope", "encode"]

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


for _twin, _model in (
    (WireParam, CallbackParam),
    (WireCallback, AgoraCallback),
    (WireEnvelope, CallbackEnvelope),
):
    if _twin.__struct_fields__ != tuple(_model.model_fields):
        raise RuntimeError(f"schemas.wire.{_twin.__name__} is out of date with {_model.__name__}")

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
    except (msgspec.DecodeError, msgspec.ValidationError, TimestampError):
        return None
    return _new_record(WireRecord, (envelope, received_at, event_time))
