"""Pure dedupe logic: normalising a callback envelope into a ``ScreenshotRecord``.

The object name is parsed (a name that does not follow Agora's convention is not an error:
the record carries ``object=None`` and ``object_error``), and compared with the callback's
``channelName``, ``userId`` and ``timestamp``.
"""

from __future__ import annotations

from datetime import datetime

from schemas import (
    CallbackEnvelope,
    Consistency,
    ObjectName,
    ObjectNameError,
    ScreenshotRecord,
    parse_object_name,
)

__all__ = ["consistency", "normalise"]


def consistency(
    name: ObjectName | None, envelope: CallbackEnvelope, event_time: datetime, tolerance_ms: int
) -> Consistency:
    """How the parsed object name agrees with the callback's fields (``event_time`` is the
    callback's normalised ``timestamp``)."""
    if name is None:
        return Consistency(
            channel_matches=None, uid_matches=None, time_matches=None, time_skew_ms=None
        )
    callback = envelope.callback
    skew = round((name.utc - event_time).total_seconds() * 1000)
    return Consistency(
        channel_matches=name.cname == callback.channelName,
        uid_matches=name.uid == callback.userId,
        time_matches=abs(skew) <= tolerance_ms,
        time_skew_ms=skew,
    )


def normalise(envelope: CallbackEnvelope, tolerance_ms: int) -> ScreenshotRecord:
    callback = envelope.callback
    event_time = callback.event_time
    name: ObjectName | None
    try:
        name, error = parse_object_name(callback.object), None
    except ObjectNameError as exc:
        name, error = None, str(exc)
    return ScreenshotRecord(
        project=envelope.project,
        request_id=callback.requestId,
        received_at=envelope.received_at,
        event_time=event_time,
        object=name,
        object_error=error,
        consistency=consistency(name, envelope, event_time, tolerance_ms),
        checksum_status=envelope.checksum_status,
        callback=callback,
    )
