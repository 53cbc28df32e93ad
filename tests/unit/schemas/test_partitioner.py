"""The native partitioner places every key exactly where aiokafka's (and the Java
client's) default partitioner does."""

from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from schemas.partitioner import kafka_partitioner, murmur2


def test_murmur2_equals_aiokafkas_on_every_length() -> None:
    draw = random.Random(7)
    for length in range(300):
        for _ in range(5):
            key = draw.randbytes(length)
            assert murmur2(key) == aiokafka_murmur2(key)


def test_partition_equals_the_default_partitioners() -> None:
    draw = random.Random(11)
    reference = DefaultPartitioner()
    for count in (1, 3, 6, 12, 50):
        parts = list(range(count))
        for _ in range(500):
            key = draw.randbytes(draw.randint(1, 120))
            assert kafka_partitioner(key, parts, parts) == reference(key, parts, parts)


def test_a_keyless_record_goes_to_an_available_partition() -> None:
    for _ in range(50):
        assert kafka_partitioner(None, [0, 1, 2, 3], [2, 3]) in {2, 3}
    assert kafka_partitioner(None, [0, 1], []) in {0, 1}
