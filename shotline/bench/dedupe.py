"""Bench scenario ``dedupe``: records/s through the dedupe processor (real runner,
exactly-once transactions, validation, normalisation) against a raw aiokafka
getmany→produce→commit loop (no validation, no transactions: the floor of a Python
consume-produce loop) over the same input, in the same run.

Fair: both read the same pre-filled topics (same broker, data, 3 partitions; the input has
no transactions, so ``read_committed`` changes nothing), poll up to the runner's
``batch_max_records`` and pin each output batch to its input partition. The headline input
is the worst case, every callback unique; a second run sends each one three times (Agora's
retries). Timed in steady state: first committed batch to all consumed or ``duration_s``.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry

from processors.dedupe.handler import DedupeProcessor
from processors.runner.app import tune_gc
from processors.runner.contract import Context
from processors.runner.engine import Engine
from processors.runner.metrics import RunnerMetrics
from schemas import KafkaSettings
from shotline.bench.model import Measurement
from shotline.settings import load_settings
from shotline.topics import ensure_topics

__all__ = ["measure"]

PARTITIONS = 3


def _template() -> bytes:
    from datetime import UTC, datetime

    from schemas import AgoraCallback, CallbackEnvelope, ChecksumStatus

    callback = AgoraCallback(
        requestId="REQ",
        callbackParam={"cname": "room_1"},
        checksum="0" * 32,
        object="shots/20260301/0123456789abcdef0123456789abcdef_room_1__uid_s_42"
        "__uid_e_video_20260301120000000.jpg",
        code=200,
        msg="Supervise complete",
        channelName="room_1",
        userId="42",
        timestamp=1772366400000,
    )
    env = CallbackEnvelope(
        project="bench",
        received_at=datetime.now(UTC),
        checksum_status=ChecksumStatus.OK,
        callback=callback,
    )
    return env.model_dump_json().encode()


async def _fill(kafka: KafkaSettings, distinct: int, copies: int) -> int:
    """``distinct`` requestIds, each published ``copies`` times back to back (Agora's
    immediate retries), spread over the partitions by id."""
    template = _template()
    producer = AIOKafkaProducer(**kafka.client_kwargs(), linger_ms=20, max_batch_size=1 << 20)
    topic = kafka.topics.callbacks
    await producer.start()
    try:
        futures = []
        batches = [producer.create_batch() for _ in range(PARTITIONS)]
        for i in range(distinct):
            key = f"req-{i}".encode()
            value = template.replace(b'"REQ"', b'"' + key + b'"')
            part = i % PARTITIONS
            for _ in range(copies):
                if batches[part].append(key=key, value=value, timestamp=None) is None:
                    futures.append(await producer.send_batch(batches[part], topic, partition=part))
                    batches[part] = producer.create_batch()
                    batches[part].append(key=key, value=value, timestamp=None)
        for part, batch in enumerate(batches):
            futures.append(await producer.send_batch(batch, topic, partition=part))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return distinct * copies


@dataclass(frozen=True)
class _Rate:
    per_s: float  # records per wall-clock second
    cpu_us: float  # this process's CPU microseconds per record (robust on a busy machine)


async def _steady_rate(count: Callable[[], float], total: int, duration_s: float) -> _Rate:
    """Records/s between the first sample above zero and completion (or the deadline)."""
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
    if first is None or last[1] <= first[1]:
        return _Rate(0.0, float("nan"))
    done = last[1] - first[1]
    return _Rate(done / (last[0] - first[0]), (last[2] - first[2]) * 1e6 / done)


async def _raw_loop(kafka: KafkaSettings, total: int, duration_s: float, max_records: int) -> _Rate:
    """getmany → one batch per partition → send_batch → await → commit: the floor."""
    out = kafka.topics.enriched
    consumer = AIOKafkaConsumer(
        kafka.topics.callbacks,
        **kafka.client_kwargs(),
        group_id=f"bench-raw-{uuid.uuid4().hex[:6]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 << 20,
    )
    producer = AIOKafkaProducer(**kafka.client_kwargs(), linger_ms=5, max_batch_size=1 << 20)
    done = 0

    async def loop() -> None:
        nonlocal done
        while done < total:
            data = await consumer.getmany(timeout_ms=200, max_records=max_records)
            futures = []
            for tp, msgs in data.items():
                batch = producer.create_batch()
                for m in msgs:
                    if batch.append(key=m.key, value=m.value, timestamp=None) is None:
                        futures.append(
                            await producer.send_batch(batch, out, partition=tp.partition)
                        )
                        batch = producer.create_batch()
                        batch.append(key=m.key, value=m.value, timestamp=None)
                futures.append(await producer.send_batch(batch, out, partition=tp.partition))
            await asyncio.gather(*futures)
            if data:
                await consumer.commit({tp: msgs[-1].offset + 1 for tp, msgs in data.items()})
                done += sum(len(msgs) for msgs in data.values())

    await consumer.start()
    await producer.start()
    task = asyncio.create_task(loop())
    try:
        return await _steady_rate(lambda: done, total, duration_s)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.stop()
        await producer.stop()


async def _dedupe(kafka: KafkaSettings, total: int, duration_s: float) -> tuple[_Rate, float]:
    settings = load_settings().processors
    registry = CollectorRegistry()
    ctx = Context(kafka=kafka, projects={}, registry=registry, settings={})
    engine = Engine(DedupeProcessor(), ctx, settings, RunnerMetrics(registry))
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))

    def processed() -> float:
        value = registry.get_sample_value(
            "shotline_processor_records_processed_total", {"processor": "dedupe"}
        )
        return value or 0.0

    try:
        rate = await _steady_rate(processed, total, duration_s)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)
    emitted = registry.get_sample_value(
        "shotline_processor_records_emitted_total", {"processor": "dedupe"}
    )
    return rate, emitted or 0.0


async def _topics(base: KafkaSettings) -> KafkaSettings:
    kafka = base.model_copy(update={"topic_prefix": f"bench{uuid.uuid4().hex[:8]}."})
    await ensure_topics(kafka, kafka.topics.specs(partitions=PARTITIONS))
    return kafka


async def _drop_topics(kafka: KafkaSettings) -> None:
    """Delete a run's topics: each holds hundreds of MB on a shared broker."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        await admin.delete_topics([spec.name for spec in kafka.topics.specs()])
    except KafkaError:
        pass  # best effort: a leftover prefixed topic harms nobody
    finally:
        await admin.close()


