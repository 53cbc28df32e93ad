"""Settings of the processor runner (``SHOTLINE_PROCESSORS_*``) and each processor's section.

``sections`` holds one raw table per processor name (TOML ``[processors.sections.<name>]``);
the composition root overlays environment variables ``SHOTLINE_<NAME>_<FIELD>`` on it and
the processor validates it with its own frozen settings model in ``start``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RunnerSettings"]


class RunnerSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    # Field declarations only, alike in shape to other settings models: each is its own key.
    batch_max_records: int = Field(
        default=5000, gt=0, description="Most records fetched per poll (all partitions)."
    )
    poll_timeout_ms: int = Field(default=200, gt=0, description="Longest wait for a batch.")
    fetch_min_bytes: int = Field(
        default=1 << 20,
        ge=1,
        description="The broker holds a fetch until this many bytes are there (or "
        "fetch_max_wait_ms passed): bigger batches, fewer transactions, some latency.",
    )
    fetch_max_wait_ms: int = Field(
        default=150,
        ge=0,
        description="Longest the broker holds a fetch for fetch_min_bytes: a stage's added "
        "latency at most, and what bounds its polls (and transactions) per second.",
    )
    retry_attempts: int = Field(
        default=3,
        ge=1,
        description="Attempts of a batch that raises RetriableError before its records are tried "
        "alone and dead-lettered.",
    )
    retry_initial_s: float = Field(default=0.2, gt=0, description="First backoff wait.")
    retry_max_s: float = Field(default=5.0, gt=0, description="Longest backoff wait.")
    transaction_timeout_ms: int = Field(
        default=10_000,
        gt=0,
        description="Kafka transaction timeout (exactly-once processors); also how long a "
        "dead instance's open transaction, if no restart on its host fences it, holds its "
        "partitions back.",
    )
    max_poll_interval_ms: int = Field(
        default=900_000,
        gt=0,
        description="Longest batch or restore before the group counts the consumer as dead.",
    )
    shutdown_timeout_s: float = Field(
        default=30.0, gt=0, description="How long a graceful stop may take before exiting."
    )
    gc_threshold: int = Field(
        default=500_000,
        ge=0,
        description="Python's generation-0 GC threshold while processors run (0: default).",
    )
    host: str = Field(
        default="127.0.0.1",
        description="Address of /healthz and /metrics (port: --port, default 9100).",
    )
    sections: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-processor settings tables, by processor name."
    )
