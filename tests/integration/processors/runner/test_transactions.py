"""The exactly-once mechanism itself, against the real broker: a poll's partition batches commit
in one transaction; a member a rebalance left behind (a zombie) cannot commit offsets, its
transaction aborts; a new owner's offset fetch waits for an open transaction's offsets; a
restarted instance fences its predecessor's open transaction; and dedupe's restore reads only
what committed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import ProducerFenced

from processors.dedupe.store import OutputLog
from processors.errors import FatalError, SinkError
from processors.runner.codec import Encoded
from processors.runner.kip447 import EngineKafkaConsumer, GroupMember, fence_by_generation
from processors.runner.sink import TransactionalSink
from schemas import KafkaSettings, TopicSpec
from shotline.topics import ensure_topics
from tests.integration.processors.runner.streams import read_all

pytestmark = [pytest.mark.kafka]


def GROUP(kafka: KafkaSettings) -> str:
    return f"{kafka.topic_prefix}shotline-dedupe"


def outputs(topic: str, ids: range, partition: int = 0) -> list[Encoded]:
    return [Encoded(topic, partition, f"req-{i}".encode(), b"{}", []) for i in ids]


async def member_of(kafka: KafkaSettings, group: str) -> EngineKafkaConsumer:
    """A started consumer of the input topic, in ``group``, with its partitions assigned."""
    consumer = EngineKafkaConsumer(
        bootstrap_servers=kafka.bootstrap,
        group_id=group,
        enable_auto_commit=False,
        isolation_level="read_committed",
        stable_wait_s=20,
    )
    consumer.subscribe([kafka.topics.callbacks])
    await consumer.start()
    for _ in range(100):
        await consumer.getmany(timeout_ms=100)
        if consumer.assignment():
            return consumer
    raise AssertionError("the consumer was never assigned a partition")


def sink_for(
    kafka: KafkaSettings, consumer: EngineKafkaConsumer, instance: str = "a"
) -> TransactionalSink:
    return TransactionalSink(
        kafka,
        "dedupe",
        kafka.topics.callbacks,
        GROUP(kafka),
        10_000,
        member=consumer.group_member,
        instance=instance,
    )


@contextlib.asynccontextmanager
async def member_and_sink(
    kafka: KafkaSettings, partitions: set[int]
) -> AsyncIterator[tuple[EngineKafkaConsumer, TransactionalSink]]:
    """A group member and its sink, opened for ``partitions``; both stopped afterwards."""
    consumer = await member_of(kafka, GROUP(kafka))
    sink = sink_for(kafka, consumer)
    try:
        await sink.open(partitions)
        yield consumer, sink
    finally:
        await sink.stop()
        await consumer.stop()


async def commit(sink: TransactionalSink, *batches: tuple[int, list[Encoded], int]) -> None:
    done = [sink.submit(partition, records, offset) for partition, records, offset in batches]
    sink.flush()
    await asyncio.gather(*done)


async def committed(kafka: KafkaSettings, partition: int) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=GROUP(kafka))
    await consumer.start()
    try:
        tp = TopicPartition(kafka.topics.callbacks, partition)
        return await consumer.committed(tp)  # type: ignore[no-any-return]
    finally:
        await consumer.stop()


async def test_a_polls_batches_commit_in_one_transaction(kafka: KafkaSettings) -> None:
    topics = kafka.topics
    async with member_and_sink(kafka, {0, 1, 2}) as (_, sink):
        await commit(
            sink,
            (0, outputs(topics.screenshots, range(0, 2)), 2),
            (1, outputs(topics.screenshots, range(2, 4)), 7),
        )
    keys = [key for _, key, _ in await read_all(kafka, topics.screenshots)]
    assert keys == [f"req-{i}".encode() for i in range(4)]
    # Four records and ONE commit marker: one transaction for both partitions' batches.
    ends = await end_offsets(kafka, topics.screenshots)
    assert ends[0] == 5
    assert (await committed(kafka, 0), await committed(kafka, 1)) == (2, 7)


async def end_offsets(kafka: KafkaSettings, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(3)]
        return {tp.partition: end for tp, end in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()


async def test_a_member_left_behind_by_a_rebalance_cannot_commit(kafka: KafkaSettings) -> None:
    topics = kafka.topics
    first = await member_of(kafka, GROUP(kafka))
    before = first.group_member()
    assert before is not None
    assert before.joined
    sink = sink_for(kafka, first)
    await sink.open({0})
    second = await member_of(kafka, GROUP(kafka))  # a rebalance: a new generation
    try:
        for _ in range(100):  # the first member rejoins on its next heartbeat
            await first.getmany(timeout_ms=100)
            now = first.group_member()
            if now is not None and now.generation > before.generation:
                break
        # The zombie: a producer that still commits as the old generation's member.
        zombie = sink_for(kafka, first, instance="zombie")
        zombie._member = lambda: before
        await zombie.open({0})
        with pytest.raises(SinkError, match="IllegalGenerationError"):
            await commit(zombie, (0, outputs(topics.screenshots, range(100, 103)), 3))
        await zombie.stop()
        # Not in the group at all: no commit either (never an unfenced one).
        outside = sink_for(kafka, first, instance="outside")
        outside._member = lambda: GroupMember(-1, "")
        await outside.open({0})
        with pytest.raises(SinkError, match="not a member"):
            await commit(outside, (0, outputs(topics.screenshots, range(200, 203)), 3))
        await outside.stop()
        # The current member commits.
        await commit(sink, (0, outputs(topics.screenshots, range(0, 2)), 2))
    finally:
        await sink.stop()
        await second.stop()
        await first.stop()
    keys = [key for _, key, _ in await read_all(kafka, topics.screenshots)]
    assert keys == [b"req-0", b"req-1"]
    uncommitted = {key for _, key, _ in await read_all(kafka, topics.screenshots, committed=False)}
    assert b"req-100" in uncommitted, "the zombie's records were written, then aborted"
    assert await committed(kafka, 0) == 2


async def test_a_new_owner_waits_for_an_open_transactions_offsets(kafka: KafkaSettings) -> None:
    consumer = await member_of(kafka, GROUP(kafka))
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, transactional_id="t-open")
    fence_by_generation(producer, consumer.group_member)
    await producer.start()
    tp = TopicPartition(kafka.topics.callbacks, 0)
    try:
        await producer.begin_transaction()
        await producer.send_and_wait(kafka.topics.screenshots, b"{}", key=b"k", partition=0)
        await producer.send_offsets_to_transaction({tp: 42}, GROUP(kafka))
        fetching = asyncio.create_task(consumer.committed(tp))
        await asyncio.sleep(1.5)
        assert not fetching.done(), "an open transaction's offset was read as committed"
        await producer.commit_transaction()
        assert await asyncio.wait_for(fetching, 10) == 42
    finally:
        await producer.stop()
        await consumer.stop()


async def test_a_restarted_instance_fences_its_predecessor(kafka: KafkaSettings) -> None:
    topics = kafka.topics
    consumer = await member_of(kafka, GROUP(kafka))
    old = sink_for(kafka, consumer, instance="host-0")
    new = sink_for(kafka, consumer, instance="host-0")
    assert old.transactional_id == f"shotline-dedupe-{topics.callbacks}-host-0"
    await old.open({0})
    try:
        await commit(old, (0, outputs(topics.screenshots, range(0, 5)), 5))
        # The old instance is mid-transaction when it dies (kill -9) and comes back.
        zombie = old._producer
        await zombie.begin_transaction()
        await zombie.send_and_wait(topics.screenshots, b"{}", key=b"req-zombie", partition=0)
        await new.open({0})
        with pytest.raises(ProducerFenced):
            await zombie.commit_transaction()
        with pytest.raises(SinkError):  # and it stays fenced for its next batch
            await commit(old, (0, outputs(topics.screenshots, range(5, 9)), 9))
        await commit(new, (0, outputs(topics.screenshots, range(5, 7)), 7))
    finally:
        await old.stop()
        await new.stop()
        await consumer.stop()
    keys = [key for _, key, _ in await read_all(kafka, topics.screenshots)]
    assert keys == [f"req-{i}".encode() for i in range(7)]
    uncommitted = [key for _, key, _ in await read_all(kafka, topics.screenshots, committed=False)]
    assert b"req-zombie" in uncommitted, "the zombie's record was written, then aborted"
    assert await committed(kafka, 0) == 7


async def test_restore_reads_the_committed_keys_of_only_the_asked_partitions(
    kafka: KafkaSettings,
) -> None:
    topics = kafka.topics
    async with member_and_sink(kafka, {0, 1}) as (_, sink):
        await commit(sink, (0, outputs(topics.screenshots, range(0, 3)), 3))
        await commit(sink, (1, outputs(topics.screenshots, range(0, 1), partition=1), 1))
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


async def test_batches_commit_only_as_the_member_that_handled_them(kafka: KafkaSettings) -> None:
    topics = kafka.topics
    async with member_and_sink(kafka, {0}) as (consumer, sink):
        current = consumer.group_member()
        assert current is not None
        who = [current]
        sink._member = lambda: who[0]
        done = sink.submit(0, outputs(topics.screenshots, range(0, 2)), 2)
        sink.flush()  # handled as `current`...
        who[0] = GroupMember(current.generation + 1, current.member_id)  # ...then a rebalance
        with pytest.raises(SinkError, match="no longer the member"):
            await done
        who[0] = current
        await sink.open({0})  # a failed transaction's producer is not reused
        await commit(sink, (0, outputs(topics.screenshots, range(2, 4)), 4))
    keys = [key for _, key, _ in await read_all(kafka, topics.screenshots)]
    assert keys == [b"req-2", b"req-3"]
    assert await committed(kafka, 0) == 4


async def test_an_oversized_record_fails_its_own_batch_not_the_transaction(
    kafka: KafkaSettings,
) -> None:
    topics = kafka.topics
    async with member_and_sink(kafka, {0, 1}) as (_, sink):
        huge = [Encoded(topics.screenshots, 0, b"req-huge", b"x" * (1 << 20), [])]
        too_big = sink.submit(0, huge, 1)
        fine = sink.submit(1, outputs(topics.screenshots, range(0, 2), partition=1), 2)
        sink.flush()
        with pytest.raises(SinkError, match="exceeds the batch size"):
            await too_big
        await fine
    keys = [key for _, key, _ in await read_all(kafka, topics.screenshots)]
    assert keys == [b"req-0", b"req-1"]
    assert (await committed(kafka, 0), await committed(kafka, 1)) == (None, 2)
