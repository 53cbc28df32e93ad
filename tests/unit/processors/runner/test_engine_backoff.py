"""The exactly-once engine with an injected consumer and sink: a partition whose output did
not commit is paused, not slept on (the poll that failed returns at once, the engine lock is
free for other partitions and rebalances) and taken up again once its backoff has passed;
commits run in order behind the next poll; ``Backpressure`` resets and pauses the partition
for the time asked, without committing, counting or dead-lettering anything."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry

from processors.errors import Backpressure, FatalError, SinkError
from processors.runner.codec import Encoded, Raw
from processors.runner.contract import Batch, Context, HandleResult
from processors.runner.engine import Engine
from processors.runner.metrics import RunnerMetrics
from processors.runner.settings import RunnerSettings
from schemas import KafkaSettings
from tests.unit.processors.runner.items import Item, ItemEcho


class Echo(ItemEcho):
    exactly_once = True

    def __init__(self) -> None:
        self.commits: list[tuple[int, int, bool]] = []

    def after_commit(self, partition: int, raws: Sequence[Any], committed: bool) -> None:
        self.commits.append((partition, len(raws), committed))


class FailingSink:
    """A transactional sink in memory: commits (or fails to) each partition batch."""

    def __init__(self) -> None:
        self.fail = True
        self.published: list[Encoded] = []
        self.offsets: dict[int, int] = {}
        self.opened: list[set[int]] = []

    async def open(self, partitions: set[int]) -> None:
        self.opened.append(set(partitions))

    async def close(self, partitions: set[int]) -> None: ...
    async def stop(self) -> None: ...

    def submit(
        self, partition: int, records: Sequence[Encoded], next_offset: int
    ) -> asyncio.Future[None]:
        return asyncio.ensure_future(self.commit(partition, records, next_offset))

    def flush(self) -> None: ...

    async def commit(self, partition: int, records: Sequence[Encoded], next_offset: int) -> None:
        await self.publish(records)
        self.offsets[partition] = next_offset

    async def publish(self, records: Sequence[Encoded]) -> None:
        if self.fail:
            raise SinkError("broker unavailable")
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

    async def seek_to_beginning(self, *tps: TopicPartition) -> None: ...

    def last_stable_offset(self, tp: TopicPartition) -> int:
        return 12

    def highwater(self, tp: TopicPartition) -> int:
        return 12


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def engine_with(
    sink: FailingSink, proc: Echo | None = None
) -> tuple[Engine, Echo, FakeConsumer, TopicPartition, Clock]:
    proc = proc or Echo()
    ctx = Context(
        kafka=KafkaSettings(topic_prefix="mem."), projects={}, registry=CollectorRegistry()
    )
    tp = TopicPartition(proc.input_topic(ctx.topics), 1)
    consumer = FakeConsumer({tp})
    clock = Clock()
    metrics = RunnerMetrics(ctx.registry)
    engine = Engine(proc, ctx, RunnerSettings(), metrics, consumer=consumer, sink=sink, clock=clock)
    return engine, proc, consumer, tp, clock


def paused(engine: Engine, reason: str) -> tuple[float | None, float | None]:
    """(partitions paused now, seconds paused for ``reason`` so far), as Prometheus shows."""
    registry, name = engine.ctx.registry, engine.name
    return (
        registry.get_sample_value("shotline_processor_paused_partitions", {"processor": name}),
        registry.get_sample_value(
            "shotline_processor_paused_seconds_total", {"processor": name, "reason": reason}
        ),
    )


def batch(engine: Engine, first: int, n: int, start: int = 0) -> list[Raw]:
    return [Raw(engine.topic, 1, first + i, b"k", b'{"n": %d}' % (start + i)) for i in range(n)]


async def test_a_failed_commit_pauses_the_partition_without_holding_the_lock() -> None:
    sink = FailingSink()
    engine, proc, consumer, tp, clock = engine_with(sink)
    await engine.partitions_assigned({1})
    records = batch(engine, 10, 2)

    begun = time.monotonic()
    await engine.handle_poll({tp: records})
    assert engine.partitions[1].tail is not None, "the commit runs while the next poll is handled"
    await engine.drain()  # what the next poll does first once the commit is done
    assert time.monotonic() - begun < 0.5, "the 1 s backoff is not slept in the poll"
    assert consumer.paused == {tp}
    assert not engine.partitions[1].owned
    assert proc.commits == [(1, 2, False)]
    assert paused(engine, "publish") == (1, None), "one partition paused, no time counted yet"

    await engine.resume_due()
    assert not engine.partitions[1].owned, "not before its backoff has passed"
    clock.now += 1.0  # the backoff has passed
    await engine.resume_due()
    assert consumer.paused == set()
    assert engine.partitions[1].owned
    assert paused(engine, "publish") == (0, 1.0), "the same metrics as the stream engine's"
    assert consumer.seeks[-1] == (tp, 10)
    assert sink.opened == [{1}, {1}], "fenced again before it is handled again"

    sink.fail = False
    await engine.handle_poll({tp: records})
    await engine.drain()
    assert len(sink.published) == 2
    assert sink.offsets == {1: 12}
    assert proc.commits[-1] == (1, 2, True)
    assert engine.partitions[1].failures == 0


class GatedSink(FailingSink):
    """Publishes (or fails) only once ``gate`` is set: a commit still in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def publish(self, records: Sequence[Encoded]) -> None:
        await self.gate.wait()
        await super().publish(records)


