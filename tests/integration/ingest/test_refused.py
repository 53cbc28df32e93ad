"""Against the real broker: a record Kafka refuses for good is reported as refused (so the
drainer can quarantine it), while the records before it are acked."""

from __future__ import annotations

import pytest

from ingest import IngestMetrics, KafkaPublisher, OutRecord
from ingest.publisher import Sent
from schemas import KafkaSettings
from tests.integration.ingest.conftest import end_offsets

pytestmark = pytest.mark.kafka


async def test_a_record_larger_than_kafka_accepts_is_refused_not_retried(
    kafka: KafkaSettings,
) -> None:
    topic = kafka.topics.callbacks
    publisher = KafkaPublisher(kafka.client_kwargs(), IngestMetrics())
    await publisher.start()
    try:
        assert publisher.connected
        small = OutRecord(topic, b"small", b"{}", ())
        too_large = OutRecord(topic, b"big", b"x" * 2_000_000, ())  # above max.request.size
        sent = await publisher.publish_many([small, too_large, small], 5.0)
    finally:
        await publisher.stop(5.0)
    assert sent == [Sent.ACKED, Sent.REFUSED, Sent.FAILED]
    assert sum((await end_offsets(kafka, topic)).values()) == 1
