"""How shotline reaches Kafka: one typed connection model for every client it makes.

``KafkaSettings`` (env ``SHOTLINE_KAFKA_<FIELD>``, TOML ``[kafka]``) is validated as a whole
at start, so a misspelt protocol or a certificate without its key is one clear error naming
the field. ``client_kwargs()`` is the one place the model becomes aiokafka keyword arguments
(producers, consumers, admin, transactional producers, the CLI readers); FastStream's
``security=`` object is derived from those same arguments (``processors.faststream_security``).

Only the standard library is used here (``ssl`` for the TLS context): the OAUTHBEARER token
provider is an aiokafka object, so the composition root resolves it
(``shotline.kafka_auth.resolve_token_provider``) and attaches it with
``with_token_provider``.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from schemas.errors import KafkaConfigError
from schemas.partitioner import kafka_partitioner
from schemas.topics import Topics

__all__ = [
    "MSK_IAM",
    "KafkaConfigError",
    "KafkaSettings",
    "SaslMechanism",
    "SecurityProtocol",
]

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]
MSK_IAM = "msk_iam"  # the built-in OAUTHBEARER token provider (AWS MSK IAM)
_IMPORT_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class KafkaSettings(BaseModel):
    """How to reach Kafka, authenticate, and which topic prefix to use."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    bootstrap: str = Field(default="127.0.0.1:9092", description="host:port[,host:port...]")
    topic_prefix: str = Field(
        default="", description="Prefix of every topic name and consumer group."
    )
    client_id: str = Field(default="shotline", description="Kafka client id.")
    security_protocol: SecurityProtocol = Field(
        default="PLAINTEXT", description="How clients talk to the brokers (TLS, SASL)."
    )
    ssl_ca_file: Path | None = Field(
        default=None, description="PEM CA bundle; unset trusts the system CAs (MSK, Confluent)."
    )
    ssl_cert_file: Path | None = Field(default=None, description="PEM client certificate (mTLS).")
    ssl_key_file: Path | None = Field(default=None, description="PEM private key of the cert.")
    ssl_key_password: SecretStr | None = Field(
        default=None, description="Password of an encrypted client key (secret)."
    )
    ssl_check_hostname: bool = Field(
        default=True, description="Check the broker's name against its certificate."
    )
    sasl_mechanism: SaslMechanism | None = Field(
        default=None, description="SASL mechanism; required with SASL_PLAINTEXT and SASL_SSL."
    )
    sasl_username: str | None = Field(default=None, description="User of PLAIN and SCRAM-*.")
    sasl_password: SecretStr | None = Field(
        default=None, description="Password of PLAIN and SCRAM-* (secret)."
    )
    sasl_oauth_token_provider: str | None = Field(
        default=None,
        description="OAUTHBEARER: 'msk_iam' or 'package.module:attr' of an aiokafka "
        "AbstractTokenProvider (class or instance).",
    )
    msk_iam_region: str | None = Field(
        default=None, description="AWS region of the MSK cluster (default: AWS_REGION)."
    )
    _token_provider: object | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSettings:
        problems = _problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def topics(self) -> Topics:
        return Topics(prefix=self.topic_prefix)

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def with_token_provider(self, provider: object) -> KafkaSettings:
        """A copy carrying the resolved OAUTHBEARER token provider (composition root only)."""
        copy = self.model_copy()
        copy._token_provider = provider
        return copy

    @property
    def token_provider(self) -> object | None:
        return self._token_provider

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for SSL and SASL_SSL (None otherwise): verifies the broker's
        certificate against ``ssl_ca_file`` (or the system CAs), presents the client
        certificate when one is set, checks the hostname unless told not to."""
        if not self.uses_tls:
            return None
        try:
            context = ssl.create_default_context(
                ssl.Purpose.SERVER_AUTH,
                cafile=str(self.ssl_ca_file) if self.ssl_ca_file else None,
            )
        except (OSError, ssl.SSLError) as exc:
            raise KafkaConfigError(f"kafka.ssl_ca_file {self.ssl_ca_file}: {exc}") from exc
        if self.ssl_cert_file is not None:
            password = self.ssl_key_password
            try:
                context.load_cert_chain(
                    str(self.ssl_cert_file),
                    str(self.ssl_key_file),
                    password=password.get_secret_value() if password else None,
                )
            except (OSError, ssl.SSLError) as exc:
                raise KafkaConfigError(
                    f"kafka.ssl_cert_file/ssl_key_file cannot be loaded: {exc}"
                ) from exc
        context.check_hostname = self.ssl_check_hostname
        return context

    def client_kwargs(self) -> dict[str, Any]:
        """Connection keyword arguments for every aiokafka client: producers (plain and
        transactional), consumers and admin. Secrets leave the model only here."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "client_id": self.client_id,
            "security_protocol": self.security_protocol,
        }
        context = self.ssl_context()
        if context is not None:
            kwargs["ssl_context"] = context
        if self.sasl_mechanism is None:
            return kwargs
        kwargs["sasl_mechanism"] = self.sasl_mechanism
        if self.sasl_mechanism == "OAUTHBEARER":
            if self._token_provider is None:
                raise KafkaConfigError(
                    "kafka.sasl_oauth_token_provider is not resolved: build the settings "
                    "with shotline.settings.load_settings (or resolve_token_provider)"
                )
            kwargs["sasl_oauth_token_provider"] = self._token_provider
            return kwargs
        kwargs["sasl_plain_username"] = self.sasl_username
        if self.sasl_password is not None:
            kwargs["sasl_plain_password"] = self.sasl_password.get_secret_value()
        return kwargs

    def producer_kwargs(self) -> dict[str, Any]:
        """``client_kwargs`` plus Kafka's key partitioner in native code
        (``schemas.partitioner``): what every producer is built with."""
        return {**self.client_kwargs(), "partitioner": kafka_partitioner}


