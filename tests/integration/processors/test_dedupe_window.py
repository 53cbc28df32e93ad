"""The window is configurable and survives restarts: within it a restarted dedupe still
drops a redelivered id; after it the id counts as new again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from schemas import KafkaSettings
from tests.callbacks_factory import envelope_bytes
from tests.integration.processors.streams import produce, spawn, stop, wait_for_count

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


async def test_restart_remembers_ids_within_the_window_and_forgets_them_after(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    env = {"SHOTLINE_DEDUPE_WINDOW_S": "6", "SHOTLINE_DEDUPE_BUCKETS": "6"}
    args = ["process", "dedupe", "--port", "0"]
    log = tmp_path / "dedupe.log"
    callbacks, screenshots = kafka.topics.callbacks, kafka.topics.screenshots
    await produce(kafka, callbacks, [(b"req-1", envelope_bytes(1))])
    proc = spawn(kafka, args, env, log)
    try:
        await wait_for_count(kafka, screenshots, 1)
    finally:
        assert stop(proc) == 0, log.read_text()

    # Within the window: a fresh process rebuilds its memory from the output topic.
    await produce(kafka, callbacks, [(b"req-1", envelope_bytes(1)), (b"req-2", envelope_bytes(2))])
    proc = spawn(kafka, args, env, log)
    try:
        records = await wait_for_count(kafka, screenshots, 2)
        records = await wait_for_count(kafka, screenshots, 3, timeout_s=3)
    finally:
        assert stop(proc) == 0, log.read_text()
    assert sorted(orjson.loads(v)["request_id"] for _, _, v in records) == ["req-1", "req-2"]

    # After window + one bucket, the same id is new again.
    await asyncio.sleep(8)
    await produce(kafka, callbacks, [(b"req-1", envelope_bytes(1))])
    proc = spawn(kafka, args, env, log)
    try:
        records = await wait_for_count(kafka, screenshots, 3)
    finally:
        assert stop(proc) == 0, log.read_text()
    assert sorted(orjson.loads(v)["request_id"] for _, _, v in records) == [
        "req-1",
        "req-1",
        "req-2",
    ]
