"""FastStream's view of the Kafka connection model: ``KafkaBroker(**broker_security(kafka))``.

Derived from ``KafkaSettings.client_kwargs()`` (the one place the model becomes client
arguments), so the at-least-once engine and the aiokafka clients always agree: the same TLS
context, the same SASL mechanism and credentials, the same OAUTHBEARER token provider.
FastStream takes the token provider as its own keyword, beside ``security=``.
"""

from __future__ import annotations

from typing import Any

from faststream.security import (
    BaseSecurity,
    SASLOAuthBearer,
    SASLPlaintext,
    SASLScram256,
    SASLScram512,
)

from schemas import KafkaSettings

__all__ = ["broker_security"]

_PASSWORD_CLASSES: dict[str, type[SASLPlaintext | SASLScram256 | SASLScram512]] = {
    "PLAIN": SASLPlaintext,
    "SCRAM-SHA-256": SASLScram256,
    "SCRAM-SHA-512": SASLScram512,
}


def broker_security(kafka: KafkaSettings) -> dict[str, Any]:
    """``security=`` (and ``sasl_oauth_token_provider=`` for OAUTHBEARER) for KafkaBroker;
    empty for PLAINTEXT. ``use_ssl`` is what picks SASL_SSL over SASL_PLAINTEXT."""
    kwargs = kafka.client_kwargs()
    context = kwargs.get("ssl_context")
    use_ssl = kafka.uses_tls
    mechanism = kwargs.get("sasl_mechanism")
    if mechanism is None:
        return {"security": BaseSecurity(ssl_context=context, use_ssl=use_ssl)} if use_ssl else {}
    if mechanism == "OAUTHBEARER":
        return {
            "security": SASLOAuthBearer(ssl_context=context, use_ssl=use_ssl),
            "sasl_oauth_token_provider": kwargs["sasl_oauth_token_provider"],
        }
    security = _PASSWORD_CLASSES[mechanism](
        kwargs["sasl_plain_username"],
        kwargs["sasl_plain_password"],
        ssl_context=context,
        use_ssl=use_ssl,
    )
    return {"security": security}
