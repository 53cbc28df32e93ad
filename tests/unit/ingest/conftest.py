"""Ingest unit fixtures: the app behind ``httpx.ASGITransport`` with a fake publisher."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from ingest import IngestApp, IngestSettings, OutRecord, PublishError, create_app
from ingest.publisher import Sent
from schemas import KafkaSettings, ProjectConfig, checksum

KEY = "k3y-unit"
ADDR = "https://hooks.example.com/v1/callbacks/k3y-unit"
SEED_OBJECT = (
    "test/20201216/38f8e3cfdc474cd56fc1ceba380d7e1a_httpClient463224"
    "__uid_s_91__uid_e_video_20200413081128672.jpg"
)
SEED_REQUEST_ID = "38f8e3cfdcXXXXXXXXX1ceba380d7e1a_1652693284_b5813fe2ae4fa5cdfe5abd8fef82526f"


def request_id(record: OutRecord) -> bytes:
    """The requestId of a published envelope (records are keyed by object name, which the
    tests' callbacks share)."""
    rid: str = orjson.loads(record.value)["callback"]["requestId"]
    return rid.encode()


class FakePublisher:
    """In-memory stand-in for Kafka: records what was acked; can be down or slow."""

    def __init__(self) -> None:
        self.published: list[OutRecord] = []
        self.down = False
        self.delay_s = 0.0
        self.connected = True
        self.recreated = 0
        self.refused_ids: set[bytes] = set()  # the broker refuses these requestIds for good
        self.refusals = 0

    async def start(self) -> None:
        return None

    async def stop(self, timeout_s: float) -> None:
        return None

    async def publish(self, record: OutRecord, deadline_s: float) -> None:
        if self.down:
            raise PublishError("kafka", "fake broker is down")
        if self.delay_s >= deadline_s:
            await asyncio.sleep(deadline_s)
            raise PublishError("timeout", "fake broker too slow")
        await asyncio.sleep(self.delay_s)
        self.published.append(record)

    async def publish_many(self, records: Sequence[OutRecord], deadline_s: float) -> list[Sent]:
        if self.down:
            return [Sent.FAILED] * len(records)
        results = []
        for record in records:
            if request_id(record) in self.refused_ids:
                self.refusals += 1
                results.append(Sent.REFUSED)
            else:
                self.published.append(record)
                results.append(Sent.ACKED)
        return results

    async def recreate(self) -> bool:
        self.recreated += 1
        return not self.down


def callback_body(**changes: Any) -> dict[str, Any]:
    """A valid callback for the unit project (checksum computed with the default template)."""
    body: dict[str, Any] = {
        "requestId": SEED_REQUEST_ID,
        "callbackParam": {"cname": "httpClient463224"},
        "callbackData": "",
        "object": SEED_OBJECT,
        "code": 200,
        "msg": "Supervise complete",
        "channelName": "httpClient463224",
        "userId": "91",
        "timestamp": 20190611073246070,
    }
    body.update(changes)
    if "checksum" not in changes:
        body["checksum"] = checksum(ADDR, body["code"], body["object"], body["requestId"])
    return body


def make_app(
    tmp_path: Path,
    publisher: FakePublisher,
    projects: dict[str, ProjectConfig] | None = None,
    **settings: Any,
) -> IngestApp:
    ingest = IngestSettings(spool_dir=tmp_path / "spool", drain_interval_s=0.05, **settings)
    if projects is None:
        projects = {KEY: ProjectConfig(callback_addr=ADDR)}
    return create_app(ingest, KafkaSettings(topic_prefix="u."), projects, publisher=publisher)


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
async def app(tmp_path: Path, publisher: FakePublisher) -> AsyncIterator[IngestApp]:
    application = make_app(tmp_path, publisher)
    await application.startup()
    yield application
    await application.shutdown()


@pytest.fixture
async def client(app: IngestApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4711))
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as http:
        yield http


def client_for(app: IngestApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest")
