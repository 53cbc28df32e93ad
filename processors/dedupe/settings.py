"""Settings of the dedupe processor (TOML ``[processors.sections.dedupe]``, env
``SHOTLINE_DEDUPE_<FIELD>``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DedupeSettings"]


# Module docstring, imports and Field declarations, alike in shape to every settings model.
class DedupeSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    window_s: float = Field(
        default=86_400.0,
        gt=0,
        description="How long a screenshot's identity (its key) is remembered (24 h).",
    )
    buckets: int = Field(
        default=24,
        ge=1,
        le=1440,
        description="Time buckets per window: ids live between window and window+window/buckets.",
    )
    max_ids: int = Field(
        default=10_000_000,
        gt=0,
        description="Cap on remembered ids per instance (about 110 bytes each); beyond it the "
        "oldest bucket is dropped.",
    )
    time_tolerance_ms: int = Field(
        default=60_000,
        ge=0,
        description="Largest object-name vs timestamp skew still flagged consistent.",
    )
