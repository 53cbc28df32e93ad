"""Where a processor's output goes: the aiokafka producer adapter.

Two sinks share one job — publish a partition batch's output, then move that partition's
committed offset past it:

* ``TransactionalSink`` (``exactly_once``): one transactional producer per input partition,
  ``transactional.id = shotline-<processor>-<input topic>-<partition>``. Output, dead letters
  and the input offset commit in one transaction. Opening a partition's producer fences any
  older producer of the same partition (a zombie after ``kill -9`` or a rebalance) and
  aborts its open transaction, so a restore that follows reads only committed output.
* ``AtLeastOnceSink`` (the FastStream engine's): one idempotent ``acks=all`` producer; the
  engine commits offsets only after every send of the batch is acknowledged (60 s deadline).
  Not FastStream's ``broker.publish``: it takes headers as ``dict[str, str]`` and adds its
  own ``content-type``, so it cannot pass a consumed record's headers on exactly (binary
  values, repeats, nulls: the ``Emit`` contract), and ``publish_batch`` gives a whole batch
  one header set.

aiokafka errors never leave this module: they become ``SinkError`` (retriable).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from processors.errors import SinkError
from processors.runner.codec import Encoded
from schemas import KafkaSettings
from schemas.partitioner import kafka_partitioner

__all__ = ["AtLeastOnceSink", "OutputSink", "TransactionalSink"]


async def _send_all(producer: Any, records: Sequence[Encoded]) -> None:
    """Send every record and wait for all acks. Pinned and keyed records go in
    per-partition batches (a keyed one where Kafka's partitioner puts it, as ``send`` would:
    every producer here is built with ``schemas.partitioner``); only keyless ones, which
    the partitioner scatters, go through ``send``, which costs tens of µs more per record."""
    futures: list[asyncio.Future[Any]] = []
    builders: dict[tuple[str, int], Any] = {}
    placed: dict[str, list[int]] = {}  # topic → its partitions, sorted
    for rec in records:
        partition = rec.partition
        if partition is None and rec.key is not None:
            parts = placed.get(rec.topic)
            if parts is None:
                parts = placed[rec.topic] = sorted(await producer.partitions_for(rec.topic))
            partition = kafka_partitioner(rec.key, parts, parts)
        if partition is None:
            futures.append(
                await producer.send(rec.topic, rec.value, key=rec.key, headers=rec.headers)
            )
            continue
        where = (rec.topic, partition)
        builder = builders.get(where)
        if builder is None:
            builder = builders[where] = producer.create_batch()
        if builder.append(key=rec.key, value=rec.value, timestamp=None, headers=rec.headers):
            continue
        futures.append(await producer.send_batch(builder, rec.topic, partition=partition))
        builder = builders[where] = producer.create_batch()
        if not builder.append(key=rec.key, value=rec.value, timestamp=None, headers=rec.headers):
            raise SinkError(f"a record of {len(rec.value)} bytes exceeds the batch size")
    for (topic, partition), builder in builders.items():
        if builder.record_count():
            futures.append(await producer.send_batch(builder, topic, partition=partition))
    await asyncio.gather(*futures)


class TransactionalSink:
    def __init__(
        self, kafka: KafkaSettings, processor: str, input_topic: str, group: str, timeout_ms: int
    ) -> None:
        # Arguments kept as attributes: the shape of any constructor, no logic to share.
        self._kafka = kafka
        self._processor = processor
        self._topic = input_topic
        self._group = group
        self._timeout_ms = timeout_ms
        self._producers: dict[int, Any] = {}

    def transactional_id(self, partition: int) -> str:
        return f"shotline-{self._processor}-{self._topic}-{partition}"

    async def open(self, partitions: set[int]) -> None:
        """Start (and so fence older holders of) each partition's transactional producer."""
        for partition in sorted(partitions - self._producers.keys()):
            producer = AIOKafkaProducer(
                **self._kafka.producer_kwargs(),
                transactional_id=self.transactional_id(partition),
                transaction_timeout_ms=self._timeout_ms,
                linger_ms=5,
                max_batch_size=1 << 20,
            )
            try:
                await producer.start()
            except KafkaError as exc:
                await producer.stop()
                raise SinkError(f"cannot start producer for partition {partition}") from exc
            self._producers[partition] = producer

    async def close(self, partitions: set[int]) -> None:
        for partition in partitions:
            producer = self._producers.pop(partition, None)
            if producer is not None:
                # a fenced producer may fail to stop cleanly; it is gone either way
                with contextlib.suppress(KafkaError):
                    await producer.stop()

    async def commit(self, partition: int, records: Sequence[Encoded], next_offset: int) -> None:
        """Publish ``records`` and commit ``next_offset`` for ``partition`` atomically.

        On ``SinkError`` nothing of the batch is visible to ``read_committed`` readers; the
        producer may be unusable (fenced) and the caller must ``close`` and re-``open`` it.
        """
        producer = self._producers.get(partition)
        if producer is None:
            raise SinkError(f"partition {partition} has no open producer")
        # aiokafka guards its transaction state machine with assert: a fenced producer
        # raises AssertionError on begin, so both count as "this producer is done".
        try:
            await producer.begin_transaction()
        except (KafkaError, AssertionError) as exc:
            raise SinkError(f"cannot begin a transaction: {exc!r}") from exc
        try:
            await _send_all(producer, records)
            offsets = {TopicPartition(self._topic, partition): next_offset}
            await producer.send_offsets_to_transaction(offsets, self._group)
            await producer.commit_transaction()
        except BaseException as exc:
            with contextlib.suppress(KafkaError, AssertionError):
                await producer.abort_transaction()
            if isinstance(exc, (KafkaError, AssertionError)):
                raise SinkError(f"transaction failed: {exc!r}") from exc
            raise

    async def stop(self) -> None:
        await self.close(set(self._producers))


class OutputSink(Protocol):
    """Where the at-least-once engine's output goes (``AtLeastOnceSink``; tests pass an
    in-memory one). ``publish`` returns once every record is acknowledged."""

    async def start(self) -> None: ...
    async def publish(self, records: Sequence[Encoded]) -> None: ...
    async def stop(self) -> None: ...


class AtLeastOnceSink:
    def __init__(self, kafka: KafkaSettings) -> None:
        self._producer = AIOKafkaProducer(
            **kafka.producer_kwargs(),
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=1 << 20,
            request_timeout_ms=30_000,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def publish(self, records: Sequence[Encoded]) -> None:
        try:
            await asyncio.wait_for(_send_all(self._producer, records), timeout=60)
        except (KafkaError, TimeoutError) as exc:
            raise SinkError(f"publish failed: {type(exc).__name__}: {exc}") from exc

    async def stop(self) -> None:
        await self._producer.stop()
