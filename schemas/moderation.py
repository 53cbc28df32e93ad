"""Moderation contracts: the verdict ``moderate`` publishes to ``shotline.moderation.v1``
(key = requestId, one per screenshot) and a project's routing table
(``[projects.<key>.moderation]``).

Pure models: which providers exist and how they are reached is the processor's business
(``[moderation.providers.<name>]``, ``processors.moderate.settings``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "ActionWebhook",
    "ImageFacts",
    "ModerationLabel",
    "ModerationVerdict",
    "ProjectModeration",
    "Verdict",
]


class Verdict(StrEnum):
    """Ordered by severity (``block`` worst); ``skipped`` means nobody looked."""

    SKIPPED = "skipped"
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    REVIEW = "review"
    BLOCK = "block"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Verdict.SKIPPED: 0, Verdict.PASS: 1, Verdict.REVIEW: 2, Verdict.BLOCK: 3}


class ModerationLabel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    score: float = Field(ge=0.0, le=1.0)


class ImageFacts(BaseModel):
    """What the bytes said, when a provider read them (the local model does)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    width: int = Field(gt=0)
    height: int = Field(gt=0)


class ModerationVerdict(BaseModel):
    """One screenshot's moderation outcome. ``reason`` says why it was skipped (``sampled_out``,
    ``channel_interval``, ``not_configured``, ``no_object``) or which provider answered when
    an earlier one in the route failed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    request_id: str
    project: str
    verdict: Verdict
    reason: str | None = None
    provider: str | None = None
    model: str | None = None
    labels: list[ModerationLabel] = Field(default_factory=list)
    latency_ms: float | None = Field(default=None, ge=0)
    image: ImageFacts | None = None


class ActionWebhook(BaseModel):
    """Called on ``block``: ``POST url`` with the verdict as JSON, header
    ``X-Shotline-Signature: sha256=<hex HMAC-SHA256 of the body>`` keyed by the secret in
    environment variable ``secret_env``, and ``Idempotency-Key: <requestId>``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(description="Where the verdict is POSTed.")
    secret_env: str = Field(description="Environment variable holding the HMAC secret.")
    timeout_s: float = Field(default=5.0, gt=0, description="Deadline of one call.")
    attempts: int = Field(default=4, ge=1, description="Tries before the record is dead-lettered.")


class ProjectModeration(BaseModel):
    """``[projects.<key>.moderation]``: which providers look at a project's screenshots."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    providers: tuple[str, ...] = Field(
        default=("local",), min_length=1, description="Provider names, in order."
    )
    mode: Literal["first", "worst"] = Field(
        default="first",
        description="first: the first provider that answers decides; worst: all are asked and "
        "the worst verdict wins.",
    )
    sample: float = Field(
        default=1.0, ge=0.0, le=1.0, description="Fraction moderated, deterministic on requestId."
    )
    per_channel_interval_s: float = Field(
        default=0.0, ge=0.0, description="At most one screenshot per channel per interval."
    )
    review_at: float = Field(
        default=0.5, ge=0.0, le=1.0, description="A highest label score at or above this: review."
    )
    block_at: float = Field(
        default=0.8, ge=0.0, le=1.0, description="A highest label score at or above this: block."
    )
    action_webhook: ActionWebhook | None = None

    @model_validator(mode="after")
    def _ordered_thresholds(self) -> ProjectModeration:
        if self.review_at > self.block_at:
            raise ValueError("review_at must not exceed block_at")
        return self
