"""Configuration contracts shared by every unit: the projects table (and, re-exported, the
Kafka connection model from ``schemas.kafka``).

Pure models only; reading the environment and the TOML file happens in the composition root
(``shotline.settings``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from schemas.checksum import DEFAULT_CHECKSUM_TEMPLATE, validate_template
from schemas.kafka import KafkaSettings
from schemas.moderation import ProjectModeration

__all__ = ["ChecksumMode", "KafkaSettings", "ProjectConfig"]


class ChecksumMode(StrEnum):
    """``enforce`` rejects a mismatch with 401; ``log`` counts it and accepts; ``off`` skips."""

    ENFORCE = "enforce"
    LOG = "log"
    OFF = "off"


class ProjectConfig(BaseModel):
    """One Agora project, selected by the key in the callback URL path.

    The key itself is the table name in the projects file; in production it must be an
    unguessable random string (it is what proves a callback's origin).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    callback_addr: str = Field(
        description="The callback URL exactly as registered in Agora Console."
    )
    checksum: ChecksumMode = Field(
        default=ChecksumMode.ENFORCE,
        description="enforce answers 401 on a mismatch; log accepts and counts it; off skips it.",
    )
    checksum_template: str = Field(
        default=DEFAULT_CHECKSUM_TEMPLATE,
        description="How the four fields are joined before MD5 (only those four names).",
    )
    allowed_ips: tuple[str, ...] = Field(
        default=(), description="Source IPs or CIDR networks; empty allows any."
    )
    waived: bool = Field(
        default=False, description="Agora fee waived (ActiveFence moderation extension users)."
    )
    bucket: str | None = Field(
        default=None, description="The bucket Agora uploads this project's screenshots to."
    )
    object_prefix: str = Field(
        default="",
        description=(
            "Agora Console's \"Filename Prefix\" segments joined with '/' (no leading or "
            "trailing '/'); empty when none. Objects are <object_prefix>/<yyyymmdd>/<file>."
        ),
    )
    s3_endpoint: str | None = Field(
        default=None, description="S3-compatible endpoint URL; None means AWS S3."
    )
    s3_region: str = Field(default="us-east-1", description="Region of the bucket.")
    s3_addressing_style: Literal["path", "virtual"] | None = Field(
        default=None,
        description=(
            "Bucket addressing: 'path' (most self-hosted stores), 'virtual' (Alibaba OSS); "
            "None lets botocore choose (AWS S3)."
        ),
    )
    s3_access_key: SecretStr | None = Field(
        default=None,
        description="Access key id; without keys the standard AWS credential chain is used.",
    )
    s3_secret_key: SecretStr | None = Field(
        default=None, description="Secret access key (secret, never logged)."
    )
    moderation: ProjectModeration | None = Field(
        default=None, description="Moderation routing; None: verdicts are 'skipped'."
    )

    @field_validator("object_prefix")
    @classmethod
    def _prefix_segments(cls, value: str) -> str:
        return value.strip("/")

    @field_validator("checksum_template")
    @classmethod
    def _template_fields(cls, value: str) -> str:
        return validate_template(value)
