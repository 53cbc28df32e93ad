"""The oracle: read a topic to the end (read_committed) and count requestIds."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from schemas import KafkaSettings

IdOf = Callable[[dict[str, Any]], str]


def envelope_id(value: dict[str, Any]) -> str:
    """requestId of a ``shotline.callbacks.v1`` record."""
    return str(value["callback"]["requestId"])


def screenshot_id(value: dict[str, Any]) -> str:
    """requestId of a ``shotline.screenshots.v1`` record."""
    return str(value["request_id"])


async def count_ids(
    kafka: KafkaSettings,
    topic: str,
    id_of: IdOf,
    expected: set[str],
    timeout_s: float = 60.0,
    settle_s: float = 3.0,
) -> Counter[str]:
    """Count requestIds in ``topic`` from the beginning, reading only committed records.

    Reads until every expected id was seen and nothing new arrived for ``settle_s`` (so
    late duplicates would still be caught), or until ``timeout_s``.
    """
    # No group: every partition is assigned, and "earliest" starts each at its beginning.
    consumer = AIOKafkaConsumer(
        topic,
        **kafka.client_kwargs(),
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    counts: Counter[str] = Counter()
    try:
        deadline = time.monotonic() + timeout_s
        last_new = time.monotonic()
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    counts[id_of(orjson.loads(record.value))] += 1
                    last_new = time.monotonic()
            seen_all = expected <= set(counts)
            if seen_all and time.monotonic() - last_new >= settle_s:
                break
            await asyncio.sleep(0)
    finally:
        await consumer.stop()
    return counts
