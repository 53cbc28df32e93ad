"""The record ingest publishes to ``shotline.callbacks.v1`` (key = requestId)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from schemas.callback import AgoraCallback

__all__ = ["HEADER_PROJECT", "HEADER_TRACEPARENT", "CallbackEnvelope", "ChecksumStatus"]

HEADER_PROJECT = "shotline-project"
HEADER_TRACEPARENT = "traceparent"


class ChecksumStatus(StrEnum):
    OK = "ok"
    MISMATCH = "mismatch"  # accepted because the project's checksum mode is ``log``
    SKIPPED = "skipped"  # the project's checksum mode is ``off``


class CallbackEnvelope(BaseModel):
    """A validated callback with what ingest knew when it accepted it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    project: str
    received_at: datetime
    checksum_status: ChecksumStatus
    callback: AgoraCallback
