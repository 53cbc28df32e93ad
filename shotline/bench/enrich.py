"""Bench scenario ``enrich``: enriched records/s and CPU µs per record, three ways, one run,
one local S3 server (moto at ``SHOTLINE_BENCH_S3_ENDPOINT``, default 127.0.0.1:9000):

* the event path: the enrich processor in the real at-least-once runner (FastStream),
  reading pre-filled screenshots and their S3 events (no HeadObject at all);
* the HeadObject fallback: the same processor, a project without an event source, over
  ``HEAD_OBJECTS`` objects that exist in the bucket (token bucket opened wide);
* the baseline: a plain boto3 ``head_object`` loop in a thread pool over the same objects.

CPU is this process's (``time.process_time``): the processor runs in it; the S3 server and
Kafka are other processes and not counted. The fallback and the baseline run in the same
order on the same objects, so the difference is what enrich adds to (or saves on) boto3.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

import orjson
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry

from processors.dedupe.logic import normalise
from processors.enrich.handler import EnrichProcessor
from processors.objectstore import s3_client
from processors.runner.contract import Context
from processors.runner.metrics import RunnerMetrics
from processors.runner.settings import RunnerSettings
from processors.runner.stream import StreamEngine
from schemas import (
    AgoraCallback,
    CallbackEnvelope,
    ChecksumStatus,
    KafkaSettings,
    ProjectConfig,
    ScreenshotRecord,
    compact_utc,
)
from shotline.bench.harness import Rate, create_scratch_topics, drop_topics, steady_rate
from shotline.bench.model import Measurement
from shotline.settings import load_settings

__all__ = ["measure", "s3_event", "screenshot"]

HEAD_OBJECTS = 2000
MOTO_KEY = "bench"  # moto's server takes any key pair
THREADS = 16


def screenshot(
    i: int, project: str, at: datetime | None = None, tag: str = "req"
) -> ScreenshotRecord:
    """The i-th screenshot record of ``project`` (requestId ``<tag>-<i>``), taken and
    received at ``at`` (default now, millisecond precision); tests build theirs here too."""
    shot = at or datetime.now(UTC)
    shot = shot.replace(microsecond=shot.microsecond // 1000 * 1000)
    utc = compact_utc(shot)
    callback = AgoraCallback(
        requestId=f"{tag}-{i}",
        callbackParam={"cname": "room_1"},
        callbackData="",
        checksum="0" * 32,
        object=f"shots/{utc[:8]}/{i:032x}_room_1__uid_s_42__uid_e_video_{utc}.jpg",
        code=200,
        msg="Supervise complete",
        channelName="room_1",
        userId="42",
        timestamp=int(shot.timestamp() * 1000),
    )
    env = CallbackEnvelope(
        project=project, received_at=shot, checksum_status=ChecksumStatus.OK, callback=callback
    )
    return normalise(env, 60_000)


def _screenshot(i: int, project: str) -> tuple[bytes, bytes, str]:
    """(Kafka key, value, object key) of the i-th screenshot record."""
    record = screenshot(i, project)
    return record.request_id.encode(), record.model_dump_json().encode(), record.callback.object


def s3_event(bucket: str, key: str, size: int, etag: str, sequencer: str | None = None) -> bytes:
    """A one-record S3 ObjectCreated notification as AWS shapes it (key URL-encoded)."""
    obj: dict[str, object] = {"key": quote_plus(key), "size": size, "eTag": etag}
    if sequencer is not None:
        obj["sequencer"] = sequencer
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket}, "object": obj},
    }
    return orjson.dumps({"Records": [record]})


async def _fill(kafka: KafkaSettings, items: dict[str, list[tuple[bytes, bytes]]]) -> None:
    producer = AIOKafkaProducer(**kafka.client_kwargs(), linger_ms=20, max_batch_size=1 << 20)
    await producer.start()
    try:
        futures = []
        for topic, pairs in items.items():
            for key, value in pairs:
                futures.append(await producer.send(topic, value, key=key))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _run_enrich(
    kafka: KafkaSettings,
    project: ProjectConfig,
    total: int,
    duration_s: float,
    section: dict[str, object],
) -> Rate:
    registry = CollectorRegistry()
    ctx = Context(kafka=kafka, projects={"bench": project}, registry=registry, settings=section)
    runner = RunnerSettings()
    engine = StreamEngine(EnrichProcessor(), ctx, runner, RunnerMetrics(registry))
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))

    def enriched() -> float:
        return sum(
            registry.get_sample_value(
                "shotline_enrich_enriched_total", {"project": "bench", "source": s}
            )
            or 0
            for s in ("event", "head")
        )

    try:
        return await steady_rate(enriched, total, duration_s)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)


def _boto3_loop(project: ProjectConfig, keys: list[str], duration_s: float) -> Rate:
    """``head_object`` for each key from ``THREADS`` threads: one client built like enrich's
    (``s3_client``), nothing else."""
    client = s3_client(project, max_pool_connections=THREADS)
    bucket = project.bucket or ""
    deadline = time.monotonic() + duration_s
    began, cpu = time.monotonic(), time.process_time()

    def one(key: str) -> int:
        if time.monotonic() > deadline:
            return 0
        client.head_object(Bucket=bucket, Key=key)
        return 1

    with ThreadPoolExecutor(THREADS) as pool:
        done = sum(pool.map(one, keys))
    wall, used = time.monotonic() - began, time.process_time() - cpu
    return Rate(done / wall, used * 1e6 / max(1, done))


def _drop_bucket(s3: Any, bucket: str) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if objects:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    s3.delete_bucket(Bucket=bucket)


async def _measure(duration_s: float) -> Measurement:
    settings = load_settings()
    endpoint = os.environ.get("SHOTLINE_BENCH_S3_ENDPOINT", "http://127.0.0.1:9000")
    bucket = f"bench-enrich-{uuid.uuid4().hex[:8]}"
    project = ProjectConfig.model_validate(
        {
            "callback_addr": "https://example.com/cb",
            "bucket": bucket,
            "s3_endpoint": endpoint,
            "s3_access_key": MOTO_KEY,
            "s3_secret_key": MOTO_KEY,
            "s3_addressing_style": "path",
        }
    )
    s3 = s3_client(project)
    s3.create_bucket(Bucket=bucket)
    events_n = int(min(max(duration_s, 1.0) * 8_000, 200_000))
    try:
        kafka = await create_scratch_topics(settings.kafka)
        try:
            shots = [_screenshot(i, "bench") for i in range(events_n)]
            events = [
                (f"{bucket}/{k}".encode(), s3_event(bucket, k, 1000 + i, "e"))
                for i, (_, _, k) in enumerate(shots)
            ]
            await _fill(kafka, {kafka.topics.s3events: events})
            await _fill(kafka, {kafka.topics.screenshots: [(k, v) for k, v, _ in shots]})
            event_rate = await _run_enrich(kafka, project, events_n, duration_s, {})
        finally:
            await drop_topics(kafka)
        heads = [_screenshot(i, "bench") for i in range(HEAD_OBJECTS)]
        keys = [k for _, _, k in heads]
        with ThreadPoolExecutor(THREADS) as pool:
            body = b"\xff\xd8" * 500
            list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=body), keys))
        kafka = await create_scratch_topics(settings.kafka)
        try:
            await _fill(kafka, {kafka.topics.screenshots: [(k, v) for k, v, _ in heads]})
            section = {
                "event_projects": [],
                "head_rate": 100_000,
                "head_concurrency": THREADS,
            }
            head_rate = await _run_enrich(kafka, project, HEAD_OBJECTS, duration_s, section)
        finally:
            await drop_topics(kafka)
        baseline = await asyncio.to_thread(_boto3_loop, project, keys, duration_s)
    finally:
        _drop_bucket(s3, bucket)
    return Measurement(
        scenario="enrich",
        unit="records/s",
        value=event_rate.per_s,
        baseline=baseline.per_s,
        baseline_name=f"boto3 head_object loop, {THREADS} threads",
        extra={
            "input": f"{events_n} screenshots + their S3 events; {HEAD_OBJECTS} objects for HEAD",
            "CPU µs/record (event path / boto3 loop)": (
                f"{event_rate.cpu_us:.1f} / {baseline.cpu_us:.1f} "
                f"({baseline.cpu_us / event_rate.cpu_us:.1f}x less)"
            ),
            "HeadObject fallback": f"{head_rate.per_s:,.0f} records/s, "
            f"{head_rate.cpu_us:.1f} CPU µs/record",
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
