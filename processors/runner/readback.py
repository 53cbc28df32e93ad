"""Reading topics back: which partitions a topic has, which offsets to read (the whole log,
``whole_log``, or what came since a time, ``ranges_since``), and the one loop restores and
listings share to read partitions up to a fixed end.

A restore (dedupe's seen-set, billing's usage and partials) and a DLQ listing all read some
partitions from a start offset up to the end offset seen when they began, then stop. Under
``read_committed`` aborted records and transaction markers are never returned, so the loop
ends on the consumer's position, not on a count of records.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas import KafkaSettings

__all__ = ["ranges_since", "read_range", "reader", "topic_partitions", "whole_log"]


def reader(kafka: KafkaSettings, fetch_bytes: int = 1 << 20, **options: Any) -> AIOKafkaConsumer:
    """A consumer that reads committed records back: no group, no auto-commit,
    ``read_committed``, ``fetch_bytes`` per partition fetch. A position outside the log resets
    to the earliest offset, never to the end (which would skip records silently). ``options``:
    further aiokafka options (``fetch_max_bytes``...)."""
    return AIOKafkaConsumer(
        **kafka.client_kwargs(),
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=fetch_bytes,
        **options,
    )


async def whole_log(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
) -> dict[TopicPartition, tuple[int, int]]:
    """Assign ``partitions`` to the started ``consumer``; each one's ``(first, end)`` offsets,
    the range ``read_range`` reads to replay all that is there now."""
    consumer.assign(partitions)
    starts = await consumer.beginning_offsets(partitions)
    ends = await consumer.end_offsets(partitions)
    return {tp: (starts[tp], ends[tp]) for tp in partitions}


async def ranges_since(
    consumer: AIOKafkaConsumer, partitions: Sequence[TopicPartition], since_ms: int
) -> dict[TopicPartition, tuple[int, int]]:
    """Each of ``partitions``' ``(start, end)``: ``start`` the first offset whose record is
    stamped ``since_ms`` or later (``end`` when none is), ``end`` the end offset now; the
    range ``read_range`` reads to replay what came since. The ``consumer`` must be started;
    assigning the partitions is the caller's choice."""
    ends = await consumer.end_offsets(list(partitions))
    starts = await consumer.offsets_for_times(dict.fromkeys(partitions, since_ms))
    spans: dict[TopicPartition, tuple[int, int]] = {}
    for tp in partitions:
        found = starts.get(tp)
        spans[tp] = (ends[tp] if found is None else found.offset, ends[tp])
    return spans


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
