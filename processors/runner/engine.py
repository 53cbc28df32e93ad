"""The consume loop of one processor: batches in, output and offsets out, never auto-commit.

Consumer group ``<prefix>shotline-<name>``, ``enable_auto_commit=False``, ``read_committed``.
Each poll returns up to ``batch_max_records`` records; each partition's share is handled as
one batch and committed (``exactly_once``: in the same transaction as its output; otherwise
after every output send is acknowledged). The commit runs while the next poll is handled
(the partition's "tail"); a partition's next commit starts only after its previous one
finished, and a failed one voids the batch handled meanwhile, resets the partition and
pauses it for a backoff. A rebalance waits for the batch in progress (``_lock``) and for
the revoked partitions' commits in flight; newly assigned partitions are fenced, restored
(``on_assign``) and then sought to their committed offset, so nothing fetched before the
fence is handled. Stopping finishes the batch in progress and the commits in flight, then
leaves the group.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from processors.runner.batch import BatchOutcome, process_batch
from processors.runner.contract import CommitHook, Context, Processor
from processors.runner.errors import FatalError
from processors.runner.metrics import RunnerMetrics
from processors.runner.rebalance import RebalanceListener
from processors.runner.settings import RunnerSettings
from processors.runner.sink import AtLeastOnceSink, PublishError, TransactionalSink

__all__ = ["Engine"]

log = logging.getLogger("shotline.processors")


class Engine:
    """Runs one processor until ``stop`` is set; ``state`` feeds ``/healthz``."""

    def __init__(
        self,
        processor: Processor[Any],
        ctx: Context,
        settings: RunnerSettings,
        metrics: RunnerMetrics,
    ) -> None:
        self.processor = processor
        self.name = processor.name
        self.ctx = ctx
        self.settings = settings
        self.metrics = metrics
        self.topic = processor.input_topic(ctx.topics)
        self.group = ctx.group_id(self.name)
        self.state = "starting"
        self._lock = asyncio.Lock()
        self._owned: set[int] = set()
        self._next: dict[int, int] = {}  # next offset to handle, per owned partition
        self._publish_failures: dict[int, int] = {}  # consecutive, per partition
        self._suspended: dict[int, int] = {}  # revoked by a rebalance, state kept: next offset
        self._backoff: dict[int, float] = {}  # paused after a failed commit: resume at (monotonic)
        self._failure: BaseException | None = None
        # per partition: the commit of its last handled batch, in flight (``_commit``)
        self._tails: dict[int, asyncio.Task[Exception | None]] = {}
        self._txn = (
            TransactionalSink(
                ctx.kafka, self.name, self.topic, self.group, settings.transaction_timeout_ms
            )
            if processor.exactly_once
            else None
        )
        self._plain = None if processor.exactly_once else AtLeastOnceSink(ctx.kafka)
        self._consumer: Any = None

    async def run(self, stop: asyncio.Event) -> None:
        await self.processor.start(self.ctx)
        if self._plain is not None:
            await self._plain.start()
        self._consumer = AIOKafkaConsumer(
            **self.ctx.kafka.client_kwargs(),
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_partition_fetch_bytes=4 << 20,
            # A restore in on_assign (dedupe: up to a window of output) runs between polls
            # and inside the rebalance; both limits must outlast it.
            max_poll_interval_ms=self.settings.max_poll_interval_ms,
            rebalance_timeout_ms=self.settings.max_poll_interval_ms,
        )
        self._consumer.subscribe([self.topic], listener=RebalanceListener(self))
        try:
            await self._consumer.start()
            self.state = "running"
            while not stop.is_set():
                if self._failure is not None:
                    raise FatalError(f"{self.name}: {self._failure}") from self._failure
                await self._resume_due()
                data = await self._consumer.getmany(
                    timeout_ms=self.settings.poll_timeout_ms,
                    max_records=self.settings.batch_max_records,
                )
                if self._failure is not None:  # parked meanwhile (a rebalance listener)
                    raise FatalError(f"{self.name}: {self._failure}") from self._failure
                await self._handle_poll(data)
            self.state = "stopping"
        except BaseException:
            self.state = "failed"
            raise
        finally:
            await self._shutdown()

    async def _handle_poll(self, data: dict[Any, list[Any]]) -> None:
        async with self._lock:
            await self._reap()
            outcomes = await asyncio.gather(
                *(
                    self._dispatch(tp.partition, msgs)
                    for tp, msgs in data.items()
                    if tp.partition in self._owned
                ),
                return_exceptions=True,  # all finish under the lock before one is raised
            )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        self._update_lag()

    async def _dispatch(self, partition: int, msgs: Sequence[Any]) -> None:
        """Handle one partition's share of a poll, then start its commit without waiting
        for it: the next poll is handled while it is in flight. A partition's transactions
        stay in order: this batch's commit starts only once the previous one's is done."""
        expected = self._next.get(partition, 0)
        raws = msgs if msgs[0].offset >= expected else [m for m in msgs if m.offset >= expected]
        if not raws:
            return
        begun = time.monotonic()
        outcome = await process_batch(
            self.processor, raws, self.ctx.topics.dlq, self.settings, self.metrics
        )
        if not await self._settle(partition):
            # the previous batch did not commit: the partition was reset, this one is void
            self._after_commit(partition, raws, committed=False)
            return
        self._next[partition] = raws[-1].offset + 1
        self._tails[partition] = asyncio.create_task(self._commit(partition, raws, outcome, begun))

    async def _commit(
        self, partition: int, raws: Sequence[Any], outcome: BatchOutcome, begun: float
    ) -> Exception | None:
        """Publish a handled batch and move the partition's committed offset past it
        (exactly-once: in one transaction). Runs as the partition's tail, outside the lock;
        a failure (``PublishError``, or anything unexpected) is returned for ``_settle`` to
        act on under the lock, after ``after_commit(..., False)``."""
        next_offset = raws[-1].offset + 1
        try:
            if self._txn is not None:
                await self._txn.commit(partition, outcome.output, next_offset)
            else:
                assert self._plain is not None
                await self._plain.publish(outcome.output)
                tp = TopicPartition(self.topic, partition)
                try:
                    await self._consumer.commit({tp: next_offset})
                except KafkaError as exc:  # lost the partition meanwhile: its owner redoes it
                    log.warning("processor %s: offset commit failed: %s", self.name, exc)
        except Exception as exc:
            self._after_commit(partition, raws, committed=False)
            return exc
        self._after_commit(partition, raws, committed=True)
        self._publish_failures.pop(partition, None)
        self.metrics.processed.labels(self.name).inc(outcome.handled)
        self.metrics.emitted.labels(self.name).inc(outcome.emitted)
        for reason, count in outcome.dead_by_reason.items():
            self.metrics.dead_lettered.labels(self.name, reason).inc(count)
        self.metrics.batch_seconds.labels(self.name).observe(time.monotonic() - begun)
        return None

    async def _settle(self, partition: int) -> bool:
        """Wait for the partition's commit in flight, if any (under the lock). False if it
        failed: the partition is then reset and paused for a backoff; an unexpected error
        is also parked, so the loop stops with it. Cancelling the wait leaves the commit
        running and in ``_tails`` for the shutdown to wait for."""
        tail = self._tails.get(partition)
        if tail is None:
            return True
        failure = await asyncio.shield(tail)
        self._tails.pop(partition, None)
        if failure is None:
            return True
        self.metrics.failed.labels(self.name, "publish").inc()
        failures = self._publish_failures.get(partition, 0) + 1
        self._publish_failures[partition] = failures
        log.warning(
            "processor %s: partition %d not committed (%d in a row): %r",
            self.name, partition, failures, failure,
        )  # fmt: skip
        if not isinstance(failure, PublishError) and self._failure is None:
            self._failure = failure
        await self._reset(partition, backoff_s=min(30.0, 0.5 * 2**failures))
        return False

    async def _reap(self) -> None:
        """Settle the commits that finished since the last poll (under the lock)."""
        for partition in [p for p, tail in self._tails.items() if tail.done()]:
            await self._settle(partition)

    async def drain(self, partitions: set[int] | None = None) -> None:
        """Wait for the commits in flight (of ``partitions``, default all) and settle them
        (under the lock): before partitions are given up, and in tests."""
        for partition in list(
            self._tails if partitions is None else partitions & self._tails.keys()
        ):
            await self._settle(partition)

    def _after_commit(self, partition: int, raws: Sequence[Any], committed: bool) -> None:
        if isinstance(self.processor, CommitHook):
            self.processor.after_commit(partition, raws, committed)

    async def _reset(self, partition: int, backoff_s: float) -> None:
        """Forget a partition whose output did not commit and pause it on the consumer;
        ``_resume_due`` takes it up again afresh (fence, restore, seek to the committed
        offset) once ``backoff_s`` has passed — which also lets a rebalance that fenced us
        reach our consumer first. No sleeping here: this runs under the lock, which other
        partitions' batches and the rebalance listener need meanwhile."""
        await self._revoke({partition})
        tp = TopicPartition(self.topic, partition)
        if tp in self._consumer.assignment():
            self._consumer.pause(tp)
            self._backoff[partition] = time.monotonic() + backoff_s

    async def _resume_due(self) -> None:
        """Take up the paused partitions whose backoff has passed (between polls)."""
        now = time.monotonic()
        due = {p for p, until in self._backoff.items() if until <= now}
        if not due:
            return
        async with self._lock:
            due &= self._backoff.keys()  # a rebalance may have taken them up meanwhile
            assignment = self._consumer.assignment()
            mine = {p for p in due if TopicPartition(self.topic, p) in assignment}
            for partition in due - mine:
                del self._backoff[partition]
            if mine:
                await self._assign(mine)

    async def _assign(self, partitions: set[int]) -> None:
        """Take partitions up: fence their producers first, then for each either resume it
        (it was ours before this rebalance and nobody committed on it since, so the
        processor's state is still right) or restore it (``on_assign``); then seek to the
        committed offset."""
        for partition in partitions & self._backoff.keys():
            del self._backoff[partition]
            self._consumer.resume(TopicPartition(self.topic, partition))
        if self._txn is not None:
            await self._txn.open(partitions)
        committed: dict[int, int | None] = {}
        for partition in partitions:
            committed[partition] = await self._consumer.committed(
                TopicPartition(self.topic, partition)
            )
        resumed = {
            p for p in partitions if p in self._suspended and self._suspended[p] == committed[p]
        }
        stale = {p for p in partitions - resumed if p in self._suspended}
        for partition in partitions:
            self._suspended.pop(partition, None)
        if stale:
            await self.processor.on_revoke(stale)
        if partitions - resumed:
            await self.processor.on_assign(partitions - resumed)
        for partition in partitions:
            tp = TopicPartition(self.topic, partition)
            offset = committed[partition]
            if offset is None:
                await self._consumer.seek_to_beginning(tp)
            else:
                self._consumer.seek(tp, offset)
            self._next[partition] = offset or 0
        self._owned |= partitions
        self.metrics.assigned.labels(self.name).set(len(self._owned))

    async def _revoke(self, partitions: set[int], suspend: bool = False) -> None:
        """Give partitions up. ``suspend`` (a rebalance) keeps the processor's state, since
        the eager protocol revokes everything and usually hands most of it straight back;
        ``_settle_rebalance`` drops what did not come back. Commits in flight finish first."""
        await self.drain(partitions)
        mine = partitions & self._owned
        self._owned -= mine
        for partition in mine:
            next_offset = self._next.pop(partition, None)
            if suspend and next_offset is not None:
                self._suspended[partition] = next_offset
            self.metrics.lag.remove(self.name, str(partition))
        gone = mine - self._suspended.keys()
        if gone:
            await self.processor.on_revoke(gone)
        if self._txn is not None:
            await self._txn.close(mine)
        self.metrics.assigned.labels(self.name).set(len(self._owned))

    async def _settle_rebalance(self, kept: set[int]) -> None:
        """After a rebalance: state of suspended partitions that went elsewhere is dropped."""
        lost = set(self._suspended) - kept
        for partition in lost:
            del self._suspended[partition]
        if lost:
            await self.processor.on_revoke(lost)

    def _update_lag(self) -> None:
        for partition in self._owned:
            tp = TopicPartition(self.topic, partition)
            end = self._consumer.last_stable_offset(tp) or self._consumer.highwater(tp)
            if end is not None and partition in self._next:
                lag = max(0, end - self._next[partition])
                self.metrics.lag.labels(self.name, str(partition)).set(lag)

    async def _shutdown(self) -> None:
        # The loop has exited and _handle_poll waits for all its partitions before it
        # returns or raises, so no batch is being handled; commits may still be in flight.
        async with self._lock:
            await self.drain()
        # Not under the lock: stopping the consumer may wait for a rebalance in progress,
        # whose listener takes the lock.
        if self._consumer is not None:
            try:
                await self._consumer.stop()  # leaves the group
            except KafkaError as exc:
                log.warning("processor %s: consumer stop: %s", self.name, exc)
        async with self._lock:
            await self._revoke(set(self._owned))
            await self._settle_rebalance(set())
            if self._txn is not None:
                await self._txn.stop()
            if self._plain is not None:
                await self._plain.stop()
            await self.processor.stop()
        if self.state != "failed":
            self.state = "stopped"
