"""Taking input partitions up and giving them up, for the exactly-once engine.

Taking up makes sure the transactional producer runs, reads each partition's committed
offset once no open transaction holds offsets for it (a previous owner's: ``kip447``), then
either resumes it (it was ours before this rebalance and nobody committed on it since, so
the processor's state is still right) or restores it (``on_assign``), then seeks it to that
offset, so nothing fetched before is handled. Giving up waits for the partitions' commits in
flight; a rebalance (eager: it revokes everything and usually hands most of it straight
back) suspends them with the processor's state kept, and ``settle_rebalance`` drops what did
not come back. ``reset`` gives one partition up after its output did not commit and pauses
it; ``take_up_due`` takes it up again afresh once its pause is over. Pauses are reported as
the at-least-once engine's holds are (``hold.PauseMeter``). The caller holds the engine's
lock around every call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import TopicPartition

from processors.runner.contract import Processor
from processors.runner.hold import PauseMeter
from processors.runner.metrics import RunnerMetrics
from processors.runner.partitions import EngineConsumer, Partitions, TransactionalOutput

__all__ = ["Ownership"]


class Ownership:
    def __init__(
        self,
        processor: Processor[Any],
        topic: str,
        partitions: Partitions,
        sink: TransactionalOutput,
        metrics: RunnerMetrics,
        drain: Callable[[set[int]], Awaitable[None]],
        pauses: PauseMeter,
    ) -> None:
        # Arguments kept as attributes: the shape of any constructor, no logic to share.
        self.processor = processor
        self.topic = topic
        self.partitions = partitions
        self.sink = sink
        self.metrics = metrics
        self.drain = drain  # waits for (and settles) the partitions' commits in flight
        self.pauses = pauses

    def _tp(self, partition: int) -> TopicPartition:
        return TopicPartition(self.topic, partition)

    def _count(self) -> None:
        self.metrics.assigned.labels(self.processor.name).set(len(self.partitions.owned()))

    async def assign(self, consumer: EngineConsumer, partitions: set[int]) -> None:
        """Take ``partitions`` up: producer, stable committed offsets, resume or restore, seek."""
        for partition in partitions:
            state = self.partitions.of(partition)
            if state.resume_at is not None:
                self._unpause(partition)
                consumer.resume(self._tp(partition))
        await self.sink.open(partitions)
        committed = {p: await consumer.committed(self._tp(p)) for p in partitions}
        states = {p: self.partitions.of(p) for p in partitions}
        resumed = {p for p, s in states.items() if s.suspended_at is not None}
        resumed = {p for p in resumed if states[p].suspended_at == committed[p]}
        stale = {p for p, s in states.items() if s.suspended_at is not None} - resumed
        for state in states.values():
            state.suspended_at = None
        if stale:
            await self.processor.on_revoke(stale)
        if partitions - resumed:
            await self.processor.on_assign(partitions - resumed)
        for partition, state in states.items():
            offset = committed[partition]
            if offset is None:
                await consumer.seek_to_beginning(self._tp(partition))
            else:
                consumer.seek(self._tp(partition), offset)
            state.next_offset = offset or 0
            state.owned = True
        self._count()

    async def revoke(self, partitions: set[int], suspend: bool = False) -> None:
        """Give ``partitions`` up once their commits in flight are done; ``suspend`` (a
        rebalance) keeps the processor's state for them."""
        await self.drain(partitions)
        mine = partitions & self.partitions.owned()
        for partition in mine:
            state = self.partitions[partition]
            state.owned = False
            if suspend:
                state.suspended_at = state.next_offset
            self.metrics.lag.remove(self.processor.name, str(partition))
        gone = mine - self.partitions.suspended()
        if gone:
            await self.processor.on_revoke(gone)
        await self.sink.close(mine)
        self._count()

    async def settle_rebalance(self, kept: set[int]) -> None:
        """After a rebalance: the state of suspended partitions that went elsewhere is
        dropped, and so are the pauses of paused ones (their next owner starts afresh)."""
        for partition in self.partitions.paused() - kept:
            self._unpause(partition)
        lost = self.partitions.suspended() - kept
        for partition in lost:
            self.partitions[partition].suspended_at = None
        if lost:
            await self.processor.on_revoke(lost)

    async def reset(
        self, consumer: EngineConsumer, partition: int, until: float, reason: str
    ) -> None:
        """Give up a partition whose output did not commit (``reason`` ``publish``) or whose
        processor asked for a pause (its ``Backpressure`` reason) and pause it on the
        consumer until ``until`` (monotonic). No sleeping here: the lock is held, and other
        partitions and the rebalance listener need it."""
        await self.revoke({partition})
        tp = self._tp(partition)
        if tp in consumer.assignment():
            consumer.pause(tp)
            self.partitions.of(partition).resume_at = until
            self.pauses.start(partition, reason)

    async def take_up_due(self, consumer: EngineConsumer, now: float) -> None:
        """Take up the paused partitions whose pause is over (those still assigned)."""
        due = {p for p in self.partitions.paused() if self._resume_at(p) <= now}
        assignment = consumer.assignment()
        mine = {p for p in due if self._tp(p) in assignment}
        for partition in due - mine:
            self._unpause(partition)
        if mine:
            await self.assign(consumer, mine)

    def _unpause(self, partition: int) -> None:
        self.partitions[partition].resume_at = None
        self.pauses.stop(partition)

    def _resume_at(self, partition: int) -> float:
        return self.partitions[partition].resume_at or 0.0
