"""Scaffolding the processor bench scenarios share: steady-state rate sampling, a raw
aiokafka consume-produce-commit loop (the scenario supplies only its per-poll body), a
processor ``Engine`` run on a fresh registry, and scratch topic sets.

Deliberately no ``measure`` here: the bench runner takes every module in
``shotline.bench`` with a module-level ``measure`` for a scenario.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry

from processors.runner.contract import Context, Processor
from processors.runner.engine import Engine
from processors.runner.metrics import RunnerMetrics
from processors.runner.settings import RunnerSettings
from schemas import KafkaSettings
from shotline.topics import ensure_topics

__all__ = [
    "PARTITIONS",
    "Poll",
    "PollBody",
    "Rate",
    "create_scratch_topics",
    "drop_topics",
    "raw_loop",
    "run_engine",
    "steady_rate",
]

PARTITIONS = 3

Poll = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
# Produces one poll's output; returns the delivery futures the loop awaits before committing.
PollBody = Callable[[AIOKafkaProducer, Poll], Awaitable[list["asyncio.Future[Any]"]]]


@dataclass(frozen=True)
class Rate:
    per_s: float  # units per wall-clock second
    cpu_us: float  # this process's CPU microseconds per unit (robust on a busy machine)


async def steady_rate(count: Callable[[], float], total: float, duration_s: float) -> Rate:
    """Units/s from the first sample above zero to ``total`` (or ``duration_s`` later), and
    the CPU this process spent per unit meanwhile; ``Rate(0, nan)`` if nothing moved."""
    deadline = time.monotonic() + duration_s + 30  # generous: group join and restore
    first: tuple[float, float, float] | None = None
    last = (time.monotonic(), 0.0, time.process_time())
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        now, seen, cpu = time.monotonic(), count(), time.process_time()
        if seen > 0 and first is None:
            first = (now, seen, cpu)
            deadline = min(deadline, now + duration_s)
        last = (now, seen, cpu)
        if seen >= total:
            break
    if first is None or last[0] <= first[0] or last[1] <= first[1]:
        return Rate(0.0, float("nan"))
    units = last[1] - first[1]
    return Rate(units / (last[0] - first[0]), (last[2] - first[2]) * 1e6 / units)


async def raw_loop(
    kafka: KafkaSettings,
    source: str,
    total: int,
    duration_s: float,
    max_records: int,
    body: PollBody,
    **producer_kwargs: Any,
) -> Rate:
    """getmany(``source``) → ``body`` → await its futures → commit, until ``total`` records
    are consumed; the steady-state rate of consumed records. A fresh consumer group reads
    from the earliest offset; the producer uses ``linger_ms=5`` plus ``producer_kwargs``."""
    consumer = AIOKafkaConsumer(
        source,
        **kafka.client_kwargs(),
        group_id=f"bench-raw-{uuid.uuid4().hex[:6]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 << 20,
    )
    producer = AIOKafkaProducer(**kafka.client_kwargs(), linger_ms=5, **producer_kwargs)
    done = 0

    async def loop() -> None:
        nonlocal done
        while done < total:
            data = await consumer.getmany(timeout_ms=200, max_records=max_records)
            await asyncio.gather(*await body(producer, data))
            if data:
                await consumer.commit({tp: msgs[-1].offset + 1 for tp, msgs in data.items()})
                done += sum(len(msgs) for msgs in data.values())

    await consumer.start()
    await producer.start()
    task = asyncio.create_task(loop())
    try:
        return await steady_rate(lambda: done, total, duration_s)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.stop()
        await producer.stop()


async def run_engine(
    processor: Processor[Any], kafka: KafkaSettings, runner: RunnerSettings, total: float,
    duration_s: float, section: Mapping[str, object] | None = None,
) -> tuple[Rate, float, float]:  # fmt: skip
    """Run ``processor`` in the real runner ``Engine`` (fresh ``CollectorRegistry``, no
    projects, ``section`` as its settings) until it processed ``total`` records or
    ``duration_s`` of steady state passed, then stop it. Returns (steady-state rate,
    records processed, records emitted) read from the runner's counters."""
    registry = CollectorRegistry()
    ctx = Context(kafka=kafka, projects={}, registry=registry, settings=section or {})
    engine = Engine(processor, ctx, runner, RunnerMetrics(registry))
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))
    labels = {"processor": processor.name}

    def processed() -> float:
        return registry.get_sample_value("shotline_processor_records_processed_total", labels) or 0

    try:
        rate = await steady_rate(processed, total, duration_s)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)
    emitted = registry.get_sample_value("shotline_processor_records_emitted_total", labels)
    return rate, processed(), emitted or 0.0


async def create_scratch_topics(base: KafkaSettings) -> KafkaSettings:
    """``base`` with a fresh ``bench<hex>.`` topic prefix, all its topics created."""
    kafka = base.model_copy(update={"topic_prefix": f"bench{uuid.uuid4().hex[:8]}."})
    await ensure_topics(kafka, kafka.topics.specs(partitions=PARTITIONS))
    return kafka


async def drop_topics(kafka: KafkaSettings) -> None:
    """Delete every topic under the run's prefix (processors' internal ones included):
    each holds hundreds of MB on a shared broker."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        names = [n for n in await admin.list_topics() if n.startswith(kafka.topic_prefix)]
        await admin.delete_topics(names)
    except KafkaError:
        pass  # best effort: a leftover prefixed topic harms nobody
    finally:
        await admin.close()
