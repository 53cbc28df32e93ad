"""The exactly-once mechanism itself, against the real broker: a partition's new owner fences
the old one, whose open transaction (output and offsets) is aborted, and dedupe's restore
reads only what committed."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import ProducerFenced

from processors.dedupe.store import OutputLog
from processors.errors import FatalError, SinkError
from processors.runner.codec import Encoded
from processors.runner.sink import TransactionalSink
from schemas import KafkaSettings, TopicSpec
from shotline.topics import ensure_topics
from tests.integration.processors.runner.streams import read_all

pytestmark = [pytest.mark.kafka]


def GROUP(kafka: KafkaSettings) -> str:
    return f"{kafka.topic_prefix}shotline-dedupe"


def outputs(topic: str, ids: range) -> list[Encoded]:
    return [Encoded(topic, 0, f"req-{i}".encode(), b"{}", []) for i in ids]


async def committed_offset(kafka: KafkaSettings, group: str, tp: TopicPartition) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=group)
    await consumer.start()
    try:
        return await consumer.committed(tp)  # type: ignore[no-any-return]
    finally:
        await consumer.stop()


async def test_new_owner_fences_the_old_and_its_open_transaction_is_aborted(
    kafka: KafkaSettings,
) -> None:
    topics = kafka.topics
    old = TransactionalSink(kafka, "dedupe", topics.callbacks, GROUP(kafka), 60_000)
    new = TransactionalSink(kafka, "dedupe", topics.callbacks, GROUP(kafka), 60_000)
    await old.open({0})
    try:
        await old.commit(0, outputs(topics.screenshots, range(0, 5)), next_offset=5)
        # The old owner is mid-transaction when the partition moves (a zombie).
        zombie = old._producers[0]
        await zombie.begin_transaction()
        await zombie.send_and_wait(topics.screenshots, b"{}", key=b"req-zombie", partition=0)
        await new.open({0})
        with pytest.raises(ProducerFenced):
            await zombie.commit_transaction()
        with pytest.raises(SinkError):  # and it stays fenced for its next batch
            await old.commit(0, outputs(topics.screenshots, range(5, 9)), next_offset=9)
        await new.commit(0, outputs(topics.screenshots, range(5, 7)), next_offset=7)
    finally:
        await old.stop()
        await new.stop()
    keys = [key for _, key, _ in await read_all(kafka, topics.screenshots)]
    assert keys == [f"req-{i}".encode() for i in range(7)]
    uncommitted = [key for _, key, _ in await read_all(kafka, topics.screenshots, committed=False)]
    assert b"req-zombie" in uncommitted, "the zombie's record was written, then aborted"
    tp = TopicPartition(topics.callbacks, 0)
    assert await committed_offset(kafka, GROUP(kafka), tp) == 7


async def test_restore_reads_the_committed_keys_of_only_the_asked_partitions(
    kafka: KafkaSettings,
) -> None:
    topics = kafka.topics
    sink = TransactionalSink(kafka, "dedupe", topics.callbacks, GROUP(kafka), 60_000)
    await sink.open({0, 1})
    try:
        await sink.commit(0, outputs(topics.screenshots, range(0, 3)), next_offset=3)
        one = [Encoded(topics.screenshots, 1, b"req-p1", b"{}", [])]
        await sink.commit(1, one, next_offset=1)
    finally:
        await sink.stop()
    seen: list[tuple[int, bytes]] = []
    log = OutputLog(kafka, topics.screenshots)
    count = await log.replay({0}, since_ms=0, on_key=lambda p, k, _ts: seen.append((p, k)))
    assert count == 3
    assert seen == [(0, b"req-0"), (0, b"req-1"), (0, b"req-2")]
    assert await log.check_partitions(topics.callbacks) == 3


async def test_dedupe_refuses_to_start_when_partition_counts_differ(
    kafka: KafkaSettings,
) -> None:
    odd = f"{kafka.topic_prefix}odd.v1"
    await ensure_topics(kafka, [TopicSpec(name=odd, partitions=2, replication=1, config={})])
    with pytest.raises(FatalError, match="equal, non-zero partition counts"):
        await OutputLog(kafka, odd).check_partitions(kafka.topics.callbacks)
