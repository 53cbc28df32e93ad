"""Against the real broker: the at-least-once sink puts a keyed record where Kafka's default
partitioner (the Java client's, and aiokafka's ``send``) puts it, though it hands keyed
records over in batches of its own; pinned records stay pinned and keyless ones still go."""

from __future__ import annotations

from collections import Counter

import pytest
from aiokafka.partitioner import DefaultPartitioner

from processors.runner.codec import Encoded
from processors.runner.sink import AtLeastOnceSink
from schemas import KafkaSettings
from tests.integration.processors.runner.streams import read_all

pytestmark = [pytest.mark.kafka]


async def test_keyed_records_land_where_the_default_partitioner_puts_them(
    kafka: KafkaSettings,
) -> None:
    topic = kafka.topics.enriched
    keyed = [Encoded(topic, None, f"req-{n}".encode(), b'{"k":%d}' % n, []) for n in range(600)]
    pinned = [Encoded(topic, 2, b"pinned", b'{"p":1}', [("h", b"v")])]
    keyless = [Encoded(topic, None, None, b'{"none":%d}' % n, []) for n in range(5)]
    sink = AtLeastOnceSink(kafka)
    await sink.start()
    try:
        await sink.publish([*keyed, *pinned, *keyless])
    finally:
        await sink.stop()

    records = await read_all(kafka, topic, committed=False)
    assert len(records) == len(keyed) + len(pinned) + len(keyless)
    parts = [0, 1, 2]  # the ``kafka`` fixture's topics have 3 partitions
    reference = DefaultPartitioner()
    where = {key: partition for partition, key, _ in records}
    for rec in keyed:
        assert where[rec.key] == reference(rec.key, parts, parts)
    assert where[b"pinned"] == 2
    assert Counter(value for _, key, value in records if key is None) == Counter(
        rec.value for rec in keyless
    )
    assert len({where[rec.key] for rec in keyed}) == len(parts)  # all partitions were used
