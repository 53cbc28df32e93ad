"""The pending state's durable form: checkpoints in Kafka and the input records they name.

Enrich commits a batch's input offsets when ``handle`` returns, even for screenshots still
waiting for their object (waiting in ``handle`` would stall every partition of the poll).
What keeps those screenshots is a checkpoint per input partition, in the compacted topic
``<prefix>shotline.enrich.checkpoints.v1`` (created here, like a Kafka Streams changelog;
key = partition number): ``high``, the next offset after the last handled record, and
``pending``, the offsets below it still without output. On assignment the new owner reads
the latest checkpoint and re-handles, from the input topic, the pending offsets and every
record from ``high`` to the group's committed offset. Everything else below the committed
offset is known to have its output (or dead letter) acknowledged.

kafka errors never leave this module: they become ``RetriableError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from functools import cached_property

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from processors.errors import RetriableError, TopicSetupError
from processors.runner.codec import Encoded
from processors.runner.readback import read_range, reader
from processors.runner.topics import create_topics, replication_factor
from schemas import KafkaSettings, TopicSpec

__all__ = ["MAX_LISTED", "Checkpoint", "CheckpointLog", "stop_consumer"]

MAX_LISTED = 100_000  # pending offsets listed in one checkpoint; beyond, replay all from low


async def stop_consumer(consumer: AIOKafkaConsumer) -> None:
    """``consumer.stop()``, except that aiokafka's own race (a consumer stopped soon after
    its start awaits a task it cancelled before it ran: ``CancelledError``) is not taken
    for a cancellation of the caller; a real one still propagates."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise


@dataclass(frozen=True)
class Checkpoint:
    high: int
    pending: tuple[int, ...]
    truncated: bool = False  # more pending than listed: every record from pending[0] is redone

    def encode(self, topic: str, partition: int) -> Encoded:
        listed = self.pending[:MAX_LISTED]
        deltas = [b - a for a, b in zip((0, *listed), listed, strict=False)]
        value = {"high": self.high, "pending": deltas, "truncated": len(self.pending) > MAX_LISTED}
        return Encoded(topic, None, str(partition).encode(), orjson.dumps(value), [])

    @classmethod
    def decode(cls, raw: bytes) -> Checkpoint:
        value = orjson.loads(raw)
        offsets: list[int] = []
        at = 0
        for delta in value["pending"]:
            at += delta
            offsets.append(at)
        return cls(int(value["high"]), tuple(offsets), bool(value.get("truncated", False)))

    def start(self, committed: int) -> int:
        """The first input offset a restore must read."""
        return min([committed, self.high, *self.pending[:1]])

    def redo(self, offset: int) -> bool:
        """Whether the restore must handle the input record at ``offset`` again."""
        if self.truncated or offset >= self.high:
            return True
        return offset in self._pending_set

    @cached_property
    def _pending_set(self) -> frozenset[int]:
        return frozenset(self.pending)


class CheckpointLog:
    def __init__(self, kafka: KafkaSettings, input_topic: str, group: str) -> None:
        self._kafka = kafka
        self.input_topic = input_topic
        self.topic = f"{kafka.topic_prefix}shotline.enrich.checkpoints.v1"
        self._group = group

    def _consumer(self) -> AIOKafkaConsumer:
        return reader(self._kafka, fetch_bytes=8 << 20)

    async def ensure_topic(self) -> None:
        """Create the checkpoint topic unless it exists (replication as ``shotline topics``)."""
        # Short segments so compaction keeps a restore's read near one record per partition
        # (the active segment is never compacted).
        config = {
            "cleanup.policy": "compact",
            "segment.ms": "600000",
            "min.cleanable.dirty.ratio": "0.1",
        }
        try:
            replication = await replication_factor(self._kafka)
            spec = TopicSpec(name=self.topic, partitions=1, replication=replication, config=config)
            await create_topics(self._kafka, [spec])
        except (KafkaError, TopicSetupError) as exc:
            raise RetriableError(f"cannot create {self.topic}: {exc}") from exc

    async def latest(self) -> dict[int, Checkpoint]:
        """The last checkpoint of every input partition."""
        consumer = self._consumer()
        tp = TopicPartition(self.topic, 0)
        found: dict[int, Checkpoint] = {}
        try:
            await consumer.start()
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            end = (await consumer.end_offsets([tp]))[tp]
            async for _, msg in read_range(consumer, {tp: (0, end)}):
                if msg.key is not None and msg.value is not None:
                    found[int(msg.key)] = Checkpoint.decode(msg.value)
        except KafkaError as exc:
            raise RetriableError(f"cannot read {self.topic}: {exc}") from exc
        finally:
            await stop_consumer(consumer)
        return found

    async def committed(self, partitions: set[int]) -> dict[int, int]:
        """The group's committed input offset per partition (0 when none). Asked through
        the admin client: a consumer of the same group, even unsubscribed, must not be
        started next to the runner's (it disturbs the group's rebalance)."""
        admin = AIOKafkaAdminClient(**self._kafka.client_kwargs())
        tps = [TopicPartition(self.input_topic, p) for p in sorted(partitions)]
        try:
            await admin.start()
            found = await admin.list_consumer_group_offsets(self._group, partitions=tps)
        except KafkaError as exc:
            raise RetriableError(f"cannot read committed offsets: {exc}") from exc
        finally:
            await admin.close()
        out = dict.fromkeys(partitions, 0)
        for tp, meta in found.items():
            if meta.offset >= 0:
                out[tp.partition] = meta.offset
        return out

    async def replay(
        self, ranges: Mapping[int, tuple[int, int]]
    ) -> AsyncIterator[tuple[int, object]]:
        """Every input record in ``ranges`` (partition → [start, end)), as consumed."""
        if not ranges:  # aiokafka: stopping a consumer right after its start can raise
            return  # CancelledError (its committed-reset task never ran)
        consumer = self._consumer()
        tps = {TopicPartition(self.input_topic, p): span for p, span in ranges.items()}
        try:
            await consumer.start()
            consumer.assign(list(tps))
            async for tp, msg in read_range(consumer, tps, max_records=5000):
                yield tp.partition, msg
        except KafkaError as exc:
            raise RetriableError(f"cannot replay {self.input_topic}: {exc}") from exc
        finally:
            await stop_consumer(consumer)
