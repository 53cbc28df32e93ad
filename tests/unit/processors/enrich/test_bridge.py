"""The SQS bridge deletes a message only after Kafka acknowledged every record of it
(fakes for SQS and the producer; the real path runs in tests/integration/processors/enrich)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.errors import KafkaTimeoutError

from schemas import KafkaSettings
from shotline.s3events_cmd import Bridge
from tests.screenshots_factory import s3_event


class FakeSqs:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.deleted += [entry["ReceiptHandle"] for entry in Entries]
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


class FakeProducer:
    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.sent: list[tuple[str, bytes]] = []

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[None]:
        self.sent.append((topic, key))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.fail:
            future.set_exception(KafkaTimeoutError())
        else:
            future.set_result(None)
        return future


MESSAGES = [
    {"Body": s3_event("b", "k1", 1, "e").decode(), "ReceiptHandle": "r1"},
    {"Body": "not an S3 notification", "ReceiptHandle": "r2"},
    {"Body": '{"Service":"Amazon S3","Event":"s3:TestEvent"}', "ReceiptHandle": "r3"},
]


async def test_acknowledged_messages_are_deleted_and_invalid_ones_left_in_the_queue() -> None:
    sqs, producer = FakeSqs(), FakeProducer(fail=False)
    bridge = Bridge(KafkaSettings(topic_prefix="x."), sqs, "q")
    await bridge._forward(producer, MESSAGES)  # type: ignore[arg-type]
    assert producer.sent == [("x.shotline.s3events.v1", b"b/k1")]
    assert sqs.deleted == ["r1", "r3"]
    assert bridge.counts.labels("invalid")._value.get() == 1


async def test_nothing_is_deleted_when_kafka_does_not_acknowledge() -> None:
    sqs, producer = FakeSqs(), FakeProducer(fail=True)
    bridge = Bridge(KafkaSettings(), sqs, "q")
    await bridge._forward(producer, MESSAGES)  # type: ignore[arg-type]
    assert sqs.deleted == []
    assert bridge.counts.labels("failed")._value.get() == 2
