"""The consume loop of an exactly-once processor (at-least-once ones run on ``stream``).

Each partition's share of a poll is one batch; a poll's batches commit together, in one
transaction with their output, while the next poll is handled (each partition's "tail");
a partition's next batch is submitted only after its previous one's transaction ended. A
failed commit voids the batch handled meanwhile, resets the partition and pauses it for a
backoff (``ownership``); ``Backpressure`` resets it the same way for the time asked.
Rebalances and stopping wait for the batch in progress (the lock) and the commits in
flight. Consumer, sink and clock are injectable (tests pass fakes).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from processors.errors import Backpressure, FatalError, SinkError
from processors.runner.batch import BatchOutcome, count_committed, process_batch, report_commit
from processors.runner.contract import Context, Processor
from processors.runner.health import EngineState
from processors.runner.hold import PauseMeter, publish_backoff_s
from processors.runner.hooks import find_hooks
from processors.runner.metrics import RunnerMetrics
from processors.runner.ownership import Ownership
from processors.runner.partitions import (
    EngineConsumer,
    Partitions,
    PartitionState,
    TransactionalOutput,
    exactly_once_consumer,
)
from processors.runner.rebalance import RebalanceListener
from processors.runner.settings import RunnerSettings
from processors.runner.sink import TransactionalSink

__all__ = ["Engine"]

log = logging.getLogger("shotline.processors")


class Engine:
    """Runs one exactly-once processor until ``stop`` is set; ``state`` feeds ``/healthz``,
    ``partitions`` holds each input partition's ``PartitionState``."""

    def __init__(
        self,
        processor: Processor[Any],
        ctx: Context,
        settings: RunnerSettings,
        metrics: RunnerMetrics,
        *,
        consumer: EngineConsumer | None = None,
        sink: TransactionalOutput | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not processor.exactly_once:
            raise ValueError(f"{processor.name} is at-least-once: it runs on StreamEngine")
        # Deliberately the same fields as ``stream.StreamEngine``: ``app.Runner`` and
        # ``/healthz`` read both engines alike; the two share no base class.
        self.processor = processor
        self.hooks = find_hooks(processor)
        self.name = processor.name
        self.ctx = ctx
        self.settings = settings
        self.metrics = metrics
        self.topic = processor.input_topic(ctx.topics)
        self.group = ctx.group_id(self.name)
        self.state: EngineState = "starting"
        self.partitions = Partitions()
        self.clock = clock
        self._lock = asyncio.Lock()
        self._failure: BaseException | None = None
        self._consumer = consumer
        self._sink: TransactionalOutput = sink or TransactionalSink(
            ctx.kafka,
            self.name,
            self.topic,
            self.group,
            settings.transaction_timeout_ms,
            member=lambda: self.consumer.group_member(),
            ended=self._count_transaction,
        )
        pauses = PauseMeter(self.name, metrics, clock)
        self._own = Ownership(
            processor, self.topic, self.partitions, self._sink, metrics, self._drain, pauses
        )

    def _count_transaction(self, committed: bool) -> None:
        outcome = "committed" if committed else "aborted"
        self.metrics.transactions.labels(self.name, outcome).inc()

    @property
    def consumer(self) -> EngineConsumer:
        if self._consumer is None:
            self._consumer = exactly_once_consumer(self.ctx.kafka, self.group, self.settings)
        return self._consumer

    async def run(self, stop: asyncio.Event) -> None:
        await self.processor.start(self.ctx)
        consumer = self.consumer
        consumer.subscribe([self.topic], listener=RebalanceListener(self.topic, self))
        try:
            # The producer first: a restarted instance takes its predecessor's id back, and
            # starting it aborts that one's open transaction before the group is joined.
            await self._sink.open(set())
            await consumer.start()
            self.state = "running"
            while not stop.is_set():
                self._raise_parked()
                await self.resume_due()
                data = await consumer.getmany(
                    timeout_ms=self.settings.poll_timeout_ms,
                    max_records=self.settings.batch_max_records,
                )
                self._raise_parked()  # parked meanwhile (a rebalance listener)
                await self.handle_poll(data)
            self.state = "stopping"
        except BaseException:
            self.state = "failed"
            raise
        finally:
            await self._shutdown()

    def _raise_parked(self) -> None:
        if self._failure is not None:
            raise FatalError(f"{self.name}: {self._failure}") from self._failure

    @property
    def parked(self) -> BaseException | None:
        """The error a rebalance or a commit parked for the loop to raise, if any."""
        return self._failure

    def park(self, error: Exception) -> None:
        """Keep ``error`` for the loop to raise as ``FatalError`` (rebalance listener)."""
        self._failure = self._failure or error

    async def handle_poll(self, data: Mapping[TopicPartition, Sequence[Any]]) -> None:
        """Handle one poll: each owned partition's share as one batch, concurrently."""
        async with self._lock:
            await self._drain({p for p, s in self.partitions.items() if s.tail and s.tail.done()})
            owned = self.partitions.owned()
            try:
                outcomes = await asyncio.gather(
                    *(
                        self._dispatch(tp.partition, msgs)
                        for tp, msgs in data.items()
                        if tp.partition in owned
                    ),
                    return_exceptions=True,  # all finish under the lock before one is raised
                )
            finally:  # even if cancelled: a submitted batch's tail waits for its transaction
                self._sink.flush()  # the poll's batches: one transaction
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        self._update_lag()

    async def _dispatch(self, partition: int, msgs: Sequence[Any]) -> None:
        """Handle one partition's batch, then start its commit without waiting for it: the
        next poll is handled while it is in flight. A partition's transactions stay in
        order: this batch's commit starts only once the previous one's is done."""
        state = self.partitions[partition]
        expected = state.next_offset
        raws = msgs if msgs[0].offset >= expected else [m for m in msgs if m.offset >= expected]
        if not raws:
            return
        begun = time.monotonic()
        try:
            outcome = await process_batch(
                self.processor, raws, self.ctx.topics.dlq, self.settings, self.metrics, self.hooks
            )
        except Backpressure as bp:  # not committed: redone from the committed offset
            log.info("processor %s: partition %d held: %s", self.name, partition, bp)
            settled = await self._settle(partition)
            report_commit(self.hooks, partition, raws, committed=False)
            if settled:
                until = self.clock() + bp.retry_after_s
                await self._own.reset(self.consumer, partition, until, bp.reason)
            return
        if not await self._settle(partition):
            # the previous batch did not commit: the partition was reset, this one is void
            report_commit(self.hooks, partition, raws, committed=False)
            return
        state.next_offset = raws[-1].offset + 1
        done = self._sink.submit(partition, outcome.output, raws[-1].offset + 1)
        state.tail = asyncio.create_task(self._commit(state, partition, raws, outcome, begun, done))

    async def _commit(
        self,
        state: PartitionState,
        partition: int,
        raws: Sequence[Any],
        outcome: BatchOutcome,
        begun: float,
        done: asyncio.Future[None],
    ) -> Exception | None:
        """Wait for the transaction holding a handled batch (its output and offset, submitted
        to the sink). Runs as the partition's tail, outside the lock; a failure
        (``SinkError``, or anything unexpected) is returned for ``_settle`` to act on, after
        ``after_commit(..., False)``."""
        try:
            await done
        except Exception as exc:
            report_commit(self.hooks, partition, raws, committed=False)
            return exc
        report_commit(self.hooks, partition, raws, committed=True)
        state.failures = 0
        count_committed(self.metrics, self.name, outcome, begun)
        return None

    async def _settle(self, partition: int) -> bool:
        """Wait for the partition's commit in flight, if any (under the lock). False if it
        failed: the partition is then reset and paused for a backoff; an unexpected error
        is also parked, so the loop stops with it. Cancelling the wait leaves the commit
        running, in its ``PartitionState``, for the shutdown to wait for."""
        state = self.partitions.get(partition)
        if state is None or state.tail is None:
            return True
        failure = await asyncio.shield(state.tail)
        state.tail = None
        if failure is None:
            return True
        self.metrics.failed.labels(self.name, "publish").inc()
        state.failures += 1
        log.warning(
            "processor %s: partition %d not committed (%d in a row): %r",
            self.name, partition, state.failures, failure,
        )  # fmt: skip
        if not isinstance(failure, SinkError):
            self.park(failure)
        backoff_s = publish_backoff_s(state.failures)
        await self._own.reset(self.consumer, partition, self.clock() + backoff_s, "publish")
        return False

    async def _drain(self, partitions: set[int] | None = None) -> None:
        """Wait for the commits in flight (of ``partitions``, default all) and settle them."""
        committing = self.partitions.committing()
        for partition in committing if partitions is None else partitions & committing:
            await self._settle(partition)

    async def drain(self) -> None:
        """Wait for every commit in flight and settle it (takes the lock)."""
        async with self._lock:
            self._sink.flush()  # nothing submitted stays unflushed, whatever interrupted
            await self._drain()

    async def resume_due(self) -> None:
        """Take up the paused partitions whose pause is over (between polls)."""
        now = self.clock()
        if any(s.resume_at is not None and s.resume_at <= now for s in self.partitions.values()):
            async with self._lock:  # a rebalance may have taken them up meanwhile
                await self._own.take_up_due(self.consumer, now)

    async def partitions_revoked(self, partitions: set[int]) -> None:
        async with self._lock:
            await self._own.revoke(partitions, suspend=True)

    async def partitions_assigned(self, partitions: set[int]) -> None:
        async with self._lock:
            await self._own.settle_rebalance(partitions)
            await self._own.assign(self.consumer, partitions - self.partitions.owned())

    def _update_lag(self) -> None:
        consumer = self.consumer
        for partition in self.partitions.owned():
            tp = TopicPartition(self.topic, partition)
            end = consumer.last_stable_offset(tp) or consumer.highwater(tp)
            if end is not None:
                lag = max(0, end - self.partitions[partition].next_offset)
                self.metrics.lag.labels(self.name, str(partition)).set(lag)

    async def _shutdown(self) -> None:
        # The loop has exited and handle_poll waits for all its partitions before it
        # returns or raises, so no batch is being handled; commits may still be in flight.
        await self.drain()
        # Not under the lock: stopping the consumer may wait for a rebalance in progress,
        # whose listener takes the lock.
        try:
            await self.consumer.stop()  # leaves the group
        except KafkaError as exc:
            log.warning("processor %s: consumer stop: %s", self.name, exc)
        async with self._lock:
            await self._own.revoke(self.partitions.owned())
            await self._own.settle_rebalance(set())
            await self._sink.stop()
            await self.processor.stop()
        if self.state != "failed":
            self.state = "stopped"
