"""Reading and replaying ``shotline.dlq.v1``: the aiokafka adapter behind ``shotline dlq``.

Replay re-publishes each dead letter's original value, key and header bytes (exact for
schema_version 2 letters) to its source topic
and source partition (the partition a key hashes to, unless the topic was resized), with an
idempotent ``acks=all`` producer. Replaying twice is safe for dedupe's input (it keys on
requestId) and for every processor that is idempotent on its key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from processors.errors import TopicReadError
from processors.runner.readback import read_range, reader, topic_partitions, whole_log
from schemas import DeadLetterRecord, KafkaSettings

__all__ = ["StoredDeadLetter", "read_dead_letters", "replay_dead_letters"]


@dataclass(frozen=True, slots=True)
class StoredDeadLetter:
    partition: int
    offset: int
    record: DeadLetterRecord


async def read_dead_letters(kafka: KafkaSettings) -> list[StoredDeadLetter]:
    """Every committed, well-formed record of the DLQ topic, oldest first per partition."""
    topic = kafka.topics.dlq
    consumer = reader(kafka)
    found: list[StoredDeadLetter] = []
    try:
        await consumer.start()
        tps = [TopicPartition(topic, p) for p in (await topic_partitions(kafka, topic))[topic]]
        if not tps:
            return []
        async for tp, msg in read_range(consumer, await whole_log(consumer, tps)):
            try:
                record = DeadLetterRecord.model_validate_json(msg.value or b"")
            except ValidationError:
                continue  # not ours to list: the DLQ holds only runner records
            found.append(StoredDeadLetter(tp.partition, msg.offset, record))
    except KafkaError as exc:
        raise TopicReadError(f"cannot read {topic}: {exc}") from exc
    finally:
        await consumer.stop()
    return found


async def replay_dead_letters(kafka: KafkaSettings, letters: Sequence[DeadLetterRecord]) -> int:
    """Publish each letter's original record back to its source; the number published."""
    producer = AIOKafkaProducer(**kafka.producer_kwargs(), acks="all", enable_idempotence=True)
    try:
        await producer.start()
        futures = []
        for letter in letters:
            parts = await producer.partitions_for(letter.source_topic)
            partition = letter.source_partition if letter.source_partition in parts else None
            futures.append(
                await producer.send(
                    letter.source_topic,
                    letter.value_bytes(),
                    key=letter.key_bytes(),
                    partition=partition,
                    headers=letter.header_bytes(),
                )
            )
        await asyncio.gather(*futures)
    except KafkaError as exc:
        raise TopicReadError(f"replay failed: {exc}") from exc
    finally:
        await producer.stop()
    return len(letters)
