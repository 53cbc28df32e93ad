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
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    kafka_heap: str = "512m"
    s3_port: int = 9000
    start_timeout_s: float = 90.0
