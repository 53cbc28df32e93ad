"""A partition whose output did not commit is paused, not slept on: the poll that failed
returns at once (the engine lock is free for other partitions and rebalances), and the
partition is taken up again once its backoff has passed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from processors.runner.codec import Encoded, Raw
from processors.runner.contract import Batch, Context, Emit, HandleResult
from processors.runner.engine import Engine
from processors.runner.metrics import RunnerMetrics
from processors.runner.settings import RunnerSettings
from processors.runner.sink import PublishError
from schemas import KafkaSettings, Topics


class Item(BaseModel):
    n: int


class Echo:
    name = "echo"
    input_model = Item
    exactly_once = False

    def __init__(self) -> None:
        self.commits: list[tuple[int, int, bool]] = []

    def input_topic(self, topics: Topics) -> str:
        return topics.screenshots

    async def start(self, ctx: Context) -> None: ...
    async def stop(self) -> None: ...
    async def on_assign(self, partitions: set[int]) -> None: ...
    async def on_revoke(self, partitions: set[int]) -> None: ...

    async def handle(self, batch: Batch[Item]) -> HandleResult:
        return HandleResult(emits=[Emit("out", r.key, r.value) for r in batch])

    def after_commit(self, partition: int, raws: Sequence[Any], committed: bool) -> None:
        self.commits.append((partition, len(raws), committed))


class FailingSink:
    def __init__(self) -> None:
        self.fail = True
        self.published: list[Encoded] = []

    async def publish(self, records: Sequence[Encoded]) -> None:
        if self.fail:
            raise PublishError("broker unavailable")
        self.published.extend(records)


class FakeConsumer:
    """The consumer calls the engine makes between polls, recorded."""

    def __init__(self, tps: set[TopicPartition]) -> None:
        self.tps = tps
        self.paused: set[TopicPartition] = set()
        self.seeks: list[tuple[TopicPartition, int]] = []

    def assignment(self) -> set[TopicPartition]:
        return self.tps

    def pause(self, *tps: TopicPartition) -> None:
        self.paused |= set(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self.paused -= set(tps)

    async def committed(self, tp: TopicPartition) -> int:
        return 10

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))

    async def commit(self, offsets: dict[TopicPartition, int]) -> None: ...

    def last_stable_offset(self, tp: TopicPartition) -> int:
        return 12

    def highwater(self, tp: TopicPartition) -> int:
        return 12


async def test_a_failed_commit_pauses_the_partition_without_holding_the_lock() -> None:
    proc = Echo()
    ctx = Context(
        kafka=KafkaSettings(topic_prefix="mem."), projects={}, registry=CollectorRegistry()
    )
    engine = Engine(proc, ctx, RunnerSettings(), RunnerMetrics(ctx.registry))
    sink = FailingSink()
    engine._plain = sink  # type: ignore[assignment]
    tp = TopicPartition(engine.topic, 1)
    consumer = FakeConsumer({tp})
    engine._consumer = consumer
    await engine._assign({1})
    records = [Raw(engine.topic, 1, 10 + i, b"k", b'{"n": %d}' % i) for i in range(2)]

    begun = time.monotonic()
    await engine._handle_poll({tp: records})
    assert 1 in engine._tails, "the commit runs while the next poll is handled"
    async with engine._lock:
        await engine.drain()  # what the next poll does first once the commit is done
    assert time.monotonic() - begun < 0.5, "the 1 s backoff is not slept in the poll"
    assert not engine._lock.locked()
    assert consumer.paused == {tp}
    assert 1 not in engine._owned
    assert proc.commits == [(1, 2, False)]

    await engine._resume_due()
    assert 1 not in engine._owned, "not before its backoff has passed"
    engine._backoff[1] = time.monotonic()  # the backoff has passed
    await asyncio.sleep(0)
    await engine._resume_due()
    assert consumer.paused == set()
    assert 1 in engine._owned
    assert consumer.seeks[-1] == (tp, 10)

    sink.fail = False
    await engine._handle_poll({tp: records})
    async with engine._lock:
        await engine.drain()
    assert len(sink.published) == 2
    assert proc.commits[-1] == (1, 2, True)


class GatedSink(FailingSink):
    """Publishes (or fails) only once ``gate`` is set: a commit still in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def publish(self, records: Sequence[Encoded]) -> None:
        await self.gate.wait()
        await super().publish(records)


