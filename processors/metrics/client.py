"""Kafka adapter of the billing pipeline: the internal partials topic and state restore.

aiokafka errors are translated here and never leak further: ``RetriableError`` where the
runner retries, ``TopicReadError`` from ``read_usage`` (also a command's one-shot read).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from pydantic import ValidationError

from processors.errors import FatalError, RetriableError, TopicReadError
from processors.runner.readback import read_range, reader, topic_partitions, whole_log
from schemas import KafkaSettings, Topics
from schemas.usage import UsagePartial, UsageRecord

__all__ = [
    "TickSender",
    "ensure_partials_topic",
    "partials_topic",
    "read_partials",
    "read_usage",
]

# Retention of the partials topic. A restore replays the partials after each partition's
# last usage snapshot (its checkpoint), so every partial newer than the oldest checkpoint
# must still exist: retention must exceed the snapshot lag (``snapshot_interval_s`` plus
# any time stage 2 is down or lagging). A week leaves ample room; if it is ever exceeded,
# ``read_partials`` raises ``FatalError`` instead of under-billing.
_WEEK_MS = 7 * 86_400_000


def partials_topic(topics: Topics) -> str:
    """The internal repartition topic: stage-1 partial counts keyed by project."""
    return f"{topics.prefix}shotline.usage.partials.v1"


class TickSender:
    """Publishes ``tick`` partials (no counts) to chosen partials partitions."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.topic = partials_topic(kafka.topics)
        self._producer = AIOKafkaProducer(**kafka.producer_kwargs(), acks="all")
        self._value = UsagePartial(project="", second=0, tick=True).model_dump_json().encode()

    async def start(self) -> None:
        try:
            await self._producer.start()
        except KafkaError as exc:
            raise RetriableError(f"tick producer: {exc!r}") from exc

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(self, partition: int, timeout_s: float = 10.0) -> None:
        try:
            async with asyncio.timeout(timeout_s):
                await self._producer.send_and_wait(self.topic, self._value, partition=partition)
        except (KafkaError, TimeoutError) as exc:
            raise RetriableError(f"tick to {self.topic}[{partition}]: {exc!r}") from exc


async def ensure_partials_topic(kafka: KafkaSettings) -> int:
    """Create the partials topic with as many partitions as ``shotline.usage.v1`` (stage 2
    writes a project's usage to the partition number it reads the project from, so restore
    reads only its own partitions). Returns that partition count."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    try:
        await admin.start()
        described = await admin.describe_topics([kafka.topics.usage])
        parts = described[0]["partitions"]
        count = len(parts)
        if count == 0:
            raise RetriableError(f"topic {kafka.topics.usage} does not exist yet")
        name = partials_topic(kafka.topics)
        if name not in set(await admin.list_topics()):
            config = {"cleanup.policy": "delete", "retention.ms": str(_WEEK_MS)}
            # Another instance may create it between list and create.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(name, count, len(parts[0]["replicas"]), topic_configs=config)]
                )
        return count
    except KafkaError as exc:
        raise RetriableError(f"preparing {partials_topic(kafka.topics)}: {exc!r}") from exc
    finally:
        await admin.close()


async def read_usage(
    kafka: KafkaSettings, partitions: Iterable[int] | None = None, timeout_s: float = 30.0
) -> list[tuple[int, UsageRecord]]:
    """The latest committed record of every key in ``shotline.usage.v1`` (all partitions, or
    the given ones), each with its partition. Reads with ``read_committed`` up to the last
    stable offset, so an aborted or open transaction never shows."""
    topic = kafka.topics.usage
    consumer = reader(kafka)
    latest: dict[str, tuple[int, UsageRecord]] = {}
    try:
        await consumer.start()
        if partitions is None:
            partitions = (await topic_partitions(kafka, topic))[topic]
        tps = [TopicPartition(topic, p) for p in partitions]
        if not tps:
            return []
        ranges = await whole_log(consumer, tps)
        async with asyncio.timeout(timeout_s):
            async for tp, msg in read_range(consumer, ranges):
                _keep(latest, tp.partition, msg.key, msg.value)
    except (KafkaError, TimeoutError) as exc:
        raise TopicReadError(f"reading {topic}: {exc!r}") from exc
    finally:
        await consumer.stop()
    return list(latest.values())


async def read_partials(
    kafka: KafkaSettings, partition: int, after: int, timeout_s: float = 60.0
) -> list[tuple[int, UsagePartial]]:
    """Committed partials of one partition with offsets above ``after``, up to the last
    stable offset, each with its offset (the tail a restore replays over the snapshots).

    Raises ``FatalError`` if retention already deleted some of them (the log starts above
    ``after + 1``): replaying the rest would silently under-bill, so the restore stops."""
    tp = TopicPartition(partials_topic(kafka.topics), partition)
    # ``reader``: a seek outside the log resets to the earliest offset, never to the end
    # (that would skip partials); the start check below reports the gap.
    consumer = reader(kafka)
    out: list[tuple[int, UsagePartial]] = []
    try:
        await consumer.start()
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        if end <= after + 1:
            return out
        start = (await consumer.beginning_offsets([tp]))[tp]
        if start > after + 1:
            raise FatalError(
                f"{tp.topic}[{partition}]: partials {after + 1}..{start - 1} after the usage "
                f"snapshot checkpoint {after} were deleted by retention (log starts at "
                f"{start}); the bill cannot be restored. Partials retention must exceed the "
                "longest time a partition goes without a snapshot."
            )
        async with asyncio.timeout(timeout_s):
            async for _, msg in read_range(consumer, {tp: (after + 1, end)}):
                if msg.value is None:
                    continue
                try:
                    out.append((msg.offset, UsagePartial.model_validate_json(msg.value)))
                except ValidationError:
                    continue  # not a partial of this schema: nothing to count
    except (KafkaError, TimeoutError) as exc:
        raise RetriableError(f"replaying {tp.topic}[{partition}]: {exc!r}") from exc
    finally:
        await consumer.stop()
    return out


def _keep(
    latest: dict[str, tuple[int, UsageRecord]],
    partition: int,
    key: bytes | None,
    value: bytes | None,
) -> None:
    if key is None:
        return
    if value is None:  # tombstone: the key was deleted
        latest.pop(key.decode(), None)
        return
    try:
        record = UsageRecord.model_validate_json(value)
    except ValidationError:
        return  # not ours (another schema version); never let it block the restore
    latest[key.decode()] = (partition, record)
