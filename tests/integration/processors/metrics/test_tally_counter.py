"""``shotline_tally_screenshots_total`` counts a batch once, in the runner's ``after_commit``
hook — never for a batch whose transaction aborted and is handed out again, nor for one
that was still uncommitted when its partition was revoked."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from processors.metrics.tally import TallyProcessor
from processors.runner.batch import process_batch
from processors.runner.codec import Raw
from processors.runner.contract import CommitHook, Context
from processors.runner.hooks import find_hooks
from processors.runner.metrics import RunnerMetrics
from processors.runner.settings import RunnerSettings
from schemas import KafkaSettings
from tests.integration.processors.metrics.feed import burst

pytestmark = pytest.mark.kafka

MARCH = 1_773_144_000


def raws(kafka: KafkaSettings, count: int, first_offset: int = 0) -> list[Raw]:
    """Consumed screenshots of partition 0, as the runner hands them to ``process_batch``."""
    return [
        Raw(kafka.topics.screenshots, 0, first_offset + i, shot.request_id.encode(), shot.payload())
        for i, shot in enumerate(burst("acme", MARCH, count, f"t{first_offset}"))
    ]


def billable(registry: CollectorRegistry) -> float:
    value = registry.get_sample_value(
        "shotline_tally_screenshots_total", {"project": "acme", "item": "billable"}
    )
    return value or 0.0


async def started(kafka: KafkaSettings) -> tuple[TallyProcessor, CollectorRegistry]:
    registry = CollectorRegistry()
    tally = TallyProcessor()
    await tally.start(Context(kafka=kafka, projects={}, registry=registry, settings={}))
    await tally.on_assign({0})
    return tally, registry


async def test_a_batch_aborted_then_retried_is_counted_once_and_only_after_its_commit(
    kafka: KafkaSettings,
) -> None:
    tally, registry = await started(kafka)
    assert isinstance(tally, CommitHook)
    metrics = RunnerMetrics(CollectorRegistry())
    try:
        batch = raws(kafka, 10)
        first = await process_batch(
            tally, batch, "dlq", RunnerSettings(), metrics, find_hooks(tally)
        )
        assert first.emitted == 1
        assert billable(registry) == 0  # handled, not committed yet
        tally.after_commit(0, batch, committed=False)  # the transaction aborted
        assert billable(registry) == 0
        again = await process_batch(
            tally, batch, "dlq", RunnerSettings(), metrics, find_hooks(tally)
        )
        assert again.emitted == 1
        assert billable(registry) == 0
        tally.after_commit(0, batch, committed=True)
        assert billable(registry) == 10
        tally.after_commit(0, batch, committed=True)  # nothing staged is left to count again
        assert billable(registry) == 10
    finally:
        await tally.stop()


async def test_a_revoked_partition_counts_only_its_committed_batches(
    kafka: KafkaSettings,
) -> None:
    tally, registry = await started(kafka)
    metrics = RunnerMetrics(CollectorRegistry())
    try:
        committed, pending = raws(kafka, 4), raws(kafka, 6, first_offset=4)
        await process_batch(tally, committed, "dlq", RunnerSettings(), metrics, find_hooks(tally))
        tally.after_commit(0, committed, committed=True)
        await process_batch(tally, pending, "dlq", RunnerSettings(), metrics, find_hooks(tally))
        await tally.on_revoke({0})  # the second transaction never committed
        assert billable(registry) == 4
        # Re-assigned, the uncommitted records are handed out again and count once.
        await tally.on_assign({0})
        await process_batch(tally, pending, "dlq", RunnerSettings(), metrics, find_hooks(tally))
        tally.after_commit(0, pending, committed=True)
        assert billable(registry) == 10
    finally:
        await tally.stop()
