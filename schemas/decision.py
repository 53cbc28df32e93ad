"""A reviewer's decision on a flagged screenshot, published by ``shotline console`` to
``shotline.moderation.decisions.v1`` (compacted, key = requestId: the latest decision on a
screenshot is the one kept).

``confirm`` upholds the automatic verdict; ``overturn`` reverses it (a ``block`` overturned
is also sent to the project's action webhook as an ``unblock``, when one is configured).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.moderation import Verdict

__all__ = ["NOTE_MAX_CHARS", "ReviewAction", "ReviewDecision", "UnblockStatus"]

NOTE_MAX_CHARS = 2000


class ReviewAction(StrEnum):
    CONFIRM = "confirm"
    OVERTURN = "overturn"


UnblockStatus = Literal["sent", "not_configured", "not_applicable"]
"""Whether an ``unblock`` went to the action webhook: ``sent`` (it answered 2xx),
``not_configured`` (an overturned block of a project without a webhook), ``not_applicable``
(anything but an overturned block)."""


class ReviewDecision(BaseModel):
    """One reviewer's decision; ``verdict`` is the automatic verdict it judged."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Field declarations, alike in shape to other records' (envelope, screenshot): plain data.
    schema_version: Literal[1] = 1
    request_id: str
    project: str
    verdict: Verdict
    action: ReviewAction
    note: str = Field(default="", max_length=NOTE_MAX_CHARS)
    reviewer: str
    decided_at: datetime = Field(description="UTC.")
    unblock: UnblockStatus = "not_applicable"
