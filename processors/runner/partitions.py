"""What the exactly-once engine knows about each input partition, and the ports it drives.

One ``PartitionState`` per partition the engine has met, in a ``Partitions`` table: whether
it is owned (restored and sought: its batches are handled), the next offset to handle, the
commit in flight, consecutive commit failures, where a rebalance suspended it, and until
when it is paused. The ports (``EngineConsumer``, ``TransactionalOutput``) are what the
engine calls on aiokafka's consumer and on ``sink.TransactionalSink``; tests pass fakes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import TopicPartition

from processors.runner.codec import Encoded
from processors.runner.kip447 import EngineKafkaConsumer, GroupMember
from processors.runner.settings import RunnerSettings
from schemas import KafkaSettings

__all__ = [
    "EngineConsumer",
    "PartitionState",
    "Partitions",
    "TransactionalOutput",
    "exactly_once_consumer",
]


@dataclass(slots=True)
class PartitionState:
    owned: bool = False  # restored and sought: its batches are handled
    next_offset: int = 0  # while owned: the next offset to handle
    tail: asyncio.Task[Exception | None] | None = None  # its last batch's commit, in flight
    failures: int = 0  # consecutive commits that failed
    suspended_at: int | None = None  # revoked by a rebalance, processor state kept: next offset
    resume_at: float | None = None  # paused (failed commit, Backpressure) until, monotonic


class Partitions(dict[int, PartitionState]):
    """Partition number → state; ``of`` adds a partition on first sight."""

    def of(self, partition: int) -> PartitionState:
        state = self.get(partition)
        if state is None:
            state = self[partition] = PartitionState()
        return state

    def owned(self) -> set[int]:
        return {p for p, state in self.items() if state.owned}

    def suspended(self) -> set[int]:
        return {p for p, state in self.items() if state.suspended_at is not None}

    def paused(self) -> set[int]:
        return {p for p, state in self.items() if state.resume_at is not None}

    def committing(self) -> set[int]:
        return {p for p, state in self.items() if state.tail is not None}


class EngineConsumer(Protocol):
    """The ``AIOKafkaConsumer`` calls the engine makes."""

    def subscribe(self, topics: list[str], listener: Any) -> None: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int, max_records: int | None
    ) -> dict[TopicPartition, list[Any]]: ...
    def assignment(self) -> set[TopicPartition]: ...
    def pause(self, *partitions: TopicPartition) -> None: ...
    def resume(self, *partitions: TopicPartition) -> None: ...
    async def committed(self, partition: TopicPartition) -> int | None: ...
    def seek(self, partition: TopicPartition, offset: int) -> None: ...
    async def seek_to_beginning(self, *partitions: TopicPartition) -> None: ...
    def last_stable_offset(self, partition: TopicPartition) -> int | None: ...
    def highwater(self, partition: TopicPartition) -> int | None: ...
    def group_member(self) -> GroupMember | None: ...


class TransactionalOutput(Protocol):
    """Output and input offsets committed atomically (``sink.TransactionalSink``): each
    partition's batch is submitted, and the batches submitted before a ``flush`` commit
    together in one transaction."""

    async def open(self, partitions: set[int]) -> None: ...
    async def close(self, partitions: set[int]) -> None: ...
    def submit(
        self, partition: int, records: Sequence[Encoded], next_offset: int
    ) -> asyncio.Future[None]: ...
    def flush(self) -> None: ...
    async def stop(self) -> None: ...


def exactly_once_consumer(
    kafka: KafkaSettings, group: str, settings: RunnerSettings
) -> EngineConsumer:
    """The engine's consumer: group ``<prefix>shotline-<name>``, no auto-commit (offsets go
    in the transactions), ``read_committed``."""
    consumer: EngineConsumer = EngineKafkaConsumer(
        **kafka.client_kwargs(),
        # a dead owner's open transaction holds its offsets until the broker aborts it
        stable_wait_s=settings.transaction_timeout_ms / 1000 + 60,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_partition_fetch_bytes=4 << 20,
        fetch_min_bytes=settings.fetch_min_bytes,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        # A restore in on_assign (dedupe: up to a window of output) runs between polls and
        # inside the rebalance; both limits must outlast it.
        max_poll_interval_ms=settings.max_poll_interval_ms,
        rebalance_timeout_ms=settings.max_poll_interval_ms,
    )
    return consumer
