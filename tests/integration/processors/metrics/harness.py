"""A minimal, deterministic exactly-once driver for the billing processors.

It does what the runner contract promises for an ``exactly_once`` processor and nothing
more: consume with ``read_committed``, call ``on_assign`` after the transactional producer
is initialised (which fences and aborts a previous incarnation's open transaction), hand
each partition's records to ``handle``, and commit the emits together with the input offsets
in one Kafka transaction. ``crash_after`` abandons a transaction half-way — emits sent,
nothing committed — at an exact batch, which the real runner (tested under ``shotline
process`` in ``test_runner_*.py``) cannot be told to do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import CollectorRegistry

from processors.runner.contract import Context, Record
from processors.runner.readback import topic_partitions
from schemas import KafkaSettings, ProjectConfig


class Crashed(Exception):
    """The stand-in stopped in the middle of a transaction on purpose."""


async def run_until_idle(
    processor: Any,
    kafka: KafkaSettings,
    *,
    settings: Mapping[str, Any] | None = None,
    projects: Mapping[str, ProjectConfig] | None = None,
    registry: CollectorRegistry | None = None,
    crash_after: int | None = None,
    idle_s: float = 2.0,
    max_records: int = 200,
    started: bool = False,
) -> int:
    """Run ``processor`` until its input has been idle for ``idle_s``; return batches done."""
    ctx = Context(
        kafka=kafka,
        projects=projects or {},
        registry=registry or CollectorRegistry(),
        settings=settings or {},
    )
    if not started:
        await processor.start(ctx)
    topic = processor.input_topic(kafka.topics)
    group = f"{kafka.topics.prefix}shotline-{processor.name}"
    producer = AIOKafkaProducer(
        **kafka.client_kwargs(), transactional_id=f"{group}-0", enable_idempotence=True
    )
    consumer = AIOKafkaConsumer(
        **kafka.client_kwargs(),
        group_id=group,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        max_poll_records=max_records,
    )
    await producer.start()
    await consumer.start()
    batches = 0
    try:
        partitions = await _wait_partitions(kafka, topic)
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        await processor.on_assign(set(partitions))
        idle_since = asyncio.get_running_loop().time()
        while asyncio.get_running_loop().time() - idle_since < idle_s:
            fetched = await consumer.getmany(timeout_ms=300)
            if not any(fetched.values()):
                continue
            idle_since = asyncio.get_running_loop().time()
            emits = []
            for messages in fetched.values():  # one partition per handle, as the runner does
                batch = [
                    Record(
                        value=processor.input_model.model_validate_json(m.value),
                        key=m.key.decode() if m.key else None,
                        topic=m.topic,
                        partition=m.partition,
                        offset=m.offset,
                        timestamp_ms=m.timestamp,
                    )
                    for m in messages
                ]
                if batch:
                    emits.extend((await processor.handle(batch)).emits)
            offsets = {tp: messages[-1].offset + 1 for tp, messages in fetched.items() if messages}
            await producer.begin_transaction()
            for emit in emits:
                await producer.send(
                    emit.topic,
                    emit.value.model_dump_json().encode(),
                    key=emit.key.encode() if emit.key else None,
                    partition=emit.partition,
                    headers=[(k, v.encode()) for k, v in emit.headers.items()],
                )
            if crash_after is not None and batches >= crash_after:
                await producer.flush()
                raise Crashed  # emits are in the log, uncommitted; offsets untouched
            await producer.send_offsets_to_transaction(offsets, group)
            await producer.commit_transaction()
            batches += 1
    finally:
        await consumer.stop()
        await producer.stop()
        await processor.stop()
    return batches


async def _wait_partitions(kafka: KafkaSettings, topic: str) -> list[int]:
    for _ in range(50):
        parts = (await topic_partitions(kafka, topic))[topic]
        if parts:
            return parts
        await asyncio.sleep(0.1)
    raise TimeoutError(f"topic {topic} has no partitions")
