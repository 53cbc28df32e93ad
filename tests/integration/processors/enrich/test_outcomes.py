"""``shotline process enrich`` against real Kafka and moto's S3 server: the six outcomes.

One enrich process serves three projects, so the waits overlap:
* ``heads`` (no event source: HeadObject at once, through the fault proxy): a present
  object, one uploaded 10 s after its callback, one never uploaded, and one whose HEADs
  meet 503 SlowDown and timeouts first;
* ``denied`` (a moto server that checks credentials, unknown keys): access denied;
* ``events`` (moto bucket notifications → moto SQS → ``shotline s3-events`` → Kafka, through
  the same proxy so HEADs are counted): enriched from the event with no HeadObject, both
  when the event comes first and when the screenshot does.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from datetime import datetime
from pathlib import Path

import pytest

from schemas import KafkaSettings
from tests.conftest import S3_ENDPOINT
from tests.integration.processors.enrich.faults import FaultProxy, auth_moto
from tests.integration.processors.enrich.harness import (
    dead_by_id,
    drop_bucket,
    drop_queue,
    enriched_by_id,
    feed_screenshots,
    new_bucket,
    notify_to_new_queue,
    project_toml,
    queue_depth,
    s3,
    write_config,
)
from tests.integration.processors.runner.streams import free_port, scrape, spawn, stop, wait_until
from tests.screenshots_factory import screenshot

pytestmark = [pytest.mark.kafka, pytest.mark.s3, pytest.mark.slow]

MISSING_AFTER_S = 15
ENV = {
    "SHOTLINE_ENRICH_EVENT_PROJECTS": '["events"]',
    "SHOTLINE_ENRICH_MISSING_AFTER_S": str(MISSING_AFTER_S),
    "SHOTLINE_ENRICH_HEAD_TIMEOUT_S": "1",
    "SHOTLINE_ENRICH_RETRY_INITIAL_S": "0.2",
    "SHOTLINE_ENRICH_RETRY_MAX_S": "1",
}


def put(bucket: str, key: str, body: bytes, content_type: str = "image/jpeg") -> dict[str, str]:
    s3().put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    head = s3().head_object(Bucket=bucket, Key=key)
    return {"etag": head["ETag"].strip('"'), "type": head["ContentType"]}


async def test_enrich_outcomes_with_events_heads_faults_missing_and_denied(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    heads, events = new_bucket("heads"), new_bucket("events")
    queue = notify_to_new_queue(events)
    proxy = FaultProxy(S3_ENDPOINT, hang_s=3)
    await proxy.start()
    port = free_port()
    procs = []
    with auth_moto(tmp_path) as locked:
        try:
            env = ENV | write_config(
                tmp_path,
                project_toml("heads", heads, proxy.endpoint),
                project_toml("events", events, proxy.endpoint),
                project_toml("denied", "locked", locked, key="AKIAUNKNOWN"),
            )
            log = tmp_path / "enrich.log"
            procs.append(spawn(kafka, ["process", "enrich", "--port", str(port)], env, log))
            bridge = ["s3-events", "--sqs-queue-url", queue, "--project", "events", "--wait-s", "1"]
            procs.append(spawn(kafka, bridge, env, tmp_path / "bridge.log"))

            shots = {
                "present": screenshot(1, "heads", tag="present"),
                "late": screenshot(2, "heads", tag="late"),
                "never": screenshot(3, "heads", tag="never"),
                "flaky": screenshot(4, "heads", tag="flaky"),
                "denied": screenshot(5, "denied", tag="denied"),
                "event-first": screenshot(6, "events", tag="event-first"),
                "shot-first": screenshot(7, "events", tag="shot-first"),
            }
            key = {name: shot.callback.object for name, shot in shots.items()}
            present = put(heads, key["present"], b"\xff\xd8present", "image/jpeg")
            flaky = put(heads, key["flaky"], b"\xff\xd8flaky!")
            proxy.faults[key["flaky"]] = deque(["slowdown", "timeout", "slowdown", "timeout"])
            put(events, key["event-first"], b"\xff\xd8event-first")
            await asyncio.sleep(2)  # the event travels S3 → SQS → bridge → Kafka meanwhile
            sent_at = time.time()
            await feed_screenshots(kafka, list(shots.values()))
            await asyncio.sleep(2)
            put(events, key["shot-first"], b"\xff\xd8shot-first")
            await asyncio.sleep(max(0.0, sent_at + 10 - time.time()))
            late = put(heads, key["late"], b"\xff\xd8late-object")

            async def settled() -> bool:
                done = await enriched_by_id(kafka)
                dead = await dead_by_id(kafka)
                return len(done) >= 5 and len(dead) >= 2

            deadline = time.monotonic() + MISSING_AFTER_S + 60
            while not await settled():
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                await asyncio.sleep(0.5)
            done, dead = await enriched_by_id(kafka), await dead_by_id(kafka)

            s3p = done["present-1"][0]["s3"]
            assert (s3p["size"], s3p["etag"], s3p["content_type"], s3p["source"]) == (
                len(b"\xff\xd8present"),
                present["etag"],
                present["type"],
                "head",
            )
            assert done["late-2"][0]["s3"]["etag"] == late["etag"]
            assert done["flaky-4"][0]["s3"]["etag"] == flaky["etag"]
            assert proxy.heads_by_key[key["flaky"]] >= 5, "4 faults, then the answer"
            assert {
                d["s3"]["source"] for n in ("event-first-6", "shot-first-7") for d in done[n]
            } == {"event"}
            assert proxy.heads[events] == 0, "the event path made HeadObject calls"
            assert proxy.heads[heads] >= 4
            assert set(done) == {"present-1", "late-2", "flaky-4", "event-first-6", "shot-first-7"}

            assert dead["never-3"]["reason"] == "missing_object"
            waited = (
                datetime.fromisoformat(dead["never-3"]["last_failure_at"]).timestamp()
                - shots["never"].event_time.timestamp()
            )
            assert MISSING_AFTER_S - 1 <= waited <= MISSING_AFTER_S + 20, waited
            denied = dead["denied-5"]
            assert (denied["reason"], denied["attempts"]) == ("access_denied", 1), "not at once"
            denied_at = datetime.fromisoformat(denied["last_failure_at"]).timestamp()
            assert denied_at < shots["denied"].event_time.timestamp() + MISSING_AFTER_S
            await wait_until(  # deleted right after Kafka's acknowledgement
                lambda: queue_depth(queue) == 0, timeout_s=15, what="SQS drained by the bridge"
            )
            await wait_until(
                lambda: scrape(port, 'shotline_enrich_missing_total{project="heads"}') == 1.0,
                timeout_s=10,
                what="shotline_enrich_missing_total{project=heads} == 1",
            )
        finally:
            for proc in procs:
                stop(proc)
            await proxy.stop()
            drop_queue(queue)
            drop_bucket(heads)
            drop_bucket(events)
