"""The Agora screenshot-upload callback, as its senders really send it.

Fields follow the seeds' table. ``timestamp`` accepts Unix milliseconds or the 17-digit
``yyyyMMddHHmmssSSS`` form (the docs' own example); both normalise to ``stated_time``. Any 17
digits are accepted, even when they are not a real time (Agora took and bills that
screenshot): the screenshot's time is then the ``<utc>`` of the object name, else the time
ingest received the callback (``screenshot_time``; docs/decisions/0008). Unknown extra fields
are kept, so a record re-serialises to what was received.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from schemas.errors import ObjectNameError, TimestampError
from schemas.objectname import object_name_fields
from schemas.timestamps import stated_time, to_utc

__all__ = ["AgoraCallback", "CallbackParam", "TimeSource", "fallback_time", "screenshot_time"]

TimeSource = Literal["timestamp", "object", "received"]
"""Where a screenshot's time came from: its ``timestamp``; the ``<utc>`` of its object name
(the timestamp is 17 digits that are not a real time); ingest's receive time (neither)."""


def fallback_time(
    object_utc: datetime | None, received_at: datetime
) -> tuple[datetime, TimeSource]:
    """The screenshot time of a callback whose timestamp states none: the object name's
    ``<utc>`` if it has one, else the receive time to the whole millisecond."""
    if object_utc is not None:
        return object_utc, "object"
    return received_at.replace(microsecond=received_at.microsecond // 1000 * 1000), "received"


def screenshot_time(
    timestamp: int | str, object_name: str, received_at: datetime
) -> tuple[datetime, TimeSource]:
    """A callback's screenshot time and where it came from: its timestamp, else the object
    name's ``<utc>``, else ``received_at`` (see ``fallback_time``)."""
    stated = stated_time(timestamp)
    if stated is not None:
        return stated, "timestamp"
    try:
        object_utc: datetime | None = object_name_fields(object_name)["utc"]
    except ObjectNameError:
        object_utc = None
    return fallback_time(object_utc, received_at)


NonEmpty = Annotated[StrictStr, Field(min_length=1, max_length=4096)]


class CallbackParam(BaseModel):
    """Custom fields passed through by Agora; today only ``cname``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    cname: StrictStr = ""


class AgoraCallback(BaseModel):
    """One screenshot-upload notification (``code`` 200 = "Supervise complete")."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    requestId: NonEmpty
    callbackParam: CallbackParam = CallbackParam()
    callbackData: StrictStr = ""
    checksum: Annotated[StrictStr, Field(max_length=128)]
    object: NonEmpty
    code: StrictInt
    msg: StrictStr = ""
    channelName: StrictStr
    userId: StrictStr
    timestamp: StrictInt | Annotated[StrictStr, Field(pattern=r"^\d{1,20}$")]

    @field_validator("timestamp")
    @classmethod
    def _timestamp_is_ms_or_compact(cls, value: int | str) -> int | str:
        try:
            stated_time(value)
        except TimestampError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @property
    def stated_time(self) -> datetime | None:
        """The time ``timestamp`` states (aware UTC), or ``None`` if its 17 digits are not a
        real time."""
        return stated_time(self.timestamp)

    def screenshot_time(self, received_at: datetime) -> tuple[datetime, TimeSource]:
        """The screenshot's time and where it came from (``screenshot_time``)."""
        return screenshot_time(self.timestamp, self.object, received_at)

    @property
    def event_time(self) -> datetime:
        """The time ``timestamp`` states, as an aware UTC datetime. Raises
        ``UnreadableTimestampError`` when its 17 digits are not a real time: a caller that
        must always have a time uses ``screenshot_time``."""
        return to_utc(self.timestamp)

    def as_received(self) -> dict[str, Any]:
        """The callback as a JSON-able dict with the sender's field names and extras."""
        return self.model_dump(mode="json")
