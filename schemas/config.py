"""Configuration contracts shared by every unit: Kafka connection and the projects table.

Pure models only; reading the environment and the TOML file happens in the composition root
(``shotline.settings``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from schemas.checksum import DEFAULT_CHECKSUM_TEMPLATE, validate_template
from schemas.topics import Topics

__all__ = ["ChecksumMode", "KafkaSettings", "ProjectConfig"]


class ChecksumMode(StrEnum):
    """``enforce`` rejects a mismatch with 401; ``log`` counts it and accepts; ``off`` skips."""

    ENFORCE = "enforce"
    LOG = "log"
    OFF = "off"


class KafkaSettings(BaseModel):
    """How to reach Kafka and which topic prefix to use."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    client_id: str = "shotline"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None

    @property
    def topics(self) -> Topics:
        return Topics(prefix=self.topic_prefix)

    def client_kwargs(self) -> dict[str, Any]:
        """Connection keyword arguments common to aiokafka producers, consumers and admin."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "client_id": self.client_id,
            "security_protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.sasl_username
            if self.sasl_password is not None:
                kwargs["sasl_plain_password"] = self.sasl_password.get_secret_value()
        return kwargs


class ProjectConfig(BaseModel):
    """One Agora project, selected by the key in the callback URL path.

    The key itself is the table name in the projects file; in production it must be an
    unguessable random string (it is what proves a callback's origin).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    callback_addr: str = Field(
        description="The callback URL exactly as registered in Agora Console."
    )
    checksum: ChecksumMode = ChecksumMode.ENFORCE
    checksum_template: str = DEFAULT_CHECKSUM_TEMPLATE
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
    s3_region: str = "us-east-1"
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
    s3_secret_key: SecretStr | None = None

    @field_validator("object_prefix")
    @classmethod
    def _prefix_segments(cls, value: str) -> str:
        return value.strip("/")

    @field_validator("checksum_template")
    @classmethod
    def _template_fields(cls, value: str) -> str:
        return validate_template(value)
