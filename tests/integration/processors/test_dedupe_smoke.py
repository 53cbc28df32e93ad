"""Dedupe against the real broker: Agora-style triple delivery gives one record each."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from schemas import KafkaSettings
from tests.callbacks_factory import envelope_bytes
from tests.integration.processors.streams import produce, spawn, stop, wait_for_count

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
        records = await wait_for_count(kafka, topics.screenshots, n + 1, timeout_s=3)
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