async def test_the_batch_handled_while_the_previous_commit_fails_is_void() -> None:
    sink = GatedSink()
    engine, proc, consumer, tp, _ = engine_with(sink)
    await engine.partitions_assigned({1})
    await engine.handle_poll({tp: batch(engine, 10, 2)})
    assert proc.commits == [], "the first commit is still in flight"
    asyncio.get_running_loop().call_later(0.01, sink.gate.set)
    await engine.handle_poll({tp: batch(engine, 12, 3)})  # handled, then waits for the first
    assert proc.commits == [(1, 2, False), (1, 3, False)]
    assert sink.published == []
    assert consumer.paused == {tp}
    assert not engine.partitions[1].owned
    assert not engine.partitions.committing()


async def test_commits_of_consecutive_batches_happen_in_order_after_handling() -> None:
    sink = GatedSink()
    sink.fail = False
    engine, proc, _, tp, _ = engine_with(sink)
    await engine.partitions_assigned({1})
    await engine.handle_poll({tp: batch(engine, 10, 2)})
    asyncio.get_running_loop().call_later(0.01, sink.gate.set)
    await engine.handle_poll({tp: batch(engine, 12, 3, start=2)})
    await engine.drain()
    assert proc.commits == [(1, 2, True), (1, 3, True)]
    assert [r.value for r in sink.published] == [b'{"n":%d}' % n for n in range(5)]
    assert engine.partitions[1].next_offset == 15
    assert sink.offsets == {1: 15}
    assert not engine.partitions.committing()


class BuggySink(FailingSink):
    async def publish(self, records: Sequence[Encoded]) -> None:
        raise ValueError("a bug, not a broker error")


async def test_an_unexpected_commit_error_resets_the_partition_and_stops_the_loop() -> None:
    engine, proc, consumer, tp, _ = engine_with(BuggySink())
    await engine.partitions_assigned({1})
    await engine.handle_poll({tp: batch(engine, 10, 2)})
    await engine.drain()
    assert proc.commits == [(1, 2, False)]
    assert not engine.partitions[1].owned, "reset: re-fenced, restored and sought before more"
    assert consumer.paused == {tp}
    assert isinstance(engine.parked, ValueError), "parked: the loop raises FatalError"


async def test_a_fatal_error_in_one_partition_waits_for_the_others_under_the_lock() -> None:
    sink = GatedSink()
    sink.fail = False
    engine, proc, consumer, tp, _ = engine_with(sink)
    tp2 = TopicPartition(engine.topic, 2)
    consumer.tps = {tp, tp2}
    await engine.partitions_assigned({1, 2})
    handle = proc.handle

    async def fatal_on_2(batch: Batch[Item]) -> HandleResult:
        if batch[0].partition == 2:
            raise FatalError("boom")
        return await handle(batch)

    proc.handle = fatal_on_2  # type: ignore[method-assign]
    await engine.handle_poll({tp: [Raw(engine.topic, 1, 10, b"k", b'{"n": 1}')]})
    asyncio.get_running_loop().call_later(0.02, sink.gate.set)
    with pytest.raises(FatalError):
        await engine.handle_poll(
            {
                tp: [Raw(engine.topic, 1, 11, b"k", b'{"n": 2}')],
                tp2: [Raw(engine.topic, 2, 10, b"k", b'{"n": 3}')],
            }
        )
    assert engine.partitions.committing() == {1}, "partition 1's dispatch finished first"
    await engine.drain()
    assert not engine.partitions.committing()
    assert proc.commits == [(1, 1, True), (1, 1, True)]


