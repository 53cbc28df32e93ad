"""The record dedupe publishes to ``shotline.screenshots.v1`` (key = the callback's key: the
screenshot's identity, ``schemas.identity``).

One record per screenshot, exactly once: the callback as received plus what dedupe derived
from it — the UTC event time and where it came from (``time_source``), the parsed object name
(or why it did not parse) and whether the object name agrees with ``channelName``, ``userId``
and ``timestamp``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from schemas.callback import AgoraCallback, TimeSource
from schemas.envelope import ChecksumStatus, Source
from schemas.objectname import ObjectName

__all__ = ["Consistency", "ScreenshotRecord"]


class Consistency(BaseModel):
    """Whether the object name agrees with the callback's fields.

    Each flag is ``None`` when the object name did not parse (nothing to compare), and the two
    time flags also when the timestamp states no real time (``time_source`` is not
    ``"timestamp"``). ``time_skew_ms`` is object-name time minus ``timestamp``; ``time_matches``
    holds when its magnitude is within the dedupe processor's configured tolerance.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel_matches: bool | None
    uid_matches: bool | None
    time_matches: bool | None
    time_skew_ms: int | None

    @property
    def consistent(self) -> bool:
        return bool(self.channel_matches and self.uid_matches and self.time_matches)


class ScreenshotRecord(BaseModel):
    """One deduplicated screenshot notification."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Field declarations, alike in shape to other records' (decision, envelope): plain data.
    schema_version: Literal[1] = 1
    project: str
    request_id: str
    received_at: datetime
    event_time: datetime
    object: ObjectName | None
    object_error: str | None
    consistency: Consistency
    checksum_status: ChecksumStatus
    callback: AgoraCallback
    source: Source = "agora"  # the envelope's: "reconciler" for a screenshot found by listing
    # Where event_time came from: the callback's timestamp; the object name's <utc> when the
    # timestamp's 17 digits are not a real time; else the envelope's received_at. Records
    # written before the field existed had a readable timestamp, hence the default.
    time_source: TimeSource = "timestamp"
