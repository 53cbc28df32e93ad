"""``kill -9`` of ``shotline process enrich`` mid-stream, then a restart: every screenshot is
enriched (at least once, keyed by requestId) and none is lost, including those that were
pending — waiting for an event that only comes after the restart, or for a HeadObject —
when the process died. Events are published straight to ``shotline.s3events.v1``, as a
store with native Kafka notifications does."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest

from schemas import KafkaSettings, ScreenshotRecord
from tests.conftest import S3_ENDPOINT
from tests.integration.processors.enrich.harness import (
    dead_by_id,
    drop_bucket,
    enriched_by_id,
    feed_screenshots,
    new_bucket,
    project_toml,
    s3,
    write_config,
)
from tests.integration.processors.runner.streams import (
    free_port,
    produce,
    scrape,
    spawn,
    stop,
    wait_until,
)
from tests.screenshots_factory import s3_event, screenshot

pytestmark = [pytest.mark.kafka, pytest.mark.s3, pytest.mark.slow]

N = 1600
HEADS = range(0, N, 10)  # every 10th has no event: found by HeadObject (object uploaded)
ENV = {
    "SHOTLINE_ENRICH_EVENT_WAIT_S": "4",
    "SHOTLINE_PROCESSORS_BATCH_MAX_RECORDS": "50",
    "SHOTLINE_ENRICH_CHECKPOINT_INTERVAL_S": "0.5",
}


async def publish_events(
    kafka: KafkaSettings, bucket: str, shots: list[ScreenshotRecord], indexes: list[int]
) -> None:
    """The S3 events of ``shots[indexes]``, except those found by HeadObject."""
    items = [
        (
            f"{bucket}/{shots[i].callback.object}".encode(),
            s3_event(bucket, shots[i].callback.object, 100 + i, f"e{i}"),
        )
        for i in indexes
        if i not in HEADS
    ]
    await produce(kafka, kafka.topics.s3events, items)


async def wait_all_enriched(
    kafka: KafkaSettings, shots: list[ScreenshotRecord], log: Path
) -> dict[str, list[dict[str, Any]]]:
    deadline = asyncio.get_running_loop().time() + 90
    while True:
        done = await enriched_by_id(kafka)
        if len(done) >= len(shots):
            return done
        assert asyncio.get_running_loop().time() < deadline, (
            f"{len(shots) - len(done)} not enriched\n" + log.read_text()[-3000:]
        )
        await asyncio.sleep(1)


async def test_kill_9_mid_stream_then_restart_leaves_every_screenshot_enriched(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    bucket = new_bucket("restart")
    shots = [screenshot(i, "events", tag="r") for i in range(N)]
    for i in HEADS:
        s3().put_object(Bucket=bucket, Key=shots[i].callback.object, Body=b"\xff\xd8head")
    env = ENV | write_config(tmp_path, project_toml("events", bucket, S3_ENDPOINT))
    log = tmp_path / "enrich.log"
    ports = free_port(), free_port()
    args = ["process", "enrich", "--port"]
    first = spawn(kafka, [*args, str(ports[0])], env, log)
    second = None

    async def events(indexes: list[int]) -> None:
        await publish_events(kafka, bucket, shots, indexes)

    try:
        withheld: list[int] = []
        for start in range(0, N, 100):
            chunk = list(range(start, start + 100))
            await events(chunk[:50])  # these events come before their screenshots
            await feed_screenshots(kafka, [shots[i] for i in chunk])
            if start < N // 2:
                await events(chunk[50:])  # these after
            else:
                withheld += chunk[50:]  # these only after the restart
            if start == N // 2:
                await wait_until(
                    lambda: (scrape(ports[0], "shotline_enrich_pending") or 0) > 0,
                    timeout_s=60,
                    what="screenshots pending in the first process",
                )
                await asyncio.sleep(1.5)  # committed, and in a checkpoint
                done = await enriched_by_id(kafka)
                assert len(done) < N, "all enriched before the kill: feed faster"
                first.send_signal(signal.SIGKILL)
                assert first.wait(timeout=10) == -signal.SIGKILL
                second = spawn(kafka, [*args, str(ports[1])], env, log)
            await asyncio.sleep(0.2)
        await asyncio.sleep(2)
        await events(withheld)
        done = await wait_all_enriched(kafka, shots, log)
        restored = scrape(ports[1], "shotline_enrich_restored_total")
        assert restored is not None
        assert restored > 0, "no pending screenshot was restored from the checkpoint"
    finally:
        stop(first)
        if second is not None:
            assert stop(second) == 0, log.read_text()[-3000:]
        drop_bucket(bucket)
    assert set(done) == {s.request_id for s in shots}
    sources = {rid: {d["s3"]["source"] for d in docs} for rid, docs in done.items()}
    assert all(sources[shots[i].request_id] == {"head"} for i in HEADS)
    assert all("event" in sources[s.request_id] for i, s in enumerate(shots) if i not in HEADS)
    assert await dead_by_id(kafka) == {}


async def test_pending_screenshots_follow_their_partitions_through_rebalances(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    """A second instance joins (partitions move) and the first leaves (they move again)
    while screenshots wait for events that come only afterwards: none is lost."""
    bucket = new_bucket("rebalance")
    shots = [screenshot(i, "events", tag="b") for i in range(600)]
    for i in HEADS:
        if i < len(shots):
            s3().put_object(Bucket=bucket, Key=shots[i].callback.object, Body=b"\xff\xd8head")
    env = ENV | write_config(tmp_path, project_toml("events", bucket, S3_ENDPOINT))
    log = tmp_path / "enrich.log"
    ports = free_port(), free_port()
    a = spawn(kafka, ["process", "enrich", "--port", str(ports[0])], env, log)
    b = None
    try:
        await feed_screenshots(kafka, shots[:300])  # their events come last
        await wait_until(
            lambda: (scrape(ports[0], "shotline_enrich_pending") or 0) > 0,
            timeout_s=60,
            what="screenshots pending in the first instance",
        )
        b = spawn(kafka, ["process", "enrich", "--port", str(ports[1])], env, log)
        await wait_until(
            lambda: (scrape(ports[1], "shotline_processor_assigned_partitions") or 0) > 0,
            timeout_s=60,
            what="the second instance owning partitions",
        )
        await feed_screenshots(kafka, shots[300:])
        await publish_events(kafka, bucket, shots, list(range(300, 600)))
        assert stop(a) == 0, log.read_text()[-3000:]  # its partitions move to b
        await asyncio.sleep(2)
        await publish_events(kafka, bucket, shots, list(range(300)))
        done = await wait_all_enriched(kafka, shots, log)
        restored = scrape(ports[1], "shotline_enrich_restored_total") or 0
        assert restored > 0, "the second instance restored no pending screenshot"
    finally:
        stop(a)
        if b is not None:
            assert stop(b) == 0, log.read_text()[-3000:]
        drop_bucket(bucket)
    assert set(done) == {s.request_id for s in shots}
    assert await dead_by_id(kafka) == {}
