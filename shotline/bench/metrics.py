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
from collections import Counter
from datetime import timedelta
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from processors.dedupe.logic import normalise
from processors.metrics.client import read_usage
from processors.metrics.handler import MetricsProcessor, TallyProcessor
from processors.runner.app import tune_gc
from schemas import AgoraCallback, CallbackEnvelope, ChecksumStatus, KafkaSettings, compact_utc
from shotline.bench.harness import (
    PARTITIONS,
    Poll,
    PollBody,
    create_scratch_topics,
    drop_topics,
    raw_loop,
    run_engine,
)
from shotline.bench.model import Measurement
from shotline.settings import load_settings

__all__ = ["measure"]
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


def _count_per_second(kafka: KafkaSettings) -> PollBody:
    """The raw loop's body: count each partition's records per (project, second) by hand."""
    out = kafka.topics.enriched  # an existing topic nobody reads in this run

    async def body(producer: AIOKafkaProducer, data: Poll) -> list[asyncio.Future[Any]]:
        futures = []
        for msgs in data.values():
            counts: Counter[tuple[str, str]] = Counter()
            for m in msgs:
                rec = orjson.loads(m.value)
                counts[(rec["project"], rec["event_time"][:19])] += 1
            for (project, second), n in counts.items():
                value = orjson.dumps({"project": project, "second": second, "images": n})
                futures.append(await producer.send(out, value, key=project.encode()))
        return futures

    return body


async def _measure(duration_s: float) -> Measurement:
    settings = load_settings()
    records = int(min(max(duration_s, 1.0) * 30_000, 300_000))
    kafka = await create_scratch_topics(settings.kafka)
    try:
        await _fill(kafka, records)
        tune_gc(settings.processors.gc_threshold)
        raw = await raw_loop(
            kafka, kafka.topics.screenshots, records, duration_s, 5000, _count_per_second(kafka)
        )
        tally, counted, partials = await run_engine(
            TallyProcessor(), kafka, settings.processors, records, duration_s
        )
        # Stage 2 reads the partials stage 1 wrote (few: one per project-second and batch).
        began = time.monotonic()
        # A snapshot after every batch, so shotline.usage.v1 is complete when it stops.
        every_batch = {"snapshot_interval_s": 0}
        await run_engine(
            MetricsProcessor(), kafka, settings.processors, partials, duration_s, every_batch
        )
        stage2_s = time.monotonic() - began
        billed = sum(r.billable_images for _, r in await read_usage(kafka))
        return Measurement(
            scenario="metrics",
            unit="records/s",
            value=tally.per_s,
            baseline=raw.per_s,
            baseline_name="raw aiokafka loop counting per project-second (no transactions)",
            extra={
                "input": (
                    f"{records} screenshots, {len(PROJECTS)} projects, {PARTITIONS} partitions"
                ),
                "stage 2 (metrics)": f"{partials:,.0f} partials billed in {stage2_s:.1f} s "
                "(incl. group join and restore)",
                "billed images == screenshots counted": f"{billed == counted} ({billed:,})",
                "CPU µs/record (this process)": f"{tally.cpu_us:.1f} vs {raw.cpu_us:.1f} raw",
            },
        )
    finally:
        await drop_topics(kafka)


def measure(duration_s: float) -> Measurement:
    """Run the scenario on its own event loop (uvloop when available)."""
    try:
        import uvloop

        return uvloop.run(_measure(duration_s))
    except ImportError:
        return asyncio.run(_measure(duration_s))
