"""Settings of the enrich processor (TOML ``[processors.sections.enrich]``, env
``SHOTLINE_ENRICH_<FIELD>``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EnrichSettings"]


class EnrichSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    # Field declarations only, alike in shape to other settings models: each is its own key.
    event_wait_s: float = Field(
        default=30.0,
        ge=0,
        description="How long after a screenshot was received its S3 event may take before "
        "a HeadObject is made instead.",
    )
    missing_after_s: float = Field(
        default=120.0,
        gt=0,
        description="A HeadObject still answering 404 this long after the screenshot time "
        "dead-letters it with reason missing_object.",
    )
    event_projects: tuple[str, ...] = Field(
        default=("*",),
        description="Projects whose bucket sends ObjectCreated events to shotline.s3events.v1 "
        "('*' = all). The others get a HeadObject at once.",
    )
    head_rate: float = Field(
        default=200.0, gt=0, description="HeadObject calls per second per project (token bucket)."
    )
    head_concurrency: int = Field(
        default=16, ge=1, le=256, description="HeadObject calls in flight (thread pool size)."
    )
    head_timeout_s: float = Field(
        default=5.0, gt=0, description="Connect and read timeout of one HeadObject call."
    )
    retry_initial_s: float = Field(default=0.5, gt=0, description="First HeadObject backoff.")
    retry_max_s: float = Field(default=10.0, gt=0, description="Longest HeadObject backoff.")
    transient_budget_s: float = Field(
        default=900.0,
        gt=0,
        description="How long 5xx, throttling and timeouts are retried before the record is "
        "dead-lettered with reason head_failed.",
    )
    max_pending: int = Field(
        default=200_000,
        ge=1,
        description="Screenshots waiting for an event or a HeadObject, per instance; when full, "
        "consuming waits.",
    )
    event_ttl_s: float = Field(
        default=300.0,
        gt=0,
        description="How long an S3 event is remembered for a screenshot that arrives later; "
        "also how far back the event index is read at start.",
    )
    max_events: int = Field(
        default=500_000,
        ge=1,
        description="Cap on remembered S3 events, oldest dropped (about 0.5 KB each).",
    )
    checkpoint_interval_s: float = Field(
        default=1.0, gt=0, description="How often the pending state's checkpoint is written."
    )

    def expects_events(self, project: str) -> bool:
        return "*" in self.event_projects or project in self.event_projects
