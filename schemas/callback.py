"""The Agora screenshot-upload callback, as its senders really send it.

Fields follow the seeds' table. ``timestamp`` accepts Unix milliseconds or the 17-digit
``yyyyMMddHHmmssSSS`` form (the docs' own example); both normalise to ``event_time``.
Unknown extra fields are kept, so a record re-serialises to what was received.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from schemas.errors import TimestampError
from schemas.timestamps import to_utc

__all__ = ["AgoraCallback", "CallbackParam"]

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
            to_utc(value)
        except TimestampError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @property
    def event_time(self) -> datetime:
        """The screenshot time as an aware UTC datetime."""
        return to_utc(self.timestamp)

    def as_received(self) -> dict[str, Any]:
        """The callback as a JSON-able dict with the sender's field names and extras."""
        return self.model_dump(mode="json")
