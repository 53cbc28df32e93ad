"""The consume loop of an at-least-once processor, on a FastStream batch subscriber.

FastStream owns the consumer (group ``shotline-<name>``, ``read_committed``, batches of up to
``batch_max_records``) with an explicit ack policy, ``NACK_ON_ERROR``: the batch's offsets
are committed only after the handler returned — that is, after every output send was
acknowledged — and a handler that raises (a publish that failed) rewinds each partition to
its first record of the batch for redelivery. FastStream's default, ``ACK_FIRST``, commits
before processing (at-most-once) and is never used. Exactly-once processors run on
``engine.Engine`` instead: FastStream has no Kafka transactions (its issue #2512).

Stopping waits (``graceful_timeout``) for the batch in progress to be acked, then leaves the
group; a batch that arrives while stopping is nacked, so it is redelivered, never skipped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Protocol

from aiokafka import ConsumerRebalanceListener, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from processors.runner.batch import process_batch
from processors.runner.codec import Encoded
from processors.runner.contract import CommitHook, Context, Processor
from processors.runner.errors import FatalError
from processors.runner.metrics import RunnerMetrics
from processors.runner.settings import RunnerSettings
from processors.runner.sink import AtLeastOnceSink

__all__ = ["StreamEngine"]

log = logging.getLogger("shotline.processors")


class Sink(Protocol):
    """Where output goes (``AtLeastOnceSink``; tests pass an in-memory one)."""

    async def start(self) -> None: ...
    async def publish(self, records: Sequence[Encoded]) -> None: ...
    async def stop(self) -> None: ...


class StreamEngine:
    """Runs one at-least-once processor until ``stop`` is set; ``state`` feeds ``/healthz``."""

    def __init__(
        self,
        processor: Processor[Any],
        ctx: Context,
        settings: RunnerSettings,
        metrics: RunnerMetrics,
        sink: Sink | None = None,
    ) -> None:
        self.processor = processor
        self.name = processor.name
        self.ctx = ctx
        self.settings = settings
        self.metrics = metrics
        self.topic = processor.input_topic(ctx.topics)
        self.state = "starting"
        self._sink: Sink = sink if sink is not None else AtLeastOnceSink(ctx.kafka)
        self._lock = asyncio.Lock()
        self._closing = False
        self._fatal: FatalError | None = None
        self._wake = asyncio.Event()  # set when a batch raised FatalError
        self._owned: set[int] = set()
        self._broker = KafkaBroker(
            ctx.kafka.bootstrap,
            client_id=ctx.kafka.client_id,
            graceful_timeout=settings.shutdown_timeout_s,
            log_level=logging.DEBUG,  # per-batch lines; the runner logs what matters
        )
        self._broker.subscriber(
            self.topic,
            group_id=ctx.group_id(self.name),
            batch=True,
            max_records=settings.batch_max_records,
            batch_timeout_ms=settings.poll_timeout_ms,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            listener=_Rebalance(self),
        )(self._on_batch)

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await self.processor.start(self.ctx)
            await self._sink.start()
            await self._broker.start()
            self.state = "running"
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for waiting in pending:
                waiting.cancel()
            self.state = "stopping"
            async with self._lock:
                self._closing = True
            await self._broker.stop()  # waits for the batch in flight to be acked
            if self._fatal is not None:
                raise self._fatal
        except BaseException:
            self.state = "failed"
            raise
        finally:
            await self._sink.stop()
            await self.processor.stop()
        self.state = "stopped"

    async def _on_batch(self, message: KafkaMessage) -> None:
        records = message.raw_message
        batch = records if isinstance(records, (tuple, list)) else (records,)
        async with self._lock:
            if self._closing:
                await message.nack()  # redelivered to whoever owns the partition next
                return
            by_partition: dict[int, list[Any]] = defaultdict(list)
            for record in batch:
                by_partition[record.partition].append(record)
            try:
                for partition, raws in by_partition.items():
                    await self._one_partition(partition, raws)
            except FatalError as exc:  # stop the process; the batch stays uncommitted
                self._fatal = exc
                self._closing = True
                self._wake.set()
                await message.nack()
                return
        highwater = getattr(getattr(message, "consumer", None), "highwater", None)
        for partition, raws in by_partition.items():
            end = highwater(TopicPartition(self.topic, partition)) if highwater else None
            if end is not None:
                lag = max(0, end - raws[-1].offset - 1)
                self.metrics.lag.labels(self.name, str(partition)).set(lag)

    async def _one_partition(self, partition: int, raws: list[Any]) -> None:
        begun = time.monotonic()
        outcome = await process_batch(
            self.processor, raws, self.ctx.topics.dlq, self.settings, self.metrics
        )
        hook = self.processor if isinstance(self.processor, CommitHook) else None
        try:
            await self._sink.publish(outcome.output)
        except Exception:
            self.metrics.failed.labels(self.name, "publish").inc()
            if hook is not None:
                hook.after_commit(partition, raws, committed=False)
            raise  # NACK_ON_ERROR: the batch is redelivered, its offsets are not committed
        if hook is not None:  # acknowledged; FastStream commits the offsets next
            hook.after_commit(partition, raws, committed=True)
        self.metrics.processed.labels(self.name).inc(outcome.handled)
        self.metrics.emitted.labels(self.name).inc(outcome.emitted)
        for reason, count in outcome.dead_by_reason.items():
            self.metrics.dead_lettered.labels(self.name, reason).inc(count)
        self.metrics.batch_seconds.labels(self.name).observe(time.monotonic() - begun)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, engine: StreamEngine) -> None:
        self.engine = engine

    def _mine(self, tps: set[TopicPartition]) -> set[int]:
        return {tp.partition for tp in tps if tp.topic == self.engine.topic}

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        engine = self.engine
        async with engine._lock:  # the batch in progress finishes first
            mine = self._mine(revoked) & engine._owned
            engine._owned -= mine
            for partition in mine:
                engine.metrics.lag.remove(engine.name, str(partition))
            if mine:
                await engine.processor.on_revoke(mine)
            engine.metrics.assigned.labels(engine.name).set(len(engine._owned))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        engine = self.engine
        async with engine._lock:
            fresh = self._mine(assigned) - engine._owned
            if fresh:
                await engine.processor.on_assign(fresh)
            engine._owned |= fresh
            engine.metrics.assigned.labels(engine.name).set(len(engine._owned))
