"""The e2e bench's hop read-back against the real broker: from the marked offsets, committed
records only, the first record per requestId, joined across topics keyed differently."""

from __future__ import annotations

import time
import uuid

import pytest
from aiokafka import AIOKafkaProducer

from schemas import EnrichedScreenshot, KafkaSettings
from shotline.bench.hops import end_offsets, stage_stamps, topic_partitions
from tests.callbacks_factory import envelope
from tests.screenshots_factory import screenshot

pytestmark = pytest.mark.kafka


def _raw(i: int) -> tuple[bytes, bytes]:
    """(key, value) as ingest writes them: keyed by the object, the requestId in the value."""
    env = envelope(i)
    return env.callback.object.encode(), env.model_dump_json().encode()


def _screenshot(i: int) -> tuple[bytes, bytes]:
    record = screenshot(i, "p1")
    return record.callback.object.encode(), record.model_dump_json().encode()


def _enriched(i: int) -> tuple[bytes, bytes]:
    record = screenshot(i, "p1")
    enriched = EnrichedScreenshot.model_validate({**record.model_dump(), "s3": None})
    return record.request_id.encode(), enriched.model_dump_json().encode()


async def test_the_read_back_joins_the_topics_by_request_id_from_the_marked_offsets(
    kafka: KafkaSettings,
) -> None:
    topics = kafka.topics
    path = (topics.callbacks, topics.screenshots, topics.enriched)
    partitions = await topic_partitions(kafka, path)
    assert len(partitions) == 9  # the fixture's 3 partitions per topic

    t0 = int(time.time() * 1000) - 60_000
    plain = AIOKafkaProducer(**kafka.producer_kwargs())
    stage = AIOKafkaProducer(**kafka.producer_kwargs(), transactional_id=f"hops-{uuid.uuid4().hex}")
    await plain.start()
    await stage.start()
    try:
        await plain.send_and_wait(topics.callbacks, _raw(1)[1], key=_raw(1)[0], timestamp_ms=t0)
        since = await end_offsets(kafka, partitions)  # the record above is an earlier step's

        for i, at in ((1, 5_000), (1, 6_000), (2, 5_100), (99, 4_000)):  # req-1 resent
            key, value = _raw(i)
            await plain.send_and_wait(topics.callbacks, value, key=key, timestamp_ms=t0 + at)
        async with stage.transaction():  # dedupe and enrich are exactly-once: commit markers
            for i, at in ((1, 7_000), (2, 7_200)):
                key, value = _screenshot(i)
                await stage.send(topics.screenshots, value, key=key, timestamp_ms=t0 + at)
            key, value = _enriched(1)
            await stage.send(topics.enriched, value, key=key, timestamp_ms=t0 + 9_000)
        await stage.begin_transaction()
        key, value = _screenshot(2)
        await stage.send_and_wait(topics.screenshots, value, key=key, timestamp_ms=t0 + 6_500)
        await stage.abort_transaction()  # never committed: not a send that counts
    finally:
        await plain.stop()
        await stage.stop()

    began = time.monotonic()
    stamps = await stage_stamps(kafka, since, ["req-1", "req-2"], timeout_s=20)
    assert time.monotonic() - began < 10  # it stopped at the ends, past the markers

    def since_t0(sent: dict[str, float]) -> dict[str, int]:  # ms, exact
        return {rid: round(at * 1000) - t0 for rid, at in sent.items()}

    assert since_t0(stamps.raw) == {"req-1": 5_000, "req-2": 5_100}
    assert since_t0(stamps.screenshots) == {"req-1": 7_000, "req-2": 7_200}
    assert since_t0(stamps.enriched) == {"req-1": 9_000}
