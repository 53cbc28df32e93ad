"""Against the real broker: a valid POST lands in shotline.callbacks.v1 keyed by its object;
no kind of rejected POST moves the topic's end offsets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest

from ingest import IngestApp, IngestSettings, create_app
from schemas import CallbackEnvelope, KafkaSettings, ProjectConfig, checksum
from tests.integration.ingest.conftest import ADDR, KEY, end_offsets, read_topic

pytestmark = pytest.mark.kafka

OBJECT = (
    "shots/20250101/38f8e3cfdc474cd56fc1ceba380d7e1a_room_a__uid_s_7__uid_e_video_"
    "20250101120000123.jpg"
)


def body(request_id: str, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "requestId": request_id,
        "callbackParam": {"cname": "room_a"},
        "callbackData": "",
        "object": OBJECT,
        "code": 200,
        "msg": "Supervise complete",
        "channelName": "room_a",
        "userId": "7",
        "timestamp": 1735732800123,
    }
    data.update(changes)
    data.setdefault("checksum", checksum(ADDR, 200, str(data["object"]), request_id))
    return data


@pytest.fixture
async def app(kafka: KafkaSettings, tmp_path: Path) -> AsyncIterator[IngestApp]:
    application = create_app(
        IngestSettings(spool_dir=tmp_path / "spool"),
        kafka,
        {KEY: ProjectConfig(callback_addr=ADDR)},
    )
    await application.startup()
    yield application
    await application.shutdown()


@pytest.fixture
async def client(app: IngestApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as http:
        yield http


async def test_valid_post_lands_in_the_callbacks_topic_keyed_by_its_object(
    kafka: KafkaSettings, client: httpx.AsyncClient
) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    response = await client.post(
        f"/v1/callbacks/{KEY}",
        content=orjson.dumps(body("req-int-1")),
        headers={"content-type": "application/json;charset=utf-8", "traceparent": traceparent},
    )
    assert response.status_code == 200
    assert response.json()["via"] == "kafka"
    [record] = await read_topic(kafka, kafka.topics.callbacks)
    assert record.key == OBJECT.encode()  # the screenshot's identity (schemas.identity)
    envelope = CallbackEnvelope.model_validate_json(record.value)
    assert envelope.project == KEY
    assert envelope.callback.requestId == "req-int-1"
    assert envelope.callback.channelName == "room_a"
    headers = dict(record.headers)
    assert headers["shotline-project"] == KEY.encode()
    assert headers["traceparent"].split(b"-")[1] == b"4bf92f3577b34da6a3ce929d0e0e4736"


REJECTED = [
    ("malformed", b"{oops", "application/json", f"/v1/callbacks/{KEY}", 400),
    ("checksum", orjson.dumps(body("r1", checksum="0" * 32)), "application/json",
     f"/v1/callbacks/{KEY}", 401),
    ("unknown key", orjson.dumps(body("r2")), "application/json", "/v1/callbacks/other", 404),
    ("too large", b'{"a":"' + b"x" * 70_000 + b'"}', "application/json",
     f"/v1/callbacks/{KEY}", 413),
    ("content type", orjson.dumps(body("r3")), "text/plain", f"/v1/callbacks/{KEY}", 415),
    ("schema", orjson.dumps(body("r4", code="200")), "application/json",
     f"/v1/callbacks/{KEY}", 422),
]  # fmt: skip


async def test_each_rejected_post_leaves_the_topic_end_offsets_unchanged(
    kafka: KafkaSettings, client: httpx.AsyncClient
) -> None:
    topic = kafka.topics.callbacks
    before = await end_offsets(kafka, topic)
    for name, content, content_type, url, status in REJECTED:
        response = await client.post(url, content=content, headers={"content-type": content_type})
        assert response.status_code == status, name
        assert response.json()["status"] == "error", name
        assert await end_offsets(kafka, topic) == before, name
    accepted = await client.post(f"/v1/callbacks/{KEY}", json=body("r-ok"))
    assert accepted.status_code == 200
    after = await end_offsets(kafka, topic)
    assert sum(after.values()) == sum(before.values()) + 1  # the offsets do move when accepted


async def test_rejected_callbacks_go_to_the_rejected_topic_when_enabled(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    app = create_app(
        IngestSettings(
            spool_dir=tmp_path / "spool", publish_rejected=True, rejected_payload_max_bytes=16
        ),
        kafka,
        {KEY: ProjectConfig(callback_addr=ADDR)},
    )
    await app.startup()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://i") as client:
            bad = orjson.dumps(body("r-bad", checksum="0" * 32))
            response = await client.post(
                f"/v1/callbacks/{KEY}", content=bad, headers={"content-type": "application/json"}
            )
    finally:
        await app.shutdown()
    assert response.status_code == 401
    [record] = await read_topic(kafka, kafka.topics.rejected)
    rejected = orjson.loads(record.value)
    assert rejected["reason"] == "checksum"
    assert rejected["status"] == 401
    assert rejected["payload"] == bad[:16].decode()
    assert rejected["payload_truncated"] is True
    assert await read_topic(kafka, kafka.topics.callbacks) == []
