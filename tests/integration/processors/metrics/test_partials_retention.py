"""Restore never silently skips partials that retention deleted: it replays from the
checkpoint when they exist and stops with ``FatalError`` when they are gone."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete

from processors.errors import FatalError
from processors.metrics.client import ensure_partials_topic, partials_topic, read_partials
from schemas import KafkaSettings
from schemas.usage import UsagePartial

pytestmark = pytest.mark.kafka


async def _write_partials(kafka: KafkaSettings, count: int) -> None:
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all")
    await producer.start()
    try:
        for second in range(count):
            value = UsagePartial(project="acme", second=second, images=1).model_dump_json()
            await producer.send_and_wait(partials_topic(kafka.topics), value.encode(), partition=0)
    finally:
        await producer.stop()


async def _delete_before(kafka: KafkaSettings, offset: int) -> None:
    """What retention does: move the log start offset of partition 0 up to ``offset``."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        tp = TopicPartition(partials_topic(kafka.topics), 0)
        await admin.delete_records({tp: RecordsToDelete(offset)})
    finally:
        await admin.close()


async def test_replay_after_a_checkpoint_still_retained_returns_the_whole_tail(
    kafka: KafkaSettings,
) -> None:
    await ensure_partials_topic(kafka)
    await _write_partials(kafka, 6)
    await _delete_before(kafka, 3)  # offsets 0..2 gone; checkpoint 2 needs 3.. only
    tail = await read_partials(kafka, 0, after=2)
    assert [offset for offset, _ in tail] == [3, 4, 5]
    assert [p.second for _, p in tail] == [3, 4, 5]


async def test_replay_whose_partials_were_deleted_by_retention_is_fatal(
    kafka: KafkaSettings,
) -> None:
    await ensure_partials_topic(kafka)
    await _write_partials(kafka, 6)
    await _delete_before(kafka, 4)  # checkpoint 1 needs offsets 2 and 3: deleted
    with pytest.raises(FatalError, match=r"partials 2\.\.3 .* deleted by retention"):
        await read_partials(kafka, 0, after=1)
