"""The consume loop of an at-least-once processor, on a FastStream batch subscriber.

``AckPolicy.MANUAL``: FastStream neither commits nor rewinds on its own (``ACK_FIRST``, its
default, would commit before processing). Each poll's records of owned partitions are
handled per partition and their output published; then exactly those batches' offsets are
committed, and only then does each get ``after_commit(..., True)``. Not FastStream's ack: it
commits every assigned partition's position, including partitions a rebalance is taking
away whose fetched records were not handled. A batch not to be committed is first held
(``hold.Holds``: rewound and paused; for ``Backpressure.retry_after_s``, or a backoff when
its output did not publish) and gets ``after_commit(..., False)``; the other partitions
keep flowing. A failed commit rewinds the poll's batches (each ``False``); ``FatalError``
or a bug rewinds the poll and stops the runner. docs/processors.md has the reasoning.
Exactly-once processors run on ``engine.Engine`` (FastStream has no Kafka transactions).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, cast

from aiokafka import TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from processors.errors import Backpressure, FatalError, SinkError
from processors.faststream_security import broker_security
from processors.runner.batch import BatchOutcome, count_committed, process_batch, report_commit
from processors.runner.contract import Context, Processor
from processors.runner.health import EngineState
from processors.runner.hold import Holds, PausingConsumer, publish_backoff_s
from processors.runner.hooks import find_hooks
from processors.runner.metrics import RunnerMetrics
from processors.runner.rebalance import RebalanceListener
from processors.runner.settings import RunnerSettings
from processors.runner.sink import AtLeastOnceSink, OutputSink

__all__ = ["StreamConsumer", "StreamEngine"]

log = logging.getLogger("shotline.processors")

Handled = tuple[int, Sequence[Any], BatchOutcome, float]  # partition, raws, outcome, begun


class StreamConsumer(PausingConsumer, Protocol):
    """The consumer calls the engine makes (FastStream hands its ``AIOKafkaConsumer`` over as
    ``message.consumer``)."""

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None: ...
    def highwater(self, partition: TopicPartition) -> int | None: ...


async def _no_body(message: Any) -> None:
    """The batch subscriber's decoder. FastStream's own parses every record again and
    JSON-decodes its value for a body argument (about 16 µs a record); ``_on_batch`` takes no
    body and reads ``message.raw_message``, the consumed records, as they are."""
    return None


class StreamEngine:
    """Runs one at-least-once processor until ``stop`` is set; ``state`` feeds ``/healthz``."""

    def __init__(
        self,
        processor: Processor[Any],
        ctx: Context,
        settings: RunnerSettings,
        metrics: RunnerMetrics,
        sink: OutputSink | None = None,
    ) -> None:
        if processor.exactly_once:
            raise ValueError(f"{processor.name} is exactly-once: it runs on engine.Engine")
        # Deliberately the same fields as ``engine.Engine``: ``app.Runner`` and
        # ``/healthz`` read both engines alike; the two share no base class.
        self.processor = processor
        self.hooks = find_hooks(processor)
        self.name = processor.name
        self.ctx = ctx
        self.settings = settings
        self.metrics = metrics
        self.topic = processor.input_topic(ctx.topics)
        self.state: EngineState = "starting"
        self.holds = Holds(self.topic, self.name, metrics)
        self._sink: OutputSink = sink if sink is not None else AtLeastOnceSink(ctx.kafka)
        self._lock = asyncio.Lock()
        self._closing = False
        self._fatal: FatalError | None = None
        self._wake = asyncio.Event()  # set when a batch or a rebalance failed for good
        self._owned: set[int] = set()
        self._publish_failures: dict[int, int] = {}  # consecutive, per partition
        self._broker = KafkaBroker(
            ctx.kafka.bootstrap,
            client_id=ctx.kafka.client_id,
            **broker_security(ctx.kafka),  # TLS / SASL from the one connection model
            graceful_timeout=settings.shutdown_timeout_s,
            log_level=logging.DEBUG,  # per-batch lines; the runner logs what matters
        )
        self._subscriber = self._broker.subscriber(
            self.topic,
            group_id=ctx.group_id(self.name),
            batch=True,
            max_records=settings.batch_max_records,
            batch_timeout_ms=settings.poll_timeout_ms,
            fetch_min_bytes=settings.fetch_min_bytes,
            fetch_max_wait_ms=settings.fetch_max_wait_ms,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            ack_policy=AckPolicy.MANUAL,
            listener=RebalanceListener(self.topic, self),
            decoder=_no_body,
        )
        self._subscriber(self._on_batch)

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
                self.holds.close()  # held partitions stay paused; their records uncommitted
            await self._broker.stop()  # waits for the batch in flight
            if self._fatal is not None:
                raise self._fatal
        except BaseException:
            self.state = "failed"
            raise
        finally:
            self.holds.close()
            await self._sink.stop()
            await self.processor.stop()
        self.state = "stopped"

    async def _on_batch(self, message: KafkaMessage) -> None:
        records = message.raw_message
        batch = records if isinstance(records, (tuple, list)) else (records,)
        consumer = cast(StreamConsumer, message.consumer)
        by_partition: dict[int, list[Any]] = defaultdict(list)
        for record in batch:
            by_partition[record.partition].append(record)
        async with self._lock:
            # Records of partitions we do not own (fetched before a rebalance revoked them, or
            # arriving while stopping) are not handled: their owner starts from the
            # committed offset.
            mine = (
                {} if self._closing else {p: r for p, r in by_partition.items() if p in self._owned}
            )
            self._rewind(consumer, {p: r for p, r in by_partition.items() if p not in mine}, ())
            handled: list[Handled] = []
            held: set[int] = set()  # reported not committed already
            try:
                for partition, raws in mine.items():
                    done = await self._one_partition(consumer, partition, raws)
                    if done is None:
                        held.add(partition)
                    else:
                        handled.append(done)
            except Exception as exc:  # FatalError, or a bug: the poll stays uncommitted
                self._rewind(consumer, mine, unreported=mine.keys() - held)
                self.park(exc)
                return
            if handled:
                await self._commit(consumer, handled)
            self._update_lag(consumer, mine)

    async def _one_partition(
        self, consumer: StreamConsumer, partition: int, raws: list[Any]
    ) -> Handled | None:
        """Handle and publish one partition's batch; None if it was held instead."""
        begun = time.monotonic()
        try:
            outcome = await process_batch(
                self.processor, raws, self.ctx.topics.dlq, self.settings, self.metrics, self.hooks
            )
        except Backpressure as bp:
            log.info("processor %s: partition %d held: %s", self.name, partition, bp)
            self.holds.hold(consumer, partition, raws[0].offset, bp.retry_after_s, bp.reason)
            report_commit(self.hooks, partition, raws, committed=False)
            return None
        try:
            await self._sink.publish(outcome.output)
        except SinkError as exc:
            self.metrics.failed.labels(self.name, "publish").inc()
            failures = self._publish_failures.get(partition, 0) + 1
            self._publish_failures[partition] = failures
            log.warning(
                "processor %s: partition %d not published (%d in a row): %s",
                self.name, partition, failures, exc,
            )  # fmt: skip
            backoff_s = publish_backoff_s(failures)
            self.holds.hold(consumer, partition, raws[0].offset, backoff_s, "publish")
            report_commit(self.hooks, partition, raws, committed=False)
            return None
        return partition, raws, outcome, begun

    async def _commit(self, consumer: StreamConsumer, handled: list[Handled]) -> None:
        """Commit the handled batches' offsets, then report each committed — or, if the
        commit failed, rewind them and report them not committed."""
        offsets = {TopicPartition(self.topic, p): raws[-1].offset + 1 for p, raws, _, _ in handled}
        try:
            await consumer.commit(offsets)
        except Exception as exc:  # a rebalance, a lost coordinator: handled again
            log.warning("processor %s: offset commit failed: %r", self.name, exc)
            self.metrics.failed.labels(self.name, "publish").inc()
            rewound = {p: raws for p, raws, _, _ in handled}
            self._rewind(consumer, rewound, unreported=rewound.keys())
            return
        for partition, raws, outcome, begun in handled:
            report_commit(self.hooks, partition, raws, committed=True)
            self._publish_failures.pop(partition, None)
            count_committed(self.metrics, self.name, outcome, begun)

    def _rewind(
        self,
        consumer: StreamConsumer,
        by_partition: Mapping[int, Sequence[Any]],
        unreported: Iterable[int],
    ) -> None:
        """Seek each batch's partition back to its first record (those still assigned) and
        report the ``unreported`` partitions' batches not committed."""
        assignment = consumer.assignment()
        for partition, raws in by_partition.items():
            tp = TopicPartition(self.topic, partition)
            if tp in assignment:
                consumer.seek(tp, raws[0].offset)
        for partition in unreported:
            report_commit(self.hooks, partition, by_partition[partition], committed=False)

    def _update_lag(self, consumer: StreamConsumer, mine: Mapping[int, Sequence[Any]]) -> None:
        assignment = consumer.assignment()
        for partition, raws in mine.items():
            tp = TopicPartition(self.topic, partition)
            end = consumer.highwater(tp) if tp in assignment else None
            if end is not None:
                lag = max(0, end - raws[-1].offset - 1)
                self.metrics.lag.labels(self.name, str(partition)).set(lag)

    # Rebalancing (processors.runner.rebalance): under the lock, so after the batch in progress

    async def partitions_revoked(self, partitions: set[int]) -> None:
        async with self._lock:
            mine = partitions & self._owned
            self._owned -= mine
            for partition in mine:
                self.metrics.lag.remove(self.name, str(partition))
                self._publish_failures.pop(partition, None)  # the next owner starts afresh
            if mine:
                await self.processor.on_revoke(mine)
            self.metrics.assigned.labels(self.name).set(len(self._owned))

    async def partitions_assigned(self, partitions: set[int]) -> None:
        async with self._lock:
            fresh = partitions - self._owned
            if fresh:
                await self.processor.on_assign(fresh)
            self._owned |= fresh
            self.metrics.assigned.labels(self.name).set(len(self._owned))
            consumer = self._subscriber.consumer
            if consumer is not None:  # a rebalance resumed every partition
                self.holds.reapply(consumer, partitions)

    def park(self, error: Exception) -> None:
        if self._fatal is None and isinstance(error, FatalError):
            self._fatal = error
        elif self._fatal is None:
            self._fatal = FatalError(f"{self.name}: {error!r}")
            self._fatal.__cause__ = error
        self._closing = True
        self._wake.set()
