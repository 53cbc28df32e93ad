"""Pure dedupe logic: normalising a callback envelope into a ``ScreenshotRecord``.

The object name is parsed (a name that does not follow Agora's convention is not an error:
the record carries ``object=None`` and ``object_error``), and compared with the callback's
``channelName``, ``userId`` and ``timestamp``. A timestamp whose 17 digits are not a real
time gives the record the object name's ``<utc>``, else the receive time
(``schemas.callback.fallback_time``, said by ``time_source``), and no time flags.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from schemas import (
    AgoraCallback,
    CallbackEnvelope,
    ChecksumStatus,
    ObjectNameError,
    ScreenshotRecord,
    TimeSource,
)
from schemas.callback import fallback_time
from schemas.objectname import object_name_fields
from schemas.wire import WireCallback

__all__ = ["normalise", "record_fields"]

_Callback = AgoraCallback | WireCallback

_ONE_MS = timedelta(milliseconds=1)
_UNKNOWN = {
    "channel_matches": None,
    "uid_matches": None,
    "time_matches": None,
    "time_skew_ms": None,
}
# One validation of the whole output record, nested object name and flags given as dicts:
# 1.4 µs cheaper per record than validating ObjectName, Consistency and ScreenshotRecord
# one after another, and the same checks.
_validate_record = ScreenshotRecord.__pydantic_validator__.validate_python


def record_fields(
    project: str,
    received_at: datetime,
    checksum_status: ChecksumStatus,
    callback: _Callback,
    event_time: datetime | None,
    tolerance_ms: int,
    source: str = "agora",
) -> dict[str, Any]:
    """The ``ScreenshotRecord`` of an envelope's parts as plain values, in the model's field
    order: ``normalise`` validates them; dedupe's fast path serialises them directly, which
    gives the same JSON (the parts are already validated or computed here; tested byte for
    byte). ``callback`` is the model or its ``schemas.wire`` twin; ``event_time`` is its
    timestamp in UTC (``None``: 17 digits that are not a real time); ``source`` the
    envelope's."""
    name: dict[str, Any] | None
    try:
        name, error = object_name_fields(callback.object), None
    except ObjectNameError as exc:
        name, error = None, str(exc)
    time_source: TimeSource = "timestamp"
    if event_time is None:  # rare: the time comes from the object name or the receive time
        event_time, time_source = fallback_time(name["utc"] if name else None, received_at)
    if name is None:
        flags = _UNKNOWN
    else:
        flags = {
            "channel_matches": name["cname"] == callback.channelName,
            "uid_matches": name["uid"] == callback.userId,
            "time_matches": None,  # stay None when the timestamp states no time to compare
            "time_skew_ms": None,
        }
        if time_source == "timestamp":
            # both times are whole milliseconds (object name and timestamp forms alike)
            skew = (name["utc"] - event_time) // _ONE_MS
            flags["time_matches"] = abs(skew) <= tolerance_ms
            flags["time_skew_ms"] = skew
    return {
        "schema_version": 1,
        "project": project,
        "request_id": callback.requestId,
        "received_at": received_at,
        "event_time": event_time,
        "object": name,
        "object_error": error,
        "consistency": flags,
        "checksum_status": checksum_status,
        "callback": callback,
        "source": source,
        "time_source": time_source,
    }


# record_fields must follow the model: a field added to ScreenshotRecord fails here, at import
if list(ScreenshotRecord.model_fields) != [
    "schema_version",
    "project",
    "request_id",
    "received_at",
    "event_time",
    "object",
    "object_error",
    "consistency",
    "checksum_status",
    "callback",
    "source",
    "time_source",
]:
    raise RuntimeError("processors.dedupe.logic.record_fields is out of date with ScreenshotRecord")


def normalise(envelope: CallbackEnvelope, tolerance_ms: int) -> ScreenshotRecord:
    callback = envelope.callback
    fields = record_fields(
        envelope.project,
        envelope.received_at,
        envelope.checksum_status,
        callback,
        callback.stated_time,
        tolerance_ms,
        envelope.source,
    )
    record: ScreenshotRecord = _validate_record(fields)
    return record
