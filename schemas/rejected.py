"""The record ingest writes to ``shotline.rejected.v1`` for a refused callback (optional).

It carries why and when, never the project key from the URL path (that key is the secret
that proves origin) and only a truncated copy of the body.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RejectedCallback"]


class RejectedCallback(BaseModel):
    """One refused callback: HTTP status, a bounded reason label and a payload prefix."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    received_at: datetime
    project: str | None = Field(
        default=None, description="The configured project, or None when the key was unknown."
    )
    status: int
    reason: str = Field(description="A bounded label such as 'checksum' or 'schema'.")
    detail: str = ""
    source_ip: str | None = None
    payload: str = Field(default="", description="The body's first bytes, decoded leniently.")
    payload_truncated: bool = False
    payload_bytes: int = 0
