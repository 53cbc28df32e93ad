"""Settings of the HTTP edge (``SHOTLINE_INGEST_*``).

Built once in the composition root and passed down; nothing here reads the environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["IngestSettings"]


class IngestSettings(BaseModel):
    """How the HTTP edge listens, validates, publishes and spools."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    # Field declarations only, alike in shape to other settings models: each is its own key.
    host: str = Field(default="127.0.0.1", description="Address to bind (--host overrides).")
    port: int = Field(default=8080, ge=0, le=65535, description="Port to bind (--port overrides).")
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="uvicorn worker processes (--workers overrides); each has its own spool.",
    )
    publish_deadline_s: float = Field(
        default=2.5, gt=0, lt=5, description="Deadline for the Kafka ack, inside Agora's 5 s."
    )
    max_body_bytes: int = Field(
        default=65_536, gt=0, description="Larger bodies get 413, refused while reading."
    )
    freshness_window_s: float | None = Field(
        default=None,
        gt=0,
        description="Reject (422 stale) a screenshot time further than this from now; unset: off.",
    )
    linger_ms: int = Field(default=5, ge=0, le=1000, description="Producer batching delay.")
    max_batch_bytes: int = Field(default=262_144, ge=1024, description="Producer batch size.")
    spool_dir: Path = Field(
        default=Path(".shotline/spool"),
        description="Folder of the per-worker SQLite spool files (spool-<slot>.sqlite3); "
        "put it on a persistent disk.",
    )
    spool_max_bytes: int = Field(
        default=256 * 1024 * 1024,
        gt=0,
        description="Payload bytes the spool may hold; beyond it callbacks get 503.",
    )
    spool_commit_max_records: int = Field(
        default=2048, gt=0, description="Most records one group commit writes."
    )
    drain_batch: int = Field(default=500, gt=0, description="Records the drainer sends at once.")
    drain_interval_s: float = Field(
        default=0.5, gt=0, description="Drainer pause when the spool is empty or Kafka is down."
    )
    quarantine_after_attempts: int = Field(
        default=5,
        ge=1,
        description="Drain rounds the broker must refuse a head record for good before it "
        "moves to the spool's quarantine table.",
    )
    orphan_scan_interval_s: float = Field(
        default=30.0,
        gt=0,
        description="How often to look for spool files no live process holds and drain them.",
    )
    producer_stuck_after_s: float = Field(
        default=10.0,
        gt=0,
        description="Recreate the producer after failing this long (aiokafka issue #1017).",
    )
    publish_rejected: bool = Field(
        default=False, description="Also write rejected callbacks to shotline.rejected.v1."
    )
    rejected_payload_max_bytes: int = Field(
        default=2048, ge=0, description="Body bytes kept in a rejected record."
    )
    shutdown_timeout_s: float = Field(
        default=10.0, gt=0, description="Grace for in-flight requests and the final flush."
    )
