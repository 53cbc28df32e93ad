"""``shotline_tally_screenshots_total`` counts a batch once, after the runner committed it —
never for a batch whose transaction aborted and is handed out again."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry

from processors.metrics.logic import ScreenshotView
from processors.metrics.tally import TallyProcessor
from processors.runner.contract import Context, Record
from schemas import KafkaSettings
from tests.integration.metrics.feed import burst

pytestmark = pytest.mark.kafka

MARCH = 1_773_144_000


def records(kafka: KafkaSettings, count: int) -> list[Record[ScreenshotView]]:
    return [
        Record(
            value=ScreenshotView.model_validate_json(shot.payload()),
            key=shot.request_id,
            topic=kafka.topics.screenshots,
            partition=0,
            offset=i,
            timestamp_ms=0,
        )
        for i, shot in enumerate(burst("acme", MARCH, count, "t"))
    ]


async def commit(kafka: KafkaSettings, group: str, offset: int) -> None:
    """What the runner's transaction does to the group: commit ``offset`` for partition 0."""
    tp = TopicPartition(kafka.topics.screenshots, 0)
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.commit({tp: offset})
    finally:
        await consumer.stop()


def billable(registry: CollectorRegistry) -> float:
    value = registry.get_sample_value(
        "shotline_tally_screenshots_total", {"project": "acme", "item": "billable"}
    )
    return value or 0.0


async def test_a_batch_handled_twice_is_counted_once_and_only_after_its_commit(
    kafka: KafkaSettings,
) -> None:
    registry = CollectorRegistry()
    ctx = Context(kafka=kafka, projects={}, registry=registry, settings={})
    tally = TallyProcessor()
    await tally.start(ctx)
    try:
        batch = records(kafka, 10)
        await tally.on_assign({0})
        assert len((await tally.handle(batch)).emits) == 1
        # The transaction aborted: the runner hands the same batch out again.
        assert len((await tally.handle(batch)).emits) == 1
        await asyncio.sleep(1.5)  # more than a commit poll: still nothing committed
        assert billable(registry) == 0
        await commit(kafka, ctx.group_id("tally"), 10)
        for _ in range(50):
            if billable(registry):
                break
            await asyncio.sleep(0.1)
        assert billable(registry) == 10
        await asyncio.sleep(1.5)  # later polls do not count it again
        assert billable(registry) == 10
    finally:
        await tally.stop()


async def test_revoked_partitions_count_only_their_committed_batches(
    kafka: KafkaSettings,
) -> None:
    registry = CollectorRegistry()
    ctx = Context(kafka=kafka, projects={}, registry=registry, settings={})
    tally = TallyProcessor()
    await tally.start(ctx)
    try:
        batch = records(kafka, 10)
        await tally.on_assign({0})
        await tally.handle(batch[:4])
        await tally.handle(batch[4:])
        await commit(kafka, ctx.group_id("tally"), 4)  # the second transaction never committed
        await tally.on_revoke({0})
        assert billable(registry) == 4
        await tally.on_assign({0})
        await commit(kafka, ctx.group_id("tally"), 10)  # e.g. another owner committed 4..9
        await asyncio.sleep(1.5)
        assert billable(registry) == 4  # not ours to count
    finally:
        await tally.stop()
