"""Dedupe against the real broker: Agora-style triple delivery gives one record each."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest

from schemas import KafkaSettings, TopicSpec
from shotline.topics import ensure_topics
from tests.callbacks_factory import envelope_bytes
from tests.integration.processors.runner.streams import (
    free_port,
    produce,
    scrape,
    spawn,
    stays_at,
    stop,
    wait_for_count,
    wait_until,
)

pytestmark = [pytest.mark.kafka]


async def test_each_callback_delivered_three_times_gives_one_screenshot(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    topics = kafka.topics
    n = 300
    # Agora retries immediately: each callback arrives three times in a row.
    items = [(f"req-{i}".encode(), envelope_bytes(i)) for i in range(n) for _ in range(3)]
    await produce(kafka, topics.callbacks, items)
    proc = spawn(kafka, ["process", "dedupe", "--port", "0"], log=tmp_path / "dedupe.log")
    try:
        records = await wait_for_count(kafka, topics.screenshots, n, timeout_s=60)
        # A little longer: anything beyond n would be a duplicate arriving late.
        records = await stays_at(kafka, topics.screenshots, n, for_s=3)
    finally:
        assert stop(proc) == 0, (tmp_path / "dedupe.log").read_text()
    ids = [orjson.loads(value)["request_id"] for _, _, value in records]
    assert sorted(ids) == sorted(f"req-{i}" for i in range(n))
    first = orjson.loads(records[0][2])
    assert first["consistency"] == {
        "channel_matches": True,
        "uid_matches": True,
        "time_matches": True,
        "time_skew_ms": 0,
    }


async def test_two_processors_share_one_process_port_and_registry(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    flags = f"{kafka.topic_prefix}shotline.flags.v1"
    await ensure_topics(kafka, [TopicSpec(name=flags, partitions=3, replication=1, config={})])
    items = [(f"req-{i}".encode(), envelope_bytes(i)) for i in range(50) for _ in range(3)]
    await produce(kafka, kafka.topics.callbacks, items)
    port = free_port()
    args = ["process", "dedupe", "examples.plugin_example.flagger:processor", "--port", str(port)]
    proc = spawn(kafka, args, log=tmp_path / "both.log")
    try:
        out = await wait_for_count(kafka, flags, 50, timeout_s=60)
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        # dedupe's input (duplicates included) plus flagger's: both count in one registry
        processed = "shotline_processor_records_processed_total"
        await wait_until(lambda: scrape(port, processed) == 150 + 50, 30, "200 processed")
    finally:
        assert stop(proc) == 0, (tmp_path / "both.log").read_text()
    assert len(out) == 50
    assert health.status_code == 200
    assert health.json()["processors"] == {"dedupe": "running", "flagger": "running"}
