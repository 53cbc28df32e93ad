"""Settings of the local services (``SHOTLINE_DEV_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DevSettings"]


def _default_home() -> Path:
    return Path.home() / ".cache" / "shotline"


class DevSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    home: Path = Field(
        default_factory=_default_home,
        description="Cache of Kafka jars, data and logs (outside the repository).",
    )
    kafka_port: int = Field(default=9092, description="Client port of the local Kafka node.")
    kafka_controller_port: int = Field(
        default=9093, description="KRaft controller port of the local Kafka node."
    )
    kafka_heap: str = Field(default="512m", description="Java heap of each local Kafka node.")
    s3_port: int = Field(default=9000, description="Port of the local S3 server (moto).")
    start_timeout_s: float = Field(
        default=90.0, description="How long a local service may take to start."
    )
