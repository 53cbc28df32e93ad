"""Reading partitions up to a fixed end: the one loop restores and listings share.

A restore (dedupe's seen-set, billing's usage and partials) and a DLQ listing all read some
partitions from a start offset up to the end offset seen when they began, then stop. Under
``read_committed`` aborted records and transaction markers are never returned, so the loop
ends on the consumer's position, not on a count of records.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

__all__ = ["read_range"]


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
