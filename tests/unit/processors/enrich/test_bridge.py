"""The SQS bridge deletes a message only after Kafka acknowledged every record of it
(fakes for SQS and the sink; the real path runs in tests/integration/processors/enrich)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from processors.errors import SinkError
from processors.runner.codec import Encoded
from schemas import KafkaSettings
from shotline.s3events_cmd import Bridge
from tests.screenshots_factory import s3_event


class FakeSqs:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.deleted += [entry["ReceiptHandle"] for entry in Entries]
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


class FakeSink:
    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.sent: list[tuple[str, bytes | None]] = []

    async def start(self) -> None: ...
    async def stop(self) -> None: ...

    async def publish(self, records: Sequence[Encoded]) -> None:
        self.sent += [(r.topic, r.key) for r in records]
        if self.fail:
            raise SinkError("publish failed: KafkaTimeoutError")


MESSAGES = [
    {"Body": s3_event("b", "k1", 1, "e").decode(), "ReceiptHandle": "r1"},
    {"Body": "not an S3 notification", "ReceiptHandle": "r2"},
    {"Body": '{"Service":"Amazon S3","Event":"s3:TestEvent"}', "ReceiptHandle": "r3"},
]


async def test_acknowledged_messages_are_deleted_and_invalid_ones_left_in_the_queue() -> None:
    sqs, sink = FakeSqs(), FakeSink(fail=False)
    bridge = Bridge(KafkaSettings(topic_prefix="x."), sqs, "q", sink=sink)
    await bridge._forward(MESSAGES)
    assert sink.sent == [("x.shotline.s3events.v1", b"b/k1")]
    assert sqs.deleted == ["r1", "r3"]
    assert bridge.counts.labels("invalid")._value.get() == 1


async def test_nothing_is_deleted_when_kafka_does_not_acknowledge() -> None:
    sqs, sink = FakeSqs(), FakeSink(fail=True)
    bridge = Bridge(KafkaSettings(), sqs, "q", sink=sink)
    await bridge._forward(MESSAGES)
    assert sqs.deleted == []
    assert bridge.counts.labels("failed")._value.get() == 2
