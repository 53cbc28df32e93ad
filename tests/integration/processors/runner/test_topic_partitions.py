"""``readback.topic_partitions``: the one way shotline lists a topic's partitions; and
``readback.ranges_since``: the offsets a read of what came since a time covers."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from processors.runner.readback import ranges_since, read_range, reader, topic_partitions
from schemas import KafkaSettings


async def test_lists_each_topic_partitions_and_empty_for_a_missing_one(
    kafka: KafkaSettings,
) -> None:
    topics = kafka.topics
    missing = f"{topics.prefix}no-such-topic"
    found = await topic_partitions(kafka, topics.callbacks, topics.dlq, missing)
    assert found == {topics.callbacks: [0, 1, 2], topics.dlq: [0], missing: []}  # one DLQ partition
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        assert missing not in await admin.list_topics(), "asking must not create it"
    finally:
        await admin.close()


async def test_ranges_since_start_at_the_first_record_stamped_since_and_end_at_the_end(
    kafka: KafkaSettings,
) -> None:
    topic = kafka.topics.callbacks
    p0, p1, p2 = (TopicPartition(topic, p) for p in range(3))
    producer = AIOKafkaProducer(**kafka.client_kwargs())
    await producer.start()
    try:
        for n, stamp in enumerate([1_000, 2_000, 3_000, 4_000]):
            await producer.send_and_wait(topic, b"%d" % n, partition=0, timestamp_ms=stamp)
        await producer.send_and_wait(topic, b"old", partition=1, timestamp_ms=1_000)
    finally:
        await producer.stop()
    consumer = reader(kafka)
    await consumer.start()
    try:
        consumer.assign([p0, p1, p2])
        spans = await ranges_since(consumer, [p0, p1, p2], 2_500)
        assert spans == {p0: (2, 4), p1: (1, 1), p2: (0, 0)}, "none that new: (end, end)"
        read = [msg.value async for _, msg in read_range(consumer, spans)]
        assert read == [b"2", b"3"]
    finally:
        await consumer.stop()