def _problems(s: KafkaSettings) -> list[str]:
    """Every inconsistency between fields, each naming the fields and the fix."""
    found: list[str] = []
    sasl = s.security_protocol.startswith("SASL_")
    if sasl and s.sasl_mechanism is None:
        found.append(f"security_protocol={s.security_protocol} needs sasl_mechanism")
    if not sasl and s.sasl_mechanism is not None:
        found.append(
            f"sasl_mechanism={s.sasl_mechanism} needs security_protocol SASL_SSL or "
            f"SASL_PLAINTEXT (is {s.security_protocol})"
        )
    if s.sasl_mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512") and (
        not s.sasl_username or s.sasl_password is None
    ):
        found.append(f"sasl_mechanism={s.sasl_mechanism} needs sasl_username and sasl_password")
    provider = s.sasl_oauth_token_provider
    if s.sasl_mechanism == "OAUTHBEARER" and not provider:
        found.append("sasl_mechanism=OAUTHBEARER needs sasl_oauth_token_provider")
    if provider and s.sasl_mechanism != "OAUTHBEARER":
        found.append("sasl_oauth_token_provider is only used with sasl_mechanism=OAUTHBEARER")
    if provider and provider != MSK_IAM and not _IMPORT_PATH.match(provider):
        found.append(
            f"sasl_oauth_token_provider={provider!r} is neither 'msk_iam' nor 'module:attr'"
        )
    tls_files = {
        "ssl_ca_file": s.ssl_ca_file,
        "ssl_cert_file": s.ssl_cert_file,
        "ssl_key_file": s.ssl_key_file,
        "ssl_key_password": s.ssl_key_password,
    }
    unused = [name for name, value in tls_files.items() if value is not None]
    if unused and not s.uses_tls:
        found.append(
            f"{', '.join(unused)} set but security_protocol={s.security_protocol} does not "
            "use TLS (use SSL or SASL_SSL)"
        )
    if (s.ssl_cert_file is None) != (s.ssl_key_file is None):
        found.append("ssl_cert_file and ssl_key_file go together (client certificate and key)")
    if s.ssl_key_password is not None and s.ssl_key_file is None:
        found.append("ssl_key_password needs ssl_key_file")
    return found
