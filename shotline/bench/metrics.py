"""Bench scenario ``metrics``: screenshot records/s through billing's stage 1 (``tally``:
the real runner, validation, exactly-once transactions) against a raw aiokafka loop doing
the same counting by hand (getmany → orjson → count per project-second → produce →
commit, no transactions), over the same input in the same run.

Stage 1 is the one that sees every screenshot; stage 2 (``metrics``) reads one partial per
(project, second, batch). Its partials/s and a correctness check (billable images summed
over shotline.usage.v1 equal the input) go in ``extra``. Input: dedupe's real output
records (``ScreenshotRecord``) for 4 projects at 1,000 screenshots per second, 3 partitions.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client import CollectorRegistry

from processors.dedupe.logic import normalise
from processors.metrics.client import read_usage
from processors.metrics.handler import MetricsProcessor, TallyProcessor
from processors.runner.app import tune_gc
from processors.runner.contract import Context, Processor
from processors.runner.engine import Engine
from processors.runner.metrics import RunnerMetrics
from processors.runner.settings import RunnerSettings
from schemas import AgoraCallback, CallbackEnvelope, ChecksumStatus, KafkaSettings, compact_utc
from shotline.bench.model import Measurement
from shotline.settings import load_settings
from shotline.topics import ensure_topics

__all__ = ["measure"]

PARTITIONS = 3
PROJECTS = ("p0", "p1", "p2", "p3")


def _screenshot(i: int) -> tuple[bytes, bytes]:
    from datetime import UTC, datetime

    shot = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(milliseconds=i)
    utc = compact_utc(shot)
    callback = AgoraCallback(
        requestId=f"req-{i}",
        checksum="0" * 32,
        object=f"s/{utc[:8]}/{i:032x}_room__uid_s_7__uid_e_video_{utc}.jpg",
        code=200,
        channelName="room",
        userId="7",
        timestamp=int(shot.timestamp() * 1000),
    )
    env = CallbackEnvelope(
        project=PROJECTS[i % len(PROJECTS)],
        received_at=shot,
        checksum_status=ChecksumStatus.OK,
        callback=callback,
    )
    return f"req-{i}".encode(), normalise(env, 2_000).model_dump_json().encode()


async def _fill(kafka: KafkaSettings, count: int) -> None:
    producer = AIOKafkaProducer(**kafka.client_kwargs(), linger_ms=20, max_batch_size=1 << 20)
    await producer.start()
    try:
        futures = []
        for i in range(count):
            key, value = _screenshot(i)
            futures.append(await producer.send(kafka.topics.screenshots, value, key=key))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


Rate = tuple[float, float]  # (units/s, this process's CPU µs per unit)


async def _steady_rate(count: Callable[[], float], total: float, duration_s: float) -> Rate:
    """Units/s from the first sample above zero to completion (or ``duration_s`` later), and
    the CPU this process spent per unit meanwhile (robust when the machine is shared)."""
    deadline = time.monotonic() + duration_s + 30  # group join and restore
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
        return 0.0, float("nan")
    units = last[1] - first[1]
    return units / (last[0] - first[0]), (last[2] - first[2]) * 1e6 / units


async def _raw_loop(kafka: KafkaSettings, total: int, duration_s: float) -> Rate:
    consumer = AIOKafkaConsumer(
        kafka.topics.screenshots,
        **kafka.client_kwargs(),
        group_id=f"bench-raw-{uuid.uuid4().hex[:6]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 << 20,
    )
    producer = AIOKafkaProducer(**kafka.client_kwargs(), linger_ms=5)
    out = kafka.topics.enriched  # an existing topic nobody reads in this run
    done = 0

    async def loop() -> None:
        nonlocal done
        while done < total:
            data = await consumer.getmany(timeout_ms=200, max_records=5000)
            futures = []
            for msgs in data.values():
                counts: Counter[tuple[str, str]] = Counter()
                for m in msgs:
                    rec = orjson.loads(m.value)
                    counts[(rec["project"], rec["event_time"][:19])] += 1
                for (project, second), n in counts.items():
                    value = orjson.dumps({"project": project, "second": second, "images": n})
                    futures.append(await producer.send(out, value, key=project.encode()))
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


async def _run(
    processor: Processor[Any], kafka: KafkaSettings, runner: RunnerSettings, total: float,
    duration_s: float, section: Mapping[str, object] | None = None,
) -> tuple[Rate, float, float]:  # fmt: skip
    """(records/s and CPU µs per record in steady state, records processed, emitted)."""
    registry = CollectorRegistry()
    ctx = Context(kafka=kafka, projects={}, registry=registry, settings=section or {})
    engine = Engine(processor, ctx, runner, RunnerMetrics(registry))
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))

    def processed() -> float:
        labels = {"processor": processor.name}
        return registry.get_sample_value("shotline_processor_records_processed_total", labels) or 0

    try:
        rate = await _steady_rate(processed, total, duration_s)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)
    labels = {"processor": processor.name}
    emitted = registry.get_sample_value("shotline_processor_records_emitted_total", labels)
    return rate, processed(), emitted or 0.0


async def _measure(duration_s: float) -> Measurement:
    settings = load_settings()
    records = int(min(max(duration_s, 1.0) * 30_000, 300_000))
    kafka = settings.kafka.model_copy(update={"topic_prefix": f"bench{uuid.uuid4().hex[:8]}."})
    await ensure_topics(kafka, kafka.topics.specs(partitions=PARTITIONS))
    await _fill(kafka, records)
    tune_gc(settings.processors.gc_threshold)
    (raw, raw_cpu) = await _raw_loop(kafka, records, duration_s)
    (tally, tally_cpu), counted, partials = await _run(
        TallyProcessor(), kafka, settings.processors, records, duration_s
    )
    # Stage 2 reads the partials stage 1 wrote (few: one per project-second and batch).
    began = time.monotonic()
    # A snapshot after every batch, so shotline.usage.v1 is complete when it stops.
    every_batch = {"snapshot_interval_s": 0}
    await _run(MetricsProcessor(), kafka, settings.processors, partials, duration_s, every_batch)
    stage2_s = time.monotonic() - began
    billed = sum(r.billable_images for _, r in await read_usage(kafka))
    return Measurement(
        scenario="metrics",
        unit="records/s",
        value=tally,
        baseline=raw,
        baseline_name="raw aiokafka loop counting per project-second (no transactions)",
        extra={
            "input": f"{records} screenshots, {len(PROJECTS)} projects, {PARTITIONS} partitions",
            "stage 2 (metrics)": f"{partials:,.0f} partials billed in {stage2_s:.1f} s "
            "(incl. group join and restore)",
            "billed images == screenshots counted": f"{billed == counted} ({billed:,})",
            "CPU µs/record (this process)": f"{tally_cpu:.1f} vs {raw_cpu:.1f} raw",
        },
    )


def measure(duration_s: float) -> Measurement:
    """Run the scenario on its own event loop (uvloop when available)."""
    try:
        import uvloop

        return uvloop.run(_measure(duration_s))
    except ImportError:
        return asyncio.run(_measure(duration_s))
