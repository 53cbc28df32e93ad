"""Reading topics back: which partitions a topic has, and the one loop restores and
listings share to read partitions up to a fixed end.

A restore (dedupe's seen-set, billing's usage and partials) and a DLQ listing all read some
partitions from a start offset up to the end offset seen when they began, then stop. Under
``read_committed`` aborted records and transaction markers are never returned, so the loop
ends on the consumer's position, not on a count of records.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas import KafkaSettings

__all__ = ["read_range", "topic_partitions"]


async def topic_partitions(kafka: KafkaSettings, *topics: str) -> dict[str, list[int]]:
    """The sorted partition numbers of each of ``topics`` (empty if it does not exist).

    Through the admin client's public ``describe_topics`` (a consumer's
    ``partitions_for_topic`` knows only the topics it subscribed). It describes every topic
    and picks, because naming a topic in a metadata request may create it on a broker with
    ``auto.create.topics.enable``. aiokafka errors propagate: the calling adapter translates
    them into its own."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    try:
        await admin.start()
        described = await admin.describe_topics()
    finally:
        await admin.close()
    found: dict[str, list[int]] = {topic: [] for topic in topics}
    for topic in described:
        if topic["topic"] in found:
            found[topic["topic"]] = sorted(p["partition"] for p in topic["partitions"])
    return found


async def read_range(
    consumer: AIOKafkaConsumer,
    ranges: Mapping[TopicPartition, tuple[int, int]],
    max_records: int | None = None,
) -> AsyncIterator[tuple[TopicPartition, Any]]:
    """Yield ``(partition, record)`` for every record from ``start`` (inclusive) to ``end``
    (exclusive) of each partition, in offset order per partition. The consumer must be
    started and assigned the partitions; empty ranges are skipped."""
    todo: dict[TopicPartition, int] = {}
    for tp, (start, end) in ranges.items():
        if start < end:
            consumer.seek(tp, start)
            todo[tp] = end
    while todo:
        batch = await consumer.getmany(*todo, timeout_ms=1000, max_records=max_records)
        for tp, messages in batch.items():
            end = todo.get(tp, -1)
            for msg in messages:
                if msg.offset < end:
                    yield tp, msg
        for tp in list(todo):
            if await consumer.position(tp) >= todo[tp]:
                del todo[tp]
