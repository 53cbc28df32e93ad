"""``readback.topic_partitions``: the one way shotline lists a topic's partitions."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient

from processors.runner.readback import topic_partitions
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
