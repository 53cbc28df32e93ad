"""The FastStream engine in memory (``TestKafkaBroker``): a batch's output reaches the sink,
invalid values become dead letters, and a failing publish is not acknowledged."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from faststream.kafka import TestKafkaBroker
from prometheus_client import CollectorRegistry

from processors.dedupe.logic import normalise
from processors.runner.codec import Encoded
from processors.runner.contract import Context
from processors.runner.metrics import RunnerMetrics
from processors.runner.settings import RunnerSettings
from processors.runner.sink import PublishError
from processors.runner.stream import StreamEngine
from schemas import DeadLetterRecord, KafkaSettings
from tests.callbacks_factory import envelope
from tests.plugin_example.flagger import Flagger


class MemorySink:
    def __init__(self, fail: bool = False) -> None:
        self.published: list[Encoded] = []
        self.fail = fail

    async def start(self) -> None: ...
    async def stop(self) -> None: ...

    async def publish(self, records: Sequence[Encoded]) -> None:
        if self.fail:
            raise PublishError("broker unavailable")
        self.published.extend(records)


def engine(sink: MemorySink) -> tuple[StreamEngine, CollectorRegistry, Context]:
    registry = CollectorRegistry()
    ctx = Context(kafka=KafkaSettings(topic_prefix="mem."), projects={}, registry=registry)
    flagger = Flagger()
    return (
        StreamEngine(flagger, ctx, RunnerSettings(), RunnerMetrics(registry), sink),
        registry,
        ctx,
    )


async def test_batch_output_and_dead_letters_reach_the_sink() -> None:
    sink = MemorySink()
    eng, registry, ctx = engine(sink)
    await eng.processor.start(ctx)
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


async def test_failed_publish_raises_so_the_batch_is_not_acknowledged() -> None:
    sink = MemorySink(fail=True)
    eng, registry, ctx = engine(sink)
    await eng.processor.start(ctx)
    shot = normalise(envelope(5), 60_000).model_dump_json().encode()
    async with TestKafkaBroker(eng._broker) as broker:
        with pytest.raises(PublishError):
            await broker.publish(shot, topic=ctx.topics.screenshots, key=b"req-5")
    failures = registry.get_sample_value(
        "shotline_processor_handle_failures_total", {"processor": "flagger", "kind": "publish"}
    )
    assert failures == 1
    assert registry.get_sample_value(
        "shotline_processor_records_processed_total", {"processor": "flagger"}
    ) in (None, 0.0)
