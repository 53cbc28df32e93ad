"""An at-least-once processor (FastStream subscriber, explicit acks) loses nothing through a
graceful stop and a ``kill -9`` mid-stream: every input gets its output at least once."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import orjson
import pytest

from processors.dedupe.logic import normalise
from schemas import KafkaSettings, TopicSpec
from shotline.topics import ensure_topics
from tests.callbacks_factory import envelope
from tests.integration.processors.runner.streams import (
    produce,
    read_all,
    spawn,
    stop,
    wait_for_count,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

FLAGGER = ["process", "examples.plugin_example.flagger:processor", "--port", "0"]
SMALL_BATCHES = {"SHOTLINE_PROCESSORS_BATCH_MAX_RECORDS": "40"}


async def feed(kafka: KafkaSettings, n: int, pause_s: float) -> None:
    for start in range(0, n, 100):
        shots = [normalise(envelope(i), 60_000) for i in range(start, min(start + 100, n))]
        items = [(s.request_id.encode(), s.model_dump_json().encode()) for s in shots]
        await produce(kafka, kafka.topics.screenshots, items)
        await asyncio.sleep(pause_s)


async def test_sigterm_and_kill_9_mid_stream_lose_no_record(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    flags = f"{kafka.topic_prefix}shotline.flags.v1"
    await ensure_topics(kafka, [TopicSpec(name=flags, partitions=3, replication=1, config={})])
    log = tmp_path / "flagger.log"
    first = spawn(kafka, FLAGGER, SMALL_BATCHES, log)
    feeding = asyncio.create_task(feed(kafka, 2000, pause_s=0.3))
    second = third = None
    try:
        await wait_for_count(kafka, flags, 200, timeout_s=60)
        assert stop(first, signal.SIGTERM, timeout_s=20) == 0, log.read_text()
        second = spawn(kafka, FLAGGER, SMALL_BATCHES, log)
        await wait_for_count(kafka, flags, 800, timeout_s=60)
        assert not feeding.done(), "the stream ended before the kill: feed slower"
        second.send_signal(signal.SIGKILL)
        second.wait(timeout=10)
        third = spawn(kafka, FLAGGER, SMALL_BATCHES, log)
        await feeding
        await wait_for_count(kafka, flags, 2000, timeout_s=90)
        ids = {orjson.loads(v)["request_id"] for _, _, v in await read_all(kafka, flags)}
        deadline = asyncio.get_running_loop().time() + 60
        while len(ids) < 2000 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(1)
            ids = {orjson.loads(v)["request_id"] for _, _, v in await read_all(kafka, flags)}
    finally:
        feeding.cancel()
        for proc in (first, second):
            stop(proc)
        if third is not None:
            assert stop(third) == 0, log.read_text()
    assert ids == {f"req-{i}" for i in range(2000)}