def engine_with(sink: FailingSink) -> tuple[Engine, Echo, FakeConsumer, TopicPartition]:
    proc = Echo()
    ctx = Context(
        kafka=KafkaSettings(topic_prefix="mem."), projects={}, registry=CollectorRegistry()
    )
    engine = Engine(proc, ctx, RunnerSettings(), RunnerMetrics(ctx.registry))
    engine._plain = sink  # type: ignore[assignment]
    tp = TopicPartition(engine.topic, 1)
    consumer = FakeConsumer({tp})
    engine._consumer = consumer
    return engine, proc, consumer, tp


async def test_the_batch_handled_while_the_previous_commit_fails_is_void() -> None:
    sink = GatedSink()
    engine, proc, consumer, tp = engine_with(sink)
    await engine._assign({1})
    first = [Raw(engine.topic, 1, 10 + i, b"k", b'{"n": %d}' % i) for i in range(2)]
    second = [Raw(engine.topic, 1, 12 + i, b"k", b'{"n": %d}' % i) for i in range(3)]
    await engine._handle_poll({tp: first})
    assert proc.commits == [], "the first commit is still in flight"
    asyncio.get_running_loop().call_later(0.01, sink.gate.set)
    await engine._handle_poll({tp: second})  # handled, then waits for the first commit
    assert proc.commits == [(1, 2, False), (1, 3, False)]
    assert sink.published == []
    assert consumer.paused == {tp}
    assert 1 not in engine._owned
    assert not engine._tails


async def test_commits_of_consecutive_batches_happen_in_order_after_handling() -> None:
    sink = GatedSink()
    sink.fail = False
    engine, proc, _, tp = engine_with(sink)
    await engine._assign({1})
    first = [Raw(engine.topic, 1, 10 + i, b"k", b'{"n": %d}' % i) for i in range(2)]
    second = [Raw(engine.topic, 1, 12 + i, b"k", b'{"n": %d}' % (i + 2)) for i in range(3)]
    await engine._handle_poll({tp: first})
    asyncio.get_running_loop().call_later(0.01, sink.gate.set)
    await engine._handle_poll({tp: second})
    async with engine._lock:
        await engine.drain()
    assert proc.commits == [(1, 2, True), (1, 3, True)]
    assert [r.value for r in sink.published] == [b'{"n":%d}' % n for n in range(5)]
    assert engine._next[1] == 15
    assert not engine._tails


class BuggySink(FailingSink):
    async def publish(self, records: Sequence[Encoded]) -> None:
        raise ValueError("a bug, not a broker error")


async def test_an_unexpected_commit_error_resets_the_partition_and_stops_the_loop() -> None:
    engine, proc, consumer, tp = engine_with(BuggySink())
    await engine._assign({1})
    records = [Raw(engine.topic, 1, 10 + i, b"k", b'{"n": %d}' % i) for i in range(2)]
    await engine._handle_poll({tp: records})
    async with engine._lock:
        await engine.drain()
    assert proc.commits == [(1, 2, False)]
    assert 1 not in engine._owned, "reset: re-fenced, restored and sought before more work"
    assert consumer.paused == {tp}
    assert isinstance(engine._failure, ValueError), "parked: the loop raises FatalError"


async def test_a_fatal_error_in_one_partition_waits_for_the_others_under_the_lock() -> None:
    from processors.runner.errors import FatalError

    sink = GatedSink()
    sink.fail = False
    engine, proc, consumer, tp = engine_with(sink)
    tp2 = TopicPartition(engine.topic, 2)
    consumer.tps = {tp, tp2}
    await engine._assign({1, 2})
    handle = proc.handle

    async def fatal_on_2(batch: Batch[Item]) -> HandleResult:
        if batch[0].partition == 2:
            raise FatalError("boom")
        return await handle(batch)

    proc.handle = fatal_on_2  # type: ignore[method-assign]
    await engine._handle_poll({tp: [Raw(engine.topic, 1, 10, b"k", b'{"n": 1}')]})
    asyncio.get_running_loop().call_later(0.02, sink.gate.set)
    with pytest.raises(FatalError):
        await engine._handle_poll(
            {
                tp: [Raw(engine.topic, 1, 11, b"k", b'{"n": 2}')],
                tp2: [Raw(engine.topic, 2, 10, b"k", b'{"n": 3}')],
            }
        )
    assert list(engine._tails) == [1], "partition 1's dispatch finished before the raise"
    async with engine._lock:
        await engine.drain()
    await asyncio.sleep(0.05)
    assert not engine._tails
    assert proc.commits == [(1, 1, True), (1, 1, True)]
