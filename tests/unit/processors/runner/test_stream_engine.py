"""The FastStream engine in memory (``TestKafkaBroker``): a batch's output reaches the sink,
invalid values become dead letters, a failing publish is not acknowledged, and a processor's
``Backpressure`` holds its partition back without counting or dead-lettering anything."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from faststream.kafka import TestKafkaBroker
from prometheus_client import CollectorRegistry

from examples.plugin_example.flagger import Flagger
from processors.dedupe.logic import normalise
from processors.errors import Backpressure, SinkError
from processors.runner.codec import Encoded
from processors.runner.contract import Batch, Context, HandleResult
from processors.runner.metrics import RunnerMetrics
from processors.runner.settings import RunnerSettings
from processors.runner.stream import StreamEngine
from schemas import DeadLetterRecord, KafkaSettings, ScreenshotRecord
from tests.callbacks_factory import envelope
from tests.unit.processors.runner.memory_consumer import install

TOPIC = "mem.shotline.screenshots.v1"


class MemorySink:
    def __init__(self, fail: bool = False) -> None:
        self.published: list[Encoded] = []
        self.fail = fail

    async def start(self) -> None: ...
    async def stop(self) -> None: ...

    async def publish(self, records: Sequence[Encoded]) -> None:
        if self.fail:
            raise SinkError("broker unavailable")
        self.published.extend(records)


def engine(
    sink: MemorySink, flagger: Flagger | None = None
) -> tuple[StreamEngine, CollectorRegistry, Context]:
    registry = CollectorRegistry()
    ctx = Context(kafka=KafkaSettings(topic_prefix="mem."), projects={}, registry=registry)
    return (
        StreamEngine(flagger or Flagger(), ctx, RunnerSettings(), RunnerMetrics(registry), sink),
        registry,
        ctx,
    )


async def test_batch_output_and_dead_letters_reach_the_sink(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumer = install(monkeypatch, TOPIC)
    sink = MemorySink()
    eng, registry, ctx = engine(sink)
    await eng.processor.start(ctx)
    await eng.partitions_assigned({0})
    shot = normalise(envelope(4), 60_000).model_dump_json().encode()
    async with TestKafkaBroker(eng._broker) as broker:
        await broker.publish(shot, topic=ctx.topics.screenshots, key=b"req-4")
        await broker.publish(b"{broken", topic=ctx.topics.screenshots, key=b"bad")
    assert [(r.topic, r.key) for r in sink.published] == [
        ("mem.shotline.flags.v1", b"req-4"),
        ("mem.shotline.dlq.v1", b"bad"),
    ]
    letter = DeadLetterRecord.model_validate_json(sink.published[1].value)
    assert (letter.processor, letter.value_text) == ("flagger", "{broken")
    processed = registry.get_sample_value(
        "shotline_processor_records_processed_total", {"processor": "flagger"}
    )
    assert processed == 1
    assert (consumer.commits, consumer.committed) == (2, {0: 1}), "each batch, past offset 0"


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, {"processor": "flagger", **labels}) or 0.0


async def test_a_failed_publish_holds_the_partition_and_commits_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumer = install(monkeypatch, TOPIC)
    sink = MemorySink(fail=True)
    eng, registry, ctx = engine(sink)
    await eng.processor.start(ctx)
    await eng.partitions_assigned({0})
    shot = normalise(envelope(5), 60_000).model_dump_json().encode()
    async with TestKafkaBroker(eng._broker) as broker:
        await broker.publish(shot, topic=ctx.topics.screenshots, key=b"req-5")
        assert consumer.commits == 0
        assert consumer.seeks == [(0, 0)], "rewound to the batch's first record"
        assert consumer.paused == {0}, "paused for a backoff; the other partitions flow"
        assert 0 in eng.holds
    eng.holds.close()
    assert sample(registry, "shotline_processor_handle_failures_total", kind="publish") == 1
    assert sample(registry, "shotline_processor_records_processed_total") == 0


class Throttled(Flagger):
    """Raises ``Backpressure`` for its first ``refusals`` batches."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals
        self.calls = 0

    async def handle(self, batch: Batch[ScreenshotRecord]) -> HandleResult:
        self.calls += 1
        if self.refusals:
            self.refusals -= 1
            raise Backpressure(0.05, "quota")
        return await super().handle(batch)


async def test_backpressure_holds_the_partition_then_the_same_records_come_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumer = install(monkeypatch, TOPIC)
    sink = MemorySink()
    throttled = Throttled(refusals=1)
    eng, registry, ctx = engine(sink, throttled)
    await throttled.start(ctx)
    await eng.partitions_assigned({0})
    shot = normalise(envelope(6), 60_000).model_dump_json().encode()
    async with TestKafkaBroker(eng._broker) as broker:
        await broker.publish(shot, topic=ctx.topics.screenshots, key=b"req-6")
        assert throttled.calls == 1, "no retry: Backpressure is not a failure"
        assert (consumer.commits, consumer.seeks, consumer.paused) == (0, [(0, 0)], {0})
        assert sink.published == [], "nothing published, nothing dead-lettered"
        assert sample(registry, "shotline_processor_paused_partitions") == 1
        await asyncio.sleep(0.2)
        assert consumer.paused == set()
        assert consumer.resumes == [0]
        await broker.publish(shot, topic=ctx.topics.screenshots, key=b"req-6")  # redelivered
    assert [(r.topic, r.key) for r in sink.published] == [("mem.shotline.flags.v1", b"req-6")]
    assert consumer.committed == {0: 1}
    assert sample(registry, "shotline_processor_paused_partitions") == 0
    assert 0.04 <= sample(registry, "shotline_processor_paused_seconds_total", reason="quota") < 1
    assert sample(registry, "shotline_processor_handle_failures_total", kind="retriable") == 0
