"""Settings of the Agora simulator: volume, target, storage and fault rates."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas import DEFAULT_CHECKSUM_TEMPLATE, validate_template

__all__ = ["AGORA_ATTEMPTS", "AGORA_TIMEOUT_S", "FaultRates", "SimulateSettings"]

AGORA_TIMEOUT_S = 5.0  # Agora waits this long for the answer (seeds)
AGORA_ATTEMPTS = 3  # first attempt plus two immediate retries (seeds)

Rate = Field(default=0.0, ge=0.0, le=1.0)


class FaultRates(BaseModel):
    """Probability per screenshot of each injected fault.

    ``bad_checksum``, ``malformed``, ``missing_object`` and ``dropped`` are exclusive (one
    draw per screenshot, so their sum must stay ≤ 1). ``duplicate`` (a storm of 1 to
    ``duplicate_max`` extra deliveries after success) and ``compact_timestamp`` (the
    17-digit ``timestamp`` form instead of Unix ms) apply on top, to valid screenshots.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    duplicate: float = Rate
    duplicate_max: int = Field(default=3, ge=1, le=20)
    bad_checksum: float = Rate
    malformed: float = Rate
    compact_timestamp: float = Rate
    missing_object: float = Rate
    dropped: float = Rate

    @model_validator(mode="after")
    def _exclusive_sum(self) -> FaultRates:
        total = self.bad_checksum + self.malformed + self.missing_object + self.dropped
        if total > 1.0:
            raise ValueError(
                "bad_checksum + malformed + missing_object + dropped must not exceed 1"
            )
        return self


class SimulateSettings(BaseModel):
    """One simulator run. Volume is ``channels x users`` screenshots every ``interval_s``,
    unless ``rate`` (screenshots/s) is set; the run ends at ``count`` screenshots or after
    ``duration_s``, whichever comes first (neither: until interrupted)."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    url: str = "http://127.0.0.1:8080/v1/callbacks/demo"
    project: str = "demo"
    callback_addr: str | None = Field(
        default=None, description="Address in the checksum; defaults to the URL."
    )
    checksum_template: str = DEFAULT_CHECKSUM_TEMPLATE
    channels: int = Field(default=10, ge=1)
    users: int = Field(default=3, ge=1)
    interval_s: float = Field(default=5.0, gt=0)
    rate: float | None = Field(default=None, gt=0)
    count: int | None = Field(default=None, ge=0)
    duration_s: float | None = Field(default=None, gt=0)
    concurrency: int = Field(default=64, ge=1, le=4096)
    timeout_s: float = Field(default=AGORA_TIMEOUT_S, gt=0)
    attempts: int = Field(default=AGORA_ATTEMPTS, ge=1)
    upload: bool = True
    bucket: str = "shotline-screenshots"
    s3_endpoint: str = "http://127.0.0.1:9000"
    s3_region: str = "us-east-1"
    s3_access_key: str = "testing"
    s3_secret_key: str = "testing"  # noqa: S105 - moto accepts any key; real runs pass theirs
    upload_threads: int = Field(default=8, ge=1, le=256)
    prefix: str = "shotline/sim"
    faults: FaultRates = FaultRates()
    seed: int | None = None

    @model_validator(mode="after")
    def _check(self) -> SimulateSettings:
        validate_template(self.checksum_template)
        # Agora Console accepts prefix segments of ASCII letters and digits, 128 chars in all.
        segments = self.prefix.split("/") if self.prefix else []
        if len(self.prefix) > 128 or not all(seg.isascii() and seg.isalnum() for seg in segments):
            raise ValueError("prefix must be '/'-separated segments of letters and digits")
        return self

    @property
    def address(self) -> str:
        """The ``callbackAddr`` the checksum is computed over."""
        return self.callback_addr or self.url

    @property
    def screenshots_per_s(self) -> float:
        return self.rate if self.rate is not None else self.channels * self.users / self.interval_s