async def _measure(duration_s: float) -> Measurement:
    settings = load_settings()
    records = int(min(max(duration_s, 1.0) * 60_000, 600_000))
    unique = await _topics(settings.kafka)
    agora = await _topics(settings.kafka)
    try:
        total = await _fill(unique, records, copies=1)
        tune_gc(settings.processors.gc_threshold)  # as the runner does, for every side
        raw = await _raw_loop(unique, total, duration_s, settings.processors.batch_max_records)
        rate, emitted = await _dedupe(unique, total, duration_s)
        agora_total = await _fill(agora, records // 3, copies=3)
        agora_rate, agora_emitted = await _dedupe(agora, agora_total, duration_s)
    finally:
        await _drop_topics(unique)
        await _drop_topics(agora)
    return Measurement(
        scenario="dedupe",
        unit="records/s",
        value=rate.per_s,
        baseline=raw.per_s,
        baseline_name="raw aiokafka getmany→produce loop",
        extra={
            "input": f"{total} unique callbacks, {PARTITIONS} partitions",
            "emitted": f"{emitted:.0f}",
            "CPU µs/record (dedupe / raw)": f"{rate.cpu_us:.1f} / {raw.cpu_us:.1f}",
            "with Agora's 3x delivery": f"{agora_rate.per_s:,.0f} records/s "
            f"({agora_rate.per_s / raw.per_s:.2f}x, {agora_rate.cpu_us:.1f} CPU µs/record)",
            "3x emitted": f"{agora_emitted:.0f} of {agora_total // 3} ids",
            "load average (1 min) after": f"{os.getloadavg()[0]:.2f}",
        },
    )


def measure(duration_s: float) -> Measurement:
    """Run the scenario on its own event loop (uvloop when available)."""
    try:
        import uvloop

        return uvloop.run(_measure(duration_s))
    except ImportError:
        return asyncio.run(_measure(duration_s))
