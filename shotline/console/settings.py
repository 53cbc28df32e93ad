"""``[console]``: the review console's settings (``SHOTLINE_CONSOLE_<FIELD>``).

Reviewers are named in the TOML file::

    [console.reviewers.alice]
    password_hash = "$argon2id$v=19$m=65536,t=3,p=4$..."   # shotline console --hash-password
    projects = ["demo"]

In ``auth = "proxy"`` mode an SSO proxy in front of the console authenticates people and
names them in ``proxy_header``; the header is believed only from ``proxy_trusted_ips``, and
the name must still be a configured reviewer (its projects say what they see).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["ConsoleSettings", "Reviewer"]


class Reviewer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    password_hash: str | None = Field(
        default=None,
        description="Argon2id hash (PHC string) of the password; None in proxy mode.",
    )
    projects: tuple[str, ...] = Field(min_length=1, description="The projects they review.")

    @field_validator("password_hash")
    @classmethod
    def _argon2(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("$argon2"):
            raise ValueError("must be an Argon2 hash: run `shotline console --hash-password`")
        return value


class ConsoleSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    window_h: float = Field(
        default=24.0, gt=0, le=24 * 7, description="The queue holds verdicts this many hours old."
    )
    reviewers: dict[str, Reviewer] = Field(
        default_factory=dict, description="[console.reviewers.<name>]: who may sign in."
    )
    auth: Literal["password", "proxy"] = Field(
        default="password",
        description="password: reviewers sign in with their password; proxy: an SSO proxy "
        "names them in proxy_header.",
    )
    proxy_header: str = Field(
        default="X-Forwarded-User", description="proxy mode: the header naming the reviewer."
    )
    proxy_trusted_ips: tuple[str, ...] = Field(
        default=("127.0.0.1",), description="proxy mode: peers whose header is believed."
    )
    cookie_secure: bool = Field(
        default=True,
        description="Mark the session cookie Secure (browsers keep Secure cookies of "
        "http://127.0.0.1 and http://localhost too; switch off only for another plain-HTTP host).",
    )
    session_ttl_s: float = Field(default=8 * 3600, gt=0, description="Idle sessions expire.")
    login_attempts: int = Field(
        default=5, ge=1, description="Failed logins allowed per client address and per name..."
    )
    login_window_s: float = Field(default=300.0, gt=0, description="...in this many seconds.")
    thumbnails: Literal["proxy", "presigned"] = Field(
        default="proxy",
        description="proxy: the console serves the bytes (works for stores the browser cannot "
        "reach, and offline); presigned: the browser loads a presigned S3 GET URL.",
    )
    presign_expiry_s: int = Field(
        default=300, ge=1, le=7 * 86400, description="presigned: seconds a thumbnail URL works."
    )
    index_max: int = Field(
        default=200_000,
        ge=1000,
        description="Screenshots whose object facts are kept in memory to join with verdicts.",
    )
    status_targets: dict[str, str] = Field(
        default_factory=dict,
        description="Status panel: stage name → its Prometheus /metrics URL.",
    )