class Throttled(Echo):
    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    async def handle(self, batch: Batch[Item]) -> HandleResult:
        if self.refusals:
            self.refusals -= 1
            raise Backpressure(2.5, "quota")
        return await super().handle(batch)


async def test_backpressure_resets_and_pauses_the_partition_for_the_time_asked() -> None:
    sink = FailingSink()
    sink.fail = False
    engine, proc, consumer, tp, clock = engine_with(sink, Throttled(refusals=1))
    await engine.partitions_assigned({1})
    records = batch(engine, 10, 2)
    await engine.handle_poll({tp: records})
    await engine.drain()
    assert sink.published == [], "nothing published or dead-lettered"
    assert sink.offsets == {}, "nothing committed"
    assert proc.commits == [(1, 2, False)]
    assert consumer.paused == {tp}
    assert engine.partitions[1].failures == 0, "not a failure"
    assert paused(engine, "quota") == (1, None)
    clock.now += 2.4
    await engine.resume_due()
    assert consumer.paused == {tp}, "paused for the 2.5 s asked"
    clock.now += 0.2
    await engine.resume_due()
    assert consumer.paused == set()
    assert paused(engine, "quota") == (0, pytest.approx(2.6))
    assert consumer.seeks[-1] == (tp, 10), "the same records come again"
    await engine.handle_poll({tp: records})
    await engine.drain()
    assert proc.commits[-1] == (1, 2, True)
    assert sink.offsets == {1: 12}


async def test_a_pause_ends_in_the_metrics_when_a_rebalance_takes_the_partition_away() -> None:
    sink = FailingSink()
    engine, _, consumer, tp, clock = engine_with(sink)
    await engine.partitions_assigned({1})
    await engine.handle_poll({tp: batch(engine, 10, 2)})
    await engine.drain()
    assert paused(engine, "publish") == (1, None)
    clock.now += 0.25
    await engine.partitions_revoked({1})
    consumer.tps = set()
    await engine.partitions_assigned(set())  # it went to another instance
    assert paused(engine, "publish") == (0, 0.25)
    assert not engine.partitions.paused()


class RecordingSink(FailingSink):
    """Commits, and records the order of submissions and flushes."""

    def __init__(self) -> None:
        super().__init__()
        self.fail = False
        self.calls: list[tuple[str, int]] = []

    def submit(
        self, partition: int, records: Sequence[Encoded], next_offset: int
    ) -> asyncio.Future[None]:
        self.calls.append(("submit", partition))
        return super().submit(partition, records, next_offset)

    def flush(self) -> None:
        self.calls.append(("flush", -1))


async def test_a_polls_partition_batches_are_submitted_then_flushed_as_one() -> None:
    sink = RecordingSink()
    engine, proc, consumer, tp, _ = engine_with(sink)
    other = TopicPartition(engine.topic, 2)
    consumer.tps = {tp, other}
    await engine.partitions_assigned({1, 2})
    late = [Raw(engine.topic, 2, 10, b"k", b'{"n": 9}')]  # committed: 10
    await engine.handle_poll({tp: batch(engine, 10, 2), other: late})
    assert sorted(sink.calls[:2]) == [("submit", 1), ("submit", 2)]
    assert sink.calls[2:] == [("flush", -1)], "one flush after the poll: one transaction"
    await engine.drain()
    assert sink.offsets == {1: 12, 2: 11}
    assert sorted(proc.commits) == [(1, 2, True), (2, 1, True)]
    await engine.handle_poll({})
    assert sink.calls[-1] == ("flush", -1), "an empty poll flushes nothing new"
