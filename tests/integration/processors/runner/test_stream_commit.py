"""The FastStream (at-least-once) engine against the real broker: ``Backpressure`` holds one
partition for the time asked while the others flow, then the same records come again, each
emitted once, nothing dead-lettered; and ``after_commit(..., True)`` reports every input
record exactly once, also while a second instance joins the group and the first leaves."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from processors.errors import Backpressure
from processors.runner.contract import Batch, Context, Emit, HandleResult
from processors.runner.metrics import RunnerMetrics
from processors.runner.settings import RunnerSettings
from processors.runner.stream import StreamEngine
from schemas import KafkaSettings, Topics, TopicSpec
from shotline.topics import ensure_topics
from tests.integration.processors.runner.streams import produce, read_all, wait_for_count

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

SMALL = RunnerSettings(batch_max_records=30, poll_timeout_ms=100, shutdown_timeout_s=20)


class Item(BaseModel):
    n: int


class Tracked:
    """Emits each item to ``<prefix>tracked.v1``; raises ``Backpressure`` for the first
    ``refusals`` batches of ``partition``; records every handle and ``after_commit``."""

    name = "tracked"
    input_model = Item
    exactly_once = False

    def __init__(self, refusals: int = 0, partition: int = 0, retry_after_s: float = 0.0) -> None:
        self.refusals = refusals
        self.refused_partition = partition
        self.retry_after_s = retry_after_s
        self.output = ""
        self.refused: list[tuple[int, float]] = []  # first offset, when
        self.handled: list[tuple[int, int, float]] = []  # partition, first offset, when
        self.reports: list[tuple[int, int, bool]] = []  # partition, offset, committed

    def input_topic(self, topics: Topics) -> str:
        return topics.screenshots

    async def start(self, ctx: Context) -> None:
        self.output = f"{ctx.kafka.topic_prefix}tracked.v1"

    async def stop(self) -> None: ...
    async def on_assign(self, partitions: set[int]) -> None: ...
    async def on_revoke(self, partitions: set[int]) -> None: ...

    async def handle(self, batch: Batch[Item]) -> HandleResult:
        partition, first = batch[0].partition, batch[0].offset
        if partition == self.refused_partition and self.refusals > 0:
            self.refusals -= 1
            self.refused.append((first, time.monotonic()))
            raise Backpressure(self.retry_after_s, "quota")
        self.handled.append((partition, first, time.monotonic()))
        return HandleResult(emits=[Emit(self.output, r.key, r.value) for r in batch])

    def after_commit(self, partition: int, raws: Sequence[Any], committed: bool) -> None:
        self.reports.extend((partition, raw.offset, committed) for raw in raws)


async def feed(kafka: KafkaSettings, start: int, stop: int) -> None:
    """Items ``start`` to ``stop`` (exclusive) on each of the three input partitions."""
    for partition in range(3):
        items = [
            (f"k{partition}-{i}".encode(), b'{"n": %d}' % (partition * 100_000 + i))
            for i in range(start, stop)
        ]
        await produce(kafka, kafka.topics.screenshots, items, partition=partition)


async def prepare(kafka: KafkaSettings, per_partition: int) -> str:
    out = f"{kafka.topic_prefix}tracked.v1"
    await ensure_topics(kafka, [TopicSpec(name=out, partitions=3, replication=1, config={})])
    await feed(kafka, 0, per_partition)
    return out


async def finish(*runs: tuple[asyncio.Event, asyncio.Task[None] | None]) -> None:
    """Stop the engines still running (cancel those that do not stop in time)."""
    for stop, task in runs:
        stop.set()
        if task is not None and not task.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=30)


def start(kafka: KafkaSettings, proc: Tracked) -> tuple[StreamEngine, asyncio.Event, Any]:
    registry = CollectorRegistry()
    ctx = Context(kafka=kafka, projects={}, registry=registry)
    engine = StreamEngine(proc, ctx, SMALL, RunnerMetrics(registry))
    stop = asyncio.Event()
    return engine, stop, asyncio.create_task(engine.run(stop))


async def committed_offsets(kafka: KafkaSettings, group: str) -> dict[int, int | None]:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=group)
    await consumer.start()
    try:
        return {
            p: await consumer.committed(TopicPartition(kafka.topics.screenshots, p))
            for p in range(3)
        }
    finally:
        await consumer.stop()


async def test_backpressure_pauses_one_partition_then_redelivers_it_once(
    kafka: KafkaSettings,
) -> None:
    out = await prepare(kafka, per_partition=100)
    proc = Tracked(refusals=3, partition=0, retry_after_s=1.0)
    engine, stop, task = start(kafka, proc)
    try:
        # A second wave once partition 0 is paused: the other partitions must take theirs
        # during the pause (the first wave alone may be done before partition 0 is refused).
        deadline = time.monotonic() + 60
        while not proc.refused and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert proc.refused, "partition 0 was refused"
        await feed(kafka, 100, 200)
        records = await wait_for_count(kafka, out, 600, timeout_s=90)
        stop.set()
        await asyncio.wait_for(task, timeout=60)
    finally:
        await finish((stop, task))
    values = Counter(value for _, _, value in records)
    assert len(values) == 600, "every record emitted"
    assert set(values.values()) == {1}, "and exactly once"
    assert await read_all(kafka, kafka.topics.dlq) == [], "nothing dead-lettered"

    assert len(proc.refused) == 3
    p0 = [(first, when) for partition, first, when in proc.handled if partition == 0]
    assert p0[0][0] == proc.refused[0][0] == 0, "the same records came again"
    came_again = [when for _, when in [*proc.refused[1:], p0[0]]]
    for (_, refused_at), next_at in zip(proc.refused, came_again, strict=True):
        assert 0.95 <= next_at - refused_at < 6, "paused for about the 1 s asked"
    others = [w for p, _, w in proc.handled if p != 0 and proc.refused[0][1] < w < p0[0][1]]
    assert others, "the other partitions kept flowing meanwhile"

    reports = Counter((p, offset) for p, offset, committed in proc.reports if committed)
    assert sorted(reports) == [(p, o) for p in range(3) for o in range(200)]
    assert set(reports.values()) == {1}, "each record reported committed exactly once"
    assert [c for p, _, c in proc.reports if p == 0].count(False) >= 3, "held batches: False"
    assert await committed_offsets(kafka, engine.ctx.group_id("tracked")) == {
        0: 200,
        1: 200,
        2: 200,
    }
    paused = engine.ctx.registry.get_sample_value(
        "shotline_processor_paused_seconds_total", {"processor": "tracked", "reason": "quota"}
    )
    assert paused is not None
    assert 2.8 <= paused < 18


async def test_a_second_instance_joining_and_the_first_leaving_count_each_record_once(
    kafka: KafkaSettings,
) -> None:
    out = await prepare(kafka, per_partition=50)
    first, second = Tracked(), Tracked()
    _, stop_first, task_first = start(kafka, first)
    stop_second, task_second = asyncio.Event(), None
    try:
        await wait_for_count(kafka, out, 100, timeout_s=60)
        _, stop_second, task_second = start(kafka, second)
        fed = 50
        deadline = time.monotonic() + 60
        while not second.handled and time.monotonic() < deadline:
            await feed(kafka, fed, fed + 10)  # a steady stream while the group rebalances
            fed += 10
            await asyncio.sleep(0.2)
        assert second.handled, "the second instance got partitions"
        await feed(kafka, fed, fed + 20)
        stop_first.set()  # leaves mid-stream: its partitions move to the second
        await feed(kafka, fed + 20, fed + 50)
        fed += 50
        await asyncio.wait_for(task_first, timeout=60)
        await wait_for_count(kafka, out, 3 * fed, timeout_s=90)
    finally:
        await finish((stop_first, task_first), (stop_second, task_second))
    reports = Counter((p, offset) for p, offset, ok in first.reports + second.reports if ok)
    assert sorted(reports) == [(p, o) for p in range(3) for o in range(fed)]
    assert set(reports.values()) == {1}, "no record reported committed twice"
    assert {p for p, _, _ in first.handled} == {0, 1, 2}
    assert len({value for _, _, value in await read_all(kafka, out)}) == 3 * fed
