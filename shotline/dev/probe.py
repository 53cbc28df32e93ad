"""Readiness probes for the local services, each a bounded blocking call."""

from __future__ import annotations

import asyncio
import logging

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from schemas import KafkaSettings

__all__ = ["http_answers", "kafka_serves_metadata"]


def kafka_serves_metadata(
    bootstrap: str, timeout_s: float = 5.0, kafka: KafkaSettings | None = None
) -> bool:
    """True if the broker answers a metadata request and has a controller; ``kafka`` gives
    the TLS/SASL settings of a secured listener (its ``bootstrap`` is replaced)."""
    client = (kafka or KafkaSettings()).model_copy(update={"bootstrap": bootstrap})

    async def probe() -> bool:
        admin = AIOKafkaAdminClient(**client.client_kwargs(), request_timeout_ms=3000)
        try:
            await admin.start()
            await admin.list_topics()
            return True
        except (KafkaError, OSError):
            return False
        finally:
            await admin.close()

    # aiokafka logs every refused connection at ERROR; while probing that is expected noise.
    logger = logging.getLogger("aiokafka")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        return asyncio.run(asyncio.wait_for(probe(), timeout_s))
    except TimeoutError:
        return False
    finally:
        logger.setLevel(level)


def http_answers(url: str, timeout_s: float = 2.0) -> bool:
    try:
        return httpx.get(url, timeout=timeout_s).status_code < 500
    except httpx.HTTPError:
        return False
