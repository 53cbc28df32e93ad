"""Kafka's default key partitioner (the Java client's ``murmur2(key) & 0x7fffffff % n``),
computed in native code.

aiokafka's ``DefaultPartitioner`` hashes every keyed record with a pure-Python murmur2:
about 20 µs for a 77-byte requestId, paid by ingest, dedupe, enrich and the s3-events bridge
for every record they send, so more than the rest of some stages' per-record work. The
``murmurhash2`` wheel computes the same 32-bit MurmurHash2 in about 0.3 µs. Placement is
exactly the Java client's and aiokafka's (``tests/unit/schemas/test_partitioner.py`` checks
them equal), so keyed topics keep their key → partition mapping with any mix of clients.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from murmurhash2 import murmurhash2

__all__ = ["KAFKA_SEED", "kafka_partitioner", "murmur2"]

KAFKA_SEED = 0x9747B28C  # org.apache.kafka.common.utils.Utils.murmur2's seed


def murmur2(key: bytes) -> int:
    """Kafka's murmur2 of ``key`` (unsigned 32-bit, as aiokafka's ``murmur2`` returns it)."""
    return int(murmurhash2(key, KAFKA_SEED))


def kafka_partitioner(
    key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]
) -> int:
    """``AIOKafkaProducer(partitioner=...)``: aiokafka's ``DefaultPartitioner``, hashed in
    native code. No key: a random available partition (any, if none is available)."""
    if key is None:
        return random.choice(available or all_partitions)
    return all_partitions[(murmurhash2(key, KAFKA_SEED) & 0x7FFFFFFF) % len(all_partitions)]
