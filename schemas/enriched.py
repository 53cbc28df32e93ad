"""The record ``enrich`` publishes to ``shotline.screenshots.enriched.v1`` (key = requestId).

The deduplicated screenshot (every field of ``ScreenshotRecord``) plus ``s3``: the facts of
its object in the project's bucket, taken from the store's ObjectCreated event
(``source="event"``) or from a HeadObject call (``source="head"``). ``s3`` is None when the
project has no bucket configured or the object name did not parse (nothing to look up).
Image dimensions are not here: they belong to the stage that reads the bytes (moderation).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.screenshot import ScreenshotRecord

__all__ = ["EnrichedScreenshot", "S3ObjectFacts"]


class S3ObjectFacts(BaseModel):
    """What the object store says about a screenshot's object."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bucket: str
    key: str = Field(description="The object key, decoded (not URL-encoded).")
    size: int = Field(ge=0, description="Bytes.")
    etag: str = Field(description="Without the surrounding quotes.")
    content_type: str | None = Field(description="None when the source does not say.")
    last_modified: datetime = Field(description="UTC.")
    version_id: str | None = None
    source: Literal["event", "head"]


class EnrichedScreenshot(ScreenshotRecord):
    """One deduplicated screenshot joined with its S3 object."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1  # of this topic's record, versioned on its own
    s3: S3ObjectFacts | None
