"""Where the ``e2e`` bench's lag comes from: each screenshot's delay per hop of the record path.

A screenshot's end-to-end lag runs from the time its first delivery was due to the time the
bench read its enriched record. The stages' records split it into four hops, each from when
one side sent (or was due to send) to when the next sent:

* ``ingest``: the first ``shotline.callbacks.v1`` record's timestamp - the due time;
* ``dedupe``: the ``shotline.screenshots.v1`` record's timestamp - the raw record's;
* ``enrich``: the ``shotline.screenshots.enriched.v1`` record's timestamp - the screenshot's;
* ``read``: when the bench's watcher read the enriched record - its timestamp.

A record's timestamp is its CreateTime, which each stage's producer sets when it sends it.
After a step, ``stage_stamps`` reads the step's records back from the three topics (from the
offsets ``end_offsets`` gave before the step, to the end); ``hop_delays`` is the arithmetic.
The raw and screenshot topics are keyed by the object, so the requestId is read from the
value with ``schemas.wire``'s decoders (the pydantic model where a twin declines); the
enriched topic is keyed by requestId.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, NamedTuple

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from schemas import CallbackEnvelope, KafkaSettings, ScreenshotRecord
from schemas.wire import decode_envelope, decode_screenshot
from shotline.simulate.stats import quantile

__all__ = [
    "HOPS",
    "HopDelay",
    "Stamps",
    "end_offsets",
    "hop_delays",
    "hop_summary",
    "raw_request_id",
    "screenshot_request_id",
    "stage_stamps",
    "topic_partitions",
]

HOPS = ("ingest", "dedupe", "enrich", "read")
READ_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class HopDelay:
    """One hop's delays over the screenshots seen at both of its ends (ms), and how many of
    the step's screenshots were missing from one end or the other."""

    p50_ms: float
    p90_ms: float
    p99_ms: float
    count: int
    missing: int


class Stamps(NamedTuple):
    """Per requestId, when (Unix seconds) its first record was sent to each topic."""

    raw: dict[str, float]
    screenshots: dict[str, float]
    enriched: dict[str, float]


def hop_delays(
    due: Mapping[str, float],
    raw: Mapping[str, float],
    screenshots: Mapping[str, float],
    enriched: Mapping[str, float],
    arrivals: Mapping[str, float],
) -> dict[str, HopDelay]:
    """Each hop's delays over the requestIds of ``due`` (all in Unix seconds), in ``HOPS``
    order. A screenshot missing from either end of a hop is left out of it and counted in
    its ``missing``; a hop nobody crossed has NaN quantiles."""
    ends = (due, raw, screenshots, enriched, arrivals)
    out: dict[str, HopDelay] = {}
    for name, (start, end) in zip(HOPS, pairwise(ends), strict=True):
        delays = [(end[rid] - start[rid]) * 1000 for rid in due if rid in start and rid in end]
        if delays:
            p50, p90, p99 = (quantile(delays, q) for q in (0.5, 0.9, 0.99))
        else:
            p50 = p90 = p99 = float("nan")
        out[name] = HopDelay(p50, p90, p99, len(delays), len(due) - len(delays))
    return out


def hop_summary(delays: Mapping[str, HopDelay]) -> str:
    """Each hop's p50/p99 in ms, ``ingest 122/176, dedupe 187/474, ...``, with
    ``(n missing)`` after a hop that lacks screenshots and ``-`` for one nobody crossed."""
    parts = []
    for name, hop in delays.items():
        text = f"{name} {hop.p50_ms:.0f}/{hop.p99_ms:.0f}" if hop.count else f"{name} -"
        parts.append(text + (f" ({hop.missing} missing)" if hop.missing else ""))
    return ", ".join(parts)


def raw_request_id(value: bytes) -> str | None:
    """The requestId of a ``shotline.callbacks.v1`` record, or ``None`` if it is no envelope."""
    record = decode_envelope(value)
    if record is not None:
        return record.envelope.callback.requestId
    try:
        return CallbackEnvelope.model_validate_json(value).callback.requestId
    except ValidationError:
        return None


def screenshot_request_id(value: bytes) -> str | None:
    """The requestId of a ``shotline.screenshots.v1`` record, or ``None`` if it is none."""
    record = decode_screenshot(value)
    if record is not None:
        return record.request_id
    try:
        return ScreenshotRecord.model_validate_json(value).request_id
    except ValidationError:
        return None


async def topic_partitions(kafka: KafkaSettings, topics: Collection[str]) -> list[TopicPartition]:
    """Every partition of ``topics``, as the broker describes them."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return [
        TopicPartition(topic["topic"], part["partition"])
        for topic in described
        for part in topic["partitions"]
    ]


def _consumer(kafka: KafkaSettings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        **kafka.client_kwargs(), enable_auto_commit=False, isolation_level="read_committed"
    )


async def end_offsets(
    kafka: KafkaSettings, partitions: Collection[TopicPartition]
) -> dict[TopicPartition, int]:
    """Where the committed records of ``partitions`` end now (take them before a step)."""
    consumer = _consumer(kafka)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(list(partitions)))
    finally:
        await consumer.stop()


async def stage_stamps(
    kafka: KafkaSettings,
    since: Mapping[TopicPartition, int],
    wanted: Collection[str],
    timeout_s: float = READ_TIMEOUT_S,
) -> Stamps:
    """The first send time of each ``wanted`` requestId on the raw, screenshots and enriched
    topics, reading the committed records of ``since``'s partitions from its offsets to
    where they end now (or until ``timeout_s``; what was not read is missing)."""
    topics = kafka.topics
    stamps = Stamps({}, {}, {})
    ids: dict[str, tuple[dict[str, float], Callable[[Any], str | None]]] = {
        topics.callbacks: (stamps.raw, lambda r: raw_request_id(r.value)),
        topics.screenshots: (stamps.screenshots, lambda r: screenshot_request_id(r.value)),
        topics.enriched: (stamps.enriched, lambda r: r.key.decode() if r.key else None),
    }
    wanted = set(wanted)
    consumer = _consumer(kafka)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(list(since))
        todo = [tp for tp, end in ends.items() if end > since[tp]]
        if todo:  # a step with no records leaves nothing to read
            consumer.assign(todo)
        for tp in todo:
            consumer.seek(tp, since[tp])
        deadline = time.monotonic() + timeout_s
        while todo and time.monotonic() < deadline:
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                seen, request_id = ids[tp.topic]
                for record in records:
                    rid = request_id(record)
                    sent = record.timestamp / 1000
                    if rid in wanted and sent < seen.get(rid, float("inf")):
                        seen[rid] = sent  # a repeat (Agora's resend) counts from the first
            positions = await asyncio.gather(*(consumer.position(tp) for tp in todo))
            todo = [tp for tp, at in zip(todo, positions, strict=True) if at < ends[tp]]
    finally:
        await consumer.stop()
    return stamps
