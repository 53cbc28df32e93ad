"""A bounded pre-flight connection to Kafka, so bad credentials stop a command at once.

aiokafka treats a refused TLS handshake or SASL login like a broker that is down: it logs,
retries, and at best raises "Unable to bootstrap" without the cause. Commands call
``check_kafka`` first: a TLS or SASL refusal raises ``KafkaAuthError`` naming the cause and
the setting to fix; no answer at all raises ``KafkaUnreachable`` (ingest tolerates that:
its spool takes over until the broker is back).
"""

from __future__ import annotations

import asyncio
import logging
import ssl

from aiokafka.conn import create_conn
from aiokafka.errors import (
    IllegalSaslStateError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)

from schemas import KafkaSettings
from shotline.errors import KafkaAuthError, KafkaUnreachable

__all__ = ["check_kafka"]

_SASL_REFUSED = (SaslAuthenticationFailed, UnsupportedSaslMechanismError, IllegalSaslStateError)


async def _probe(kafka: KafkaSettings, timeout_s: float) -> None:
    kwargs = kafka.client_kwargs()
    del kwargs["bootstrap_servers"]
    last = "no bootstrap address"
    for address in (a.strip() for a in kafka.bootstrap.split(",") if a.strip()):
        host, _, port = address.rpartition(":")
        try:
            conn = await asyncio.wait_for(create_conn(host, int(port), **kwargs), timeout_s)
        except ssl.SSLError as exc:
            reason = getattr(exc, "verify_message", None) or exc.reason or str(exc)
            raise KafkaAuthError(
                f"TLS handshake with {address} failed: {reason} (check kafka.ssl_ca_file, "
                "kafka.ssl_check_hostname and that the address matches the broker's certificate)"
            ) from None
        except _SASL_REFUSED as exc:
            raise KafkaAuthError(
                f"SASL {kafka.sasl_mechanism} login as {kafka.sasl_username or '(token)'} "
                f"refused by {address}: {exc} (check kafka.sasl_username/sasl_password)"
            ) from None
        except (OSError, KafkaError, TimeoutError) as exc:
            last = f"{address}: {type(exc).__name__} {exc}".strip()
            continue
        conn.close()
        return
    raise KafkaUnreachable(f"no Kafka broker answers at {kafka.bootstrap} ({last})")


def check_kafka(kafka: KafkaSettings, timeout_s: float = 10.0) -> None:
    """Open one authenticated connection to a bootstrap broker within ``timeout_s`` each.

    Raises ``KafkaAuthError`` (TLS or SASL refused), ``KafkaUnreachable`` (nobody answers),
    or ``KafkaConfigError`` (a TLS file cannot be loaded)."""
    logger = logging.getLogger("aiokafka")
    level = logger.level
    logger.setLevel(logging.CRITICAL)  # the refusal is reported once, by the caller
    try:
        asyncio.run(_probe(kafka, timeout_s))
    finally:
        logger.setLevel(level)
