"""The record ingest publishes to ``shotline.callbacks.v1``.

Key: the screenshot's identity, ``schemas.identity.callback_key`` (the object name when it
has Agora's shape, else the requestId). ``source`` says who published it: ``agora`` (ingest,
a real callback) or ``reconciler`` (``shotline reconcile``, a screenshot found in the bucket
whose callback never arrived).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from schemas.callback import AgoraCallback

__all__ = [
    "HEADER_PROJECT",
    "HEADER_TRACEPARENT",
    "CallbackEnvelope",
    "ChecksumStatus",
    "Source",
    "headers_as_text",
]

HEADER_PROJECT = "shotline-project"
HEADER_TRACEPARENT = "traceparent"

Source = Literal["agora", "reconciler"]
"""Who published a callback: ingest (``agora``) or ``shotline reconcile``."""


def headers_as_text(headers: Iterable[tuple[str, bytes | None]]) -> dict[str, str]:
    """Kafka headers for reading: UTF-8 (invalid bytes replaced), the last of a repeated
    name, null values left out."""
    return {name: value.decode("utf-8", "replace") for name, value in headers if value is not None}


class ChecksumStatus(StrEnum):
    OK = "ok"
    MISMATCH = "mismatch"  # accepted because the project's checksum mode is ``log``
    SKIPPED = "skipped"  # the project's checksum mode is ``off``


class CallbackEnvelope(BaseModel):
    """A validated callback with what ingest knew when it accepted it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Field declarations, alike in shape to other records' (decision, screenshot): plain data.
    schema_version: Literal[1] = 1
    project: str
    received_at: datetime
    checksum_status: ChecksumStatus
    callback: AgoraCallback
    source: Source = "agora"
