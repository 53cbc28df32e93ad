"""Bench scenario ``dedupe``: records/s through the dedupe processor (real runner,
exactly-once transactions, validation, normalisation) against a raw aiokafka
getmany→produce→commit loop (no validation, no transactions: the floor of a Python
consume-produce loop) over the same input, in the same run.

Fair: both read the same pre-filled topics (same broker, data, 3 partitions; the input has
no transactions, so ``read_committed`` changes nothing), poll up to the runner's
``batch_max_records`` and pin each output batch to its input partition. The headline input
is the worst case, every callback unique, measured in three pairs on fresh topics (the
machine is shared and noisy: one pair's ratio moved between 0.43x and 0.56x in runs minutes
apart); a last run sends each callback three times (Agora's retries). Timed in steady
state: first committed batch to all consumed or ``duration_s``.
"""

from __future__ import annotations

import asyncio
import os
import tracemalloc
from typing import Any

from aiokafka import AIOKafkaProducer

from processors.dedupe.handler import DedupeProcessor
from processors.dedupe.seen import SeenSet, digest
from processors.runner.app import tune_gc
from processors.runner.settings import RunnerSettings
from schemas import KafkaSettings
from shotline.bench.harness import (
    PARTITIONS,
    Poll,
    PollBody,
    Rate,
    create_scratch_topics,
    drop_topics,
    raw_loop,
    run_engine,
)
from shotline.bench.model import Measurement
from shotline.settings import load_settings

__all__ = ["measure"]


_SID = "0123456789abcdef0123456789abcdef"
_OBJECT = f"shots/20260301/{_SID}_room_1__uid_s_42__uid_e_video_20260301120000000.jpg"


def _template() -> tuple[bytes, list[tuple[str, bytes]]]:
    """The record ingest publishes for one callback (value with requestId ``REQ``, and its
    headers: project and traceparent), made by ingest's own verifier."""
    import orjson

    from ingest.callbacks import Accepted, CallbackVerifier
    from schemas import ChecksumMode, ProjectConfig

    body = {
        "requestId": "REQ",
        "callbackParam": {"cname": "room_1"},
        "callbackData": "",
        "checksum": "0" * 32,
        "object": _OBJECT,
        "code": 200,
        "msg": "Supervise complete",
        "channelName": "room_1",
        "userId": "42",
        "timestamp": 1772366400000,
    }
    project = ProjectConfig(callback_addr="https://example.com/cb", checksum=ChecksumMode.OFF)
    verifier = CallbackVerifier("bench", project, "callbacks")
    accepted = verifier.verify(orjson.dumps(body), b"00-" + b"0" * 32 + b"-" + b"0" * 16 + b"-01")
    assert isinstance(accepted, Accepted), accepted
    return accepted.record.value, list(accepted.record.headers)


async def _fill(kafka: KafkaSettings, distinct: int, copies: int) -> int:
    """``distinct`` screenshots, each published ``copies`` times back to back (Agora's
    immediate retries), spread over the partitions by id, each as ingest publishes it
    (value, key = its object name, headers; a traceparent of its own)."""
    template, headers = _template()
    sid = _SID.encode()
    name = _OBJECT.encode()
    others = [(name, value) for name, value in headers if name != "traceparent"]
    producer = AIOKafkaProducer(**kafka.client_kwargs(), linger_ms=20, max_batch_size=1 << 20)
    topic = kafka.topics.callbacks
    await producer.start()
    try:
        futures = []
        batches = [producer.create_batch() for _ in range(PARTITIONS)]
        for i in range(distinct):
            own = b"%032x" % i
            key = name.replace(sid, own)
            value = template.replace(b'"REQ"', b'"req-%d"' % i).replace(sid, own)
            trace = [*others, ("traceparent", b"00-%032x-%016x-01" % (i, i))]
            part = i % PARTITIONS
            for _ in range(copies):
                if batches[part].append(key=key, value=value, timestamp=None, headers=trace):
                    continue
                futures.append(await producer.send_batch(batches[part], topic, partition=part))
                batches[part] = producer.create_batch()
                batches[part].append(key=key, value=value, timestamp=None, headers=trace)
        for part, batch in enumerate(batches):
            futures.append(await producer.send_batch(batch, topic, partition=part))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return distinct * copies


