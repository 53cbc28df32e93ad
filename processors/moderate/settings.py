"""Settings of the moderate processor.

Two tables feed it (merged by the composition root, ``shotline.settings``):
``[moderation.providers.<name>]`` (one per provider, selected by ``kind``) and
``[processors.sections.moderate]``; environment ``SHOTLINE_MODERATE_<FIELD>`` overrides
both (``SHOTLINE_MODERATE_MAX_ATTEMPTS=6``). Secrets are never values here: fields ending
in ``_env`` name the environment variable that holds them, and ``headers`` values of the
form ``env:NAME`` are read from the environment when the provider starts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "HttpProviderConfig",
    "LocalProviderConfig",
    "ModerateSettings",
    "PluginProviderConfig",
    "ProviderConfig",
    "QuotaConfig",
    "RekognitionProviderConfig",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class QuotaConfig(BaseModel):
    """Limits every provider gets, whatever its kind (``quota.Guard``)."""

    model_config = _FROZEN

    # Field declarations only, alike in shape to other settings models: each is its own key.
    rate_per_s: float = Field(default=10.0, gt=0, description="Token bucket refill (calls/s).")
    burst: int = Field(default=5, ge=1, description="Token bucket size.")
    rate_margin: float = Field(
        default=0.05,
        ge=0,
        lt=1,
        description="The bucket refills this fraction under rate_per_s, so that network "
        "jitter never shows the provider more than rate_per_s + burst in a second.",
    )
    concurrency: int = Field(default=4, ge=1, description="Calls in flight at once.")
    timeout_s: float = Field(default=10.0, gt=0, description="Deadline of one call.")
    backoff_initial_s: float = Field(default=0.2, gt=0, description="First retry wait.")
    backoff_max_s: float = Field(default=5.0, gt=0, description="Longest retry wait.")
    breaker_failures: int = Field(
        default=10, ge=1, description="Consecutive failed calls that open the breaker."
    )
    breaker_open_s: float = Field(default=15.0, gt=0, description="How long it stays open.")
    max_wait_s: float = Field(
        default=5.0,
        ge=0,
        description="Longest in-handler wait for a Retry-After; longer ones pause the "
        "partitions instead (Backpressure).",
    )


class HttpProviderConfig(QuotaConfig):
    kind: Literal["http"] = Field(default="http", description="An HTTP moderation API.")
    preset: Literal["shotline", "sightengine", "hive"] = Field(
        default="shotline", description="Request and response shape of the API."
    )
    url: str = Field(description="Endpoint URL.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra headers; a value 'env:NAME' reads $NAME."
    )
    params: dict[str, str] = Field(
        default_factory=dict,
        description="Extra request parameters (sightengine: models, api_user='env:NAME'...).",
    )
    hmac_secret_env: str | None = Field(
        default=None, description="Sign the body (X-Shotline-Signature) with $NAME."
    )
    presign_expiry_s: int = Field(
        default=300,
        ge=1,
        le=604_800,
        description="Lifetime of the presigned S3 GET URL the provider fetches.",
    )
    model: str | None = Field(default=None, description="Model name reported in verdicts.")


class RekognitionProviderConfig(QuotaConfig):
    kind: Literal["rekognition"] = Field(
        default="rekognition", description="AWS Rekognition DetectModerationLabels."
    )
    region: str | None = Field(default=None, description="None: the project's s3_region.")
    endpoint_url: str | None = Field(default=None, description="A non-default endpoint.")
    min_confidence: float = Field(
        default=50.0, ge=0, le=100, description="Rekognition's MinConfidence (0..100)."
    )
    send_bytes: bool = Field(
        default=False,
        description="Send the bytes (≤ 5 MB) instead of Image.S3Object: buckets in another "
        "region than Rekognition's, or on another store.",
    )


class LocalProviderConfig(QuotaConfig):
    kind: Literal["local"] = Field(
        default="local", description="The offline open_nsfw model on onnxruntime."
    )
    rate_per_s: float = Field(default=1000.0, gt=0)
    burst: int = Field(default=64, ge=1)
    concurrency: int = Field(
        default=4,
        ge=1,
        description="Chunks in flight (downloading, queued or classified); more than "
        "`workers`, so a worker finds the next chunk ready.",
    )
    workers: int = Field(
        default=2,
        ge=1,
        description="Model runs at once, each in its own thread; give a replica this many cores.",
    )
    timeout_s: float = Field(default=60.0, gt=0)
    batch_size: int = Field(default=4, ge=1, description="Images per model run.")
    threads: int = Field(default=1, ge=1, description="onnxruntime intra-op threads.")
    execution_providers: tuple[str, ...] = Field(
        default=("CPUExecutionProvider",),
        description="onnxruntime execution providers, best first (e.g. CUDAExecutionProvider).",
    )
    jpeg_reencode: bool = Field(
        default=True,
        description="Pass the 224x224 crop through JPEG once more, as Yahoo's reference does "
        "(the package's default); false saves about 1 ms of CPU per image and moves scores "
        "slightly.",
    )
    scaled_decode: bool = Field(
        default=True,
        description="Decode a JPEG of at least 512x512 px at 1/2, 1/4 or 1/8 scale (libjpeg's "
        "DCT scaling, never below 256 px): about 4x less preparation CPU at 1080p; scores "
        "move by up to 0.04 (docs/moderation.md). False decodes at full size, as the package "
        "does.",
    )


class PluginProviderConfig(QuotaConfig):
    """A third-party provider: ``kind = "package.module:factory"``; ``factory(name, config)``
    returns a ``ModerationProvider``. ``options`` is passed through untouched."""

    kind: str = Field(
        pattern=r"^[\w.]+:[\w.]+$",
        description="Import path of a factory(name, config) returning a ModerationProvider.",
    )
    options: dict[str, object] = Field(
        default_factory=dict, description="Passed to the factory untouched."
    )


ProviderConfig = (
    HttpProviderConfig | RekognitionProviderConfig | LocalProviderConfig | PluginProviderConfig
)


class ModerateSettings(BaseModel):
    model_config = _FROZEN

    max_attempts: int = Field(
        default=4, ge=1, description="Provider calls per record before it is dead-lettered."
    )
    providers: dict[str, ProviderConfig] = Field(
        default_factory=lambda: dict[str, ProviderConfig](local=LocalProviderConfig()),
        description="[moderation.providers.<name>]; 'local' exists unless redefined.",
    )
    result_cache: int = Field(
        default=100_000,
        ge=0,
        description="Decided requestIds kept in memory, so a batch handled again (pause, "
        "retry) neither calls providers nor the webhook twice.",
    )

    restore_window_s: float = Field(
        default=3600.0,
        ge=0,
        description="On assignment, verdicts this recent are read back so a redelivered "
        "record gets no second verdict (0: off).",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_local(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("providers"), dict):
            providers = dict(data["providers"])
            providers.setdefault("local", {"kind": "local"})
            for name, table in providers.items():  # pick the model by kind, clear errors
                if isinstance(table, dict):
                    kind = table.get("kind", "http")
                    model = _BY_KIND.get(kind, PluginProviderConfig)
                    providers[name] = model.model_validate(table)
            data = {**data, "providers": providers}
        return data


_BY_KIND: dict[str, type[QuotaConfig]] = {
    "http": HttpProviderConfig,
    "rekognition": RekognitionProviderConfig,
    "local": LocalProviderConfig,
}
