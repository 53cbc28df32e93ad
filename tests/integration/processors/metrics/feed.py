"""Synthetic screenshot records for the billing tests, published like dedupe would."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from schemas import KafkaSettings


@dataclass(frozen=True)
class Shot:
    project: str
    request_id: str
    second: int
    code: int = 200
    checksum_status: str = "ok"

    def payload(self) -> bytes:
        when = datetime.fromtimestamp(self.second, UTC).replace(microsecond=123_000)
        return json.dumps(
            {
                "schema_version": 1,
                "project": self.project,
                "request_id": self.request_id,
                "event_time": when.isoformat(),
                "checksum_status": self.checksum_status,
                "callback": {"requestId": self.request_id, "code": self.code},
            }
        ).encode()


def burst(project: str, second: int, count: int, tag: str) -> list[Shot]:
    return [Shot(project, f"{project}-{tag}-{i}", second) for i in range(count)]


def steady(project: str, first: int, seconds: int, per_second: int, tag: str) -> list[Shot]:
    return [
        Shot(project, f"{project}-{tag}-{s}-{i}", first + s)
        for s in range(seconds)
        for i in range(per_second)
    ]


async def publish(kafka: KafkaSettings, shots: list[Shot]) -> None:
    """Publish keyed by requestId, as dedupe does: a project lands on every partition."""
    producer = AIOKafkaProducer(**kafka.client_kwargs(), linger_ms=20, acks="all")
    await producer.start()
    try:
        futures = [
            await producer.send(kafka.topics.screenshots, s.payload(), key=s.request_id.encode())
            for s in shots
        ]
        await producer.flush()
        partitions = {f.result().partition for f in futures}
        assert len(partitions) > 1, "records must spread over several partitions"
    finally:
        await producer.stop()
