"""Holding a partition: rewound and paused for the time asked, resumed by a timer, paused
again after a rebalance (which resumes everything) only while the hold lasts."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from processors.runner.hold import Holds
from processors.runner.metrics import RunnerMetrics
from tests.unit.processors.runner.memory_consumer import MemoryConsumer

TOPIC = "mem.in"


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def holds() -> tuple[Holds, MemoryConsumer, Clock, CollectorRegistry]:
    registry = CollectorRegistry()
    clock = Clock()
    return Holds(TOPIC, "p", RunnerMetrics(registry), clock), MemoryConsumer(TOPIC), clock, registry


async def test_a_hold_rewinds_pauses_and_a_timer_resumes_it() -> None:
    held, consumer, clock, registry = holds()
    held.hold(consumer, 1, 40, 0.05, "quota")
    assert (consumer.seeks, consumer.paused) == ([(1, 40)], {1})
    assert 1 in held
    assert (
        registry.get_sample_value("shotline_processor_paused_partitions", {"processor": "p"}) == 1
    )
    clock.now += 0.05
    await asyncio.sleep(0.1)
    assert consumer.paused == set()
    assert 1 not in held
    seconds = registry.get_sample_value(
        "shotline_processor_paused_seconds_total", {"processor": "p", "reason": "quota"}
    )
    assert seconds == pytest.approx(0.05)
    assert (
        registry.get_sample_value("shotline_processor_paused_partitions", {"processor": "p"}) == 0
    )


async def test_after_a_rebalance_only_unexpired_holds_are_paused_again() -> None:
    held, consumer, clock, _ = holds()
    held.hold(consumer, 0, 7, 10.0, "quota")
    held.hold(consumer, 2, 9, 10.0, "quota")
    consumer.paused.clear()  # a rebalance: fresh assignment, nothing paused
    clock.now += 5
    held.reapply(consumer, {0, 1})
    assert consumer.paused == {0}, "partition 1 was not held; 2 was not reassigned"
    clock.now += 6
    consumer.paused.clear()
    held.reapply(consumer, {0, 2})
    assert consumer.paused == set(), "expired: the timer is about to resume them anyway"
    held.close()


async def test_a_partition_no_longer_assigned_is_not_held() -> None:
    held, consumer, _, _ = holds()
    consumer.tps.clear()
    held.hold(consumer, 1, 40, 1.0, "publish")
    assert (consumer.seeks, consumer.paused) == ([], set())
    assert 1 not in held
