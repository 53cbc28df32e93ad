"""The FastStream engine's ``CommitHook`` contract, in memory (``TestKafkaBroker``): one
``after_commit`` per partition batch, ``committed=True`` only once the offsets are committed,
and never for a batch that is then rewound for redelivery (no double count)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from faststream.kafka import TestKafkaBroker
from prometheus_client import CollectorRegistry

from processors.errors import SinkError
from processors.runner.codec import Encoded
from processors.runner.contract import Context
from processors.runner.metrics import RunnerMetrics
from processors.runner.settings import RunnerSettings
from processors.runner.stream import StreamEngine
from schemas import KafkaSettings
from tests.unit.processors.runner.items import ItemEcho
from tests.unit.processors.runner.memory_consumer import MemoryConsumer, install

TOPIC = "mem.shotline.screenshots.v1"


class Echo(ItemEcho):
    """Records every ``after_commit`` with the number of offset commits that had succeeded
    when it was called."""

    def __init__(self, consumer: MemoryConsumer) -> None:
        self.consumer = consumer
        self.hooks: list[tuple[int, list[int], bool, int]] = []

    def after_commit(self, partition: int, raws: Sequence[Any], committed: bool) -> None:
        offsets = [raw.offset for raw in raws]
        self.hooks.append((partition, offsets, committed, self.consumer.commits))


class PartitionSink:
    """Publishes everything except output for the partitions in ``failing``."""

    def __init__(self, failing: set[int]) -> None:
        self.failing = failing
        self.published: list[Encoded] = []

    async def start(self) -> None: ...
    async def stop(self) -> None: ...

    async def publish(self, records: Sequence[Encoded]) -> None:
        if any(r.partition in self.failing for r in records):
            raise SinkError("broker unavailable")
        self.published.extend(records)


@pytest.fixture
def consumer(monkeypatch: pytest.MonkeyPatch) -> MemoryConsumer:
    return install(monkeypatch, TOPIC)


def record(partition: int, offset: int) -> ConsumerRecord[bytes, bytes]:
    value = b'{"n": %d}' % offset
    return ConsumerRecord(
        TOPIC, partition, offset, 0, 0, b"k", value, None, 1,
        len(value), [],
    )  # fmt: skip


async def deliver(engine: StreamEngine, records: list[ConsumerRecord[bytes, bytes]]) -> None:
    """The group assigns partitions 0-2 (through the engine's rebalance listener), then one
    poll's batch goes through the subscriber as FastStream's consume loop hands it over."""
    async with TestKafkaBroker(engine._broker):
        subscriber = engine._broker.subscribers[0]
        tps = {TopicPartition(TOPIC, p) for p in range(3)}
        await subscriber._listener.on_partitions_assigned(tps)
        # Before the fix a failed publish escaped to FastStream (NACK_ON_ERROR rewound the
        # whole poll); what is checked is what the engine reported and committed.
        with contextlib.suppress(SinkError):
            await subscriber.process_message(tuple(records))


def make(sink: PartitionSink, consumer: MemoryConsumer) -> tuple[StreamEngine, Echo]:
    proc = Echo(consumer)
    ctx = Context(
        kafka=KafkaSettings(topic_prefix="mem."), projects={}, registry=CollectorRegistry()
    )
    return StreamEngine(proc, ctx, RunnerSettings(), RunnerMetrics(ctx.registry), sink), proc


async def test_a_partition_batch_rewound_for_redelivery_is_never_reported_committed(
    consumer: MemoryConsumer,
) -> None:
    engine, proc = make(PartitionSink(failing={1}), consumer)
    await deliver(engine, [record(0, 5), record(0, 6), record(1, 7)])
    hooks = {p: (offsets, committed, commits) for p, offsets, committed, commits in proc.hooks}
    assert len(proc.hooks) == 2, "one after_commit per partition batch"
    assert hooks[1][:2] == ([7], False), "its output did not publish"
    assert (1, 7) in consumer.seeks, "partition 1 is rewound to redeliver its batch"
    assert hooks[0][:2] == ([5, 6], True)
    assert hooks[0][2] == 1, "committed=True only after the offsets were committed"
    assert consumer.committed == {0: 7}, "partition 0 past its batch; partition 1 not at all"
    assert not [seek for seek in consumer.seeks if seek[0] == 0], (
        "partition 0 was reported committed: it must not be redelivered (counted twice)"
    )


async def test_a_failed_offset_commit_reports_the_batch_not_committed(
    consumer: MemoryConsumer,
) -> None:
    engine, proc = make(PartitionSink(failing=set()), consumer)
    consumer.fail_commit = True
    await deliver(engine, [record(2, 3), record(2, 4)])
    assert [(p, offsets, committed) for p, offsets, committed, _ in proc.hooks] == [
        (2, [3, 4], False)
    ]
    assert (2, 3) in consumer.seeks, "rewound: the batch is handled again"


async def test_a_committed_batch_is_reported_once_after_its_commit(
    consumer: MemoryConsumer,
) -> None:
    sink = PartitionSink(failing=set())
    engine, proc = make(sink, consumer)
    await deliver(engine, [record(0, 1), record(1, 1)])
    assert sorted(proc.hooks) == [(0, [1], True, 1), (1, [1], True, 1)]
    assert consumer.seeks == []
    assert len(sink.published) == 2
