"""The window is configurable and survives restarts: within it a restarted dedupe still
drops a redelivered id (its memory read back from the output topic, as
``shotline_dedupe_restored_ids_total`` shows); after it the id counts as new again.

Deterministic: the restart runs with a window (120 s) far longer than any restart and group
join, and the run that must have forgotten waits until its own short window (2 s plus one
1 s bucket) has certainly passed since the id's output was committed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
import pytest

from schemas import KafkaSettings
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

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

LONG = {"SHOTLINE_DEDUPE_WINDOW_S": "120", "SHOTLINE_DEDUPE_BUCKETS": "12"}
SHORT_WINDOW_S, SHORT_BUCKETS = 2, 2  # an id is remembered for 2 s to 3 s
SHORT = {"SHOTLINE_DEDUPE_WINDOW_S": str(SHORT_WINDOW_S), "SHOTLINE_DEDUPE_BUCKETS": "2"}


def request_ids(records: list[tuple[int, bytes | None, bytes]]) -> list[str]:
    return sorted(orjson.loads(v)["request_id"] for _, _, v in records)


async def test_restart_remembers_ids_within_the_window_and_forgets_them_after(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    log = tmp_path / "dedupe.log"
    callbacks, screenshots = kafka.topics.callbacks, kafka.topics.screenshots
    await produce(kafka, callbacks, [(b"req-1", envelope_bytes(1))])
    proc = spawn(kafka, ["process", "dedupe", "--port", "0"], LONG, log)
    try:
        await wait_for_count(kafka, screenshots, 1)
    finally:
        assert stop(proc) == 0, log.read_text()
    req_1_emitted_by = time.time()

    # Within the window: a fresh process rebuilds its memory from the output topic.
    await produce(kafka, callbacks, [(b"req-1", envelope_bytes(1)), (b"req-2", envelope_bytes(2))])
    port = free_port()
    proc = spawn(kafka, ["process", "dedupe", "--port", str(port)], LONG, log)
    try:
        restored = "shotline_dedupe_restored_ids_total"
        await wait_until(lambda: (scrape(port, restored) or 0) >= 1, 60, "req-1 restored")
        await wait_for_count(kafka, screenshots, 2)
        records = await stays_at(kafka, screenshots, 2, for_s=3)
    finally:
        assert stop(proc) == 0, log.read_text()
    assert request_ids(records) == ["req-1", "req-2"]

    # After the window (+ one bucket, + 1 s margin) of a run configured with a short one.
    wait_s = req_1_emitted_by + SHORT_WINDOW_S + SHORT_WINDOW_S / SHORT_BUCKETS + 1 - time.time()
    await asyncio.sleep(max(0.0, wait_s))
    await produce(kafka, callbacks, [(b"req-1", envelope_bytes(1))])
    proc = spawn(kafka, ["process", "dedupe", "--port", "0"], SHORT, log)
    try:
        records = await wait_for_count(kafka, screenshots, 3)
    finally:
        assert stop(proc) == 0, log.read_text()
    assert request_ids(records) == ["req-1", "req-1", "req-2"]
