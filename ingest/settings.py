"""Settings of the HTTP edge (``SHOTLINE_INGEST_*``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["IngestSettings"]


class IngestSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    publish_deadline_s: float = Field(
        default=2.5, gt=0, lt=5, description="Deadline for the Kafka ack, inside Agora's 5 s."
    )
    max_body_bytes: int = Field(default=65_536, gt=0)
