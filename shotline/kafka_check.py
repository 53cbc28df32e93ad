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
    KafkaConnectionError,
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
            if isinstance(exc, KafkaConnectionError) and "ssl_context" in kwargs:
                await _client_certificate_refused(host, int(port), kwargs["ssl_context"])
            last = f"{address}: {type(exc).__name__} {exc}".strip()
            continue
        conn.close()
        return
    raise KafkaUnreachable(f"no Kafka broker answers at {kafka.bootstrap} ({last})")


async def _client_certificate_refused(host: str, port: int, context: ssl.SSLContext) -> None:
    """A broker that requires client certificates (mutual TLS) finishes the handshake, then
    refuses ours with a TLS alert and closes: aiokafka sees only a closed connection. Listen
    for that alert; raise ``KafkaAuthError`` naming it, else return (the broker is busy or
    going away, not refusing us)."""
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=host), 5
        )
    except ssl.SSLError:
        return  # a handshake failure the caller's own connection would have named
    except (OSError, TimeoutError):
        return
    try:
        await asyncio.wait_for(reader.read(1), 2)  # a broker that accepts us waits for a request
    except ssl.SSLError as exc:
        raise KafkaAuthError(
            f"TLS with {host}:{port}: the broker refused our client certificate "
            f"({exc.reason or exc}; check kafka.ssl_cert_file and kafka.ssl_key_file: the broker "
            "requires a certificate signed by a CA it trusts)"
        ) from None
    except (OSError, TimeoutError):
        pass
    finally:
        writer.close()


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