def _raw_body(kafka: KafkaSettings) -> PollBody:
    """One batch per input partition, pinned to the same output partition, headers passed
    on: the floor of a forwarding loop."""
    out = kafka.topics.enriched

    async def body(producer: AIOKafkaProducer, data: Poll) -> list[asyncio.Future[Any]]:
        futures = []
        for tp, msgs in data.items():
            batch = producer.create_batch()
            for m in msgs:
                headers = list(m.headers)
                if batch.append(key=m.key, value=m.value, timestamp=None, headers=headers):
                    continue
                futures.append(await producer.send_batch(batch, out, partition=tp.partition))
                batch = producer.create_batch()
                batch.append(key=m.key, value=m.value, timestamp=None, headers=headers)
            futures.append(await producer.send_batch(batch, out, partition=tp.partition))
        return futures

    return body


ROUNDS = 3


async def _round(
    base: KafkaSettings, records: int, duration_s: float, runner: RunnerSettings, dedupe_first: bool
) -> tuple[Rate, Rate, float]:
    """One pair on fresh topics: (raw loop, dedupe, records dedupe emitted)."""
    kafka = await create_scratch_topics(base)
    try:
        total = await _fill(kafka, records, copies=1)

        async def raw() -> Rate:
            return await raw_loop(
                kafka, kafka.topics.callbacks, total, duration_s, runner.batch_max_records,
                _raw_body(kafka),
                max_batch_size=1 << 20,
            )  # fmt: skip

        async def dedupe() -> tuple[Rate, float]:
            rate, _, emitted = await run_engine(DedupeProcessor(), kafka, runner, total, duration_s)
            return rate, emitted

        if dedupe_first:
            (rate, emitted), baseline = await dedupe(), await raw()
        else:
            baseline, (rate, emitted) = await raw(), await dedupe()
    finally:
        await drop_topics(kafka)
    return baseline, rate, emitted


async def _measure(duration_s: float) -> Measurement:
    """``ROUNDS`` pairs (raw loop and dedupe on the same fresh input, the order alternating
    so neither always reads a warm page cache); the pair with the median ratio is the
    headline, every pair's ratio is listed. Then one run with Agora's 3x delivery."""
    settings = load_settings()
    records = int(min(max(duration_s, 1.0) * 60_000, 600_000))
    runner = settings.processors
    tune_gc(runner.gc_threshold)  # as the runner does, for every side
    pairs = [
        await _round(settings.kafka, records, duration_s, runner, i % 2 == 1) for i in range(ROUNDS)
    ]
    raw, rate, emitted = sorted(pairs, key=lambda pair: pair[1].per_s / pair[0].per_s)[
        len(pairs) // 2
    ]
    agora = await create_scratch_topics(settings.kafka)
    try:
        agora_total = await _fill(agora, records // 3, copies=3)
        agora_rate, _, agora_emitted = await run_engine(
            DedupeProcessor(), agora, runner, agora_total, duration_s
        )
    finally:
        await drop_topics(agora)
    return Measurement(
        scenario="dedupe",
        unit="records/s",
        value=rate.per_s,
        baseline=raw.per_s,
        baseline_name="raw aiokafka getmany→produce loop",
        extra={
            "input": f"{records} unique callbacks, {PARTITIONS} partitions",
            "emitted": f"{emitted:.0f}",
            "CPU µs/record (dedupe / raw)": f"{rate.cpu_us:.1f} / {raw.cpu_us:.1f}",
            f"ratio of each of {ROUNDS} pairs (median shown)": ", ".join(
                f"{r.per_s:,.0f}/{b.per_s:,.0f} = {r.per_s / b.per_s:.2f}x" for b, r, _ in pairs
            ),
            "with Agora's 3x delivery": f"{agora_rate.per_s:,.0f} records/s "
            f"({agora_rate.per_s / raw.per_s:.2f}x the median pair's raw loop, "
            f"{agora_rate.cpu_us:.1f} CPU µs/record)",
            "3x emitted": f"{agora_emitted:.0f} of {agora_total // 3} ids",
            "seen-set bytes/id": f"{seen_set_bytes_per_id():.0f}",
            "load average (1 min) after": f"{os.getloadavg()[0]:.2f}",
        },
    )


def seen_set_bytes_per_id(count: int = 200_000) -> float:
    """Bytes Python allocates per id dedupe remembers: ``count`` fresh 16-byte digests in a
    one-day seen-set of 24 buckets over three partitions (the digest objects, the set and
    the bucket lists; tracemalloc counts every allocation)."""
    seen = SeenSet(window_ms=86_400_000, buckets=24, max_ids=10 * count)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(count):
            seen.add(i % 3, digest(b"req-%d" % i), (i % 24) * 3_600_000)
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    return used / count


def measure(duration_s: float) -> Measurement:
    """Run the scenario on its own event loop (uvloop when available)."""
    try:
        import uvloop

        return uvloop.run(_measure(duration_s))
    except ImportError:
        return asyncio.run(_measure(duration_s))
